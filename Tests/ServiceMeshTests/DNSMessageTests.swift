@testable import ServiceMesh
import Testing

struct DNSMessageTests {
    /// A query for web.example.com A, as `dig` sends it (with an EDNS OPT record).
    static let query: [UInt8] = [
        0x12, 0x34, 0x01, 0x20, 0, 1, 0, 0, 0, 0, 0, 1,
        3, 0x77, 0x65, 0x62, 7, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 3, 0x63, 0x6f, 0x6d, 0,
        0, 1, 0, 1,
        0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0,
    ]

    @Test func readsAQuery() throws {
        let message = try DNSMessage(parsing: Self.query)
        #expect(message.id == 0x1234 && !message.isResponse && message.opcode == 0)
        #expect(message.flags & DNSMessage.recursionDesired != 0)
        #expect(message.questions == [DNSMessage.Question(name: "web.example.com", type: 1, class: 1)])
        #expect(message.udpPayloadLimit == 1232)
    }

    /// Answers whose names point back to the question (0xC00C) and to a suffix of it.
    @Test func readsCompressedNames() throws {
        var bytes = Array(Self.query.prefix(33))
        bytes[7] = 2  // two answers
        bytes[11] = 0  // no additional
        bytes += [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 1, 2]
        // "api" + pointer to "example.com" (offset 16).
        bytes += [3, 0x61, 0x70, 0x69, 0xC0, 16, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 1, 3]
        let message = try DNSMessage(parsing: bytes)
        #expect(message.answers.map(\.name) == ["web.example.com", "api.example.com"])
        #expect(message.answers.map(\.data) == [[10, 0, 1, 2], [10, 0, 1, 3]])
        #expect(message.answers[0].ttl == 60)
    }

    @Test func refusesBrokenMessages() {
        #expect(throws: DNSFormatError.self) { try DNSMessage(parsing: Array(Self.query.prefix(20))) }
        // A pointer to itself would loop.
        var looping = Array(Self.query.prefix(12))
        looping += [0xC0, 12, 0, 1, 0, 1]
        #expect(throws: DNSFormatError(reason: "name pointer does not point back")) { try DNSMessage(parsing: looping) }
        #expect(throws: DNSFormatError.self) { try DNSMessage(parsing: [1, 2, 3]) }
    }

    @Test func writesWhatItReads() throws {
        let record = DNSMessage.Record(name: "web", type: 1, class: 1, ttl: 1, data: [10, 0, 1, 2])
        let message = DNSMessage(id: 7, flags: 0x8180, questions: [.init(name: "web", type: 1, class: 1)], answers: [record])
        let bytes = message.encoded()
        // The answer's name is a pointer to the question's.
        #expect(Array(bytes[21...22]) == [0xC0, 0x0C])
        #expect(try DNSMessage(parsing: bytes) == message)
        var other = message
        other.answers[0].name = "tasks.web"
        #expect(try DNSMessage(parsing: other.encoded()) == other)
    }
}
