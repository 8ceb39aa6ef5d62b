import Foundation

// The JSON shapes of etcd's v3 gRPC gateway (etcd 3.4): int64 fields are
// strings, keys and values base64 (`Data`'s default coding), fields with
// their zero value left out of responses.

/// A 64-bit integer as the gateway writes it: a string (a number is
/// accepted too). Signed for revisions and leases, unsigned for member and
/// cluster IDs (they use all 64 bits).
public struct EtcdNumber<Value: FixedWidthInteger & Codable & Sendable>: Codable, Sendable, Hashable {
    public var value: Value
    public init(_ value: Value) { self.value = value }
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self), let value = Value(text, radix: 10) {
            self.value = value
        } else {
            value = try container.decode(Value.self)
        }
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(String(value))
    }
}

extension EtcdNumber: ExpressibleByIntegerLiteral where Value == Int64 {
    public init(integerLiteral value: Int64) { self.value = value }
}

public typealias EtcdInt = EtcdNumber<Int64>
public typealias EtcdUInt = EtcdNumber<UInt64>

struct ResponseHeader: Decodable, Sendable {
    var revision: EtcdInt?
    var rev: Int64 { revision?.value ?? 0 }
}

public struct KeyValue: Decodable, Sendable {
    public var key: Data
    public var value: Data?
    public var createRevision: EtcdInt?
    public var modRevision: EtcdInt?
    public var version: EtcdInt?
    public var lease: EtcdInt?
    var created: Int64 { createRevision?.value ?? 0 }
    var modified: Int64 { modRevision?.value ?? 0 }
}

struct RangeRequest: Codable, Sendable {
    var key: Data
    var rangeEnd: Data?
    var limit: EtcdInt?
    var revision: EtcdInt?
    var keysOnly: Bool?
}

struct RangeResponse: Decodable, Sendable {
    var header: ResponseHeader?
    var kvs: [KeyValue]?
    var more: Bool?
}

struct PutRequest: Codable, Sendable {
    var key: Data
    var value: Data
    var lease: EtcdInt?
}

struct DeleteRangeRequest: Codable, Sendable {
    var key: Data
    var rangeEnd: Data?
}

/// One condition of a transaction.
public struct Compare: Codable, Sendable {
    var key: Data
    var rangeEnd: Data?
    var target: String
    var result: String
    var modRevision: EtcdInt?
    var createRevision: EtcdInt?
    var lease: EtcdInt?

    /// The key's mod_revision is `revision` (0: the key does not exist).
    static func modified(_ key: Data, is revision: Int64) -> Compare {
        Compare(key: key, target: "MOD", result: "EQUAL", modRevision: EtcdInt(revision))
    }
    /// No key in [key, rangeEnd) was written after `revision`.
    static func unchangedSince(_ key: Data, _ rangeEnd: Data, _ revision: Int64) -> Compare {
        Compare(key: key, rangeEnd: rangeEnd, target: "MOD", result: "LESS", modRevision: EtcdInt(revision + 1))
    }
    /// The key was created at `revision`.
    public static func created(_ key: Data, at revision: Int64) -> Compare {
        Compare(key: key, target: "CREATE", result: "EQUAL", createRevision: EtcdInt(revision))
    }
}

struct RequestOp: Codable, Sendable {
    var requestRange: RangeRequest?
    var requestPut: PutRequest?
    var requestDeleteRange: DeleteRangeRequest?
}

struct TxnRequest: Codable, Sendable {
    var compare: [Compare]
    var success: [RequestOp]
    var failure: [RequestOp]
}

struct ResponseOp: Decodable, Sendable {
    var responseRange: RangeResponse?
}

struct TxnResponse: Decodable, Sendable {
    var header: ResponseHeader?
    var succeeded: Bool?
    var responses: [ResponseOp]?
}

struct LeaseResponse: Decodable, Sendable {
    var header: ResponseHeader?
    var ID: EtcdInt?
    var TTL: EtcdInt?
}

struct WatchCreate: Codable, Sendable {
    struct Create: Codable, Sendable {
        var key: Data
        var rangeEnd: Data?
        var startRevision: EtcdInt?
    }
    var createRequest: Create
}

struct WatchEvent: Decodable, Sendable {
    var type: String?
    var kv: KeyValue
    var isDelete: Bool { type == "DELETE" }
}

struct WatchResponse: Decodable, Sendable {
    var header: ResponseHeader?
    var created: Bool?
    var canceled: Bool?
    var compactRevision: EtcdInt?
    var cancelReason: String?
    var events: [WatchEvent]?
}

/// A streamed message: `{"result": …}` or `{"error": …}`.
struct StreamMessage<T: Decodable & Sendable>: Decodable, Sendable {
    var result: T?
    var error: GatewayError?
}

struct GatewayError: Decodable, Sendable, Error {
    var code: Int?
    var message: String?
    var error: String?
}
