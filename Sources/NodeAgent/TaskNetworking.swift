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
    /// The tasks wired now (after a restart: those found wired). The agent
    /// releases those neither assigned nor with a container once it knows
    /// its whole set.
    func wiredTaskIDs() async -> Set<String>
}

extension TaskNetworking {
    public func wiredTaskIDs() async -> Set<String> { [] }
}

public enum NetworkingError: Error, CustomStringConvertible {
    /// A task on an overlay network, on a node without a data path.
    case noDataPath
    public var description: String {
        "this node has no overlay data path (it advertises a loopback address): the task's networks cannot be wired; join with --advertise-addr set to an address other nodes reach"
    }
}

/// One task's interface in one overlay network, as the data path made it.
public struct WiredInterface: Codable, Hashable, Sendable {
    public var networkID: String
    /// The interface's name inside the task's namespace ("eth0", …).
    public var name: String
    /// The task's address in the network ("10.0.1.5", no prefix).
    public var address: String
    public init(networkID: String, name: String, address: String) {
        self.networkID = networkID; self.name = name; self.address = address
    }
}

/// What the overlay data path made for one task: what the service mesh
/// (VIP rules, DNS server, ingress replies) builds on in that namespace.
public struct WiredTask: Codable, Hashable, Sendable {
    public var taskID: String
    public var serviceID: String
    /// The task's network namespace (a bind-mounted nsfs file).
    public var namespacePath: String
    public var interfaces: [WiredInterface]
    /// The task's address on the node's gateway bridge (its way out and the
    /// target of host-mode published ports); nil when it has none (only
    /// `--internal` networks).
    public var gatewayAddress: String?
    public init(taskID: String, serviceID: String, namespacePath: String, interfaces: [WiredInterface], gatewayAddress: String?) {
        self.taskID = taskID; self.serviceID = serviceID; self.namespacePath = namespacePath
        self.interfaces = interfaces; self.gatewayAddress = gatewayAddress
    }
}

/// What the overlay data path made on the node itself (in its own network
/// namespace): the gateway bridge and the node's ingress endpoint.
public struct NodeWiring: Codable, Hashable, Sendable {
    /// The node's own address (its VTEP, the advertise address).
    public var nodeAddr: String
    /// The gateway bridge (Docker's docker_gwbridge) and its subnet ("172.18.0.0/16").
    public var gatewayBridge: String
    public var gatewaySubnet: String
    /// The node's interface into the ingress network and its address there:
    /// published ports are DNATed to tasks' ingress addresses through it. Nil
    /// until the ingress network is wired.
    public var ingressInterface: String?
    public var ingressAddress: String?
    public init(nodeAddr: String, gatewayBridge: String, gatewaySubnet: String, ingressInterface: String? = nil, ingressAddress: String? = nil) {
        self.nodeAddr = nodeAddr; self.gatewayBridge = gatewayBridge; self.gatewaySubnet = gatewaySubnet
        self.ingressInterface = ingressInterface; self.ingressAddress = ingressAddress
    }
}
