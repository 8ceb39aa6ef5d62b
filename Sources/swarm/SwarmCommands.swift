import ArgumentParser
import AsyncHTTPClient
import ClusterStore
import ClusterTLS
import FoundationEssentials
import Glibc
import Manager
import NIOCore
import NIOSSL
import Runtime
import SwarmAPI

/// `swarm swarm init|join|join-token|leave` (Docker's `docker swarm …`);
/// the same commands also stand at the top level (`swarm init`).
struct SwarmGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swarm", abstract: "Manage the swarm",
        subcommands: [InitCommand.self, JoinCommand.self, JoinTokenCommand.self, LeaveCommand.self])
}

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Initialize a swarm")
    @Option(name: .customLong("advertise-addr"), help: "Advertised address (format: <ip>[:port])") var advertiseAddr: String?
    @Option(name: .customLong("listen-addr"), help: "Listen address (format: <ip>[:port]) (default 0.0.0.0:2377)") var listenAddr: String = "0.0.0.0:2377"
    @Option(name: .customLong("dispatcher-heartbeat"), help: "Dispatcher heartbeat period (ns|us|ms|s|m|h) (default 5s)") var heartbeat: String = "5s"
    @OptionGroup var options: RuntimeOptions

    func run() async throws {
        try requireRoot()
        try NodeConfig.requireNotMember(options.dataDir)
        let period = try ServiceSpecOptions.duration(heartbeat, "dispatcher-heartbeat")
        guard period >= 100_000_000 else { throw RuntimeError.badInput("invalid argument \"\(heartbeat)\" for \"--dispatcher-heartbeat\" flag: the minimum is 100ms") }
        let advertise = withPort(advertiseAddr ?? defaultAdvertiseAddress(), Int(listenAddr.split(separator: ":").last ?? "2377") ?? 2377)
        let directory = NodeConfig.directory(options.dataDir)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        do {
            let ca = try RootCA.create()
            let nodeID = newObjectID(), clusterID = newObjectID()
            let key = try NodeKeyAndCSR.generate()
            let host = String(advertise.split(separator: ":").first ?? "")
            let certificate = try ca.issue(csrPEM: key.csrPEM, nodeID: nodeID, role: .manager, clusterID: clusterID, ipAddresses: [host])
            try writeFileAtomically(Array((try ca.keyPEM() ?? "").utf8), to: directory + "/ca.key", mode: 0o600)
            try NodeTLSFiles.write(NodeTLSMaterial(caCertificatePEM: ca.certificatePEM, certificatePEM: certificate, keyPEM: key.keyPEM),
                                   to: NodeConfig.certificates(options.dataDir))
            let store = try SQLiteStore(path: directory + "/state.db")
            try await ClusterManager.bootstrap(store: store, clusterID: clusterID, nodeID: nodeID, hostname: Daemon.nodeDescription(try options.runtime()).hostname,
                                         addr: advertise, tokens: JoinTokens(worker: JoinToken.generate(rootCA: ca), manager: JoinToken.generate(rootCA: ca)),
                                         heartbeatPeriod: period)
            try NodeConfig(nodeID: nodeID, clusterID: clusterID, role: .manager, managerAddr: advertise, advertiseAddr: advertise,
                           listenAddr: listenAddr).save(options.dataDir)
            try await startDaemon(options)
            let tokens = try await APIClient.with(host: "unix://" + DaemonPaths.socket(options.stateDir)) {
                try await $0.get(SwarmInfo.self, "/swarm").joinTokens
            }
            writeStdout("""
                Swarm initialized: current node (\(nodeID)) is now a manager.

                To add a worker to this swarm, run the following command:

                    swarm join --token \(tokens.worker) \(advertise)

                To add a manager to this swarm, run 'swarm join-token manager' and follow the instructions.


                """)
        } catch {
            // Nothing half-made stays: a failed init leaves no swarm behind.
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }
}

struct JoinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "join", abstract: "Join a swarm as a node and/or manager")
    @Option(name: .customLong("token"), help: "Token for entry into the swarm") var token: String?
    @Option(name: .customLong("advertise-addr"), help: "Advertised address (format: <ip>[:port])") var advertiseAddr: String?
    @Argument(help: "HOST:PORT of a manager") var remote: String
    @OptionGroup var options: RuntimeOptions

    func run() async throws {
        try requireRoot()
        try NodeConfig.requireNotMember(options.dataDir)
        guard let token, !token.isEmpty else {
            throw RuntimeError.badInput("Error response from daemon: rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster")
        }
        let parsed: JoinToken
        do { parsed = try JoinToken.parse(token) } catch { throw RuntimeError.badInput("Error response from daemon: invalid join token") }
        let manager = withPort(remote)
        // 1. Fetch the CA without trusting anyone, and check it against the token.
        let caPEM = try await Self.fetch(manager, tls: ClusterTLSConfiguration.bootstrapClient(), path: "/swarm/ca", body: nil)
        do { try parsed.verifyCA(certificatePEM: String(decoding: caPEM, as: UTF8.self)) } catch {
            throw RuntimeError.badInput("Error response from daemon: \(error)")
        }
        // 2. Send our key's CSR and the token over a connection that trusts only that CA.
        let key = try NodeKeyAndCSR.generate()
        let advertise = withPort(advertiseAddr ?? defaultAdvertiseAddress(), 0)
        let hostname = Daemon.nodeDescription(try options.runtime()).hostname
        let request = JoinRequest(token: token, csrPEM: key.csrPEM, hostname: hostname, advertiseAddr: advertise)
        let tls = try ClusterTLSConfiguration.joiningClient(caCertificatePEM: String(decoding: caPEM, as: UTF8.self))
        let reply = try APIJSON.decode(JoinResponse.self, from: try await Self.fetch(
            manager, tls: tls, path: "/swarm/join", body: try APIJSON.encode(request), serverName: ClusterTLSConfiguration.managerServerName))
        let directory = NodeConfig.directory(options.dataDir)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        do {
            try NodeTLSFiles.write(NodeTLSMaterial(caCertificatePEM: reply.caCertificatePEM, certificatePEM: reply.certificatePEM, keyPEM: key.keyPEM),
                                   to: NodeConfig.certificates(options.dataDir))
            try NodeConfig(nodeID: reply.nodeID, clusterID: "", role: reply.role, managerAddr: manager,
                           advertiseAddr: advertise, listenAddr: nil).save(options.dataDir)
            try await startDaemon(options)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        writeStdout("This node joined a swarm as a \(reply.role.rawValue).\n")
    }

    /// `serverName`: the name the manager's certificate must carry (reached at `manager`'s address).
    static func fetch(_ manager: String, tls: TLSConfiguration, path: String, body: [UInt8]?, serverName: String? = nil) async throws -> [UInt8] {
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        var target = manager
        if let serverName { target = configuration.reach(manager, as: serverName) }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        defer { Task { try? await client.shutdown() } }
        var request = HTTPClientRequest(url: "https://\(target)\(path)")
        if let body {
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(20))
        } catch {
            throw RuntimeError.badInput("Error response from daemon: cannot reach the manager at \(manager): \(error) (check the address and that port \(manager.split(separator: ":").last ?? "2377") is open)")
        }
        let bytes = Array(buffer: try await response.body.collect(upTo: 1 << 20))
        guard response.status.code == 200 else {
            let message = (try? APIJSON.decode(APIErrorBody.self, from: bytes).message) ?? "HTTP \(response.status.code)"
            throw RuntimeError.badInput("Error response from daemon: \(message)")
        }
        return bytes
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
        stopDaemon(options.stateDir)
        // The node's task containers go with it, as Docker's do.
        let runtime = try options.runtime()
        for container in runtime.list(all: true) where container.record.spec.labels?["com.docker.swarm.task.id"] != nil {
            try? runtime.remove(container.id, force: true)
        }
        try? FileManager.default.removeItem(atPath: NodeConfig.directory(options.dataDir))
        // The containers' cgroup parent goes too when nothing else uses it.
        rmdir(runtime.cgroups.parentPath)
        writeStdout("Node left the swarm.\n")
    }
}

struct DaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon", abstract: "Run this node's daemon in the foreground (swarm init and join start it; for systemd)")
    @OptionGroup var options: RuntimeOptions

    func run() async throws {
        try requireRoot()
        try await Daemon.run(dataDir: options.dataDir, stateDir: options.stateDir, cgroupParent: options.cgroupParent)
    }
}

func requireRoot() throws {
    guard getuid() == 0 else { throw RuntimeError.badInput("the swarm daemon needs root (namespaces, mounts, cgroups): run swarm as root or with sudo") }
}

/// Starts `swarm daemon` in its own session, logging to the state dir, and
/// waits until its API socket answers.
func startDaemon(_ options: RuntimeOptions) async throws {
    try FileManager.default.createDirectory(atPath: options.stateDir, withIntermediateDirectories: true)
    let log = open(DaemonPaths.log(options.stateDir), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    guard log >= 0 else { throw RuntimeError.badInput("cannot write \(DaemonPaths.log(options.stateDir)): errno \(errno)") }
    defer { close(log) }
    let arguments = ["swarm", "daemon", "--data-dir", options.dataDir, "--state-dir", options.stateDir, "--cgroup-parent", options.cgroupParent]
    let pid: pid_t
    do {
        pid = try spawnProcess("/proc/self/exe", arguments, environment: ProcessInfo.processInfo.environment,
                               stdin: nil, stdout: log, stderr: log, newSession: true)
    } catch {
        throw RuntimeError.badInput("cannot start the swarm daemon: \(error)")
    }
    let socket = "unix://" + DaemonPaths.socket(options.stateDir)
    for _ in 0..<200 {
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid {
            let tail = (try? String(contentsOfFile: DaemonPaths.log(options.stateDir), encoding: .utf8))?.split(separator: "\n").last ?? ""
            throw RuntimeError.badInput("the swarm daemon exited at start: \(tail) (log: \(DaemonPaths.log(options.stateDir)))")
        }
        if (try? await APIClient.with(host: socket, { try await $0.send(.GET, "/_ping") })) != nil { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw RuntimeError.badInput("the swarm daemon did not answer within 10 s (log: \(DaemonPaths.log(options.stateDir)))")
}

/// Stops the daemon named by the pid file: SIGTERM, then SIGKILL after 10 s.
func stopDaemon(_ stateDir: String) {
    guard let text = try? String(contentsOfFile: DaemonPaths.pidFile(stateDir), encoding: .utf8),
          let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1 else { return }
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
