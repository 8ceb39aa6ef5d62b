/// What the service mesh reports: a one-line reason.
public enum MeshError: Error, CustomStringConvertible, Sendable {
    case nftables(String)
    case dns(String)
    case badInput(String)

    public var description: String {
        switch self {
        case .nftables(let text): "nftables: " + text
        case .dns(let text): "dns: " + text
        case .badInput(let text): text
        }
    }
}
