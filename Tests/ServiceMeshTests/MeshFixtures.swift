import NodeAgent
import SwarmAPI

/// Hand-made views: networks, endpoints and services as the dispatcher sends them.
enum MeshFixtures {
    static func network(_ id: String, subnet: String, ingress: Bool = false) -> SwarmNetwork {
        var spec = NetworkSpec(name: ingress ? "ingress" : id)
        spec.ingress = ingress
        var network = SwarmNetwork(id: id, version: ObjectVersion(index: 1), createdAt: .zero, spec: spec)
        network.ipamOptions = IPAMOptions(configs: [IPAMConfig(subnet: subnet)])
        return network
    }

    static func task(_ id: String, _ address: String, service: String, running: Bool = true, names: [String]? = nil) -> OverlayEndpoint {
        OverlayEndpoint(address: address, nodeAddr: "10.77.0.2", taskID: id, serviceID: service, names: names, running: running)
    }

    static func nodeEndpoint(_ address: String, node: String) -> OverlayEndpoint {
        OverlayEndpoint(address: address, nodeAddr: node, running: true)
    }

    /// "app" (10.0.1.0/24): web (VIP .2, 3 running tasks and a starting one),
    /// db (VIP .3, none running), cache (dnsrr, 2 tasks); "other" (10.0.2.0/24):
    /// secret (VIP 10.0.2.2); the ingress network: web publishing 8080→80/tcp
    /// and 5353→53/udp, two nodes' load-balancer endpoints.
    static let app = NetworkView(
        network: network("app", subnet: "10.0.1.0/24"),
        endpoints: [
            task("w1", "10.0.1.5", service: "web", names: ["web.1.w1"]), task("w2", "10.0.1.6", service: "web"),
            task("w3", "10.0.1.7", service: "web"), task("w4", "10.0.1.8", service: "web", running: false),
            task("d1", "10.0.1.9", service: "db", running: false),
            task("c1", "10.0.1.10", service: "cache"), task("c2", "10.0.1.11", service: "cache"),
        ],
        services: [
            ServiceBinding(serviceID: "web", name: "web", aliases: ["www"], vip: "10.0.1.2",
                           ports: [PortConfig(targetPort: 80, publishedPort: 8080), PortConfig(protocol: "udp", targetPort: 53, publishedPort: 5353)]),
            ServiceBinding(serviceID: "db", name: "db", vip: "10.0.1.3"),
            ServiceBinding(serviceID: "cache", name: "cache", mode: "dnsrr"),
        ])
    static let other = NetworkView(
        network: network("other", subnet: "10.0.2.0/24"),
        endpoints: [task("s1", "10.0.2.5", service: "secret")],
        services: [ServiceBinding(serviceID: "secret", name: "secret", vip: "10.0.2.2")])
    static let ingress = NetworkView(
        network: network("ingress-id", subnet: "10.0.0.0/24", ingress: true),
        endpoints: [
            nodeEndpoint("10.0.0.2", node: "10.77.0.2"), nodeEndpoint("10.0.0.3", node: "10.77.0.3"),
            task("w1", "10.0.0.5", service: "web"), task("w2", "10.0.0.6", service: "web"),
        ],
        services: [ServiceBinding(serviceID: "web", name: "web", vip: "10.0.0.4",
                                  ports: [PortConfig(targetPort: 80, publishedPort: 8080), PortConfig(protocol: "udp", targetPort: 53, publishedPort: 5353)])])

    /// Task w1: on app (eth0) and ingress (eth1).
    static let w1 = WiredTask(taskID: "w1", serviceID: "web", namespacePath: "/run/test/w1",
                              interfaces: [WiredInterface(networkID: "app", name: "eth0", address: "10.0.1.5"),
                                           WiredInterface(networkID: "ingress-id", name: "eth1", address: "10.0.0.5")],
                              gatewayAddress: "172.18.0.5")
    static let nodeWiring = NodeWiring(nodeAddr: "10.77.0.2", gatewayBridge: "swgw0", gatewaySubnet: "172.18.0.0/16",
                                       ingressInterface: "swin0", ingressAddress: "10.0.0.2")
}
