import Foundation

/// A transaction's body as the gateway reads it, written without
/// JSONEncoder: the same object `JSONEncoder` with snake-case keys writes
/// (keys and values base64, 64-bit numbers as strings, nil fields left out).
extension TxnRequest {
    func gatewayJSON() -> Data {
        var out: [UInt8] = []
        out.reserveCapacity(64 + (compare.count + success.count) * 160)
        out.append(contentsOf: #"{"compare":["#.utf8)
        for (index, item) in compare.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            item.write(&out)
        }
        out.append(contentsOf: #"],"success":["#.utf8)
        Self.write(success, &out)
        out.append(contentsOf: #"],"failure":["#.utf8)
        Self.write(failure, &out)
        out.append(contentsOf: "]}".utf8)
        return Data(out)
    }

    private static func write(_ operations: [RequestOp], _ out: inout [UInt8]) {
        for (index, operation) in operations.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            operation.write(&out)
        }
    }
}

/// Appends `"name":` (after a comma unless first) and the value's JSON.
private struct GatewayObject {
    var first = true

    mutating func key(_ name: String, _ out: inout [UInt8]) {
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: name.utf8)
        out.append(contentsOf: #"":"#.utf8)
    }

    mutating func bytes(_ name: String, _ value: Data?, _ out: inout [UInt8]) {
        guard let value else { return }
        key(name, &out)
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: value.base64EncodedData())
        out.append(UInt8(ascii: "\""))
    }

    /// Plain text (etcd's enum names): no escapes needed.
    mutating func text(_ name: String, _ value: String, _ out: inout [UInt8]) {
        key(name, &out)
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: value.utf8)
        out.append(UInt8(ascii: "\""))
    }

    mutating func number(_ name: String, _ value: EtcdInt?, _ out: inout [UInt8]) {
        guard let value else { return }
        text(name, String(value.value), &out)
    }

    /// `"name":{…}`, the inner object's fields written by `fields`.
    mutating func nested(_ name: String, _ out: inout [UInt8], _ fields: (inout GatewayObject, inout [UInt8]) -> Void) {
        key(name, &out)
        var inner = GatewayObject()
        out.append(UInt8(ascii: "{"))
        fields(&inner, &out)
        out.append(UInt8(ascii: "}"))
    }

    mutating func bool(_ name: String, _ value: Bool?, _ out: inout [UInt8]) {
        guard let value else { return }
        key(name, &out)
        out.append(contentsOf: (value ? "true" : "false").utf8)
    }
}

extension Compare {
    fileprivate func write(_ out: inout [UInt8]) {
        var object = GatewayObject()
        out.append(UInt8(ascii: "{"))
        object.bytes("key", key, &out)
        object.bytes("range_end", rangeEnd, &out)
        object.text("target", target, &out)
        object.text("result", result, &out)
        object.number("mod_revision", modRevision, &out)
        object.number("create_revision", createRevision, &out)
        object.number("lease", lease, &out)
        out.append(UInt8(ascii: "}"))
    }
}

extension RequestOp {
    fileprivate func write(_ out: inout [UInt8]) {
        var object = GatewayObject()
        out.append(UInt8(ascii: "{"))
        if let range = requestRange {
            object.nested("request_range", &out) { inner, out in
                inner.bytes("key", range.key, &out)
                inner.bytes("range_end", range.rangeEnd, &out)
                inner.number("limit", range.limit, &out)
                inner.number("revision", range.revision, &out)
                inner.bool("keys_only", range.keysOnly, &out)
            }
        }
        if let put = requestPut {
            object.nested("request_put", &out) { inner, out in
                inner.bytes("key", put.key, &out)
                inner.bytes("value", put.value, &out)
                inner.number("lease", put.lease, &out)
            }
        }
        if let delete = requestDeleteRange {
            object.nested("request_delete_range", &out) { inner, out in
                inner.bytes("key", delete.key, &out)
                inner.bytes("range_end", delete.rangeEnd, &out)
            }
        }
        out.append(UInt8(ascii: "}"))
    }
}
