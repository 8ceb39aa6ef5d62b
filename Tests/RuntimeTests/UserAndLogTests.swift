@testable import Containers
import Foundation
import enum SwarmAPI.NameGenerator
@testable import SystemCalls
import Testing

final class UserLookupTests {
    let rootfs: String

    deinit { try? FileManager.default.removeItem(atPath: rootfs) }

    init() throws {
        rootfs = NSTemporaryDirectory() + "fake-rootfs-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: rootfs + "/etc", withIntermediateDirectories: true)
        try "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\nnobody:x:65534:65534::/nonexistent:/bin/false\n"
            .write(toFile: rootfs + "/etc/passwd", atomically: true, encoding: .utf8)
        try "root:x:0:\nstaff:x:50:app\napp:x:1000:\nnogroup:x:65534:\n".write(toFile: rootfs + "/etc/group", atomically: true, encoding: .utf8)
    }

    @Test func resolvesLikeDocker() throws {
        #expect(try ResolvedUser.resolve(nil, rootfs: rootfs) == ResolvedUser(uid: 0, gid: 0, groups: [0], home: "/root"))
        #expect(try ResolvedUser.resolve("app", rootfs: rootfs) == ResolvedUser(uid: 1000, gid: 1000, groups: [50, 1000], home: "/home/app"))
        #expect(try ResolvedUser.resolve("1000", rootfs: rootfs) == ResolvedUser(uid: 1000, gid: 1000, groups: [50, 1000], home: "/home/app"))
        #expect(try ResolvedUser.resolve("app:staff", rootfs: rootfs).gid == 50)
        #expect(try ResolvedUser.resolve("4242", rootfs: rootfs) == ResolvedUser(uid: 4242, gid: 0, groups: [0], home: "/"))
        #expect(try ResolvedUser.resolve("4242:7", rootfs: rootfs).gid == 7)
        #expect(throws: RuntimeError.self) { try ResolvedUser.resolve("ghost", rootfs: rootfs) }
        #expect(throws: RuntimeError.self) { try ResolvedUser.resolve("app:ghosts", rootfs: rootfs) }
    }
}

struct LogReaderTests {
    @Test func readsRotatedFilesOldestFirstAndSkipsTornLines() throws {
        let dir = NSTemporaryDirectory() + "fake-log-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/c-json.log"
        func line(_ text: String) -> String { #"{"log":"\#(text)\n","stream":"stdout","time":"2026-01-01T00:00:00.000000001Z"}"# + "\n" }
        try (line("one") + line("two")).write(toFile: path + ".2", atomically: true, encoding: .utf8)
        try line("three").write(toFile: path + ".1", atomically: true, encoding: .utf8)
        try (line("four") + #"{"log":"torn"#).write(toFile: path, atomically: true, encoding: .utf8)
        let reader = LogReader(path: path, maxFiles: 3)
        #expect(reader.entries().map(\.log) == ["one\n", "two\n", "three\n", "four\n"])
        #expect(LogReader(path: path, maxFiles: 2).entries().map(\.log) == ["three\n", "four\n"])
        var printed: [String] = []
        reader.copy(tail: 2, timestamps: false, follow: false, isRunning: { false }) { entry, _ in printed.append(entry.log) }
        #expect(printed == ["three\n", "four\n"])
    }

    /// Following: a line being written when the log is read, and lines
    /// appended after, are all printed once, in order.
    @Test func followLosesNothingAppended() throws {
        let dir = NSTemporaryDirectory() + "fake-log-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/c-json.log"
        func line(_ text: String) -> String { #"{"log":"\#(text)\n","stream":"stdout","time":"2026-01-01T00:00:00.000000001Z"}"# + "\n" }
        let second = line("tick 2")
        try (line("tick 1") + second.prefix(20)).write(toFile: path, atomically: true, encoding: .utf8)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        defer { try? handle.close() }
        var checks = 0
        var printed: [String] = []
        LogReader(path: path, maxFiles: 1).copy(tail: nil, timestamps: false, follow: true, isRunning: {
            checks += 1
            if checks == 1 {
                // The rest of the torn line and one more, after the first read.
                handle.seekToEndOfFile()
                handle.write(Data((second.dropFirst(20) + line("tick 3")).utf8))
            }
            return checks < 3
        }) { entry, _ in printed.append(entry.log) }
        #expect(printed == ["tick 1\n", "tick 2\n", "tick 3\n"])
    }
}

struct NameTests {
    @Test func generatedNamesAreDockerShaped() throws {
        let name = NameGenerator.generate()
        #expect(name.split(separator: "_").count == 2)
        try ContainerRuntime.validate(name: name)
        #expect(throws: RuntimeError.self) { try ContainerRuntime.validate(name: "-bad") }
        #expect(throws: RuntimeError.self) { try ContainerRuntime.validate(name: "a b") }
        #expect(ContainerRuntime.newID().count == 64)
    }
}
