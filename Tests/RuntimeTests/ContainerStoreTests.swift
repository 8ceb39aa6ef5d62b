@testable import Containers
import Foundation
import SystemCalls
import Testing

/// Resolving a container reference: a full id is read at once (no listing
/// of the directory), names and id prefixes as before.
@Suite struct ContainerStoreTests {
    func record(_ id: String, name: String, in store: ContainerStore) throws -> ContainerRecord {
        let record = ContainerRecord(id: id, name: name, created: Date(timeIntervalSince1970: 1), spec: ContainerSpec(rootfs: "/", command: ["true"]),
                                     argv: ["true"], workingDir: "/", stopSignal: 15, rootfs: "/", image: nil, health: nil,
                                     hostname: "h", user: ResolvedUser(uid: 0, gid: 0, groups: [], home: "/"), env: [],
                                     cgroupPath: "/nonexistent", logPath: "/nonexistent")
        try FileManager.default.createDirectory(atPath: store.directory(of: id), withIntermediateDirectories: true)
        try store.reserve(name: name, for: id)
        try store.save(record)
        return record
    }

    @Test func resolvesIDsNamesAndPrefixes() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = ContainerStore(root: root)
        let first = String(repeating: "ab", count: 32), second = "ab" + String(repeating: "cd", count: 31)
        _ = try record(first, name: "one", in: store)
        _ = try record(second, name: "two", in: store)
        #expect(try store.resolve(first).name == "one")
        #expect(try store.resolve(second).name == "two")
        #expect(try store.resolve("two").id == second)
        #expect(try store.resolve("/one").id == first)
        #expect(try store.resolve("abab").id == first)
        #expect(throws: RuntimeError.self) { try store.resolve("ab") }
        #expect(throws: RuntimeError.self) { try store.resolve(String(repeating: "ef", count: 32)) }
    }

    @Test func fullIDs() {
        #expect(ContainerStore.isFullID(ContainerRuntime.newID()))
        #expect(!ContainerStore.isFullID(String(repeating: "a", count: 63)))
        #expect(!ContainerStore.isFullID(String(repeating: "A", count: 64)))
        #expect(!ContainerStore.isFullID("../" + String(repeating: "a", count: 61)))
    }

    /// `exec` reads its part of the record from the `exec` file, as the record has it.
    @Test func execViewIsTheRecords() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = ContainerStore(root: root)
        let id = String(repeating: "ef", count: 32)
        var record = try record(id, name: "ex", in: store)
        record.workingDir = "/srv"
        record.user = ResolvedUser(uid: 1000, gid: 50, groups: [50, 1000], home: "/home/app")
        record.env = ["PATH=/bin", "EMPTY=", "MULTI=a\nb=c"]
        record.spec.env = ["HOME=/x"]
        record.spec.capAdd = ["NET_ADMIN"]
        record.spec.capDrop = ["CHOWN", "KILL"]
        record.spec.seccomp = false
        record.cgroupPath = "/sys/fs/cgroup/swarm.slice/" + id
        try store.save(record)
        #expect(FileManager.default.fileExists(atPath: store.directory(of: id) + "/exec"))
        #expect(try store.execView(id: id) == ExecView(record))
        #expect(try store.resolveID("ex") == id)
        // A container made before the file existed: config.json is read.
        try FileManager.default.removeItem(atPath: store.directory(of: id) + "/exec")
        #expect(try store.execView(id: id) == ExecView(record))
        // A value C cannot pass: no file, config.json again.
        record.env.append("BAD=\u{0}")
        try store.save(record)
        #expect(!FileManager.default.fileExists(atPath: store.directory(of: id) + "/exec"))
        #expect(try store.execView(id: id) == ExecView(record))
        #expect(ExecView(bytes: Array("workingDir\u{0}/\u{0}".utf8)) == nil, "missing fields")
    }
}
