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
}
