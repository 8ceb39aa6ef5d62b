import SwarmAPI
import SystemCalls

/// `-p/--publish`, as Docker's CLI reads it: the long form
/// `published=5000,target=80[,protocol=udp][,mode=host]` or the short form
/// `5000:80[/udp]` (`80` alone: a published port chosen by the manager).
enum PublishOption {
    static func parse(_ text: String, flag: String = "publish") throws -> PortConfig {
        func bad(_ why: String) -> RuntimeError { .badInput("invalid argument \"\(text)\" for \"-p, --\(flag)\" flag: \(why)") }
        if text.contains("=") {
            var port = PortConfig(targetPort: nil)
            for field in text.split(separator: ",", omittingEmptySubsequences: false) {
                let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw bad("invalid field '\(field)' must be a key=value pair") }
                let (key, value) = (parts[0].lowercased(), parts[1])
                switch key {
                case "published":
                    guard let number = UInt32(value), number <= 65535 else { throw bad("invalid published port \(value): use 1-65535") }
                    port.publishedPort = number
                case "target":
                    guard let number = UInt32(value), number > 0, number <= 65535 else { throw bad("invalid target port \(value): use 1-65535") }
                    port.targetPort = number
                case "protocol":
                    guard ["tcp", "udp", "sctp"].contains(value.lowercased()) else { throw bad("invalid protocol value '\(value)': use tcp, udp or sctp") }
                    port.protocol = value.lowercased()
                case "mode":
                    guard ["ingress", "host"].contains(value.lowercased()) else { throw bad("invalid publish mode value (\(value)): must be either 'ingress' or 'host'") }
                    port.publishMode = value.lowercased()
                default: throw bad("invalid field key \(parts[0])")
                }
            }
            guard port.targetPort != nil else { throw bad("missing mandatory field \"target\"") }
            return port
        }
        var spec = Substring(text), proto = "tcp"
        if let slash = spec.lastIndex(of: "/") {
            proto = spec[spec.index(after: slash)...].lowercased()
            spec = spec[..<slash]
            guard ["tcp", "udp", "sctp"].contains(proto) else { throw bad("invalid proto: \(proto)") }
        }
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2 else {
            throw bad("host IP addresses are not supported: use published:target (a published port answers on every node)")
        }
        guard let target = UInt32(parts.last!), target > 0, target <= 65535 else { throw bad("invalid containerPort: \(parts.last!)") }
        var published: UInt32? = nil
        if parts.count == 2 {
            guard let number = UInt32(parts[0]), number <= 65535 else { throw bad("invalid hostPort: \(parts[0])") }
            published = number == 0 ? nil : number
        }
        return PortConfig(protocol: proto, targetPort: target, publishedPort: published, publishMode: "ingress")
    }

    /// `--publish-rm`: which ports a value names (its target port, and its protocol when given).
    static func removes(_ text: String, _ port: PortConfig) throws -> Bool {
        let named = text.contains("=") || text.contains(":") ? try parse(text, flag: "publish-rm") : nil
        if let named { return port.targetPort == named.targetPort && (port.protocol ?? "tcp") == (named.protocol ?? "tcp") }
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let target = UInt32(parts[0]) else {
            throw RuntimeError.badInput("invalid argument \"\(text)\" for \"--publish-rm\" flag: use the target port, e.g. 80 or 80/udp")
        }
        return port.targetPort == target && (parts.count < 2 || (port.protocol ?? "tcp") == parts[1].lowercased())
    }

    /// `service ls` PORTS: the ingress-mode ports as Docker prints them (`*:5000->80/tcp`).
    static func column(_ ports: [PortConfig]?) -> String {
        (ports ?? []).filter { ($0.publishMode ?? "ingress") == "ingress" }
            .map { "*:\($0.publishedPort ?? 0)->\($0.targetPort ?? 0)/\($0.protocol ?? "tcp")" }.joined(separator: ", ")
    }
}

/// `--network name=N[,alias=A...][,driver-opt=K=V]` or `--network N`.
enum NetworkOption {
    static func parse(_ text: String) throws -> NetworkAttachmentConfig {
        guard text.contains("=") else { return NetworkAttachmentConfig(target: text) }
        var attachment = NetworkAttachmentConfig(target: "")
        for field in text.split(separator: ",") {
            let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw RuntimeError.badInput("invalid argument \"\(text)\" for \"--network\" flag: invalid field '\(field)' must be a key=value pair") }
            switch parts[0].lowercased() {
            case "name": attachment.target = parts[1]
            case "alias": attachment.aliases = (attachment.aliases ?? []) + [parts[1]]
            case "driver-opt":
                let option = parts[1].split(separator: "=", maxSplits: 1).map(String.init)
                attachment.driverOpts = (attachment.driverOpts ?? [:]).merging([option[0]: option.count > 1 ? option[1] : ""]) { $1 }
            default: throw RuntimeError.badInput("invalid argument \"\(text)\" for \"--network\" flag: invalid field key \(parts[0])")
            }
        }
        guard !attachment.target.isEmpty else { throw RuntimeError.badInput("invalid argument \"\(text)\" for \"--network\" flag: network name is missing") }
        return attachment
    }
}
