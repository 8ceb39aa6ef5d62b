import Containers
import Foundation
import SwarmAPI
import Testing

/// `POST /containers/{id}/attach` with `logs=1` on a node's socket, as the
/// docker SDKs send it (`container.attach(logs=True, stream=True)`): the
/// container's log first, then what it writes from then on; with
/// `stream=0` the log alone. Raw HTTP over the unix socket (the stock
/// docker CLI never asks for logs=1).
@Suite(.enabled(if: isRoot, rootReason))
struct EngineAttachLogsTests {
    @Test func attachReplaysTheLogThenStreams() throws {
        let node = try SwarmNode()
        _ = try node.initialize()
        try node.importBusybox()
        let start = node.cli("container", "run", "-d", "--name", "chatty", "busybox", "sh", "-c",
                             "echo before; echo oops >&2; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo after; sleep 1000")
        try #require(start.status == 0, "\(start.stderr)")
        let logPath = try node.sandbox.runtime.inspect("chatty").record.logPath
        try #require(eventually(10) { ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").contains("oops") })

        // logs=1&stream=1: both streams' log, in order and framed by stream, then the live output.
        let live = try EngineConnection(socket: node.socket)
        let head = try live.request("POST /containers/chatty/attach?logs=1&stream=1&stdout=1&stderr=1")
        #expect(head.hasPrefix("HTTP/1.1 101"), "\(head)")
        #expect(live.readFrames(until: { $0.count >= 2 }).map(\.text) == ["before\n", "oops\n"])
        #expect(node.cli("container", "exec", "chatty", "touch", "/tmp/go").status == 0)
        let frames = live.readFrames(until: { $0.count >= 3 })
        #expect(frames.map(\.stream) == [1, 2, 1] && frames.map(\.text) == ["before\n", "oops\n", "after\n"], "\(frames)")

        // logs=1 alone: the log (stdout only, as asked), then the end of the stream.
        let replay = try EngineConnection(socket: node.socket)
        _ = try replay.request("POST /containers/chatty/attach?logs=1&stdout=1")
        let logged = replay.readFrames(until: { _ in false })
        #expect(logged.map(\.text) == ["before\n", "after\n"] && replay.ended, "\(logged)")

        // Neither: refused, saying what to ask for.
        let neither = try EngineConnection(socket: node.socket)
        let refused = try neither.request("POST /containers/chatty/attach?stdout=1")
        #expect(refused.hasPrefix("HTTP/1.1 400") && refused.contains("logs=1"), "\(refused)")
    }
}

/// One connection to a node's Engine API socket, read by hand: the
/// response head, then Docker's multiplexed frames.
final class EngineConnection {
    struct Frame: CustomStringConvertible {
        var stream: UInt8
        var text: String
        var description: String { "\(stream):\(text.debugDescription)" }
    }

    let fd: Int32
    private var buffer: [UInt8] = []
    private var frames: [Frame] = []
    private(set) var ended = false

    init(socket path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(connected == 0, "connect \(path): errno \(errno)")
    }

    deinit { close(fd) }

    /// Sends `line` as a request asking for the raw stream; returns the
    /// response head (and the body too, for an error that has one).
    func request(_ line: String) throws -> String {
        let text = "\(line) HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n"
        _ = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        let separator = Array("\r\n\r\n".utf8)
        _ = fill(until: { buffer in buffer.count >= 4 && (0...(buffer.count - 4)).contains { Array(buffer[$0..<$0 + 4]) == separator } })
        guard let end = (0...max(0, buffer.count - 4)).first(where: { buffer.count >= $0 + 4 && Array(buffer[$0..<$0 + 4]) == separator }) else {
            return String(decoding: buffer, as: UTF8.self)
        }
        var head = String(decoding: buffer[..<(end + 4)], as: UTF8.self)
        buffer.removeFirst(end + 4)
        if !head.hasPrefix("HTTP/1.1 101") && !head.hasPrefix("HTTP/1.1 200") {
            _ = fill(until: { _ in false }, seconds: 2)
            head += String(decoding: buffer, as: UTF8.self)
        }
        return head
    }

    /// Frames read so far, reading more for up to `seconds` until `done`
    /// holds or the stream ends.
    func readFrames(until done: ([Frame]) -> Bool, seconds: Double = 10) -> [Frame] {
        _ = fill(until: { _ in
            while buffer.count >= 8 {
                let length = buffer[4..<8].reduce(0) { $0 << 8 | Int($1) }
                guard buffer.count >= 8 + length else { break }
                frames.append(Frame(stream: buffer[0], text: String(decoding: buffer[8..<(8 + length)], as: UTF8.self)))
                buffer.removeFirst(8 + length)
            }
            return done(frames)
        }, seconds: seconds)
        return frames
    }

    /// Reads until `condition` holds on what is buffered, the peer closes, or time is up.
    private func fill(until condition: ([UInt8]) -> Bool, seconds: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !condition(buffer) {
            guard !ended, case let left = deadline.timeIntervalSinceNow, left > 0 else { return false }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(min(left, 0.2) * 1000) + 1) > 0 else { continue }
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { ended = true; continue }
            buffer += chunk[..<n]
        }
        return true
    }
}
