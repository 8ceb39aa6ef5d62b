import Glibc

extension UnixSocketHTTP {
    /// A GET answered with a body that keeps coming (`logs -f`): each piece
    /// is delivered as it is read; no read timeout, the daemon may be quiet.
    func stream(target: String, _ deliver: @escaping @Sendable ([UInt8]) -> Void) async throws -> APIClient.Reply {
        let fd = try connectAndSend(method: "GET", target: target, body: nil, timeout: 0)
        defer { close(fd) }
        var reader = Reader(fd: fd)
        let head = try Self.readHead(&reader)
        guard (200..<300).contains(head.status) else {
            var body: [UInt8] = []
            try Self.readBody(&reader, head) { body += $0 }
            return APIClient.Reply(status: head.status, body: body)
        }
        try Self.readBody(&reader, head, deliver)
        return APIClient.Reply(status: head.status, body: [])
    }
}
