import Glibc
import SystemCalls

/// HTTP/1.1 over a unix socket, one blocking request per connection: what
/// the CLI needs to ask its local daemon one thing at a time. No event loop,
/// no threads, so a command's start-up costs no more than the request.
struct UnixSocketHTTP: Sendable {
    /// The socket could not be reached: no daemon, or not ours to use.
    struct ConnectFailed: Error { var errno: Int32 }
    /// The daemon's answer could not be read as HTTP.
    struct MalformedResponse: Error, CustomStringConvertible { var description: String }

    let path: String
    /// Seconds without a byte from the daemon before giving up.
    var timeout: Int = 120

    func send(method: String, target: String, body: [UInt8]?, headers: [(String, String)] = []) throws -> (status: Int, body: [UInt8]) {
        let fd = try connectAndSend(method: method, target: target, body: body, timeout: timeout, headers: headers)
        defer { close(fd) }
        var reader = Reader(fd: fd)
        return try Self.readResponse(&reader)
    }

    /// Connects, sends the request and returns the socket, for the caller
    /// to read the answer from and close. `timeout` 0: wait forever.
    func connectAndSend(method: String, target: String, body: [UInt8]?, timeout: Int, headers: [(String, String)] = []) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ConnectFailed(errno: errno) }
        var sent = false
        defer { if !sent { close(fd) } }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw ConnectFailed(errno: ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw ConnectFailed(errno: errno) }
        var wait = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))

        var head = "\(method) \(target) HTTP/1.1\r\nHost: swarm\r\nUser-Agent: swarm-cli\r\n"
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        try writeAll(fd, Array(head.utf8) + (body ?? []))
        sent = true
        return fd
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                throw ConnectFailed(errno: errno)
            }
            offset += written
        }
    }

    /// Buffered reads from the socket.
    struct Reader {
        let fd: Int32
        var buffer: [UInt8] = []
        var position = 0

        /// Reads more; false at the end of the stream.
        mutating func fill() throws -> Bool {
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count < 0 {
                    if errno == EINTR { continue }
                    throw MalformedResponse(description: errno == EAGAIN ? "the daemon did not answer in time" : "read: errno \(errno)")
                }
                if count == 0 { return false }
                buffer.removeFirst(position)
                position = 0
                buffer += chunk[..<count]
                return true
            }
        }

        /// One line without its CRLF.
        mutating func line() throws -> String {
            while true {
                if let end = buffer[position...].firstIndex(of: UInt8(ascii: "\n")) {
                    var line = buffer[position..<end]
                    if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                    position = end + 1
                    return String(decoding: line, as: UTF8.self)
                }
                guard try fill() else { throw MalformedResponse(description: "the daemon closed the connection mid-answer") }
            }
        }

        mutating func bytes(_ count: Int) throws -> [UInt8] {
            while buffer.count - position < count {
                guard try fill() else { throw MalformedResponse(description: "the daemon closed the connection mid-answer") }
            }
            defer { position += count }
            return Array(buffer[position..<position + count])
        }

        mutating func rest() throws -> [UInt8] {
            while try fill() {}
            defer { position = buffer.count }
            return Array(buffer[position...])
        }
    }

    /// Status line, headers, then a body by Content-Length, chunks, or up to the end.
    static func readResponse(_ reader: inout Reader) throws -> (status: Int, body: [UInt8]) {
        let head = try readHead(&reader)
        var body: [UInt8] = []
        try readBody(&reader, head) { body += $0 }
        return (head.status, body)
    }

    struct Head { var status: Int; var length: Int?; var chunked: Bool }

    static func readHead(_ reader: inout Reader) throws -> Head {
        let statusLine = try reader.line().split(separator: " ", maxSplits: 2)
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
            throw MalformedResponse(description: "not an HTTP answer from the daemon")
        }
        var length: Int?
        var chunked = false
        while true {
            let line = try reader.line()
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces
            if name == "content-length" { length = Int(value) }
            if name == "transfer-encoding" && value.lowercased().contains("chunked") { chunked = true }
        }
        return Head(status: status, length: length, chunked: chunked)
    }

    /// The body as it arrives: chunk by chunk, by Content-Length, or up to the end.
    static func readBody(_ reader: inout Reader, _ head: Head, _ deliver: ([UInt8]) throws -> Void) throws {
        // No body by definition (Docker answers DELETE /networks with 204, and servers drop its Content-Length).
        if head.status == 204 || head.status == 304 || (100..<200).contains(head.status) { return }
        if head.chunked {
            while true {
                let sizeLine = try reader.line()
                guard let size = Int(sizeLine.split(separator: ";").first.map { $0.trimmingSpaces } ?? "", radix: 16) else {
                    throw MalformedResponse(description: "bad chunk size from the daemon")
                }
                if size == 0 { break }
                try deliver(try reader.bytes(size))
                _ = try reader.line()
            }
            return
        }
        if let length = head.length { return try deliver(try reader.bytes(length)) }
        try deliver(try reader.rest())
    }
}

extension StringProtocol {
    var trimmingSpaces: String { String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed()) }
}
