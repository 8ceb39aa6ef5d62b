import SwarmAPI

/// A node's data path for its tasks' networks: the agent tells it what the
/// manager says of the networks and asks it to wire each task before its
/// container starts. Nil in an agent whose engine runs no real containers.
public protocol TaskNetworking: Sendable {
    /// The networks this node needs, whole, each time the manager's view of
    /// them changes: peers, services, VIPs, published ports.
    func update(_ networks: [NetworkView]) async
    /// Before the task's container is created: the path of a network
    /// namespace wired into every network of `task.networksAttachments`
    /// (made again if it exists: idempotent), for the container to join.
    /// Nil when the task runs in the host's network.
    func prepare(_ task: SwarmTask) async throws -> String?
    /// After the task's container is removed (or found gone): everything
    /// `prepare` made for it goes.
    func release(taskID: String) async
    /// On leave: every namespace, link, address, route, neighbour and rule
    /// this node's data path made.
    func removeAll() async
}
