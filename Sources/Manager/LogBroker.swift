import SwarmAPI

/// A line as the API sends it: the line and where it came from.
public struct BrokeredLine: Sendable {
    public var nodeID: String
    public var serviceID: String
    public var line: LogLine
}

/// Service logs in the manager: a reader of `GET /services/{id}/logs`
/// subscribes; the broker hands the subscription to the nodes holding the
/// tasks (their agents long-poll `subscriptions(for:since:)`), and passes
/// what they publish to the reader, which takes it as fast as its client
/// reads: a node publishing to a reader that has `queueLimit` lines not
/// taken yet waits (and its log readers with it), so a slow reader costs
/// bounded memory. A reader that goes away ends its subscription; the
/// agents see it gone at their next poll or publication.
public actor LogBroker {
    struct Active {
        /// The part of the subscription each node reads.
        var perNode: [String: LogSubscription]
        /// Nodes that have not said `done` (not following).
        var open: Set<String>
        var serviceOfTask: [String: String]
        /// Nodes whose agent has taken the subscription.
        var picked: Set<String> = []
        /// The options, for nodes added later (a following subscription that starts with no task).
        var template: LogSubscription
        /// Lines published, not taken by the reader yet.
        var pending: [BrokeredLine] = []
        /// Every node has sent all: the reader gets the pending lines, then the end.
        var finished = false
        /// The reader waiting for lines.
        var taker: CheckedContinuation<Void, Never>?
        /// Publications waiting for the reader to catch up.
        var blocked: [CheckedContinuation<Void, Never>] = []
    }

    /// How long a node has to take a subscription before the reader stops
    /// waiting for it (a node down or cut off sends nothing).
    let pickUpTimeout: Duration
    /// Lines a reader may have pending before publishers wait.
    let queueLimit: Int

    private var active: [String: Active] = [:]
    private var version: UInt64 = 1
    private var waiters: [String: [UInt64: CheckedContinuation<Void, Never>]] = [:]
    private var nextWaiterID: UInt64 = 0
    private var nextSubscriptionID: UInt64 = 0

    public init(pickUpTimeout: Duration = .seconds(10), queueLimit: Int = 20_000) {
        self.pickUpTimeout = pickUpTimeout
        self.queueLimit = queueLimit
    }

    /// Starts reading `sources` (by node). The stream ends once every node
    /// has sent all (not following), or when the reader stops iterating.
    public func subscribe(_ sources: [String: [LogSource]], follow: Bool, tail: Int?, since: Timestamp?,
                          stdout: Bool, stderr: Bool) -> AsyncStream<[BrokeredLine]> {
        let id = open(sources, follow: follow, tail: tail, since: since, stdout: stdout, stderr: stderr)
        return AsyncStream(unfolding: { await self.take(id) }, onCancel: { Task { await self.end(id) } })
    }

    /// Opens a subscription; the reader calls `take` until nil, or `end`.
    func open(_ sources: [String: [LogSource]], follow: Bool, tail: Int?, since: Timestamp?, stdout: Bool, stderr: Bool) -> String {
        nextSubscriptionID += 1
        let id = "logs-\(nextSubscriptionID)-\(newObjectID().prefix(8))"
        let sources = sources.filter { !$0.value.isEmpty }
        let template = LogSubscription(id: id, sources: [], follow: follow, tail: tail, since: since, stdout: stdout, stderr: stderr)
        var perNode: [String: LogSubscription] = [:]
        var serviceOfTask: [String: String] = [:]
        for (node, list) in sources {
            var part = template
            part.sources = list
            perNode[node] = part
            for source in list { serviceOfTask[source.taskID] = source.serviceID }
        }
        // Following waits for tasks to come even if none has a container yet.
        active[id] = Active(perNode: perNode, open: Set(perNode.keys), serviceOfTask: serviceOfTask, template: template,
                            finished: sources.isEmpty && !follow)
        changed()
        Task { [pickUpTimeout] in
            try? await Task.sleep(for: pickUpTimeout)
            await self.abandonUnpicked(id)
        }
        return id
    }

    /// The lines published since the last call, waiting for some; nil at the end.
    func take(_ id: String) async -> [BrokeredLine]? {
        while true {
            guard var subscription = active[id] else { return nil }
            if !subscription.pending.isEmpty {
                let batch = subscription.pending
                let blocked = subscription.blocked
                subscription.pending = []
                subscription.blocked = []
                active[id] = subscription
                blocked.forEach { $0.resume() }
                return batch
            }
            if subscription.finished {
                active[id] = nil
                return nil
            }
            await withCheckedContinuation { continuation in active[id]?.taker = continuation }
        }
    }

    /// A task that started after a following reader subscribed: its node
    /// reads it too (the node's agent sees the grown subscription at its next poll).
    func add(_ id: String, node: String, source: LogSource) {
        guard var subscription = active[id], !subscription.finished else { return }
        var part = subscription.perNode[node] ?? subscription.template
        guard !part.sources.contains(source) else { return }
        part.sources.append(source)
        subscription.perNode[node] = part
        subscription.serviceOfTask[source.taskID] = source.serviceID
        active[id] = subscription
        changed()
    }

    /// The node's subscriptions, once they differ from version `since`
    /// (or after `timeout`).
    public func subscriptions(for node: String, since: UInt64?, timeout: Duration = .seconds(20)) async -> LogSubscriptions {
        if let since, since == version {
            nextWaiterID += 1
            let waiterID = nextWaiterID
            let timer = Task {
                try? await Task.sleep(for: timeout)
                self.wake(node, waiterID)
            }
            await withCheckedContinuation { continuation in waiters[node, default: [:]][waiterID] = continuation }
            timer.cancel()
        }
        let mine = active.values.filter { !$0.finished }.compactMap { $0.perNode[node] }.sorted { $0.id < $1.id }
        for subscription in mine { active[subscription.id]?.picked.insert(node) }
        return LogSubscriptions(version: version, subscriptions: mine)
    }

    /// Lines from `node`; false when the subscription is gone (stop sending).
    /// Returns once the reader has room for more.
    public func publish(from node: String, _ publication: LogPublication) async -> Bool {
        let id = publication.subscriptionID
        guard var subscription = active[id], !subscription.finished, subscription.perNode[node] != nil else { return false }
        subscription.pending += publication.lines.map {
            BrokeredLine(nodeID: node, serviceID: subscription.serviceOfTask[$0.taskID] ?? "", line: $0)
        }
        if publication.done {
            subscription.open.remove(node)
            subscription.finished = subscription.open.isEmpty && !subscription.template.follow
        }
        let taker = subscription.taker
        subscription.taker = nil
        active[id] = subscription
        taker?.resume()
        if subscription.finished {
            changed()
            return true
        }
        while let current = active[id], current.pending.count > queueLimit {
            await withCheckedContinuation { continuation in active[id]?.blocked.append(continuation) }
        }
        return active[id] != nil
    }

    /// Nodes that did not take the subscription in time will not send: a
    /// reader that is not following is not kept waiting for them.
    func abandonUnpicked(_ id: String) async {
        guard let subscription = active[id] else { return }
        for node in subscription.open.subtracting(subscription.picked) {
            _ = await publish(from: node, LogPublication(subscriptionID: id, lines: [], done: true))
        }
    }

    /// The reader went away.
    func end(_ id: String) {
        guard let subscription = active.removeValue(forKey: id) else { return }
        subscription.taker?.resume()
        subscription.blocked.forEach { $0.resume() }
        changed()
    }

    private func changed() {
        version += 1
        for (_, list) in waiters { list.values.forEach { $0.resume() } }
        waiters = [:]
    }

    private func wake(_ node: String, _ waiterID: UInt64) {
        waiters[node]?.removeValue(forKey: waiterID)?.resume()
    }
}
