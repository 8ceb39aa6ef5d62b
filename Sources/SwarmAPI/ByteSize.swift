/// Sizes as Docker parses memory values (its flags and compose files) (go-units RAMInBytes): a number,
/// optionally fractional, then an optional k, m, g, t or p (any case, 1024
/// based) and an optional `b`/`ib`: `512M`, `1g`, `1.5GiB`, `1048576`.
public enum ByteSize {
    public static func parse(_ text: String) -> Int64? {
        var rest = Substring(text)
        let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        guard !number.isEmpty, let value = Double(number) else { return nil }
        rest = rest.dropFirst(number.count).drop { $0 == " " }
        var multiplier = 1.0
        if let unit = rest.first?.lowercased(), let power = "kmgtp".firstIndex(of: Character(unit)) {
            multiplier = pow1024("kmgtp".distance(from: "kmgtp".startIndex, to: power) + 1)
            rest = rest.dropFirst()
            if rest.first == "i" || rest.first == "I" { rest = rest.dropFirst() }
        }
        if rest.first == "b" || rest.first == "B" { rest = rest.dropFirst() }
        guard rest.isEmpty, value * multiplier < 9.2e18 else { return nil }
        return Int64(value * multiplier)
    }

    private static func pow1024(_ exponent: Int) -> Double {
        (0..<exponent).reduce(1.0) { product, _ in product * 1024 }
    }
}

