import FoundationEssentials
import Glibc
import HostNetwork
import SystemCalls

/// The network of one lab cluster on this machine, made only of network
/// namespaces named after the lab (under `NetworkNamespace.defaultDirectory`):
///
/// - `<lab>-hub` holds the bridge `swlab0` and the hub end of every veth pair
///   (`vnode1`, `vnode2`, …, `vclient`);
/// - `<lab>-node1` … `<lab>-nodeN` and `<lab>-client` each hold `eth0`, the
///   other end, with an address from the lab's /24 (node i: .10+i, client:
///   .2), and `lo` up.
///
/// Nothing is added to the host's own network namespace, and each lab's
/// bridge is in a hub of its own, so labs never see each other's traffic.
public struct LabNetwork: Equatable, Sendable {
    /// The bridge inside the hub namespace.
    public static let bridgeName = "swlab0"
    /// Each node's (and the client's) interface.
    public static let interfaceName = "eth0"
    /// Most nodes a lab can have: node i gets .10+i of a /24.
    public static let maximumNodes = 244

    public let name: String
    public let nodeCount: Int
    /// The first three octets of the lab's /24, e.g. "10.77.41".
    public let subnetPrefix: String
    public let directory: String

    /// Describes a lab's network; nothing is made until `create`. `subnet`:
    /// "A.B.C.0/24" (only /24), default `defaultSubnet(for: name)`.
    public init(name: String, nodes: Int, subnet: String? = nil, directory: String = NetworkNamespace.defaultDirectory) throws {
        try LabNetwork.validate(name: name)
        guard (1...LabNetwork.maximumNodes).contains(nodes) else {
            throw RuntimeError.badInput("a lab needs 1 to \(LabNetwork.maximumNodes) nodes, not \(nodes)")
        }
        self.name = name
        self.nodeCount = nodes
        self.subnetPrefix = try LabNetwork.subnetPrefix(subnet ?? LabNetwork.defaultSubnet(for: name))
        self.directory = directory
    }

    // MARK: Names and addresses

    /// Lab names become parts of namespace names, paths and cgroup names:
    /// letters, digits, '-' and '_', starting with a letter or digit, at most
    /// 32 characters; "netns" is where the namespaces themselves live.
    public static func validate(name: String) throws {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
        guard allowed, (1...32).contains(name.utf8.count), let first = name.first, first.isLetter || first.isNumber, name != "netns" else {
            throw RuntimeError.badInput("invalid lab name \"\(name)\": use up to 32 letters, digits, '-' or '_', starting with a letter or digit")
        }
    }

    /// 10.77.K.0/24 with K from a hash of the name (FNV-1a), so that labs of
    /// different names usually get different subnets.
    public static func defaultSubnet(for name: String) -> String {
        "10.77.\(subnetOctet(for: name)).0/24"
    }

    public static func subnetOctet(for name: String) -> Int {
        var hash: UInt32 = 2_166_136_261
        for byte in name.utf8 {
            hash ^= UInt32(byte)
            hash &*= 16_777_619
        }
        return Int(hash % 256)
    }

    /// "10.77.41.0/24" → "10.77.41".
    public static func subnetPrefix(_ subnet: String) throws -> String {
        let parts = subnet.split(separator: "/", omittingEmptySubsequences: false)
        let octets = parts.first?.split(separator: ".", omittingEmptySubsequences: false).map { UInt8($0) } ?? []
        guard parts.count == 2, parts[1] == "24", octets.count == 4, octets.allSatisfy({ $0 != nil }), octets[3] == 0 else {
            throw RuntimeError.badInput("invalid lab subnet \"\(subnet)\": use an IPv4 /24 such as 10.77.5.0/24")
        }
        return octets.prefix(3).map { String($0!) }.joined(separator: ".")
    }

    public var subnet: String { subnetPrefix + ".0/24" }
    public var broadcast: String { subnetPrefix + ".255" }

    public var hub: NetworkNamespace { NetworkNamespace(name: name + "-hub", directory: directory) }
    public var client: NetworkNamespace { NetworkNamespace(name: name + "-client", directory: directory) }
    /// Node `index`, counting from 1.
    public func node(_ index: Int) -> NetworkNamespace { NetworkNamespace(name: "\(name)-node\(index)", directory: directory) }
    public var nodes: [NetworkNamespace] { (1...nodeCount).map(node) }

    public func nodeAddress(_ index: Int) -> String { "\(subnetPrefix).\(10 + index)" }
    public var clientAddress: String { subnetPrefix + ".2" }

    /// The hub's end of node `index`'s veth pair (at most 15 characters).
    public static func hubPort(node index: Int) -> String { "vnode\(index)" }
    public static let clientHubPort = "vclient"

    /// Every namespace of the lab, hub first.
    public var namespaces: [NetworkNamespace] { [hub] + nodes + [client] }

    // MARK: Making and tearing down

    /// Makes the hub with its bridge, then each node and the client with a
    /// veth pair into the bridge. Refuses if any of the lab's namespaces
    /// exists already (the lab is up, or a failed one was left); if a step
    /// fails, removes what it made and throws that step's error.
    public func create() throws {
        try LabNetwork.withLock(directory) {
            if let existing = LabNetwork.existingNamespaces(lab: name, in: directory).first {
                throw RuntimeError.conflict("network namespace \(existing.path) exists already: lab \(name) is up, or was left half-made (tear it down first)")
            }
            var made: [NetworkNamespace] = []
            do {
                let hubNamespace = try NetworkNamespace.create(hub.name, in: directory)
                made.append(hubNamespace)
                let hubLinks = try Netlink(namespace: hubNamespace)
                try hubLinks.createBridge(LabNetwork.bridgeName)
                try hubLinks.setLinkUp(LabNetwork.bridgeName)
                var endpoints = (1...nodeCount).map { (node($0), LabNetwork.hubPort(node: $0), nodeAddress($0)) }
                endpoints.append((client, LabNetwork.clientHubPort, clientAddress))
                for (namespace, port, address) in endpoints {
                    made.append(try NetworkNamespace.create(namespace.name, in: directory))
                    // The namespace's end is made straight inside it, as eth0; nothing passes through the host.
                    try namespace.withFileDescriptor { try hubLinks.createVeth(port, peer: LabNetwork.interfaceName, peerNamespace: $0) }
                    try hubLinks.setMaster(port, bridge: LabNetwork.bridgeName)
                    try hubLinks.setLinkUp(port)
                    let links = try Netlink(namespace: namespace)
                    try links.setLinkUp("lo")
                    try links.addAddress(address, prefix: 24, link: LabNetwork.interfaceName, broadcast: broadcast)
                    try links.setLinkUp(LabNetwork.interfaceName)
                }
            } catch {
                // The hub first: its end of every pair goes with it, which takes the other ends too.
                for namespace in made { try? namespace.delete() }
                LabNetwork.removeDirectoryIfEmpty(directory)
                throw error
            }
        }
    }

    /// Removes every namespace of lab `name` found in `directory` (hub,
    /// nodes, client), whatever their number and however far a `create` got;
    /// then the directory if no lab is left in it. Idempotent. Returns the
    /// names removed. Processes still inside a node keep that namespace
    /// alive, unnamed, but cut off: its link to the hub goes with the hub.
    @discardableResult
    public static func teardown(lab name: String, directory: String = NetworkNamespace.defaultDirectory) throws -> [String] {
        try validate(name: name)
        guard access(directory, F_OK) == 0 else { return [] }
        return try withLock(directory) {
            var removed: [String] = [], firstError: (any Error)?
            for namespace in existingNamespaces(lab: name, in: directory) {
                do {
                    try namespace.delete()
                    removed.append(namespace.name)
                } catch {
                    firstError = firstError ?? error
                }
            }
            removeDirectoryIfEmpty(directory)
            if let firstError { throw firstError }
            return removed
        }
    }

    public func teardown() throws {
        try LabNetwork.teardown(lab: name, directory: directory)
    }

    /// The lab's namespace files present in `directory`, the hub first:
    /// `<lab>-hub`, `<lab>-node<digits>` (in node order), `<lab>-client`.
    /// A file is listed even if nothing is mounted on it (a create that
    /// stopped halfway).
    public static func existingNamespaces(lab name: String, in directory: String = NetworkNamespace.defaultDirectory) -> [NetworkNamespace] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var hub: [String] = [], nodes: [(Int, String)] = [], client: [String] = []
        for entry in entries where entry.hasPrefix(name + "-") {
            let suffix = entry.dropFirst(name.count + 1)
            if suffix == "hub" {
                hub.append(entry)
            } else if suffix == "client" {
                client.append(entry)
            } else if let index = nodeIndex(suffix) {
                nodes.append((index, entry))
            }
        }
        let names = hub + nodes.sorted { $0.0 < $1.0 }.map(\.1) + client
        return names.map { NetworkNamespace(name: $0, directory: directory) }
    }

    /// Names of the labs with at least one namespace in `directory`.
    public static func labNames(in directory: String = NetworkNamespace.defaultDirectory) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return Set(entries.compactMap { entry -> String? in
            guard let dash = entry.lastIndex(of: "-") else { return nil }
            let suffix = entry[entry.index(after: dash)...]
            let ours = suffix == "hub" || suffix == "client" || nodeIndex(suffix) != nil
            return ours ? String(entry[..<dash]) : nil
        }).sorted()
    }

    // MARK: Plumbing

    /// "node12" → 12; nil for anything else ("node", "node+1", "node1a").
    private static func nodeIndex(_ suffix: Substring) -> Int? {
        let digits = suffix.dropFirst(4)
        guard suffix.hasPrefix("node"), !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return Int(digits)
    }

    /// Removes `directory` (and its lock file) if no namespace is left in it;
    /// another lab's namespaces keep it. Called with the lock held.
    private static func removeDirectoryIfEmpty(_ directory: String) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory), entries.isEmpty else { return }
        try? NetworkNamespace.removeDirectory(directory)
    }

    /// Runs `body` holding an exclusive flock on `DIRECTORY.lock`, so that
    /// two labs (in one process or two) never make or remove the directory
    /// under each other. The lock file is removed with the directory: a
    /// waiter that then gets a lock on the removed file tries again.
    private static func withLock<T>(_ directory: String, _ body: () throws -> T) throws -> T {
        let path = directory + ".lock"
        try makeDirectories(String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]))
        var fd: Int32
        while true {
            fd = try openOrThrow(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            while flock(fd, LOCK_EX) != 0 {
                let code = errno
                if code == EINTR { continue }
                close(fd)
                throw RuntimeError.system(errno: code, call: "flock", detail: path)
            }
            var held = stat(), current = stat()
            if fstat(fd, &held) == 0, stat(path, &current) == 0, held.st_ino == current.st_ino, held.st_dev == current.st_dev { break }
            close(fd)
        }
        defer {
            if access(directory, F_OK) != 0 {
                unlink(path)
                // The parent too (/run/swarm-lab), if nothing else is in it.
                rmdir(String(directory[..<(directory.lastIndex(of: "/") ?? directory.startIndex)]))
            }
            close(fd)
        }
        return try body()
    }
}
