import ClusterStore
import CoreMetrics
import SwarmAPI

/// The manager's metrics that the store's state tells, kept from its watch
/// like any component: tasks by state, nodes by status, the dispatcher's
/// sessions (one per ready node), heartbeats missed (a ready node marked
/// down) and the scheduling latency (a task's creation to its assignment).
/// Goes to whatever `MetricsFactory` it is given (Prometheus in swarmd).
public actor ClusterMetrics {
    public static let tasks = "swarm_manager_tasks"
    public static let nodes = "swarm_manager_nodes"
    public static let sessions = "swarm_dispatcher_sessions"
    public static let heartbeatsMissed = "swarm_dispatcher_heartbeats_missed_total"
    public static let schedulingLatency = "swarm_scheduler_latency_seconds"

    let store: any ClusterStore
    let factory: any MetricsFactory
    private var taskStates: [String: TaskState] = [:]
    private var nodeStates: [String: NodeState] = [:]
    private var progress = ProgressWaiters()
    private let latency: Timer
    private let missed: Counter
    private let taskGauges: [TaskState: Gauge]
    private let nodeGauges: [NodeState: Gauge]
    private let sessionGauge: Gauge

    public init(store: any ClusterStore, factory: any MetricsFactory) {
        self.store = store
        self.factory = factory
        latency = Timer(label: Self.schedulingLatency, dimensions: [], factory: factory)
        missed = Counter(label: Self.heartbeatsMissed, dimensions: [], factory: factory)
        var taskGauges: [TaskState: Gauge] = [:]
        for state in TaskState.allCases {
            taskGauges[state] = Gauge(label: Self.tasks, dimensions: [("state", state.name)], factory: factory)
        }
        self.taskGauges = taskGauges
        var nodeGauges: [NodeState: Gauge] = [:]
        for state in [NodeState.unknown, .down, .ready, .disconnected] {
            nodeGauges[state] = Gauge(label: Self.nodes, dimensions: [("state", state.rawValue)], factory: factory)
        }
        self.nodeGauges = nodeGauges
        sessionGauge = Gauge(label: Self.sessions, dimensions: [], factory: factory)
        // Zeros until the first snapshot: every series is there from the start.
        for gauge in Array(taskGauges.values) + Array(nodeGauges.values) + [sessionGauge] { gauge.record(0) }
    }

    public func run() async {
        var watch = store.watch(from: 0).makeAsyncIterator()
        while let event = await watch.next() {
            switch event {
            case .snapshot(let snapshot):
                taskStates = [:]
                nodeStates = [:]
                for task in snapshot.tasks { taskStates[task.id] = task.status.state }
                for node in snapshot.nodes { nodeStates[node.id] = node.status.state }
            case .changes(let changes):
                for change in changes { apply(change) }
            }
            publish()
            progress.advance(to: watch.index)
        }
    }

    /// Returns once the metrics tell the store as of `index`.
    public func processed(through index: UInt64) async {
        await withCheckedContinuation { progress.add(index, $0) }
    }

    private func apply(_ change: StoreChange) {
        switch (change.object, change.action) {
        case (.task(let task), .deleted):
            taskStates[task.id] = nil
        case (.task(let task), _):
            let before = taskStates[task.id]
            taskStates[task.id] = task.status.state
            // Placed now: the scheduler took (assignment time − creation) for it.
            if (before ?? .new) < .assigned && task.status.state == .assigned {
                latency.recordNanoseconds(max(0, task.status.timestamp.nanoseconds - task.createdAt.nanoseconds))
            }
        case (.node(let node), .deleted):
            nodeStates[node.id] = nil
        case (.node(let node), _):
            if nodeStates[node.id] == .ready && node.status.state == .down { missed.increment() }
            nodeStates[node.id] = node.status.state
        case (.service, _), (.swarm, _), (.network, _), (.secret, _), (.config, _):
            break
        }
    }

    /// Every state's count, zeros included, so a state that empties reads 0.
    private func publish() {
        var tasks: [TaskState: Int] = [:]
        for state in taskStates.values { tasks[state, default: 0] += 1 }
        for (state, gauge) in taskGauges { gauge.record(tasks[state] ?? 0) }
        var nodes: [NodeState: Int] = [:]
        for state in nodeStates.values { nodes[state, default: 0] += 1 }
        for (state, gauge) in nodeGauges { gauge.record(nodes[state] ?? 0) }
        sessionGauge.record(nodes[.ready] ?? 0)
    }
}
