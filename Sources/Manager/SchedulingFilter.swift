import SwarmAPI

/// One reason a node cannot take a task, as swarmkit's scheduler filters:
/// `check` says whether the node passes, `explain` words the failures for
/// `service ps` ("scheduling constraints not satisfied on 3 nodes").
protocol SchedulingFilter: Sendable {
    func check(_ node: Node, _ load: NodeLoad) -> Bool
    func explain(nodes: Int) -> String
}

func plural(_ count: Int) -> String { "\(count) node\(count == 1 ? "" : "s")" }

/// The node is up and takes new tasks (not paused or drained).
struct ReadyFilter: SchedulingFilter {
    func check(_ node: Node, _ load: NodeLoad) -> Bool { node.status.state == .ready && node.spec.availability == .active }
    func explain(nodes: Int) -> String { "\(plural(nodes)) not available for new tasks" }
}

/// The node has room for the task's reservations, counting what is placed on it.
struct ResourceFilter: SchedulingFilter {
    let reservation: Resources?
    func check(_ node: Node, _ load: NodeLoad) -> Bool {
        guard let reservation else { return true }
        return load.fits(reservation, on: node)
    }
    func explain(nodes: Int) -> String { "insufficient resources on \(plural(nodes))" }
}

/// The service's placement constraints (`node.hostname==…`, `node.labels.…`).
struct ConstraintFilter: SchedulingFilter {
    let constraints: [Constraint]
    func check(_ node: Node, _ load: NodeLoad) -> Bool { constraints.allSatisfy { $0.matches(node) } }
    func explain(nodes: Int) -> String { "scheduling constraints not satisfied on \(plural(nodes))" }
}

/// A task with limits goes only where the cgroup controllers for them are.
struct ControllerFilter: SchedulingFilter {
    let needed: [String]
    init(_ limits: Limits?) {
        needed = [(limits?.memoryBytes, "memory"), (limits?.nanoCPUs, "cpu"), (limits?.pids, "pids")]
            .filter { ($0.0 ?? 0) > 0 }.map(\.1)
    }
    func check(_ node: Node, _ load: NodeLoad) -> Bool {
        guard !needed.isEmpty else { return true }
        let have = Set(node.description.cgroupControllers ?? [])
        return needed.allSatisfy(have.contains)
    }
    func explain(nodes: Int) -> String { "cgroup controllers for the task's limits missing on \(plural(nodes))" }
}

/// `--replicas-max-per-node`.
struct MaxReplicasFilter: SchedulingFilter {
    let serviceID: String
    let maxReplicas: UInt64
    func check(_ node: Node, _ load: NodeLoad) -> Bool {
        maxReplicas == 0 || load.count(serviceID, node.id) < Int(maxReplicas)
    }
    func explain(nodes: Int) -> String { "max replicas per node limit exceed" }
}
