/// An IPv4 subnet such as "10.0.1.0/24", as numbers: enough to pick
/// addresses in it and to tell whether two subnets overlap.
struct IPv4Subnet: Hashable, Sendable, CustomStringConvertible {
    let network: UInt32
    let prefix: Int

    init?(_ cidr: String) {
        let parts = cidr.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, let prefix = Int(parts[1]), (0...32).contains(prefix),
              let address = IPv4Subnet.number(String(parts[0])) else { return nil }
        self.init(network: address, prefix: prefix)
    }

    init(network: UInt32, prefix: Int) {
        self.prefix = prefix
        self.network = network & IPv4Subnet.mask(prefix)
    }

    var mask: UInt32 { IPv4Subnet.mask(prefix) }
    var description: String { "\(IPv4Subnet.text(network))/\(prefix)" }

    /// The n-th address of the subnet (1 = the first host).
    func address(_ n: UInt32) -> String { IPv4Subnet.text(network &+ n) }

    func contains(_ address: UInt32) -> Bool { address & mask == network }

    func overlaps(_ other: IPv4Subnet) -> Bool {
        let shorter = min(prefix, other.prefix)
        return network & IPv4Subnet.mask(shorter) == other.network & IPv4Subnet.mask(shorter)
    }

    static func mask(_ prefix: Int) -> UInt32 { prefix == 0 ? 0 : UInt32.max << UInt32(32 - prefix) }

    static func number(_ text: String) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false).map { UInt8($0) }
        guard octets.count == 4, octets.allSatisfy({ $0 != nil }) else { return nil }
        return octets.reduce(UInt32(0)) { $0 << 8 | UInt32($1!) }
    }

    static func text(_ number: UInt32) -> String {
        [24, 16, 8, 0].map { String((number >> UInt32($0)) & 0xff) }.joined(separator: ".")
    }
}
