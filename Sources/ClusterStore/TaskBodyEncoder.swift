import Foundation
import SwarmAPI

/// Writes a task's store body by hand: the bytes `JSONEncoder()` writes for
/// it (same keys in the same order, nil fields left out, same escapes), at
/// a fraction of the cost. Tasks are most of what the store writes (each
/// one four times on its way to running), and the generic encoder was a
/// third of the manager's CPU. The spec, the one part whose shape is open,
/// goes through `JSONEncoder`, once per service while it does not change:
/// the tasks of a service share it.
struct TaskBodyEncoder {
    private let specEncoder = JSONEncoder()
    /// Per service: the last spec encoded and its bytes.
    private var specs: [String: (spec: TaskSpec, bytes: [UInt8])] = [:]

    mutating func encode(_ task: SwarmTask) throws -> Data {
        let spec = try specBytes(task)
        var out: [UInt8] = []
        out.reserveCapacity(spec.count + 640)
        out.append(contentsOf: #"{"id":"#.utf8); Self.string(task.id, &out)
        out.append(contentsOf: #","version":{"index":"#.utf8); Self.integer(task.version.index, &out)
        out.append(contentsOf: #"},"createdAt":"#.utf8); Self.timestamp(task.createdAt, &out)
        out.append(contentsOf: #","updatedAt":"#.utf8); Self.timestamp(task.updatedAt, &out)
        out.append(contentsOf: #","labels":"#.utf8); Self.labels(task.labels, &out)
        out.append(contentsOf: #","spec":"#.utf8); out.append(contentsOf: spec)
        out.append(contentsOf: #","serviceID":"#.utf8); Self.string(task.serviceID, &out)
        if let slot = task.slot { out.append(contentsOf: #","slot":"#.utf8); Self.integer(slot, &out) }
        if let node = task.nodeID { out.append(contentsOf: #","nodeID":"#.utf8); Self.string(node, &out) }
        out.append(contentsOf: #","status":"#.utf8); Self.status(task.status, &out)
        out.append(contentsOf: #","desiredState":"#.utf8); Self.state(task.desiredState, &out)
        out.append(contentsOf: #","specIndex":"#.utf8); Self.integer(task.specIndex, &out)
        if let name = task.serviceName { out.append(contentsOf: #","serviceName":"#.utf8); Self.string(name, &out) }
        // Only tasks on overlay networks have them: through JSONEncoder, as the spec.
        if let attachments = task.networksAttachments {
            out.append(contentsOf: #","networksAttachments":"#.utf8); out.append(contentsOf: try specEncoder.encode(attachments))
        }
        out.append(UInt8(ascii: "}"))
        return Data(out)
    }

    private mutating func specBytes(_ task: SwarmTask) throws -> [UInt8] {
        if let cached = specs[task.serviceID], cached.spec == task.spec { return cached.bytes }
        let bytes = Array(try specEncoder.encode(task.spec))
        specs[task.serviceID] = (task.spec, bytes)
        return bytes
    }

    static func status(_ status: TaskStatus, _ out: inout [UInt8]) {
        out.append(contentsOf: #"{"timestamp":"#.utf8); timestamp(status.timestamp, &out)
        out.append(contentsOf: #","state":"#.utf8); state(status.state, &out)
        out.append(contentsOf: #","message":"#.utf8); string(status.message, &out)
        if let err = status.err { out.append(contentsOf: #","err":"#.utf8); string(err, &out) }
        if let container = status.containerStatus {
            out.append(contentsOf: #","containerStatus":{"#.utf8)
            var first = true
            func key(_ name: String) {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                out.append(UInt8(ascii: "\"")); out.append(contentsOf: name.utf8); out.append(contentsOf: #"":"#.utf8)
            }
            if let id = container.containerID { key("containerID"); string(id, &out) }
            if let pid = container.pid { key("pid"); integer(pid, &out) }
            if let code = container.exitCode { key("exitCode"); integer(code, &out) }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "}"))
    }

    /// The names `TaskState` codes (Docker's), by raw value.
    static let stateNames: [[UInt8]] = TaskState.allCases.map { Array($0.name.utf8) }

    static func state(_ state: TaskState, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "\"")); out.append(contentsOf: stateNames[state.rawValue]); out.append(UInt8(ascii: "\""))
    }

    static func labels(_ labels: [String: String], _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        var first = true
        for (key, value) in labels {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            string(key, &out); out.append(UInt8(ascii: ":")); string(value, &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// A JSON string, escaped as `JSONEncoder` escapes (it writes "/" as "\/").
    static func string(_ text: String, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "/"): out.append(contentsOf: #"\/"#.utf8)
            case 0x08: out.append(contentsOf: #"\b"#.utf8)
            case 0x0C: out.append(contentsOf: #"\f"#.utf8)
            case 0x0A: out.append(contentsOf: #"\n"#.utf8)
            case 0x0D: out.append(contentsOf: #"\r"#.utf8)
            case 0x09: out.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hex[Int(byte >> 4)]); out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    static func integer<T: BinaryInteger>(_ value: T, _ out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for index in stride(from: count - 1, through: 0, by: -1) { out.append(buffer[index]) }
        }
    }

    /// `Timestamp.rfc3339` as a JSON string, without the intermediate strings.
    static func timestamp(_ time: Timestamp, _ out: inout [UInt8]) {
        let nanoseconds = time.nanoseconds
        let seconds = nanoseconds >= 0 ? nanoseconds / 1_000_000_000 : (nanoseconds - 999_999_999) / 1_000_000_000
        let fraction = nanoseconds - seconds * 1_000_000_000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = Timestamp.civil(fromDays: days)
        out.append(UInt8(ascii: "\""))
        padded(year, 4, &out); out.append(UInt8(ascii: "-"))
        padded(month, 2, &out); out.append(UInt8(ascii: "-"))
        padded(day, 2, &out); out.append(UInt8(ascii: "T"))
        padded(secondOfDay / 3600, 2, &out); out.append(UInt8(ascii: ":"))
        padded(secondOfDay / 60 % 60, 2, &out); out.append(UInt8(ascii: ":"))
        padded(secondOfDay % 60, 2, &out)
        if fraction != 0 {
            var digits = fraction, width = 9
            while digits % 10 == 0 { digits /= 10; width -= 1 }
            out.append(UInt8(ascii: "."))
            padded(digits, width, &out)
        }
        out.append(contentsOf: #"Z""#.utf8)
    }

    /// `value` in at least `width` characters, zeros on the left (as `Timestamp` pads).
    private static func padded(_ value: Int64, _ width: Int, _ out: inout [UInt8]) {
        var length = value < 0 ? 2 : 1, rest = value.magnitude / 10
        while rest > 0 { length += 1; rest /= 10 }
        for _ in length..<max(width, length) { out.append(UInt8(ascii: "0")) }
        integer(value, &out)
    }
}
