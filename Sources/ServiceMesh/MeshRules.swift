import NodeAgent
import SwarmAPI

/// The nftables text of our one table (`table ip swarm`), from the views:
/// pure functions, so that tests read exactly what a namespace gets. Each
/// text replaces the whole table in one transaction (the first line makes
/// sure there is a table to delete); conntrack keeps established flows on the
/// task they were balanced to across replacements.
enum MeshRules {
    static let table = "swarm"

    /// Replaces the table's whole content with `chains` (each "chain NAME { … }").
    static func replacement(_ chains: [String]) -> String {
        "table ip \(table)\ndelete table ip \(table)\ntable ip \(table) {\n" + chains.joined(separator: "\n") + "}\n"
    }

    static let deletion = "table ip \(table)\ndelete table ip \(table)\n"

    static func chain(_ name: String, _ hook: String, rules: [String]) -> String {
        "  chain \(name) {\n    \(hook) policy accept;\n" + rules.map { "    " + $0 + "\n" }.joined() + "  }\n"
    }

    /// `dnat to` one address, or spread over several by a counter (round
    /// robin, as IPVS's default); `port` rewrites the destination port.
    static func dnat(_ addresses: [String], port: UInt32? = nil) -> String {
        let suffix = port.map { " : \($0)" } ?? ""
        if addresses.count == 1 { return "dnat to \(addresses[0])\(suffix)" }
        let map = addresses.enumerated().map { "\($0.offset) : \($0.element)" }.joined(separator: ", ")
        return "dnat to numgen inc mod \(addresses.count) map { \(map) }\(suffix)"
    }

    /// Refused at once: a TCP reset, or ICMP port unreachable for anything else.
    static func refusal(_ match: String, protocol: String? = nil) -> [String] {
        switch `protocol` {
        case "tcp": ["\(match) meta l4proto tcp reject with tcp reset"]
        case nil: ["\(match) meta l4proto tcp reject with tcp reset", "\(match) reject"]
        default: ["\(match) reject"]
        }
    }

    /// The running tasks of `serviceID` in `view`, by address, in a stable order.
    static func backends(_ view: NetworkView, serviceID: String) -> [String] {
        view.endpoints.filter { $0.running && $0.taskID != nil && $0.serviceID == serviceID && isIPv4($0.address) }
            .map(\.address).sorted(by: addressOrder)
    }

    // What goes into nft's text is checked first: a stray character in a
    // view must not become a command of its own.

    static func isIPv4(_ text: String) -> Bool { ipv4Number(text) != nil }

    /// "172.18.0.0/16".
    static func isIPv4Subnet(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 2 && isIPv4(String(parts[0])) && (Int(parts[1]).map { (0...32).contains($0) } ?? false)
    }

    /// A Linux interface name: at most 15 of letters, digits and `_.-@`.
    static func isInterfaceName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 15 && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-@".contains($0)) }
    }

    static func addressOrder(_ a: String, _ b: String) -> Bool {
        (ipv4Number(a) ?? 0, a) < (ipv4Number(b) ?? 0, b)
    }

    /// "10.0.0.2" → 0x0a000002.
    static func ipv4Number(_ address: String) -> UInt32? {
        let octets = address.split(separator: ".", omittingEmptySubsequences: false).compactMap { UInt8($0) }
        guard octets.count == 4 else { return nil }
        return octets.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}

/// A reply route for ingress traffic in a task's namespace: packets of
/// connections marked `mark` leave through `link` via `gateway` (the ingress
/// node that forwarded them), in routing table `mark`.
struct MarkRoute: Hashable, Sendable {
    var mark: UInt32
    var gateway: String
    var link: String
    var table: UInt32 { mark }
    static let rulePriority: UInt32 = 100
}

/// What one task's namespace gets.
struct TaskRules: Equatable, Sendable {
    var nft: String
    var routes: Set<MarkRoute>
}

extension MeshRules {
    /// A task's table: VIPs of the services on its networks (nat output),
    /// refusal for VIPs with no running task, and the marks that send replies
    /// of ingress connections back through the node that forwarded them.
    static func task(_ task: WiredTask, views: [NetworkView]) -> TaskRules {
        let interfaces = Dictionary(task.interfaces.map { ($0.networkID, $0) }, uniquingKeysWith: { first, _ in first })
        var balanced: [String] = [], refused: [String] = [], marking: [String] = []
        var routes = Set<MarkRoute>()
        for view in views.sorted(by: { $0.network.id < $1.network.id }) {
            guard let interface = interfaces[view.network.id], isInterfaceName(interface.name) else { continue }
            for service in view.services.sorted(by: { $0.serviceID < $1.serviceID }) where service.mode != "dnsrr" {
                guard let vip = service.vip, isIPv4(vip) else { continue }
                let addresses = backends(view, serviceID: service.serviceID)
                if addresses.isEmpty {
                    refused += refusal("ip daddr \(vip)")
                } else {
                    balanced.append("ip daddr \(vip) \(dnat(addresses))")
                }
            }
            if view.network.spec.ingress == true {
                // The nodes' load-balancer endpoints: each forwards with the MAC of its ingress address.
                let nodes = view.endpoints.filter { $0.taskID == nil }.map(\.address).sorted(by: addressOrder)
                let entries = nodes.compactMap { address -> String? in
                    guard let mac = OverlayAddress.mac(of: address), let mark = ipv4Number(address) else { return nil }
                    routes.insert(MarkRoute(mark: mark, gateway: address, link: interface.name))
                    return "\(mac) : \(hex(mark))"
                }
                if !entries.isEmpty {
                    marking.append("iifname \"\(interface.name)\" ct state new ct mark set ether saddr map { \(entries.joined(separator: ", ")) }")
                }
            }
        }
        var chains = [chain("vip", "type nat hook output priority -100;", rules: balanced),
                      chain("vip_refused", "type filter hook output priority 0;", rules: refused)]
        if !marking.isEmpty {
            chains.append(chain("ingress_mark", "type filter hook prerouting priority -150;", rules: marking))
            // A route chain: the kernel routes a packet again when its mark changes here.
            chains.append(chain("ingress_reply", "type route hook output priority -150;", rules: ["ct mark != 0 meta mark set ct mark"]))
        }
        return TaskRules(nft: replacement(chains), routes: routes)
    }
}
