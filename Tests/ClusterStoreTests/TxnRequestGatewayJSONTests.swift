@testable import EtcdStore
import Foundation
import Testing

/// The hand-written transaction body is the object JSONEncoder with
/// snake-case keys writes for it (what the gateway was sent before).
@Suite struct TxnRequestGatewayJSONTests {
    @Test func theHandWrittenBodyIsJSONEncodersObject() throws {
        let key = Data("/swarm/c/task/abc".utf8), value = Data(#"{"id":"abc","名":"\"x\""}"#.utf8)
        let request = TxnRequest(
            compare: [.modified(key, is: 0), .unchangedSince(key, key.prefixEnd, 41), .created(Data("/l".utf8), at: 7)],
            success: [RequestOp(requestPut: PutRequest(key: key, value: value)),
                      RequestOp(requestPut: PutRequest(key: key, value: Data(), lease: EtcdInt(-5))),
                      RequestOp(requestDeleteRange: DeleteRangeRequest(key: key, rangeEnd: Data([0])))],
            failure: [RequestOp(requestRange: RangeRequest(key: key, rangeEnd: key.prefixEnd, limit: 3, revision: 9, keysOnly: true)),
                      RequestOp(requestRange: RangeRequest(key: key))])
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let expected = try JSONSerialization.jsonObject(with: try encoder.encode(request)) as? NSDictionary
        let written = try JSONSerialization.jsonObject(with: request.gatewayJSON()) as? NSDictionary
        #expect(expected != nil)
        #expect(written == expected)
    }
}
