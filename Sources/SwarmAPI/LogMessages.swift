/// Service logs between the manager and the agents (JSON over the cluster's
/// mutual-TLS port). The manager's log broker asks each node holding the
/// tasks to read their containers' logs and publish the lines to it
/// (swarmkit's design): `GET /agent/logs?since=N` is a long poll that
/// answers the node's subscriptions when they change; the node sends the
/// lines in batches with `POST /agent/logs/publish`.

/// One task's container whose log a subscription wants.
public struct LogSource: Codable, Hashable, Sendable {
    public var taskID: String
    public var serviceID: String
    public var containerID: String
    public init(taskID: String, serviceID: String, containerID: String) {
        self.taskID = taskID; self.serviceID = serviceID; self.containerID = containerID
    }
}

/// What to read, as `GET /services/{id}/logs` asked for it.
public struct LogSubscription: Codable, Hashable, Sendable {
    public var id: String
    public var sources: [LogSource]
    public var follow: Bool
    /// The last N lines of each task; nil: all.
    public var tail: Int?
    /// Only lines written at or after this time.
    public var since: Timestamp?
    public var stdout: Bool
    public var stderr: Bool
    public init(id: String, sources: [LogSource], follow: Bool, tail: Int?, since: Timestamp?, stdout: Bool, stderr: Bool) {
        self.id = id; self.sources = sources; self.follow = follow; self.tail = tail; self.since = since
        self.stdout = stdout; self.stderr = stderr
    }
}

/// `GET /agent/logs?since=N`: the node's subscriptions at `version`.
public struct LogSubscriptions: Codable, Sendable {
    public var version: UInt64
    public var subscriptions: [LogSubscription]
    public init(version: UInt64, subscriptions: [LogSubscription]) { self.version = version; self.subscriptions = subscriptions }
}

/// One line of a task's output.
public struct LogLine: Codable, Hashable, Sendable {
    public var taskID: String
    /// 1: stdout, 2: stderr (the stream numbers of Docker's multiplexed format).
    public var stream: Int
    /// When it was written, RFC 3339 with nanoseconds, as the json-file log has it.
    public var time: String
    /// The line with its newline.
    public var line: String
    public init(taskID: String, stream: Int, time: String, line: String) {
        self.taskID = taskID; self.stream = stream; self.time = time; self.line = line
    }
}

/// `POST /agent/logs/publish`: lines for a subscription; `done` when the
/// node has sent everything it will (not following).
public struct LogPublication: Codable, Sendable {
    public var subscriptionID: String
    public var lines: [LogLine]
    public var done: Bool
    public init(subscriptionID: String, lines: [LogLine], done: Bool) {
        self.subscriptionID = subscriptionID; self.lines = lines; self.done = done
    }
}

/// The broker's answer to a publication: stop when nobody reads any more.
public struct LogPublishResponse: Codable, Sendable {
    public var cancelled: Bool
    public init(cancelled: Bool) { self.cancelled = cancelled }
}
