import ClusterStore
import SwarmAPI

/// What the dispatcher tells each node of the overlay networks: for every
/// network the node has a live task on (and the ingress network, always)
/// the network's endpoints cluster-wide and the services bound to it.
/// Kept from the store's changes; a change marks the networks it touches
/// dirty, and the dispatcher wakes the nodes that see them. Tasks and
/// services without overlay networks cost a dictionary lookup.
struct NetworkViews {
    private(set) var networks: [String: SwarmNetwork] = [:]
    private(set) var ingressID: String?

    /// A live, placed task's place in its networks.
    private struct TaskEndpoint: Equatable {
        var serviceID: String
        var node: String
        /// Network ID → address without prefix.
        var addresses: [String: String]
        var running: Bool
        var names: [String]
    }
    private var endpoints: [String: TaskEndpoint] = [:]
    /// Per node, the IDs of its attached containers (their endpoints are in `endpoints`, keyed by attachment ID).
    private var attachmentsOfNode: [String: Set<String>] = [:]
    private var endpointsOfNetwork: [String: Set<String>] = [:]
    /// Per node, per network: how many of its live tasks are on it.
    private var networksOfNode: [String: [String: Int]] = [:]
    private var nodesOfNetwork: [String: Set<String>] = [:]

    /// A service bound to overlay networks, as its bindings need it.
    private struct Bound: Equatable {
        var name: String
        var mode: String
        var ports: [PortConfig]
        /// Network ID → (aliases, VIP without prefix).
        var networks: [String: (aliases: [String], vip: String?)]
        static func == (a: Bound, b: Bound) -> Bool {
            a.name == b.name && a.mode == b.mode && a.ports == b.ports && a.networks.count == b.networks.count
                && a.networks.allSatisfy { key, value in b.networks[key].map { $0.aliases == value.aliases && $0.vip == value.vip } ?? false }
        }
    }
    private var services: [String: Bound] = [:]
    private var servicesOfNetwork: [String: Set<String>] = [:]

    private var nodeAddr: [String: String] = [:]
    /// Nodes' load-balancer addresses in the ingress network, without prefix.
    private var balancers: [String: String] = [:]

    /// Changed since the dispatcher last read them.
    var dirtyNetworks: Set<String> = []
    var dirtyNodes: Set<String> = []
    /// The index at which each network's view, and each node's set of networks, last changed.
    private var networkChangedAt: [String: UInt64] = [:]
    private var nodeChangedAt: [String: UInt64] = [:]
    private var cache: [String: (at: UInt64, view: NetworkView)] = [:]

    init() {}

    init(_ snapshot: StoreSnapshot) {
        for network in snapshot.networks { apply(.network(network), deleted: false) }
        for node in snapshot.nodes { apply(.node(node), deleted: false) }
        for service in snapshot.services { apply(.service(service), deleted: false) }
        for task in snapshot.tasks { apply(.task(task), deleted: false) }
        _ = stamp(snapshot.index)
    }

    // MARK: - Changes

    mutating func apply(_ object: StoreObject, deleted: Bool) {
        switch object {
        case .swarm, .secret, .config: break
        case .network(let network):
            if deleted {
                networks[network.id] = nil
                if ingressID == network.id { ingressID = nil }
            } else {
                networks[network.id] = network
                if network.spec.ingress == true { ingressID = network.id }
            }
            dirtyNetworks.insert(network.id)
        case .node(let node):
            let addr = deleted ? nil : node.status.addr
            let balancer = deleted ? nil : node.ingressAddress.map(OverlayAddress.withoutPrefix)
            if nodeAddr[node.id] != addr {
                nodeAddr[node.id] = addr
                if let ids = networksOfNode[node.id]?.keys { dirtyNetworks.formUnion(ids) }
                if balancers[node.id] != nil, let ingressID { dirtyNetworks.insert(ingressID) }
            }
            if balancers[node.id] != balancer {
                balancers[node.id] = balancer
                if let ingressID { dirtyNetworks.insert(ingressID) }
            }
            attach(node.id, deleted ? [] : node.attachments ?? [])
            if deleted { nodeChangedAt[node.id] = nil }
        case .service(let service):
            let bound = deleted ? nil : Self.bound(service, ingressID: ingressID)
            let old = services[service.id]
            guard bound != old else { return }
            for id in old.map({ Array($0.networks.keys) }) ?? [] { servicesOfNetwork[id]?.remove(service.id); dirtyNetworks.insert(id) }
            for id in bound.map({ Array($0.networks.keys) }) ?? [] { servicesOfNetwork[id, default: []].insert(service.id); dirtyNetworks.insert(id) }
            services[service.id] = bound
        case .task(let task):
            guard task.networksAttachments != nil || endpoints[task.id] != nil else { return }
            let endpoint = deleted ? nil : Self.endpoint(task)
            let old = endpoints[task.id]
            guard endpoint != old else { return }
            if let old { unplace(task.id, old) }
            if let endpoint { place(task.id, endpoint) }
            endpoints[task.id] = endpoint
        }
    }

    /// A node's attached containers are endpoints of their networks as its
    /// tasks are: peers learn their addresses, and the node sees the network.
    private mutating func attach(_ node: String, _ attachments: [ContainerAttachment]) {
        let old = attachmentsOfNode[node] ?? []
        guard !old.isEmpty || !attachments.isEmpty else { return }
        var kept: Set<String> = []
        for attachment in attachments {
            kept.insert(attachment.id)
            let endpoint = TaskEndpoint(serviceID: "", node: node,
                                        addresses: [attachment.networkID: OverlayAddress.withoutPrefix(attachment.address)],
                                        running: true, names: attachment.containerName.map { [$0] } ?? [])
            guard endpoints[attachment.id] != endpoint else { continue }
            if let previous = endpoints[attachment.id] { unplace(attachment.id, previous) }
            place(attachment.id, endpoint)
            endpoints[attachment.id] = endpoint
        }
        for id in old.subtracting(kept) {
            if let previous = endpoints.removeValue(forKey: id) { unplace(id, previous) }
        }
        attachmentsOfNode[node] = kept.isEmpty ? nil : kept
    }

    private mutating func place(_ taskID: String, _ endpoint: TaskEndpoint) {
        for id in endpoint.addresses.keys {
            endpointsOfNetwork[id, default: []].insert(taskID)
            dirtyNetworks.insert(id)
            let count = networksOfNode[endpoint.node]?[id] ?? 0
            networksOfNode[endpoint.node, default: [:]][id] = count + 1
            if count == 0 { nodesOfNetwork[id, default: []].insert(endpoint.node); dirtyNodes.insert(endpoint.node) }
        }
    }

    private mutating func unplace(_ taskID: String, _ endpoint: TaskEndpoint) {
        for id in endpoint.addresses.keys {
            endpointsOfNetwork[id]?.remove(taskID)
            dirtyNetworks.insert(id)
            let count = (networksOfNode[endpoint.node]?[id] ?? 1) - 1
            networksOfNode[endpoint.node]?[id] = count > 0 ? count : nil
            if count <= 0 { nodesOfNetwork[id]?.remove(endpoint.node); dirtyNodes.insert(endpoint.node) }
        }
    }

    private static func endpoint(_ task: SwarmTask) -> TaskEndpoint? {
        guard let node = task.nodeID, !task.status.state.isTerminal, let attachments = task.networksAttachments, !attachments.isEmpty else { return nil }
        var addresses: [String: String] = [:]
        for attachment in attachments {
            if let cidr = attachment.addresses.first { addresses[attachment.network.id] = OverlayAddress.withoutPrefix(cidr) }
        }
        let service = task.serviceName ?? task.serviceID
        var names = ["\(service).\(task.slot.map(String.init) ?? node).\(task.id)"]
        if let hostname = task.spec.containerSpec?.hostname, !hostname.isEmpty { names.append(hostname) }
        return TaskEndpoint(serviceID: task.serviceID, node: node, addresses: addresses, running: task.status.state == .running && task.desiredState <= .running, names: names)
    }

    /// A service with host-mode ports and no network is bound to the
    /// ingress network's views (which every node gets), so the nodes running
    /// its tasks learn its ports.
    private static func bound(_ service: Service, ingressID: String?) -> Bound? {
        var networks: [String: (aliases: [String], vip: String?)] = [:]
        for attachment in service.spec.taskTemplate.networks ?? [] where attachment.target != "host" {
            networks[attachment.target] = (attachment.aliases ?? [], nil)
        }
        for vip in service.endpoint?.virtualIPs ?? [] {
            networks[vip.networkID] = (networks[vip.networkID]?.aliases ?? [], OverlayAddress.withoutPrefix(vip.addr))
        }
        if networks.isEmpty, let ingressID, (service.endpoint?.ports ?? []).contains(where: { $0.publishMode == "host" }) {
            networks[ingressID] = ([], nil)
        }
        guard !networks.isEmpty else { return nil }
        return Bound(name: service.spec.name, mode: service.spec.endpointSpec?.mode ?? "vip", ports: service.endpoint?.ports ?? [], networks: networks)
    }

    /// The dirty networks and nodes changed at `index`; returns the nodes whose view changed.
    mutating func stamp(_ index: UInt64) -> Set<String> {
        var touched: Set<String> = dirtyNodes
        for id in dirtyNodes { nodeChangedAt[id] = index }
        for id in dirtyNetworks {
            networkChangedAt[id] = index
            cache[id] = nil
            if id == ingressID { touched.formUnion(nodeAddr.keys) } else { touched.formUnion(nodesOfNetwork[id] ?? []) }
        }
        dirtyNetworks = []; dirtyNodes = []
        return touched
    }

    // MARK: - A node's view

    /// The networks `node` sees: those of its live tasks, and ingress.
    func networkIDs(of node: String) -> [String] {
        var ids = networksOfNode[node].map { Array($0.keys) } ?? []
        if let ingressID, !ids.contains(ingressID) { ids.append(ingressID) }
        return ids.filter { networks[$0] != nil }.sorted()
    }

    /// The index at which what `node` sees last changed.
    func version(of node: String) -> UInt64 {
        networkIDs(of: node).reduce(nodeChangedAt[node] ?? 0) { max($0, networkChangedAt[$1] ?? 0) }
    }

    mutating func views(of node: String) -> [NetworkView] {
        networkIDs(of: node).compactMap { view(of: $0) }
    }

    mutating func view(of id: String) -> NetworkView? {
        let at = networkChangedAt[id] ?? 0
        if let cached = cache[id], cached.at == at { return cached.view }
        guard let network = networks[id] else { return nil }
        var list: [OverlayEndpoint] = (endpointsOfNetwork[id] ?? []).compactMap { taskID in
            guard let endpoint = endpoints[taskID], let address = endpoint.addresses[id] else { return nil }
            return OverlayEndpoint(address: address, nodeAddr: nodeAddr[endpoint.node] ?? "", taskID: taskID, serviceID: endpoint.serviceID.isEmpty ? nil : endpoint.serviceID,
                                   names: endpoint.names, running: endpoint.running)
        }
        if id == ingressID {
            for (node, address) in balancers { list.append(OverlayEndpoint(address: address, nodeAddr: nodeAddr[node] ?? "", running: true)) }
        }
        list.sort { ($0.address.split(separator: ".").compactMap { Int($0) }).lexicographicallyPrecedes($1.address.split(separator: ".").compactMap { Int($0) }) }
        let bindings: [ServiceBinding] = (servicesOfNetwork[id] ?? []).compactMap { serviceID in
            guard let bound = services[serviceID], let here = bound.networks[id] else { return nil }
            return ServiceBinding(serviceID: serviceID, name: bound.name, aliases: here.aliases, mode: bound.mode,
                                  vip: bound.mode == "vip" ? here.vip : nil, ports: bound.ports)
        }.sorted { $0.name < $1.name }
        let view = NetworkView(network: network, endpoints: list, services: bindings)
        cache[id] = (at, view)
        return view
    }
}
