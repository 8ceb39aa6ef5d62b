/// Overlay networks, service endpoints and what a node needs to wire them,
/// in the shapes of the Docker Engine API (swarm.Network, swarm.Endpoint,
/// swarm.NetworkAttachment).

public struct NetworkDriver: Codable, Hashable, Sendable {
    public var name: String
    public var options: [String: String]?
    public init(name: String, options: [String: String]? = nil) { self.name = name; self.options = options }
}

public struct IPAMConfig: Codable, Hashable, Sendable {
    public var subnet: String?
    public var range: String?
    public var gateway: String?
    public init(subnet: String? = nil, range: String? = nil, gateway: String? = nil) {
        self.subnet = subnet; self.range = range; self.gateway = gateway
    }
}

public struct IPAMOptions: Codable, Hashable, Sendable {
    public var driver: NetworkDriver?
    public var configs: [IPAMConfig]?
    public init(driver: NetworkDriver? = NetworkDriver(name: "default"), configs: [IPAMConfig]? = nil) {
        self.driver = driver; self.configs = configs
    }
}

public struct NetworkSpec: Codable, Hashable, Sendable {
    public var name: String
    public var labels: [String: String]?
    public var driverConfiguration: NetworkDriver?
    public var ipv6Enabled: Bool?
    public var `internal`: Bool?
    public var attachable: Bool?
    public var ingress: Bool?
    /// What the user asked for (subnet, gateway); the allocated values are the network's `ipamOptions`.
    public var ipamOptions: IPAMOptions?
    public var scope: String?
    // Go writes "IPv6Enabled": spelled so that APIJSON's key mapping gives it both ways.
    enum CodingKeys: String, CodingKey {
        case name, labels, driverConfiguration, ipv6Enabled = "iPv6Enabled", `internal`, attachable, ingress, ipamOptions, scope
    }
    public init(name: String) { self.name = name }
}

/// A swarm-scoped network. `driverState.options["com.docker.network.driver.overlay.vxlanid_list"]`
/// holds its VNI and `ipamOptions.configs` its allocated subnet and gateway, as Docker's do.
public struct SwarmNetwork: Codable, Hashable, Sendable {
    public var id: String
    public var version: ObjectVersion
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var spec: NetworkSpec
    public var driverState: NetworkDriver?
    public var ipamOptions: IPAMOptions?
    public init(id: String, version: ObjectVersion, createdAt: Timestamp, spec: NetworkSpec) {
        self.id = id; self.version = version; self.createdAt = createdAt; self.updatedAt = createdAt; self.spec = spec
    }

    public static let vxlanOption = "com.docker.network.driver.overlay.vxlanid_list"

    /// The network's VXLAN id, once allocated.
    public var vni: UInt32? { driverState?.options?[Self.vxlanOption].flatMap { UInt32($0) } }
    /// The allocated subnet ("10.0.1.0/24") and gateway ("10.0.1.1").
    public var subnet: String? { ipamOptions?.configs?.first?.subnet }
    public var gateway: String? { ipamOptions?.configs?.first?.gateway }
}

/// A task's (or a node's load balancer's) place in a network: its addresses in CIDR form ("10.0.1.5/24").
public struct NetworkAttachment: Codable, Hashable, Sendable {
    public var network: SwarmNetwork
    public var addresses: [String]
    public init(network: SwarmNetwork, addresses: [String]) { self.network = network; self.addresses = addresses }
}

// MARK: - Service endpoints

public struct PortConfig: Codable, Hashable, Sendable {
    public var name: String?
    /// "tcp" (default), "udp" or "sctp".
    public var `protocol`: String?
    public var targetPort: UInt32?
    /// Chosen by the manager from 30000–32767 when not given.
    public var publishedPort: UInt32?
    /// "ingress" (default): every node; "host": only nodes running a task.
    public var publishMode: String?
    public init(protocol: String? = "tcp", targetPort: UInt32?, publishedPort: UInt32? = nil, publishMode: String? = "ingress") {
        self.protocol = `protocol`; self.targetPort = targetPort; self.publishedPort = publishedPort; self.publishMode = publishMode
    }
}

public struct EndpointVirtualIP: Codable, Hashable, Sendable {
    public var networkID: String
    /// CIDR form: "10.0.0.5/24".
    public var addr: String
    public init(networkID: String, addr: String) { self.networkID = networkID; self.addr = addr }
}

/// What the manager allocated for a service's endpoint.
public struct Endpoint: Codable, Hashable, Sendable {
    public var spec: EndpointSpec?
    public var ports: [PortConfig]?
    public var virtualIPs: [EndpointVirtualIP]?
    public init(spec: EndpointSpec?, ports: [PortConfig]? = nil, virtualIPs: [EndpointVirtualIP]? = nil) {
        self.spec = spec; self.ports = ports; self.virtualIPs = virtualIPs
    }
}

// MARK: - What a node is told

/// One address in an overlay network, cluster-wide: a task's or a node's
/// load balancer's (ingress). Its MAC is `OverlayAddress.mac(of:)`.
public struct OverlayEndpoint: Codable, Hashable, Sendable {
    /// "10.0.1.5" (no prefix).
    public var address: String
    /// The VTEP: the address of the node it lives on (the node's advertise address).
    public var nodeAddr: String
    /// Nil for a node's load-balancer endpoint.
    public var taskID: String?
    public var serviceID: String?
    /// DNS names of the task itself: its container name ("web.1.<task id>") and its hostname, if set.
    public var names: [String]?
    /// The task is running (DNS and the load balancers use only running tasks;
    /// the data path wires every endpoint, so a starting task is reachable at once).
    public var running: Bool
    public init(address: String, nodeAddr: String, taskID: String? = nil, serviceID: String? = nil,
                names: [String]? = nil, running: Bool) {
        self.address = address; self.nodeAddr = nodeAddr; self.taskID = taskID; self.serviceID = serviceID
        self.names = names; self.running = running
    }
}

/// A service as seen from one network: its names there, its VIP, its ports.
public struct ServiceBinding: Codable, Hashable, Sendable {
    public var serviceID: String
    public var name: String
    /// `--network name=N,alias=A` aliases on this network.
    public var aliases: [String]
    /// "vip" or "dnsrr".
    public var mode: String
    /// The service's VIP on this network ("10.0.1.2", no prefix); nil with dnsrr.
    public var vip: String?
    /// Published ports (ingress and host mode), as allocated; set on every network's binding of the service.
    public var ports: [PortConfig]
    public init(serviceID: String, name: String, aliases: [String] = [], mode: String = "vip", vip: String? = nil, ports: [PortConfig] = []) {
        self.serviceID = serviceID; self.name = name; self.aliases = aliases; self.mode = mode; self.vip = vip; self.ports = ports
    }
}

/// One overlay network as a node needs it: sent for every network the node
/// has a task on, and always for the ingress network.
public struct NetworkView: Codable, Hashable, Sendable {
    public var network: SwarmNetwork
    /// Every endpoint in the network, cluster-wide (this node's included).
    public var endpoints: [OverlayEndpoint]
    /// Every service attached to the network.
    public var services: [ServiceBinding]
    public init(network: SwarmNetwork, endpoints: [OverlayEndpoint], services: [ServiceBinding]) {
        self.network = network; self.endpoints = endpoints; self.services = services
    }
}

public enum OverlayAddress {
    /// The MAC of an endpoint: 02:42 and its IPv4 address, as Docker's overlay driver makes them
    /// (so every node knows every endpoint's MAC from its address alone).
    public static func mac(of address: String) -> String? {
        let octets = address.split(separator: ".").compactMap { UInt8($0) }
        guard octets.count == 4 else { return nil }
        return (["02", "42"] + octets.map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }).joined(separator: ":")
    }

    /// "10.0.1.5/24" → "10.0.1.5".
    public static func withoutPrefix(_ cidr: String) -> String {
        String(cidr.split(separator: "/", maxSplits: 1).first ?? Substring(cidr))
    }
}
