import SwarmAPI

extension ComposeReader {
    /// One `ports:` item: short (`5000:5000`, `8080`, `53:53/udp`,
    /// `127.0.0.1:80:80`, `3000-3002:3000-3002`) or long
    /// (`target`, `published`, `protocol`, `mode`).
    func port(_ item: YAMLValue) throws(ComposeError) -> [PortConfig] {
        if case .mapping = item.kind {
            let fields = try Fields(item, path: "ports", at: item.position)
            for unknown in fields.unknown(["target", "published", "protocol", "mode", "host_ip", "name", "app_protocol"]) {
                throw unknown.keyPosition.error("unknown key '\(unknown.key)' in ports (expected target, published, protocol or mode)")
            }
            try fields.refuse(["host_ip"], why: "ports are published on every address")
            guard let target = try fields.int("target") else { throw item.position.error("ports items in the long form must have a target") }
            guard (1...65535).contains(target) else { throw fields["target"]!.keyPosition.error("ports.target must be a port (1-65535), got \(target)") }
            var published: Int?
            if let entry = fields["published"] {
                guard let value = entry.value.scalarText.flatMap({ Int($0) }), (0...65535).contains(value) else {
                    throw entry.keyPosition.error("ports.published must be a port (1-65535), got \(entry.value.shown)")
                }
                published = value == 0 ? nil : value
            }
            let proto = try fields.string("protocol") ?? "tcp"
            guard ["tcp", "udp", "sctp"].contains(proto) else {
                throw fields["protocol"]!.keyPosition.error("ports.protocol must be tcp, udp or sctp, got \"\(proto)\"")
            }
            let mode = try fields.string("mode") ?? "ingress"
            guard ["ingress", "host"].contains(mode) else {
                throw fields["mode"]!.keyPosition.error("ports.mode must be ingress or host, got \"\(mode)\"")
            }
            var port = PortConfig(protocol: proto, targetPort: UInt32(target), publishedPort: published.map(UInt32.init), publishMode: mode)
            port.name = try fields.string("name")
            return [port]
        }
        guard let spec = item.scalarText else { throw item.position.error("ports items must be a string like 5000:5000 or a mapping, got \(item.shown)") }
        return try Self.shortPort(spec, at: item.position)
    }

    /// Docker's nat.ParsePortSpec, then one PortConfig per port of a range.
    static func shortPort(_ spec: String, at position: Position) throws(ComposeError) -> [PortConfig] {
        func bad(_ why: String) -> ComposeError { position.error("invalid port \"\(spec)\": \(why)") }
        var rest = spec
        var proto = "tcp"
        if let slash = spec.lastIndex(of: "/") {
            proto = String(spec[spec.index(after: slash)...])
            rest = String(spec[..<slash])
            guard ["tcp", "udp", "sctp"].contains(proto) else { throw bad("invalid proto: \(proto)") }
        }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let hostText: String, containerText: String
        switch parts.count {
        case 1: (hostText, containerText) = ("", parts[0])
        case 2: (hostText, containerText) = (parts[0], parts[1])
        case 3: (hostText, containerText) = (parts[1], parts[2])
        default: throw bad("expected [IP:][PUBLISHED:]TARGET[/PROTOCOL]")
        }
        guard !containerText.isEmpty else { throw bad("no port specified") }
        guard let container = range(containerText) else { throw bad("invalid containerPort: \(containerText)") }
        var host: ClosedRange<Int>?
        if !hostText.isEmpty {
            guard let parsed = range(hostText) else { throw bad("invalid hostPort: \(hostText)") }
            guard parsed.count == container.count else { throw bad("invalid ranges specified for container and host Ports") }
            host = parsed
        }
        return container.enumerated().map { offset, target in
            PortConfig(protocol: proto, targetPort: UInt32(target), publishedPort: host.map { UInt32($0.lowerBound + offset) }, publishMode: "ingress")
        }
    }

    private static func range(_ text: String) -> ClosedRange<Int>? {
        let bounds = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map { Int($0) }
        guard let low = bounds.first ?? nil, (1...65535).contains(low) else { return nil }
        if bounds.count == 1 { return low...low }
        guard let high = bounds[1], high >= low, high <= 65535 else { return nil }
        return low...high
    }
}
