/// Durations in Go's syntax (`10s`, `1m30s`, `500ms`, `1.5h`), as Docker's
/// flags and compose files write them and Docker parses them with time.ParseDuration.
public enum GoDuration {
    /// Nanoseconds, or nil when `text` is not a Go duration.
    public static func parse(_ text: String) -> Int64? {
        var characters = Substring(text)
        var negative = false
        if characters.first == "-" || characters.first == "+" {
            negative = characters.first == "-"
            characters = characters.dropFirst()
        }
        if characters == "0" { return 0 }
        guard !characters.isEmpty else { return nil }
        var total = 0.0
        while !characters.isEmpty {
            let number = characters.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, number != ".", let value = Double(number.hasPrefix(".") ? "0" + number : String(number)) else { return nil }
            characters = characters.dropFirst(number.count)
            let unit = characters.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            characters = characters.dropFirst(unit.count)
            guard let scale = units[String(unit)] else { return nil }
            total += value * scale
        }
        guard total < 9.2e18 else { return nil }
        return Int64(negative ? -total : total)
    }

    private static let units: [String: Double] = [
        "ns": 1, "us": 1e3, "µs": 1e3, "μs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9,
    ]
}
