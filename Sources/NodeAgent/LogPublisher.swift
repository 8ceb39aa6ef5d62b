import Containers
import FoundationEssentials
import Glibc
import Logging
import SwarmAPI
import Synchronization

/// The agent's side of service logs: takes this node's log subscriptions
/// from the manager's broker (a long poll) and, for each, reads the tasks'
/// container logs (json-file, rotated files included) on threads of its
/// own (reading and following block) and publishes the lines in batches.
/// A subscription gone from the manager's list, or refused at publishing,
/// stops its readers.
public actor LogPublisher {
    let link: any LogLink
    /// The json-file log of a container: its path and how many rotated files it keeps.
    let logFile: @Sendable (String) -> (path: String, maxFiles: Int)?
    let logger = Logger(label: "swarm.agent.logs")
    private var running: [String: LogReading] = [:]

    public init(link: any LogLink, runtime: ContainerRuntime) {
        self.link = link
        logFile = { containerID in
            (try? runtime.inspect(containerID)).map { ($0.record.logPath, $0.record.spec.log.maxFiles) }
        }
    }

    init(link: any LogLink, logFile: @escaping @Sendable (String) -> (path: String, maxFiles: Int)?) {
        self.link = link
        self.logFile = logFile
    }

    /// Until cancelled.
    public func run() async {
        var version: UInt64?
        while !Task.isCancelled {
            do {
                let answer = try await link.logSubscriptions(since: version)
                version = answer.version
                apply(answer.subscriptions)
            } catch {
                guard !Task.isCancelled else { break }
                logger.debug("log subscriptions: \(error)")
                version = nil
                try? await Task.sleep(for: .seconds(1))
            }
        }
        for reading in running.values { reading.cancel() }
        running = [:]
    }

    func apply(_ subscriptions: [LogSubscription]) {
        let wanted = Set(subscriptions.map(\.id))
        for (id, reading) in running where !wanted.contains(id) {
            reading.cancel()
            running[id] = nil
        }
        for subscription in subscriptions {
            // A followed service's new tasks come as more sources of the same subscription.
            if let reading = running[subscription.id] {
                reading.start(subscription.sources, logFile: logFile)
                continue
            }
            let reading = LogReading(subscription)
            running[subscription.id] = reading
            reading.start(subscription.sources, logFile: logFile)
            let link = self.link
            Task {
                await reading.publish(through: link)
                self.finished(subscription.id, reading)
            }
        }
    }

    private func finished(_ id: String, _ reading: LogReading) {
        if running[id] === reading { running[id] = nil }
    }
}

/// One subscription being read: a reader thread per task, their lines in
/// a shared buffer that the publishing task drains.
final class LogReading: Sendable {
    let subscription: LogSubscription
    private let cancelled = Atomic<Bool>(false)
    private let state = Mutex<(lines: [LogLine], finished: Int)>(([], 0))
    /// The tasks being read (or read).
    private let started = Mutex<Set<LogSource>>([])
    /// Readers wait while this many lines are not sent yet.
    static let highWater = 20_000
    static let batch = 5_000

    init(_ subscription: LogSubscription) { self.subscription = subscription }

    var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
    func cancel() { cancelled.store(true, ordering: .relaxed) }

    func start(_ sources: [LogSource], logFile: @escaping @Sendable (String) -> (path: String, maxFiles: Int)?) {
        let new = started.withLock { started in
            let new = sources.filter { !started.contains($0) }
            started.formUnion(new)
            return new
        }
        for source in new {
            startThread { [self] in
                defer { state.withLock { $0.finished += 1 } }
                guard let file = logFile(source.containerID) else { return }
                read(source, LogReader(path: file.path, maxFiles: file.maxFiles))
            }
        }
    }

    private func read(_ source: LogSource, _ reader: LogReader) {
        let since = subscription.since
        let streams = Set((subscription.stdout ? ["stdout"] : []) + (subscription.stderr ? ["stderr"] : []))
        reader.copy(tail: subscription.tail, timestamps: false, follow: subscription.follow, isRunning: { !self.isCancelled }) { entry, _ in
            guard !self.isCancelled, streams.contains(entry.stream) else { return }
            if let since, let time = Timestamp(rfc3339: entry.time), time < since { return }
            let line = LogLine(taskID: source.taskID, stream: entry.stream == "stderr" ? 2 : 1, time: entry.time, line: entry.log)
            while !self.isCancelled, state.withLock({ $0.lines.count }) >= Self.highWater { usleep(5_000) }
            state.withLock { $0.lines.append(line) }
        }
    }

    /// Sends what the readers read until they are all done (not
    /// following) or the subscription ends.
    func publish(through link: any LogLink) async {
        while !isCancelled {
            let (lines, allDone) = state.withLock { state -> ([LogLine], Bool) in
                let taken = Array(state.lines.prefix(Self.batch))
                state.lines.removeFirst(taken.count)
                return (taken, !subscription.follow && state.finished == subscription.sources.count && state.lines.isEmpty)
            }
            if lines.isEmpty && !allDone {
                try? await Task.sleep(for: .milliseconds(20))
                continue
            }
            let wanted = (try? await link.publishLogs(LogPublication(subscriptionID: subscription.id, lines: lines, done: allDone))) ?? false
            if !wanted || allDone { break }
        }
        cancel()
    }
}

extension LogPublisher {
    /// Subscriptions being read now.
    var readingCount: Int { running.count }
}
