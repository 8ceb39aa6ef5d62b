import FoundationEssentials
import Synchronization

/// JSON as the Docker Engine API writes it: Go's exported field names
/// (`ID`, `NodeID`, `TLSInfo`, `CAConfig`, `Spec`), from Swift's camelCase
/// property names. Decoding maps them back, so the same types read what the
/// stock docker CLI sends.
public enum APIJSON {
    /// Leading acronyms that Go writes in capitals ("id" → "ID", "tlsInfo" → "TLSInfo").
    static let acronyms = ["id", "pid", "tls", "ca", "os", "ipam", "ip", "vip", "dns", "ncpu"]

    /// Names converted already, both ways: the key strategies run for every
    /// key of every value coded, and converting was most of an API call's
    /// JSON time. The names are mostly the types' few hundred keys; keys a
    /// client makes up are not kept past `memoLimit`.
    private static let goNames = Mutex<[String: String]>([:])
    private static let swiftNames = Mutex<[String: String]>([:])
    private static let memoLimit = 4096

    private static func memoized(_ cache: borrowing Mutex<[String: String]>, _ key: String, _ convert: (String) -> String) -> String {
        if let known = cache.withLock({ $0[key] }) { return known }
        let converted = convert(key)
        cache.withLock { if $0.count < memoLimit { $0[key] = converted } }
        return converted
    }

    public static func goName(_ key: String) -> String { memoized(goNames, key, convertToGo) }

    static func swiftName(_ key: String) -> String { memoized(swiftNames, key, convertToSwift) }

    private static func convertToGo(_ key: String) -> String {
        for acronym in acronyms where key.hasPrefix(acronym) {
            let rest = key.dropFirst(acronym.count)
            if rest.isEmpty || rest.first!.isUppercase { return acronym.uppercased() + rest }
        }
        return key.prefix(1).uppercased() + key.dropFirst()
    }

    private static func convertToSwift(_ key: String) -> String {
        let characters = Array(key)
        var upper = 0
        while upper < characters.count, characters[upper].isUppercase { upper += 1 }
        if upper == 0 { return key }
        // "TLSInfo" → "tlsInfo": the last capital of a run starts the next word.
        let lowered = upper == characters.count || upper == 1 ? upper : upper - 1
        return String(characters[..<lowered]).lowercased() + String(characters[lowered...])
    }

    public struct Key: CodingKey {
        public var stringValue: String
        public var intValue: Int? { nil }
        public init(stringValue: String) { self.stringValue = stringValue }
        public init?(intValue: Int) { nil }
    }

    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .custom { path in Key(stringValue: goName(path.last!.stringValue)) }
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .custom { path in Key(stringValue: swiftName(path.last!.stringValue)) }
        return decoder
    }

    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) throws -> [UInt8] {
        Array(try encoder(pretty: pretty).encode(value))
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try decoder().decode(type, from: Data(bytes))
    }
}

/// Docker's error body: `{"message": "..."}`.
public struct APIErrorBody: Codable, Sendable {
    public var message: String
    // Docker writes this one in lower case.
    enum CodingKeys: String, CodingKey { case message }
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        message = try container.decode([String: String].self)["message"] ?? ""
    }
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(["message": message])
    }
    public init(message: String) { self.message = message }
}
