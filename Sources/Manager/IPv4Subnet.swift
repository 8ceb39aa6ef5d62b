/// An IPv4 subnet ("10.0.1.0/24") as numbers: what the allocator's pools,
/// overlap checks and address choices work on.
struct IPv4Subnet: Hashable, Sendable, CustomStringConvertible {
    /// The network address (host bits cleared).
    let base: UInt32
    let prefix: Int

    init(base: UInt32, prefix: Int) {
        self.prefix = prefix
        self.base = base & Self.mask(prefix)
    }

    /// "10.0.1.0/24"; a set host part is cleared ("10.0.1.5/24" → 10.0.1.0/24), as Go's ParseCIDR does.
    init?(_ cidr: String) {
        let parts = cidr.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = Self.address(String(parts[0])), let prefix = Int(parts[1]),
              (0...32).contains(prefix), parts[1].allSatisfy(\.isNumber) else { return nil }
        self.init(base: address, prefix: prefix)
    }

    static func mask(_ prefix: Int) -> UInt32 { prefix == 0 ? 0 : UInt32.max << UInt32(32 - prefix) }

    var mask: UInt32 { Self.mask(prefix) }
    var last: UInt32 { base | ~mask }
    var description: String { "\(Self.text(base))/\(prefix)" }

    func contains(_ address: UInt32) -> Bool { address & mask == base }
    func overlaps(_ other: IPv4Subnet) -> Bool { contains(other.base) || other.contains(base) }

    /// The addresses a task may get: not the network's own address, nor its broadcast address.
    var hosts: ClosedRange<UInt32>? {
        prefix >= 31 ? base...last : (last - base >= 2 ? (base + 1)...(last - 1) : nil)
    }

    /// "10.0.1.5" → its number; nil unless four decimal octets.
    static func address(_ text: String) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for octet in octets {
            guard !octet.isEmpty, octet.count <= 3, octet.allSatisfy(\.isNumber), let byte = UInt8(octet) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }

    static func text(_ address: UInt32) -> String {
        "\(address >> 24).\(address >> 16 & 0xFF).\(address >> 8 & 0xFF).\(address & 0xFF)"
    }

    /// The subnets of `/size` in this one, in order.
    func subnets(ofPrefix size: Int) -> [IPv4Subnet] {
        guard size >= prefix, size <= 32 else { return [] }
        let step = UInt64(1) << UInt64(32 - size)
        let count = UInt64(1) << UInt64(size - prefix)
        return (0..<count).map { IPv4Subnet(base: UInt32(UInt64(base) + $0 * step), prefix: size) }
    }
}

extension IPv4Subnet {
    /// The host's IPv4 routes from `/proc/net/route`'s text (destination and
    /// mask in hex, in the host's byte order: little-endian here), the
    /// default route left out: a pool must not hand out what the host
    /// already reaches through an interface.
    static func routes(procNetRoute text: String) -> [IPv4Subnet] {
        text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 8, let destination = UInt32(fields[1], radix: 16), let mask = UInt32(fields[7], radix: 16),
                  mask != 0 else { return nil }
            return IPv4Subnet(base: destination.byteSwapped, prefix: mask.nonzeroBitCount)
        }
    }
}
