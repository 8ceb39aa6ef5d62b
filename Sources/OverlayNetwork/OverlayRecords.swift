import FoundationEssentials
import Glibc
import NodeAgent
import SystemCalls

/// What the data path made, kept as JSON files under its directory (in
/// the node's state directory, a tmpfs: gone at reboot, as the namespaces
/// are), so that a restarted agent knows what it finds and removes no
/// more and no less than what it made.
struct SandboxRecord: Codable, Equatable, Sendable {
    var networkID: String
    var vni: UInt32
    var subnet: String
    /// Remote endpoints wired on the VXLAN device: address → the VTEP it lives behind.
    var peers: [String: String] = [:]
}

struct NodeRecord: Codable, Equatable, Sendable {
    var gatewaySubnet: String
    /// The gateway bridge is ours (made here, so removed on leave); one
    /// found there already is used and left.
    var gatewayBridgeMade: Bool?
    /// The node's ingress endpoint, once made.
    var ingressNetworkID: String?
    var ingressAddress: String?
}

struct OverlayRecords: Sendable {
    let directory: String

    var networksDirectory: String { directory + "/networks" }
    var tasksDirectory: String { directory + "/tasks" }
    var nodeFile: String { directory + "/node.json" }

    func loadNode() -> NodeRecord? { load(NodeRecord.self, nodeFile) }
    func loadSandboxes() -> [SandboxRecord] { loadAll(SandboxRecord.self, networksDirectory) }
    func loadTasks() -> [WiredTask] { loadAll(WiredTask.self, tasksDirectory) }

    func save(_ node: NodeRecord) throws { try save(node, nodeFile) }
    func save(_ sandbox: SandboxRecord) throws { try save(sandbox, networksDirectory + "/" + sandbox.networkID + ".json") }
    func save(_ task: WiredTask) throws { try save(task, tasksDirectory + "/" + task.taskID + ".json") }

    func removeSandbox(_ networkID: String) { unlink(networksDirectory + "/" + networkID + ".json") }
    func removeTask(_ taskID: String) { unlink(tasksDirectory + "/" + taskID + ".json") }

    /// Removes the record files and their directories (the namespaces'
    /// directory inside is the caller's to remove first).
    func removeAll() {
        for directory in [networksDirectory, tasksDirectory] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] { unlink(directory + "/" + name) }
            rmdir(directory)
        }
        unlink(nodeFile)
        rmdir(directory)
    }

    private func load<T: Decodable>(_ type: T.Type, _ path: String) -> T? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(type, from: data)
    }

    private func loadAll<T: Decodable>(_ type: T.Type, _ directory: String) -> [T] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        return names.compactMap { load(type, directory + "/" + $0) }
    }

    private func save<T: Encodable>(_ value: T, _ path: String) throws {
        let parent = String(path[..<path.lastIndex(of: "/")!])
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        // Replaced whole (rename), not synced: the namespaces these records
        // describe do not outlive a reboot either.
        let temporary = path + ".tmp"
        guard writeFile(temporary, try encoder.encode(value), mode: 0o600), rename(temporary, path) == 0 else {
            throw RuntimeError.system(errno: errno, call: "write", detail: path)
        }
    }
}
