import Formatting
import SwarmAPI

/// Reads a spec the docker CLI or an SDK sends without dropping anything
/// silently: the body is decoded into our model, encoded again, and every
/// field the client set (a value that is not null, 0, false, "", [] or {})
/// that did not survive the round trip is a field this swarm cannot honour
/// yet. The request is then refused (501, Docker's error shape) and the
/// message names the field, so the operator knows what is missing.
enum StrictDecoding {
    /// A field set in the request that the model does not carry, as a path
    /// ("TaskTemplate.ContainerSpec.Secrets", "EndpointSpec.Ports[0]").
    struct Dropped: Equatable {
        var path: String
    }

    /// Decodes `body` as `T`; `amend` may change the raw object first (fill
    /// a generated name); `explain` turns a dropped field into the error
    /// to answer (nil: the generic "is not supported yet").
    static func decode<T: Codable>(_ type: T.Type, from body: [UInt8], amend: (inout [(key: String, value: TemplateValue)]) throws -> Void = { _ in },
                                   explain: (String) -> APIError? = { _ in nil }) throws -> T {
        let raw: TemplateValue
        do { raw = try TemplateValue(json: String(decoding: body, as: UTF8.self)) } catch {
            throw APIError.badRequest("invalid JSON in the request body: \(error)")
        }
        guard case .object(var fields) = raw else { throw APIError.badRequest("invalid JSON in the request body: an object is expected") }
        try amend(&fields)
        let amended = TemplateValue.object(fields)
        let value = try APIJSON.decode(T.self, from: Array(amended.json().utf8))
        let again = try TemplateValue(json: String(decoding: try APIJSON.encode(value), as: UTF8.self))
        if let first = dropped(amended, again).first {
            throw explain(first.path) ?? APIError(501, "\(first.path) is not supported yet by swarm: leave it unset")
        }
        return value
    }

    /// The fields set in `sent` that `kept` does not hold with the same value.
    static func dropped(_ sent: TemplateValue, _ kept: TemplateValue?, path: String = "") -> [Dropped] {
        if isEmpty(sent) { return [] }
        switch sent {
        case .object(let fields):
            return fields.flatMap { field in
                dropped(field.value, Self.field(named: field.key, in: kept), path: path.isEmpty ? field.key : path + "." + field.key)
            }
        case .array(let items):
            guard case .array(let keptItems)? = kept else { return [Dropped(path: path)] }
            return items.enumerated().flatMap { index, item in
                dropped(item, index < keptItems.count ? keptItems[index] : nil, path: "\(path)[\(index)]")
            }
        default:
            guard let kept, same(sent, kept) else { return [Dropped(path: path)] }
            return []
        }
    }

    /// The field `key` of `object`; as Go's decoder, another case matches
    /// too (the Python SDK sends `{"Mode": {"replicated": …}}`).
    static func field(named key: String, in object: TemplateValue?) -> TemplateValue? {
        guard case .object(let fields)? = object else { return nil }
        return fields.first { $0.key == key }?.value ?? fields.first { $0.key.lowercased() == key.lowercased() }?.value
    }

    /// Unset in Go's terms: the zero value, or an empty collection.
    static func isEmpty(_ value: TemplateValue) -> Bool {
        switch value {
        case .null: return true
        case .bool(let b): return !b
        case .int(let i): return i == 0
        case .double(let d): return d == 0
        case .string(let s): return s.isEmpty
        case .array(let items): return items.allSatisfy(isEmpty)
        case .object(let fields): return fields.allSatisfy { isEmpty($0.value) }
        }
    }

    static func same(_ a: TemplateValue, _ b: TemplateValue) -> Bool {
        switch (a, b) {
        case (.int(let x), .double(let y)), (.double(let y), .int(let x)): return Double(x) == y
        default: return a == b
        }
    }
}
