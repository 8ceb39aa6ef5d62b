import ClusterTLS
import EtcdStore
import Foundation
import Glibc
import Logging

/// One local etcd member, run and supervised by swarmd as a child process:
/// it dies with swarmd (parent-death signal), writes its output to
/// `etcd.log` in its directory, and `run()` starts it again when it exits
/// unexpectedly.
///
///     let member = try EtcdMember(configuration)
///     try await member.start()            // returns once it is healthy
///     let supervision = Task { await member.run() }
///     …
///     supervision.cancel()                // stops it (or `await member.stop()`)
public actor EtcdMember {
    public nonisolated let configuration: EtcdMemberConfiguration
    /// A client of this member alone (its loopback client URL), for health checks.
    public nonisolated let client: EtcdClient
    private let executable: String
    /// The running process and the wait for its exit.
    private var process: (pid: pid_t, exit: Task<Int32, Never>)?
    /// False after `stop()`: `run()` then lets it be.
    private var wanted = false
    /// True once `run()` saw the member end because it was removed from the cluster.
    public private(set) var removed = false
    static let removedMessage = "the member has been permanently removed from the cluster"
    /// Wait statuses of processes that exited, until looked at.
    private var exitStatuses: [pid_t: Int32] = [:]
    private let logger = Logger(label: "swarm.etcd-member")

    /// The output file is moved aside (`etcd.log.1`) past this size at each start.
    static let logLimit = 16 << 20

    public init(_ configuration: EtcdMemberConfiguration) throws {
        guard let executable = SupervisedChild.resolve(configuration.executable) else {
            throw EtcdMemberError.notInstalled(configuration.executable)
        }
        self.configuration = configuration
        self.executable = executable
        client = EtcdClient(endpoints: [configuration.localClientURL], tls: try configuration.tls.clientConfiguration(),
                            requestTimeout: .seconds(5))
    }

    /// The member's process ID while it runs.
    public var pid: pid_t? { process?.pid }

    /// Starts the member unless it runs, and returns once it is healthy
    /// (it answers on its client URL and the cluster has a leader: with two
    /// members or more, once enough of them run). Throws if the process
    /// exits meanwhile, or when `timeout` passes (the process then keeps
    /// running: `stop()` it, or `run()` to keep it).
    public func start(timeout: Duration = .seconds(30)) async throws {
        wanted = true
        // A process that ended (killed, crashed) while nothing supervised it.
        if let (pid, exit) = process, exitStatuses[pid] != nil || kill(pid, 0) != 0 {
            _ = await exit.value
            exitStatuses[pid] = nil
            if process?.pid == pid { process = nil }
        }
        if process == nil { try await launch() }
        let deadline = ContinuousClock.now + timeout
        while true {
            guard let (pid, _) = process else { throw EtcdMemberError.exited(status: "stopped", log: logTail()) }
            if await client.isHealthy(endpoint: configuration.localClientURL, timeout: .seconds(2)) { return }
            if let status = exitStatuses.removeValue(forKey: pid) {
                if process?.pid == pid { process = nil }
                throw EtcdMemberError.exited(status: SupervisedChild.describe(status), log: logTail())
            }
            if ContinuousClock.now >= deadline {
                throw EtcdMemberError.notHealthy(seconds: Int(timeout.components.seconds), log: logTail())
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Keeps the member running until the calling task is cancelled (then
    /// stops it) or `stop()` is called: starts it when it is not running
    /// and again after each unexpected exit, waiting 0.5 s, then twice as
    /// long after each quick failure (at most 30 s). Returns when the member
    /// ends because it was removed from the cluster (`removed` is then true):
    /// its data is of no use any more (remove the directory before joining again).
    public func run() async {
        wanted = true
        var delay: Duration = .milliseconds(500)
        while !Task.isCancelled && wanted {
            if process == nil {
                do { try await launch() } catch {
                    logger.error("cannot start etcd: \(error)")
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, .seconds(30))
                    continue
                }
            }
            guard let (pid, exit) = process else { continue }
            let started = ContinuousClock.now
            let status = await withTaskCancellationHandler {
                await exit.value
            } onCancel: {
                Task { await self.stop() }
            }
            if process?.pid == pid { process = nil }
            exitStatuses[pid] = nil
            guard !Task.isCancelled && wanted else { break }
            // Removed from the cluster (`EtcdClient.removeMember`): etcd ended
            // itself and would end again; nothing to restart.
            if logTail(lines: 30).contains(Self.removedMessage) {
                logger.notice("etcd member \(configuration.name) was removed from the cluster: no longer running it")
                removed = true
                wanted = false
                break
            }
            if ContinuousClock.now - started > .seconds(60) { delay = .milliseconds(500) }
            logger.warning("etcd member \(configuration.name) exited (\(SupervisedChild.describe(status))); starting it again in \(delay)",
                           metadata: ["log": "\(logTail())"])
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(30))
        }
        await stop()
    }

    /// Stops the member: SIGTERM, SIGKILL after `timeout`; returns once it exited.
    public func stop(timeout: Duration = .seconds(10)) async {
        wanted = false
        guard let (pid, exit) = process else { return }
        process = nil
        kill(pid, SIGTERM)
        let killer = Task {
            try await Task.sleep(for: timeout)
            kill(pid, SIGKILL)
        }
        _ = await exit.value
        exitStatuses[pid] = nil
        killer.cancel()
    }

    /// Ends the client; call after `stop()`.
    public func shutdown() async {
        await stop()
        await client.shutdown()
    }

    private func launch() async throws {
        let directory = configuration.directory
        for path in [directory, configuration.dataDirectory] where mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw EtcdMemberError.exited(status: "not started", log: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        let logFile = configuration.logFile
        var info = stat()
        if stat(logFile, &info) == 0, Int(info.st_size) > Self.logLimit {
            _ = rename(logFile, logFile + ".1")
        }
        let output = open(logFile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard output >= 0 else {
            throw EtcdMemberError.exited(status: "not started", log: "cannot write \(logFile): \(String(cString: strerror(errno)))")
        }
        defer { close(output) }
        // etcd reads ETCD_* variables as flags: only the command line counts.
        let environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ETCD_") }
        let pid = try await SupervisedChild.spawn(executable, ["etcd"] + configuration.arguments,
                                                  environment: environment, output: output)
        process = (pid, Task.detached {
            let status = await SupervisedChild.waitForExit(pid)
            await self.exited(pid, status)
            return status
        })
        logger.info("etcd member \(configuration.name) started (pid \(pid), \(configuration.clientURLs.joined(separator: ",")))")
    }

    private func exited(_ pid: pid_t, _ status: Int32) {
        exitStatuses[pid] = status
    }

    /// The last lines etcd wrote, for errors.
    private func logTail(lines: Int = 3) -> String {
        let text = (try? String(contentsOfFile: configuration.logFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: " | ") + " (log: \(configuration.logFile))"
    }
}
