import HostNetwork
import Logging
import NodeAgent
import SwarmAPI

/// A node's data path for overlay networks (see docs/NETWORKING.md): per
/// network a sandbox namespace with a bridge and a VXLAN device whose peers
/// are static FDB and neighbour entries; per task a namespace with one veth
/// into each of its networks' sandboxes and one to the node's gateway
/// bridge; the node's own endpoint in the ingress network. Everything it
/// makes is recorded under `<state dir>/overlay`, so that a restarted agent
/// re-adopts it, and `release`/`removeAll` remove exactly that.
public actor OverlayDataPath: TaskNetworking {
    /// The node's address: its VTEP, the advertise address without a port.
    public let nodeAddr: String
    /// The node's network namespace; nil: the one this process runs in.
    let nodeNamespace: NetworkNamespace?
    let records: OverlayRecords
    /// Where sandbox and task namespaces are bind-mounted.
    let namespaceDirectory: String
    let preferredGatewaySubnet: String
    let logger = Logger(label: "swarm.overlay")

    private let executor = OverlayExecutor()
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    static let mtu = 1450

    var loaded = false
    var node = NodeRecord(gatewaySubnet: "")
    var sandboxes: [String: SandboxRecord] = [:]
    var tasks: [String: WiredTask] = [:]
    var adopted: [WiredTask] = []
    /// The networks of the last `update`; nil before the first one (then no
    /// sandbox is removed for not being viewed).
    var viewed: Set<String>?

    /// `stateDirectory`: the node's state directory (each lab node has its
    /// own); the data path keeps its namespaces and records in
    /// `stateDirectory/overlay`. `nodeNamespace`: where the node's own links
    /// go (the gateway bridge, VXLAN sockets, the ingress endpoint); nil for
    /// this process's namespace.
    public init(nodeAddr: String, stateDirectory: String, nodeNamespace: NetworkNamespace? = nil,
                preferredGatewaySubnet: String = "172.18.0.0/16") {
        self.nodeAddr = Self.host(nodeAddr)
        self.nodeNamespace = nodeNamespace
        self.records = OverlayRecords(directory: stateDirectory + "/overlay")
        self.namespaceDirectory = stateDirectory + "/overlay/netns"
        self.preferredGatewaySubnet = preferredGatewaySubnet
    }

    // MARK: - What the service mesh builds on

    /// What `prepare` made for the task; nil if nothing (host network, released).
    public func wired(_ taskID: String) -> WiredTask? {
        loadIfNeeded()
        return tasks[taskID]
    }

    /// The node's gateway bridge and ingress endpoint.
    public var nodeWiring: NodeWiring {
        loadIfNeeded()
        let ingress = node.ingressNetworkID.map(OverlayNames.ingressEndpoint)
        return NodeWiring(nodeAddr: nodeAddr, gatewayBridge: OverlayNames.gatewayBridge, gatewaySubnet: node.gatewaySubnet,
                          ingressInterface: node.ingressAddress == nil ? nil : ingress, ingressAddress: node.ingressAddress)
    }

    /// The tasks found wired when this instance first looked (an agent
    /// restarted over the same state directory): their namespaces are kept.
    public func adoptedTasks() -> [WiredTask] {
        loadIfNeeded()
        return adopted
    }

    /// The network's sandbox namespace (its bridge `br0` and VXLAN device),
    /// once made: where rules for the whole network (the ingress mesh) can go.
    public func sandboxPath(_ networkID: String) -> String? {
        loadIfNeeded()
        return sandboxes[networkID] == nil ? nil : namespace(OverlayNames.sandboxNamespace(networkID)).path
    }

    /// Every task wired now.
    public func wiredTasks() -> [WiredTask] {
        loadIfNeeded()
        return tasks.values.sorted { $0.taskID < $1.taskID }
    }

    public func wiredTaskIDs() async -> Set<String> {
        loadIfNeeded()
        return Set(tasks.keys)
    }

    // MARK: - TaskNetworking

    public func update(_ networks: [NetworkView]) async {
        loadIfNeeded()
        let usable = networks.filter { $0.network.vni != nil && $0.network.subnet != nil }
        viewed = Set(usable.map(\.network.id))
        for view in usable {
            do {
                _ = try ensureSandbox(view.network)
                try syncPeers(view)
                if view.network.spec.ingress == true { try syncIngressEndpoint(view) }
            } catch {
                logger.warning("overlay network", metadata: ["network": "\(view.network.spec.name)", "error": "\(error)"])
            }
        }
        removeUnusedSandboxes()
    }

    public func prepare(_ task: SwarmTask) async throws -> String? {
        loadIfNeeded()
        guard task.spec.networks?.contains(where: { $0.target == "host" }) != true else { return nil }
        // Made again from nothing: what is there may be half made.
        releaseTask(task.id)
        do {
            return try wireTask(task).namespacePath
        } catch {
            releaseTask(task.id)
            throw error
        }
    }

    public func release(taskID: String) async {
        loadIfNeeded()
        releaseTask(taskID)
        removeUnusedSandboxes()
    }

    public func removeAll() async {
        loadIfNeeded()
        for taskID in Array(tasks.keys) { releaseTask(taskID) }
        for networkID in Array(sandboxes.keys) { tearDownSandbox(networkID) }
        removeNodeLinks()
        removeLeftoverNamespaces()
        records.removeAll()
        loaded = false
        adopted = []
        viewed = nil
    }

    // MARK: - Helpers

    /// Runs `body` with the calling thread in the node's namespace.
    func inNode<T>(_ body: () throws -> T) throws -> T {
        guard let nodeNamespace else { return try body() }
        return try nodeNamespace.run(body)
    }

    func nodeLinks() throws -> Netlink { try Netlink(namespace: nodeNamespace) }

    /// Whether a node advertising `address` gets a data path: not one that
    /// advertises a loopback address (a swarm of one, as tests make on the
    /// host), whose overlay networks no other node could reach and whose data
    /// path would change the host's own network (a bridge, forwarding).
    public nonisolated static func serves(advertiseAddr address: String) -> Bool {
        let host = host(address)
        return !(host.hasPrefix("127.") || host == "localhost")
    }

    /// "10.77.0.2:2377" → "10.77.0.2": a node's address as a VTEP.
    nonisolated static func host(_ address: String) -> String {
        String(address.split(separator: ":", maxSplits: 1).first ?? Substring(address))
    }

    func namespace(_ name: String) -> NetworkNamespace { NetworkNamespace(name: name, directory: namespaceDirectory) }
}
