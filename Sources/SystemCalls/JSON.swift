import FoundationEssentials

/// JSON as the image and container records are stored: sorted keys, and
/// decoding errors that name what was malformed.
public enum JSON {
    public static func decode<T: Decodable>(_ type: T.Type, _ data: Data, what: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw RuntimeError.badInput("malformed \(what): \(error)")
        }
    }

    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }
}
