import NodeAgent
import SwarmAPI

/// One published port of one service, as the node's table serves it.
struct PublishedPort: Hashable, Sendable {
    var serviceID: String
    var `protocol`: String
    var published: UInt32
    var target: UInt32
    var host: Bool
}

/// A published port as `/metrics` counts its connections on this node.
public struct PublishedConnections: Hashable, Sendable {
    public var port: UInt32
    public var `protocol`: String
}

extension MeshRules {
    /// Every published port of the services in `views`, once each (every
    /// network's binding of a service carries the same ports).
    static func publishedPorts(_ views: [NetworkView]) -> [PublishedPort] {
        var ports = Set<PublishedPort>()
        for view in views {
            for service in view.services {
                for port in service.ports {
                    let proto = (port.protocol ?? "tcp").lowercased()
                    guard let published = port.publishedPort, let target = port.targetPort ?? port.publishedPort,
                          ["tcp", "udp", "sctp"].contains(proto), published <= 65535, target <= 65535 else { continue }
                    ports.insert(PublishedPort(serviceID: service.serviceID, protocol: proto,
                                               published: published, target: target, host: port.publishMode == "host"))
                }
            }
        }
        return ports.sorted { ($0.published, $0.protocol, $0.serviceID) < ($1.published, $1.protocol, $1.serviceID) }
    }

    /// The node's table: ingress-mode ports DNATed to the service's running
    /// tasks' ingress addresses (on every local address, for traffic from
    /// outside and from the node itself), host-mode ports to this node's own
    /// tasks of the service through the gateway bridge, refusal of ingress
    /// ports with no task, and masquerade for tasks' traffic leaving the node.
    static func node(views: [NetworkView], node: NodeWiring, localTasks: [WiredTask]) -> String {
        let ingress = views.first { $0.network.spec.ingress == true }
        var dnat: [String] = [], refused: [String] = []
        for port in publishedPorts(views) {
            // `th dport`: the port of whichever transport the l4proto match chose.
            let match = "fib daddr type local meta l4proto \(port.protocol) th dport \(port.published)"
            if port.host {
                let addresses = localTasks.filter { $0.serviceID == port.serviceID }.compactMap(\.gatewayAddress).filter(isIPv4).sorted(by: addressOrder)
                // Host mode: a node with no task of the service does not publish the port at all.
                if !addresses.isEmpty { dnat.append("\(match) counter \(MeshRules.dnat(addresses, port: port.target)) \(counted(port))") }
                continue
            }
            let addresses = ingress.map { backends($0, serviceID: port.serviceID) } ?? []
            if addresses.isEmpty || !(node.ingressInterface.map(isInterfaceName) ?? false) {
                refused += refusal("meta l4proto \(port.protocol) th dport \(port.published)", protocol: port.protocol)
            } else {
                dnat.append("\(match) counter \(MeshRules.dnat(addresses, port: port.target)) \(counted(port))")
            }
        }
        // Tasks reaching outside; and the node's own connections from 127.0.0.0/8 to its
        // published ports (a loopback source cannot leave the node: the node's address instead).
        var masquerade: [String] = []
        if isIPv4Subnet(node.gatewaySubnet) && isInterfaceName(node.gatewayBridge) {
            masquerade.append("ip saddr \(node.gatewaySubnet) oifname != \"\(node.gatewayBridge)\" masquerade")
        }
        for link in loopbackLinks(node) { masquerade.append("ip saddr 127.0.0.0/8 oifname \"\(link)\" masquerade") }
        return replacement([
            chain("published", "type nat hook prerouting priority -100;", rules: dnat),
            chain("published_local", "type nat hook output priority -100;", rules: dnat),
            chain("published_refused", "type filter hook input priority 0;", rules: refused),
            chain("gateway", "type nat hook postrouting priority 100;", rules: masquerade),
        ])
    }

    /// The comment that names a published port's counter (nat chains see
    /// only a connection's first packet: its packets are connections).
    static func counted(_ port: PublishedPort) -> String {
        "comment \"published \(port.published)/\(port.protocol)\""
    }

    /// Connections per published port in the listing of the node's table
    /// (`… counter packets 3 bytes 180 dnat to … comment "published 5000/tcp"`).
    static func publishedConnections(listing: String) -> [PublishedConnections: UInt64] {
        var counts: [PublishedConnections: UInt64] = [:]
        for line in listing.split(separator: "\n") {
            guard let comment = line.range(of: "comment \"published "), let packets = line.range(of: "counter packets ") else { continue }
            let port = line[comment.upperBound...].prefix { $0 != "\"" }.split(separator: "/")
            let count = line[packets.upperBound...].prefix { $0.isNumber }
            guard port.count == 2, let number = UInt32(port[0]), let value = UInt64(count) else { continue }
            counts[PublishedConnections(port: number, protocol: String(port[1])), default: 0] += value
        }
        return counts
    }

    /// The links the node's own connections to published ports leave by: they
    /// need `route_localnet` for 127.0.0.1:PORT to work, as Docker's gateway bridge has it.
    static func loopbackLinks(_ node: NodeWiring) -> [String] {
        [node.ingressInterface, node.gatewayBridge].compactMap { $0 }.filter(isInterfaceName)
    }
}
