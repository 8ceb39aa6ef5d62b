import FoundationEssentials
import Glibc
import SwarmAPI
import SystemCalls

/// A terminal's size in character cells.
public struct TerminalSize: Sendable, Equatable {
    public var rows: UInt16
    public var columns: UInt16
    public init(rows: UInt16, columns: UInt16) {
        self.rows = rows
        self.columns = columns
    }
}

/// A caller attached to a container through its monitor: a connected unix
/// socket carrying frames with Docker's stream header (8 bytes: kind, 0, 0,
/// 0, big-endian u32 length), as monitor.c describes. From the monitor:
/// kind 1 stdout, 2 stderr. To it: 0 input, 1 resize, 2 end of input.
public struct AttachConnection: Sendable {
    public let fd: Int32
    /// The container has a pty: its output is one raw stream.
    public let tty: Bool

    public init(fd: Int32, tty: Bool) {
        self.fd = fd
        self.tty = tty
    }

    /// The largest payload the monitor takes in one frame.
    public static let frameMax = 32768

    public static func frame(kind: UInt8, _ payload: UnsafeRawBufferPointer) -> [UInt8] {
        StreamFrame.encode(stream: kind, payload)
    }

    /// Sends input for the container's stdin, in frames the monitor takes.
    public func send(input: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < input.count {
            let end = min(input.count, offset + Self.frameMax)
            try write(Self.frame(kind: 0, UnsafeRawBufferPointer(rebasing: input[offset..<end])))
            offset = end
        }
    }

    public func resize(_ size: TerminalSize) throws {
        let payload: [UInt8] = [UInt8(size.rows >> 8), UInt8(size.rows & 0xff), UInt8(size.columns >> 8), UInt8(size.columns & 0xff)]
        try payload.withUnsafeBytes { try write(Self.frame(kind: 1, $0)) }
    }

    /// Ends the container's input (its stdin pipe closes; nothing with a tty).
    public func closeInput() throws {
        try write(Self.frame(kind: 2, UnsafeRawBufferPointer(start: nil, count: 0)))
    }

    private func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = try syscall("write", "attach socket") { Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset) }
                offset += n
            }
        }
    }
}

extension ContainerRuntime {
    /// Connects to the running container's monitor (<state>/attach.sock,
    /// through /proc/self/fd so a long state path fits in sun_path).
    public func attach(_ ref: String) throws -> AttachConnection {
        let info = try inspect(ref)
        guard info.state.status == .running else {
            throw RuntimeError.conflict("You cannot attach to a stopped container, start it first")
        }
        let dir = store.directory(of: info.id)
        let dirFD = try syscall("open", dir) { open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { close(dirFD) }
        let fd = try syscall("socket") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = "/proc/self/fd/\(dirFD)/attach.sock"
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            close(fd)
            throw RuntimeError.conflict("cannot attach to container \(info.id): its monitor does not serve attach (\(String(cString: strerror(code)))); containers started before attach existed cannot be attached")
        }
        return AttachConnection(fd: fd, tty: info.record.spec.tty == true)
    }
}
