import Containers
import SwarmAPI
import Dispatch
import Glibc
import SystemCalls

/// Docker's `--detach-keys`: comma-separated keys, each a single character
/// or `ctrl-X` (X one of a-z @ [ \ ] ^ _).
enum DetachKeys {
    static let dockerDefault = "ctrl-p,ctrl-q"

    static func parse(_ text: String) throws -> [UInt8] {
        try text.split(separator: ",", omittingEmptySubsequences: false).map { key in
            let lower = key.lowercased()
            if lower.hasPrefix("ctrl-"), lower.count == 6, let c = lower.utf8.last {
                switch c {
                case UInt8(ascii: "a")...UInt8(ascii: "z"): return c - UInt8(ascii: "a") + 1
                case UInt8(ascii: "@"): return 0
                case UInt8(ascii: "["): return 27
                case UInt8(ascii: "\\"): return 28
                case UInt8(ascii: "]"): return 29
                case UInt8(ascii: "^"): return 30
                case UInt8(ascii: "_"): return 31
                default: break
                }
            } else if key.utf8.count == 1, let c = key.utf8.first {
                return c
            }
            throw RuntimeError.badInput("Invalid detach keys (\(text)) provided: use keys like ctrl-p,ctrl-q (a character, or ctrl- with a-z, @, [, \\, ], ^ or _)")
        }
    }
}

/// The caller's terminal in raw mode while attached (Docker's
/// setRawTerminal); `restore` puts it back, also from a signal that ends
/// the CLI.
struct RawTerminal: Sendable {
    let fd: Int32
    let saved: termios

    /// Nil when `fd` is not a terminal.
    static func enter(_ fd: Int32 = 0) -> RawTerminal? {
        var saved = termios()
        guard isatty(fd) == 1, tcgetattr(fd, &saved) == 0 else { return nil }
        var raw = saved
        cfmakeraw(&raw)
        guard tcsetattr(fd, TCSADRAIN, &raw) == 0 else { return nil }
        return RawTerminal(fd: fd, saved: saved)
    }

    func restore() {
        var saved = saved
        _ = tcsetattr(fd, TCSADRAIN, &saved)
    }
}

/// The size of the caller's terminal (stdin's, else stdout's).
func terminalSize() -> TerminalSize? {
    var size = winsize()
    for fd in [Int32(0), 1] where ioctl(fd, UInt(TIOCGWINSZ), &size) == 0 && size.ws_row > 0 {
        return TerminalSize(rows: size.ws_row, columns: size.ws_col)
    }
    return nil
}

/// Copies the caller's stdin to an attached process and its output back,
/// forwards window changes, and watches stdin for the detach keys.
struct TerminalRelay {
    enum Link {
        /// A container's monitor (run -i/-t, attach).
        case monitor(AttachConnection)
        /// The master of a pty this process opened (exec -t).
        case pty(master: Int32)
    }
    enum End { case ended, detached }
    /// What Docker's CLI prints once the detach keys are read (the terminal restored).
    static let detachedMessage = "read escape sequence\n"

    var link: Link
    /// Forward stdin (-i; not with --no-stdin).
    var input: Bool
    /// Forward window changes (a tty on both ends).
    var terminal: Bool
    /// Empty: no detach keys (stdin not forwarded).
    var detachKeys: [UInt8]

    func run() throws -> End {
        // A monitor that has closed the connection (the container ended)
        // is an error on write, not a signal that kills the CLI.
        signal(SIGPIPE, SIG_IGN)
        let raw = input && terminal ? RawTerminal.enter() : nil
        defer { raw?.restore() }
        let signals = raw.map(Self.restoreOnSignals) ?? []
        defer { signals.forEach { $0.cancel() } }

        // SIGWINCH reaches the loop through a pipe.
        var winch: [Int32] = [-1, -1]
        var winchSource: DispatchSourceSignal?
        if terminal {
            if pipe(&winch) == 0 {
                for fd in winch { _ = fcntl(fd, F_SETFD, FD_CLOEXEC); _ = fcntl(fd, F_SETFL, O_NONBLOCK) }
            }
            let writeEnd = winch[1]
            signal(SIGWINCH, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: SIGWINCH, queue: .global())
            source.setEventHandler { var byte: UInt8 = 1; _ = write(writeEnd, &byte, 1) }
            source.resume()
            winchSource = source
            if let size = terminalSize() { try? resize(size) }
        }
        defer {
            winchSource?.cancel()
            winch.filter { $0 >= 0 }.forEach { close($0) }
        }

        var stdinOpen = input
        var frames = StreamFrameReader()
        var matched: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        let linkFD: Int32 = switch link { case .monitor(let c): c.fd; case .pty(let m): m }
        while true {
            var fds = [pollfd(fd: linkFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: stdinOpen ? 0 : -1, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: winch[0], events: Int16(POLLIN), revents: 0)]
            if poll(&fds, 3, -1) < 0 {
                if errno == EINTR { continue }
                throw RuntimeError.system(errno: errno, call: "poll", detail: "attach")
            }
            if fds[0].revents != 0 {
                let n = read(linkFD, &buffer, buffer.count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return .ended }   // EIO on a pty master: every slave is closed
                switch link {
                case .pty:
                    buffer.withUnsafeBytes { writeBytes(1, UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                case .monitor:
                    for frame in buffer.withUnsafeBytes({ frames.feed(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) {
                        frame.payload.withUnsafeBytes { writeBytes(frame.stream == 2 ? 2 : 1, $0) }
                    }
                }
            }
            if stdinOpen && fds[1].revents != 0 {
                let n = read(0, &buffer, buffer.count)
                if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                if n <= 0 {
                    stdinOpen = false
                    if case .monitor(let connection) = link { try? connection.closeInput() }
                    continue
                }
                // Docker's escape proxy: keys that start the detach sequence
                // are held until it completes or breaks.
                var out: [UInt8] = []
                for byte in buffer[0..<n] {
                    guard !detachKeys.isEmpty else { out.append(byte); continue }
                    if byte == detachKeys[matched.count] {
                        matched.append(byte)
                        if matched.count == detachKeys.count {
                            try? send(out)
                            return .detached
                        }
                    } else {
                        out += matched
                        matched = []
                        if byte == detachKeys[0] { matched = [byte] } else { out.append(byte) }
                    }
                }
                // Input the other end no longer takes is dropped; its output
                // (and end) still comes.
                do { try send(out) } catch { stdinOpen = false }
            }
            if winch[0] >= 0 && fds[2].revents != 0 {
                var drain = [UInt8](repeating: 0, count: 64)
                _ = read(winch[0], &drain, drain.count)
                if let size = terminalSize() { try? resize(size) }
            }
        }
    }

    private func send(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return }
        switch link {
        case .monitor(let connection): try bytes.withUnsafeBytes { try connection.send(input: $0) }
        case .pty(let master): bytes.withUnsafeBytes { writeBytes(master, $0) }
        }
    }

    private func resize(_ size: TerminalSize) throws {
        switch link {
        case .monitor(let connection): try connection.resize(size)
        case .pty(let master): PseudoTerminal.setSize(master, size)
        }
    }

    /// A signal that ends the CLI while the terminal is raw restores it first.
    private static func restoreOnSignals(_ raw: RawTerminal) -> [DispatchSourceSignal] {
        [SIGTERM, SIGHUP, SIGINT, SIGQUIT].map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                raw.restore()
                signal(sig, SIG_DFL)
                raise(sig)
            }
            source.resume()
            return source
        }
    }
}

/// Writes all of `bytes` (output of an attached process; a closed
/// terminal drops the rest).
func writeBytes(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) {
    var offset = 0
    while offset < bytes.count {
        let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n < 0 { if errno == EINTR { continue }; return }
        offset += n
    }
}
