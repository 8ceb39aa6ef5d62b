import Glibc

/// "10.0.0.1" → its 4 bytes in network order, as rtnetlink wants addresses.
func ipv4(_ text: String) throws -> [UInt8] {
    var address = in_addr()
    guard inet_pton(AF_INET, text, &address) == 1 else { throw HostNetworkError.badInput("not an IPv4 address: \(text)") }
    return withUnsafeBytes(of: address) { Array($0) }
}

func prefixLength(_ prefix: Int) throws -> UInt8 {
    guard (0...32).contains(prefix) else { throw HostNetworkError.badInput("not an IPv4 prefix length (0-32): \(prefix)") }
    return UInt8(prefix)
}

/// "02:42:0a:00:00:02" → 6 bytes.
func macAddress(_ text: String) throws -> [UInt8] {
    let bytes = text.split(separator: ":", omittingEmptySubsequences: false).compactMap { part in
        part.count == 2 ? UInt8(part, radix: 16) : nil
    }
    guard bytes.count == 6 else { throw HostNetworkError.badInput("not a MAC address: \(text)") }
    return bytes
}
