/// Unsigned big-endian numbers written in base 36 the way Go's
/// `big.Int.Text(36)` writes them (digits 0-9 then lowercase a-z), because
/// Docker's join tokens and object IDs are made that way.
enum Base36 {
    private static let digits = Array("0123456789abcdefghijklmnopqrstuvwxyz".utf8)

    /// `bytes` read as a big-endian number, left-padded with "0" to `width`.
    static func encode(_ bytes: [UInt8], width: Int = 0) -> String {
        var number = bytes
        var out: [UInt8] = []
        while number.contains(where: { $0 != 0 }) {
            var remainder = 0
            for i in number.indices {
                let acc = remainder << 8 | Int(number[i])
                number[i] = UInt8(acc / 36)
                remainder = acc % 36
            }
            out.append(digits[remainder])
        }
        while out.count < width { out.append(UInt8(ascii: "0")) }
        return String(decoding: out.reversed(), as: UTF8.self)
    }

    /// The number as exactly `byteCount` big-endian bytes; nil for a character
    /// outside [0-9a-z] or a value that does not fit.
    static func decode(_ text: Substring, byteCount: Int) -> [UInt8]? {
        var number = [UInt8](repeating: 0, count: byteCount)
        for c in text.utf8 {
            var carry: Int
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): carry = Int(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): carry = Int(c - UInt8(ascii: "a")) + 10
            default: return nil
            }
            for i in number.indices.reversed() {
                let acc = Int(number[i]) * 36 + carry
                number[i] = UInt8(truncatingIfNeeded: acc)
                carry = acc >> 8
            }
            if carry != 0 { return nil }
        }
        return number
    }

    static func isDigit(_ c: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c)
    }
}

func randomBytes(_ count: Int) -> [UInt8] {
    // SystemRandomNumberGenerator is the OS CSPRNG (getrandom on Linux).
    var rng = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
}

func hexString(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}
