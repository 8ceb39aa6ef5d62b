import ArgumentParser
import FoundationEssentials
import Glibc
import Lab
import SwarmAPI
import SwarmClient
import SystemCalls

/// `swarm swarm init|join|join-token|leave` (Docker's `docker swarm …`);
/// the same commands also stand at the top level (`swarm init`).
struct SwarmGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swarm", abstract: "Manage the swarm",
        subcommands: [InitCommand.self, JoinCommand.self, JoinTokenCommand.self, LeaveCommand.self])
}

public struct InitCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "init", abstract: "Initialize a swarm")
    @Option(name: .customLong("advertise-addr"), help: "Advertised address (format: <ip>[:port])") public var advertiseAddr: String?
    @Option(name: .customLong("listen-addr"), help: "Listen address (format: <ip>[:port]) (default 0.0.0.0:2377)") public var listenAddr: String = "0.0.0.0:2377"
    @Option(name: .customLong("dispatcher-heartbeat"), help: "Dispatcher heartbeat period (ns|us|ms|s|m|h) (default 5s)") public var heartbeat: String = "5s"
    @Option(name: .customLong("default-addr-pool"), help: "Default address pool in CIDR format (default 10.0.0.0/8)") public var defaultAddrPool: [String] = []
    @Option(name: .customLong("default-addr-pool-mask-length"), help: "Default address pool subnet mask length (default 24)") public var defaultAddrPoolMaskLength: UInt32 = 24
    @Option(name: .customLong("store"), help: "Keep the swarm's state in an external etcd (etcd://HOST:PORT[,HOST:PORT...]) instead of the data dir") public var store: String?
    @Flag(name: .customLong("force-new-cluster"), help: "Force create a new cluster from current state") public var forceNewCluster = false
    @Option(name: .customLong("store-cacert"), help: "With --store: speak TLS to etcd, trusting this CA (PEM)") public var storeCACert: String?
    @Option(name: .customLong("store-cert"), help: "With --store: TLS client certificate (PEM) for etcd") public var storeCert: String?
    @Option(name: .customLong("store-key"), help: "With --store: TLS client key (PEM) for etcd") public var storeKey: String?
    @OptionGroup public var options: RuntimeOptions
    @OptionGroup public var listeners: DaemonListenOptions

    public init() {}

    /// The heartbeat period in nanoseconds, checked.
    public func heartbeatPeriod() throws -> Int64 {
        let period = try ServiceSpecOptions.duration(heartbeat, "dispatcher-heartbeat")
        guard period >= 100_000_000 else { throw RuntimeError.badInput("invalid argument \"\(heartbeat)\" for \"--dispatcher-heartbeat\" flag: the minimum is 100ms") }
        return period
    }

    /// The TLS files for `--store`, checked; nil for plain HTTP.
    public func storeTLS() throws -> StoreTLSPaths? {
        try StoreTLSPaths(store: store, caCertificate: storeCACert, certificate: storeCert, key: storeKey)
    }

    /// `ip:port` others reach this manager at.
    public var advertiseAddress: String {
        withPort(advertiseAddr ?? defaultAdvertiseAddress(), Int(listenAddr.split(separator: ":").last ?? "2377") ?? 2377)
    }

    public func run() async throws {
        try requireRoot()
        if forceNewCluster, let config = try NodeConfig.load(options.dataDir) { return try await recover(config) }
        try NodeConfig.requireNotMember(options.dataDir)
        _ = try heartbeatPeriod()
        if let store { _ = try StoreAddress(store) }
        _ = try storeTLS()
        try await DaemonBinary.operations().initSwarm(self)
    }

    /// `--force-new-cluster` on a manager whose peers are lost: its daemon
    /// starts again as the only manager, with the swarm's state as it has
    /// it (services, tasks, workers); the other managers become workers.
    func recover(_ config: NodeConfig) async throws {
        guard config.role == .manager else {
            throw RuntimeError.badInput("Error response from daemon: --force-new-cluster recovers a manager's swarm, and this node is a worker: run it on a manager")
        }
        var recovering = config
        recovering.forceNewCluster = true
        stopDaemon(options.stateDir)
        try recovering.save(options.dataDir)
        try await startDaemon(options, listeners: listeners)
        // The daemon clears the mark once it leads alone.
        for _ in 0..<200 where (try NodeConfig.load(options.dataDir))?.forceNewCluster == true {
            try await Task.sleep(for: .milliseconds(100))
        }
        guard (try NodeConfig.load(options.dataDir))?.forceNewCluster != true else {
            throw RuntimeError.badInput("the swarm daemon did not take the lead within 20 s (log: \(DaemonPaths.log(options.stateDir)))")
        }
        let token = try await APIClient.with(host: "unix://" + DaemonPaths.socket(options.stateDir)) {
            try await $0.get(SwarmInfo.self, "/swarm").joinTokens.worker
        }
        writeStdout(Self.initialized(nodeID: config.nodeID, workerToken: token, advertise: config.advertiseAddr))
    }

    /// Docker's closing words of `swarm init`.
    public static func initialized(nodeID: String, workerToken: String, advertise: String) -> String {
        """
        Swarm initialized: current node (\(nodeID)) is now a manager.

        To add a worker to this swarm, run the following command:

            swarm join --token \(workerToken) \(advertise)

        To add a manager to this swarm, run 'swarm join-token manager' and follow the instructions.


        """
    }
}

public struct JoinCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "join", abstract: "Join a swarm as a node and/or manager")
    @Option(name: .customLong("token"), help: "Token for entry into the swarm") public var token: String?
    @Option(name: .customLong("advertise-addr"), help: "Advertised address (format: <ip>[:port])") public var advertiseAddr: String?
    @Option(name: .customLong("listen-addr"), help: "Listen address, when joining as a manager (format: <ip>[:port]) (default 0.0.0.0:2377)") public var listenAddr: String = "0.0.0.0:2377"
    @Argument(help: "HOST:PORT of a manager") public var remote: String
    @OptionGroup public var options: RuntimeOptions
    @OptionGroup public var listeners: DaemonListenOptions

    public init() {}

    public func run() async throws {
        try requireRoot()
        try NodeConfig.requireNotMember(options.dataDir)
        guard let token, !token.isEmpty else {
            throw RuntimeError.badInput("Error response from daemon: rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster")
        }
        try await DaemonBinary.operations().join(self)
    }
}

struct JoinTokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "join-token", abstract: "Manage join tokens")
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Only display token") var quiet = false
    @Flag(name: .customLong("rotate"), help: "Rotate join token") var rotate = false
    @Option(name: [.customShort("H"), .customLong("host")], help: "Daemon socket to connect to") var host: String?
    @Argument(help: "worker or manager") var role: String

    func run() async throws {
        guard role == "worker" || role == "manager" else {
            throw RuntimeError.badInput("unknown role \(role): use worker or manager")
        }
        try await APIClient.with(host: host) { client in
            var swarm = try await client.get(SwarmInfo.self, "/swarm")
            if rotate {
                _ = try await client.post("/swarm/update", query: ["version": "\(swarm.version.index)",
                                                                   role == "worker" ? "rotateWorkerToken" : "rotateManagerToken": "true"], swarm.spec)
                swarm = try await client.get(SwarmInfo.self, "/swarm")
                if !quiet { writeStdout("Successfully rotated \(role) join token.\n\n") }
            }
            let token = role == "worker" ? swarm.joinTokens.worker : swarm.joinTokens.manager
            if quiet { return writeStdout(token + "\n") }
            let info = try await client.get(SystemInfo.self, "/info")
            let addr = info.swarm.remoteManagers.first?.addr ?? ""
            writeStdout("To add a \(role) to this swarm, run the following command:\n\n    swarm join --token \(token) \(addr)\n\n")
        }
    }
}

struct LeaveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "leave", abstract: "Leave the swarm")
    @Flag(name: [.customShort("f"), .customLong("force")], help: "Force this node to leave the swarm, ignoring warnings") var force = false
    @OptionGroup var options: RuntimeOptions

    func run() async throws {
        try requireRoot()
        guard let config = try NodeConfig.load(options.dataDir) else {
            throw RuntimeError.badInput("Error response from daemon: This node is not part of a swarm")
        }
        if config.role == .manager && !force {
            throw RuntimeError.badInput("Error response from daemon: You are attempting to leave the swarm on a node that is participating as a manager. Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message.")
        }
        // In `swarm`, this runs the whole command again in swarmd (which links the overlay data path).
        let operations = try DaemonBinary.operations()
        stopDaemon(options.stateDir)
        // The node's task containers go with it, as Docker's do.
        let runtime = try options.runtime()
        for container in runtime.list(all: true) where container.record.spec.labels?["com.docker.swarm.task.id"] != nil {
            try? runtime.remove(container.id, force: true)
        }
        await operations.removeNodeNetworking(options, advertiseAddr: config.advertiseAddr)
        try? FileManager.default.removeItem(atPath: NodeConfig.directory(options.dataDir))
        // The containers' cgroup parent goes too when nothing else uses it.
        rmdir(runtime.cgroups.parentPath)
        writeStdout("Node left the swarm.\n")
    }
}

public struct DaemonCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "daemon", abstract: "Run this node's daemon in the foreground (swarm init and join start it; for systemd)")
    @OptionGroup public var options: RuntimeOptions
    @OptionGroup public var listeners: DaemonListenOptions

    public init() {}

    public func run() async throws {
        try requireRoot()
        try await DaemonBinary.operations().runDaemon(options, listeners: listeners)
    }
}

public func requireRoot() throws {
    guard getuid() == 0 else { throw RuntimeError.badInput("the swarm daemon needs root (namespaces, mounts, cgroups): run swarm as root or with sudo") }
}

/// Starts `swarm daemon` in its own session, logging to the state dir, and
/// waits until its API socket answers.
public func startDaemon(_ options: RuntimeOptions, listeners: DaemonListenOptions) async throws {
    try FileManager.default.createDirectory(atPath: options.stateDir, withIntermediateDirectories: true)
    let log = open(DaemonPaths.log(options.stateDir), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    guard log >= 0 else { throw RuntimeError.badInput("cannot write \(DaemonPaths.log(options.stateDir)): errno \(errno)") }
    defer { close(log) }
    let arguments = ["swarmd", "daemon", "--data-dir", options.dataDir, "--state-dir", options.stateDir, "--cgroup-parent", options.cgroupParent]
        + listeners.daemonArguments
    let pid: pid_t
    do {
        pid = try spawnProcess(DaemonBinary.siblingPath(), arguments, environment: ProcessInfo.processInfo.environment,
                               stdin: nil, stdout: log, stderr: log, newSession: true)
    } catch {
        throw RuntimeError.badInput("cannot start the swarm daemon: \(error)")
    }
    let socket = "unix://" + DaemonPaths.socket(options.stateDir)
    // A new manager's daemon waits for its etcd member to join the others first.
    for _ in 0..<600 {
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid {
            let tail = (try? String(contentsOfFile: DaemonPaths.log(options.stateDir), encoding: .utf8))?.split(separator: "\n").last ?? ""
            throw RuntimeError.badInput("the swarm daemon exited at start: \(tail) (log: \(DaemonPaths.log(options.stateDir)))")
        }
        if (try? await APIClient.with(host: socket, { try await $0.send(.GET, "/_ping") })) != nil { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw RuntimeError.badInput("the swarm daemon did not answer within 30 s (log: \(DaemonPaths.log(options.stateDir)))")
}

/// Stops the daemon named by the pid file: SIGTERM, then SIGKILL after 10 s.
func stopDaemon(_ stateDir: String) {
    guard let text = try? String(contentsOfFile: DaemonPaths.pidFile(stateDir), encoding: .utf8),
          let pid = pid_t(text.trimmed), pid > 1 else { return }
    guard let comm = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8), comm.contains("daemon") else { return }
    kill(pid, SIGTERM)
    for _ in 0..<100 {
        if kill(pid, 0) != 0 { break }
        usleep(100_000)
    }
    if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
    unlink(DaemonPaths.pidFile(stateDir))
    unlink(DaemonPaths.socket(stateDir))
}
