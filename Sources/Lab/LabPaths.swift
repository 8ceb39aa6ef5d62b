import FoundationEssentials
import Glibc
import HostNetwork
import SystemCalls

/// Where lab L keeps things.
public struct LabPaths: Sendable {
    public static let runRoot = "/run/swarm-lab"
    public static let dataRoot = "/var/lib/swarm-lab"

    public let name: String
    public init(_ name: String) { self.name = name }

    public var directory: String { LabPaths.runRoot + "/" + name }
    public var dataDirectory: String { LabPaths.dataRoot + "/" + name }
    public var record: String { directory + "/lab.json" }
    public func log(_ step: String) -> String { directory + "/logs/" + step }

    public struct NodePaths: Sendable {
        public var name: String, dataDir: String, stateDir: String, cgroupParent: String
        public var socket: String { stateDir + "/swarm.sock" }
        public var record: LabRecord.Node {
            LabRecord.Node(name: name, role: "", address: "", namespace: "", dataDir: dataDir, stateDir: stateDir,
                           cgroupParent: cgroupParent, socket: "unix://" + socket, pid: nil)
        }
    }

    public func node(_ index: Int) -> NodePaths {
        NodePaths(name: "node\(index)", dataDir: dataDirectory + "/node\(index)", stateDir: directory + "/node\(index)",
                  cgroupParent: "swarm-lab-\(name)-node\(index).slice")
    }

    /// "node12" → 12.
    public static func nodeIndex(_ text: String) -> Int? {
        let digits = text.dropFirst(4)
        guard text.hasPrefix("node"), !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int(digits)
    }

    /// Takes the lab's name: makes its directory, which fails if it exists.
    func claim() throws {
        // Retried on ENOENT: a lab down elsewhere may remove the empty root between our two mkdirs.
        var code: Int32 = ENOENT
        for _ in 0..<10 where code == ENOENT {
            try makeDirectories(LabPaths.runRoot)
            code = mkdir(directory, 0o755) == 0 ? 0 : errno
        }
        if code == EEXIST {
            let state = (try? LabRecord.load(self))?.state
            throw RuntimeError.badInput(state == "up"
                ? "lab \(name) is already up (swarm lab down --name \(name) removes it)"
                : "lab \(name) exists (\(state ?? "no lab.json"): another lab up is running, or one failed): swarm lab down --name \(name) removes it")
        }
        if code != 0 { throw RuntimeError.system(errno: code, call: "mkdir", detail: directory) }
        if !LabNetwork.existingNamespaces(lab: name).isEmpty || access(dataDirectory, F_OK) == 0 {
            rmdir(directory)
            throw RuntimeError.badInput("pieces of a lab \(name) are left (network namespaces or \(dataDirectory)): swarm lab down --name \(name) removes them")
        }
        try makeDirectories(directory + "/logs")
    }

    /// The name's own subnet, or the next /24 of 10.77 that no other lab uses.
    public static func freeSubnet(for name: String) -> String {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: runRoot)) ?? []
        let used = Set(entries.filter { $0 != name }.compactMap { try? LabRecord.load(LabPaths($0))?.subnet })
        let start = LabNetwork.subnetOctet(for: name)
        for step in 0..<256 {
            let subnet = "10.77.\((start + step) % 256).0/24"
            if !used.contains(subnet) { return subnet }
        }
        return LabNetwork.defaultSubnet(for: name)
    }
}
