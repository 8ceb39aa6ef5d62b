/// A DNS message (RFC 1035 §4): what the embedded server reads and writes.
/// Names are read with compression pointers; written whole, except that
/// answers about the question's name point back to it.
struct DNSMessage: Equatable, Sendable {
    struct Question: Equatable, Sendable {
        var name: String
        var type: UInt16
        var `class`: UInt16
    }

    struct Record: Equatable, Sendable {
        var name: String
        var type: UInt16
        var `class`: UInt16
        var ttl: UInt32
        var data: [UInt8]
    }

    var id: UInt16
    var flags: UInt16
    var questions: [Question] = []
    var answers: [Record] = []
    var authorities: [Record] = []
    var additionals: [Record] = []

    static let typeA: UInt16 = 1
    static let typeAAAA: UInt16 = 28
    static let typeOPT: UInt16 = 41
    static let classIN: UInt16 = 1
    static let response: UInt16 = 0x8000
    static let recursionDesired: UInt16 = 0x0100
    static let recursionAvailable: UInt16 = 0x0080
    static let authoritative: UInt16 = 0x0400
    static let truncated: UInt16 = 0x0200

    enum ResponseCode: UInt16 { case noError = 0, formatError = 1, serverFailure = 2, nameError = 3, notImplemented = 4 }

    var opcode: UInt16 { (flags >> 11) & 0xF }
    var responseCode: UInt16 { flags & 0xF }
    var isResponse: Bool { flags & Self.response != 0 }

    init(id: UInt16, flags: UInt16, questions: [Question] = [], answers: [Record] = []) {
        self.id = id; self.flags = flags; self.questions = questions; self.answers = answers
    }

    /// The UDP payload size the asker accepts: its EDNS OPT record's class, at least 512.
    var udpPayloadLimit: Int {
        guard let opt = additionals.first(where: { $0.type == Self.typeOPT }) else { return 512 }
        return max(512, min(Int(opt.class), 4096))
    }
}

struct DNSFormatError: Error, Equatable {
    var reason: String
}

// MARK: - Reading

extension DNSMessage {
    init(parsing bytes: [UInt8]) throws {
        var reader = DNSReader(bytes: bytes)
        id = try reader.u16()
        flags = try reader.u16()
        let counts = [try reader.u16(), try reader.u16(), try reader.u16(), try reader.u16()]
        for _ in 0..<counts[0] {
            questions.append(Question(name: try reader.name(), type: try reader.u16(), class: try reader.u16()))
        }
        answers = try (0..<counts[1]).map { _ in try reader.record() }
        authorities = try (0..<counts[2]).map { _ in try reader.record() }
        additionals = try (0..<counts[3]).map { _ in try reader.record() }
    }

    /// The id alone, from a message too broken to read whole (to answer it with FORMERR).
    static func id(of bytes: [UInt8]) -> UInt16? {
        bytes.count >= 2 ? UInt16(bytes[0]) << 8 | UInt16(bytes[1]) : nil
    }
}

struct DNSReader {
    let bytes: [UInt8]
    var offset = 0

    mutating func u8() throws -> UInt8 {
        guard offset < bytes.count else { throw DNSFormatError(reason: "message ends early") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() throws -> UInt16 { UInt16(try u8()) << 8 | UInt16(try u8()) }
    mutating func u32() throws -> UInt32 { UInt32(try u16()) << 16 | UInt32(try u16()) }

    mutating func take(_ count: Int) throws -> [UInt8] {
        guard count <= bytes.count - offset else { throw DNSFormatError(reason: "message ends early") }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func record() throws -> DNSMessage.Record {
        let name = try name(), type = try u16(), `class` = try u16(), ttl = try u32()
        let length = Int(try u16())
        return DNSMessage.Record(name: name, type: type, class: `class`, ttl: ttl, data: try take(length))
    }

    /// A name: labels, ending in a zero length or a pointer to the rest
    /// elsewhere in the message. Pointers must go backwards (which also rules out loops).
    mutating func name() throws -> String {
        var labels: [String] = []
        var position = offset, resumeAt: Int?, length = 0
        while true {
            guard position < bytes.count else { throw DNSFormatError(reason: "name runs past the message") }
            let byte = bytes[position]
            if byte & 0xC0 == 0xC0 {
                guard position + 1 < bytes.count else { throw DNSFormatError(reason: "name runs past the message") }
                let target = Int(byte & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < position else { throw DNSFormatError(reason: "name pointer does not point back") }
                if resumeAt == nil { resumeAt = position + 2 }
                position = target
                continue
            }
            guard byte & 0xC0 == 0 else { throw DNSFormatError(reason: "unknown label type") }
            let count = Int(byte)
            position += 1
            if count == 0 { break }
            guard position + count <= bytes.count else { throw DNSFormatError(reason: "label runs past the message") }
            length += count + 1
            guard length <= 255 else { throw DNSFormatError(reason: "name longer than 255 bytes") }
            labels.append(String(decoding: bytes[position..<position + count], as: UTF8.self))
            position += count
        }
        offset = resumeAt ?? position
        return labels.joined(separator: ".")
    }
}

// MARK: - Writing

extension DNSMessage {
    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        for value in [id, flags, UInt16(questions.count), UInt16(answers.count), UInt16(authorities.count), UInt16(additionals.count)] {
            out.append16(value)
        }
        for question in questions {
            out.appendName(question.name)
            out.append16(question.type)
            out.append16(question.class)
        }
        // The first question's name starts right after the 12-byte header.
        let questionName = questions.first.map { $0.name.lowercased() }
        for record in answers + authorities + additionals {
            if let questionName, record.name.lowercased() == questionName {
                out.append16(0xC00C)
            } else {
                out.appendName(record.name)
            }
            out.append16(record.type)
            out.append16(record.class)
            out.append16(UInt16(record.ttl >> 16))
            out.append16(UInt16(record.ttl & 0xFFFF))
            out.append16(UInt16(record.data.count))
            out += record.data
        }
        return out
    }
}

extension [UInt8] {
    mutating func append16(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(value & 0xFF))
    }

    /// Labels of at most 63 bytes each (longer ones are cut), then the root's zero.
    mutating func appendName(_ name: String) {
        for label in name.split(separator: ".") {
            let bytes = Array(label.utf8.prefix(63))
            append(UInt8(bytes.count))
            self += bytes
        }
        append(0)
    }
}
