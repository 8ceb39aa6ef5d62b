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
/// what they publish to the reader. A reader that goes away cancels its
/// subscription; the agents see it gone at their next poll or publication.
public actor LogBroker {
    struct Active {
        var continuation: AsyncStream<[BrokeredLine]>.Continuation
        /// The part of the subscription each node reads.
        var perNode: [String: LogSubscription]
        /// Nodes that have not said `done` (not following).
        var open: Set<String>
        var serviceOfTask: [String: String]
        /// Nodes whose agent has taken the subscription.
        var picked: Set<String> = []
        /// The options, for nodes added later (a following subscription that starts with no task).
        var template: LogSubscription?
    }

    /// How long a node has to take a subscription before the reader stops
    /// waiting for it (a node down or cut off sends nothing).
    let pickUpTimeout: Duration

    private var active: [String: Active] = [:]
    private var version: UInt64 = 1
    private var waiters: [String: [UInt64: CheckedContinuation<Void, Never>]] = [:]
    private var nextWaiterID: UInt64 = 0
    private var nextSubscriptionID: UInt64 = 0

    public init(pickUpTimeout: Duration = .seconds(10)) { self.pickUpTimeout = pickUpTimeout }

    /// Starts reading `sources` (by node). The stream ends once every node
    /// has sent all (not following), or when the reader stops iterating.
    public func subscribe(_ sources: [String: [LogSource]], follow: Bool, tail: Int?, since: Timestamp?,
                          stdout: Bool, stderr: Bool) -> AsyncStream<[BrokeredLine]> {
        subscribeReturningID(sources, follow: follow, tail: tail, since: since, stdout: stdout, stderr: stderr).lines
    }

    /// `subscribe`, with the subscription's ID for `add`.
    func subscribeReturningID(_ sources: [String: [LogSource]], follow: Bool, tail: Int?, since: Timestamp?,
                              stdout: Bool, stderr: Bool) -> (id: String, lines: AsyncStream<[BrokeredLine]>) {
        nextSubscriptionID += 1
        let id = "logs-\(nextSubscriptionID)-\(newObjectID().prefix(8))"
        let (stream, continuation) = AsyncStream<[BrokeredLine]>.makeStream()
        let sources = sources.filter { !$0.value.isEmpty }
        // Following waits for tasks to come even if none has a container yet.
        guard !sources.isEmpty || follow else {
            continuation.finish()
            return (id, stream)
        }
        var perNode: [String: LogSubscription] = [:]
        var serviceOfTask: [String: String] = [:]
        for (node, list) in sources {
            perNode[node] = LogSubscription(id: id, sources: list, follow: follow, tail: tail, since: since, stdout: stdout, stderr: stderr)
            for source in list { serviceOfTask[source.taskID] = source.serviceID }
        }
        active[id] = Active(continuation: continuation, perNode: perNode, open: Set(perNode.keys), serviceOfTask: serviceOfTask,
                            template: LogSubscription(id: id, sources: [], follow: follow, tail: tail, since: since, stdout: stdout, stderr: stderr))
        continuation.onTermination = { _ in Task { await self.end(id) } }
        changed()
        Task { [pickUpTimeout] in
            try? await Task.sleep(for: pickUpTimeout)
            await self.abandonUnpicked(id)
        }
        return (id, stream)
    }

    /// A task that started after a following reader subscribed: its node
    /// reads it too (the node's agent sees the grown subscription at its next poll).
    func add(_ id: String, node: String, source: LogSource) {
        guard var subscription = active[id], let template = subscription.template else { return }
        var part = subscription.perNode[node] ?? LogSubscription(id: id, sources: [], follow: template.follow, tail: template.tail,
                                                                  since: template.since, stdout: template.stdout, stderr: template.stderr)
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
        let mine = active.values.compactMap { $0.perNode[node] }.sorted { $0.id < $1.id }
        for subscription in mine { active[subscription.id]?.picked.insert(node) }
        return LogSubscriptions(version: version, subscriptions: mine)
    }

    /// Lines from `node`; false when the subscription is gone (stop sending).
    public func publish(from node: String, _ publication: LogPublication) -> Bool {
        guard var subscription = active[publication.subscriptionID], subscription.perNode[node] != nil else { return false }
        if !publication.lines.isEmpty {
            subscription.continuation.yield(publication.lines.map {
                BrokeredLine(nodeID: node, serviceID: subscription.serviceOfTask[$0.taskID] ?? "", line: $0)
            })
        }
        if publication.done {
            subscription.open.remove(node)
            active[publication.subscriptionID] = subscription
            if subscription.open.isEmpty {
                subscription.continuation.finish()
                end(publication.subscriptionID)
            }
        }
        return true
    }

    /// Nodes that did not take the subscription in time will not send: a
    /// reader that is not following is not kept waiting for them.
    func abandonUnpicked(_ id: String) {
        guard let subscription = active[id] else { return }
        for node in subscription.open.subtracting(subscription.picked) {
            _ = publish(from: node, LogPublication(subscriptionID: id, lines: [], done: true))
        }
    }

    private func end(_ id: String) {
        guard active.removeValue(forKey: id) != nil else { return }
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
