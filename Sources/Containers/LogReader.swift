import Dispatch
import FoundationEssentials
import Glibc

/// One entry of a json-file log, as Docker writes them.
public struct LogEntry: Codable, Equatable, Sendable {
    public var log: String
    public var stream: String
    public var time: String
}

/// Reads a container's json-file log, rotated files included (oldest first).
public struct LogReader: Sendable {
    public let path: String
    public let maxFiles: Int

    public init(path: String, maxFiles: Int) {
        self.path = path
        self.maxFiles = maxFiles
    }

    /// The log files from oldest to newest.
    public var files: [String] {
        let rotated = (1..<max(1, maxFiles)).reversed().map { "\(path).\($0)" }
        return (rotated + [path]).filter { FileManager.default.fileExists(atPath: $0) }
    }

    public func entries() -> [LogEntry] {
        files.flatMap { file in
            (try? Data(contentsOf: URL(fileURLWithPath: file))).map(Self.parse) ?? []
        }
    }

    /// Parses complete lines; an unparsable line (e.g. cut by a crash) is skipped.
    public static func parse(_ data: Data) -> [LogEntry] {
        let decoder = JSONDecoder()
        return data.split(separator: UInt8(ascii: "\n")).compactMap { try? decoder.decode(LogEntry.self, from: Data($0)) }
    }

    /// Prints entries to stdout/stderr by stream; `tail` keeps the last N,
    /// `timestamps` prefixes each with its time. With `follow`, keeps
    /// printing what is appended until `isRunning` turns false.
    public func copy(tail: Int?, timestamps: Bool, follow: Bool, isRunning: () -> Bool,
                     write: (LogEntry, Bool) -> Void) {
        // Following: the current file is opened before anything is read and
        // read to its end through the same descriptor, so an entry appended
        // between the reading and the following is not lost.
        var fd = follow ? open(path, O_RDONLY | O_CLOEXEC) : -1
        defer { if fd >= 0 { close(fd) } }
        var inode = Self.inode(path)
        var pending = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var entries: [LogEntry]
        if fd >= 0 {
            entries = files.filter { $0 != path }.flatMap { file in
                (try? Data(contentsOf: URL(fileURLWithPath: file))).map(Self.parse) ?? []
            }
            while case let count = read(fd, &buffer, buffer.count), count > 0 { pending.append(contentsOf: buffer[..<count]) }
            if let last = pending.lastIndex(of: UInt8(ascii: "\n")) {
                entries += Self.parse(pending[...last])
                pending = Data(pending[(last + 1)...])
            }
        } else {
            entries = self.entries()
        }
        if let tail, tail >= 0 { entries = Array(entries.suffix(tail)) }
        entries.forEach { write($0, timestamps) }
        guard follow else { return }

        // Follow the current file by offset; rotation shows as a new inode.
        while true {
            let running = isRunning()
            let count = fd >= 0 ? read(fd, &buffer, buffer.count) : 0
            if count > 0 {
                pending.append(contentsOf: buffer[..<count])
                if let last = pending.lastIndex(of: UInt8(ascii: "\n")) {
                    Self.parse(pending[...last]).forEach { write($0, timestamps) }
                    pending = Data(pending[(last + 1)...])
                }
                continue
            }
            if Self.inode(path) != inode {
                if fd >= 0 { close(fd) }
                fd = open(path, O_RDONLY | O_CLOEXEC)
                inode = Self.inode(path)
                continue
            }
            if !running { return }
            usleep(50_000)
        }
    }

    private static func inode(_ path: String) -> UInt64? {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_ino) : nil
    }
}
