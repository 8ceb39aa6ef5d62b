import Foundation
import HostNetwork
import Lab
import Synchronization
import SystemCalls
import Testing

// Lab networks live in the real lab directory (/run/swarm-lab/netns), under
// names unique to this test run ("t<pid><letter>"), so they never meet a lab
// someone has up. Nothing is made in the host's own network namespace; `ip`,
// `ping` and `nsenter` only observe.

private func labName(_ letter: String) -> String { "t\(getpid())\(letter)" }

/// Runs a program inside the network namespace at `path`.
private func inside(_ path: String, _ arguments: [String]) -> ProcessResult {
    runProcess("/usr/bin/nsenter", ["--net=" + path] + arguments)
}

/// iputils ping if there is one, else busybox's.
private let ping: [String] = FileManager.default.isExecutableFile(atPath: "/usr/bin/ping") ? ["/usr/bin/ping"]
    : FileManager.default.isExecutableFile(atPath: "/bin/ping") ? ["/bin/ping"] : ["/usr/bin/busybox", "ping"]

/// One ping at a time until a reply, for up to 5 s: a new bridge port
/// forwards only once the kernel's link watch has seen its carrier, which
/// can be a second later, more on a busy machine.
private func pings(from path: String, _ address: String) -> ProcessResult {
    let deadline = Date().addingTimeInterval(5)
    var result = inside(path, ping + ["-c1", "-W1", address])
    while result.status != 0 && Date() < deadline {
        result = inside(path, ping + ["-c1", "-W1", address])
    }
    return result
}

/// Read to the end by hand: /proc files come in pieces.
private func mountinfo() -> String {
    guard let handle = FileHandle(forReadingAtPath: "/proc/self/mountinfo") else { return "" }
    defer { try? handle.close() }
    return String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
}

/// What of lab `name` is still there: namespace files, mounts.
private func leftovers(_ name: String) -> [String] {
    let directory = NetworkNamespace.defaultDirectory
    let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix(name + "-") }
    let mounts = mountinfo().split(separator: "\n").filter { $0.contains(directory + "/" + name + "-") }.map(String.init)
    return files.map { "file " + $0 } + mounts.map { "mount " + $0 }
}

/// Links of a lab (bridge, hub ends of veth pairs) found in the host's
/// (this process's) network namespace: there should never be any.
private func labLinksInHost() -> [String] {
    runProcess("/usr/sbin/ip", ["-o", "link", "show"]).stdout.split(separator: "\n").compactMap { line in
        line.split(separator: ":").dropFirst().first.map { $0.trimmingCharacters(in: .whitespaces) }
    }.filter { $0 == LabNetwork.bridgeName || $0.hasPrefix("vnode") || $0.hasPrefix(LabNetwork.clientHubPort) }
}

/// Serialized: the tests make and remove names in the one shared lab
/// directory, some by hand (outside the lab lock).
@Suite(.serialized)
struct LabNetworkTests {
    @Test(.enabled(if: isRoot, rootReason))
    func labNetworkJoinsNodesAndClientOnOneBridge() throws {
        let name = labName("a")
        let network = try LabNetwork(name: name, nodes: 3)
        defer { try? network.teardown() }
        #expect(labLinksInHost().isEmpty)
        try network.create()

        for namespace in network.namespaces {
            #expect(FileManager.default.fileExists(atPath: namespace.path), "\(namespace.path)")
            #expect(namespace.identity() != nil, "\(namespace.name) is mounted")
        }
        #expect(LabNetwork.existingNamespaces(lab: name).map(\.name) == network.namespaces.map(\.name))
        #expect(LabNetwork.labNames().contains(name))

        let address = inside(network.node(2).path, ["ip", "-o", "-4", "addr", "show", "dev", "eth0"]).stdout
        #expect(address.contains("inet \(network.nodeAddress(2))/24 brd \(network.broadcast)"), "\(address)")
        let loopback = inside(network.node(2).path, ["ip", "-o", "link", "show", "lo"]).stdout
        #expect(loopback.contains("UP") || loopback.contains("state UNKNOWN"), "\(loopback)")
        let port = inside(network.hub.path, ["ip", "-o", "link", "show", "vnode3"]).stdout
        #expect(port.contains("master \(LabNetwork.bridgeName)") && port.contains("state UP"), "\(port)")

        let nodeToNode = pings(from: network.node(1).path, network.nodeAddress(3))
        #expect(nodeToNode.status == 0, "ping node1 → node3: \(nodeToNode.stdout)\(nodeToNode.stderr)")
        let clientToNode = pings(from: network.client.path, network.nodeAddress(2))
        #expect(clientToNode.status == 0, "ping client → node2: \(clientToNode.stdout)\(clientToNode.stderr)")
        let localhost = pings(from: network.node(3).path, "127.0.0.1")
        #expect(localhost.status == 0, "ping node3 → 127.0.0.1: \(localhost.stdout)\(localhost.stderr)")

        // Nothing in the host's namespace: no bridge, no veth end, no route to the lab.
        #expect(labLinksInHost().isEmpty, "\(labLinksInHost())")
        #expect(!runProcess("/usr/sbin/ip", ["-4", "route", "show"]).stdout.contains(network.subnetPrefix + "."))

        // A second create of the same lab is refused and leaves the first alone.
        let again = #expect(throws: RuntimeError.self) { try network.create() }
        #expect(again?.description.contains("exists already") == true, "\(String(describing: again))")
        #expect(pings(from: network.node(1).path, network.nodeAddress(2)).status == 0)

        let removed = try LabNetwork.teardown(lab: name)
        #expect(Set(removed) == Set(network.namespaces.map(\.name)))
        #expect(leftovers(name).isEmpty, "\(leftovers(name))")
        #expect(!LabNetwork.labNames().contains(name))
        #expect(labLinksInHost().isEmpty, "\(labLinksInHost())")
        // Idempotent.
        #expect(try LabNetwork.teardown(lab: name).isEmpty)
        // The name is free again.
        try network.create()
        #expect(pings(from: network.client.path, network.nodeAddress(1)).status == 0)
        try network.teardown()
        #expect(leftovers(name).isEmpty, "\(leftovers(name))")
    }

    @Test(.enabled(if: isRoot, rootReason))
    func teardownRemovesAHalfMadeLab() throws {
        let name = labName("h")
        let directory = NetworkNamespace.defaultDirectory
        defer { _ = try? LabNetwork.teardown(lab: name) }
        // As an `up` killed midway might leave it: a hub with its bridge, node1
        // wired to it, node2's name made but never mounted, no client.
        let hub = try NetworkNamespace.create(name + "-hub", in: directory)
        let node1 = try NetworkNamespace.create(name + "-node1", in: directory)
        do {
            let hubLinks = try Netlink(namespace: hub)
            try hubLinks.createBridge(LabNetwork.bridgeName)
            try node1.withFileDescriptor { try hubLinks.createVeth(LabNetwork.hubPort(node: 1), peer: "eth0", peerNamespace: $0) }
            try hubLinks.setMaster(LabNetwork.hubPort(node: 1), bridge: LabNetwork.bridgeName)
        }
        let unmounted = directory + "/" + name + "-node2"
        #expect(FileManager.default.createFile(atPath: unmounted, contents: nil))
        #expect(NetworkNamespace(name: name + "-node2").identity() == nil)
        #expect(LabNetwork.existingNamespaces(lab: name).map(\.name) == [name + "-hub", name + "-node1", name + "-node2"])

        // create refuses to build over the pieces, and removes none of them.
        #expect(throws: RuntimeError.self) { try LabNetwork(name: name, nodes: 2).create() }
        #expect(LabNetwork.existingNamespaces(lab: name).count == 3)
        #expect(hub.identity() != nil)

        let removed = try LabNetwork.teardown(lab: name)
        #expect(removed == [name + "-hub", name + "-node1", name + "-node2"])
        #expect(leftovers(name).isEmpty, "\(leftovers(name))")
        #expect(try LabNetwork.teardown(lab: name).isEmpty)
    }

    @Test(.enabled(if: isRoot, rootReason))
    func createRefusesWhenAnyOfItsNamesIsTaken() throws {
        let name = labName("f")
        let network = try LabNetwork(name: name, nodes: 2)
        defer { unlink(network.client.path); _ = try? LabNetwork.teardown(lab: name) }
        try FileManager.default.createDirectory(atPath: network.directory, withIntermediateDirectories: true)
        // Only the client's name is taken (a plain file): create makes nothing,
        // and the file is not create's to remove.
        #expect(FileManager.default.createFile(atPath: network.client.path, contents: nil))
        let refused = #expect(throws: RuntimeError.self) { try network.create() }
        #expect(refused?.description.contains(network.client.path) == true, "\(String(describing: refused))")
        #expect(LabNetwork.existingNamespaces(lab: name).map(\.name) == [name + "-client"])
        #expect(FileManager.default.fileExists(atPath: network.client.path))
    }

    @Test(.enabled(if: isRoot, rootReason))
    func twoLabsAtOnceStayApart() throws {
        let first = try LabNetwork(name: labName("x"), nodes: 1, subnet: "10.77.200.0/24")
        let second = try LabNetwork(name: labName("y"), nodes: 1, subnet: "10.77.200.0/24")
        defer {
            try? first.teardown()
            try? second.teardown()
        }
        // Made from two threads at once: the lab lock keeps the shared directory sane.
        let errors = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            do { try [first, second][index].create() } catch { errors.withLock { $0.append("\(error)") } }
        }
        #expect(errors.withLock { $0 }.isEmpty, "\(errors.withLock { $0 })")
        // The same subnet in both, yet each bridge is its own: the client of one
        // reaches only its own node (both are .11; ARP tells them apart by MAC).
        #expect(pings(from: first.client.path, first.nodeAddress(1)).status == 0)
        #expect(pings(from: second.client.path, second.nodeAddress(1)).status == 0)
        // (Not /sys/class/net: nsenter --net keeps the host's /sys.)
        let link = inside(first.node(1).path, ["ip", "-o", "link", "show", "eth0"]).stdout.split(separator: " ")
        let firstMAC = link.firstIndex(of: "link/ether").map { String(link[$0 + 1]) } ?? "?"
        _ = pings(from: first.client.path, first.nodeAddress(1))
        let neighbour = inside(first.client.path, ["ip", "neigh", "show", first.nodeAddress(1)]).stdout
        #expect(neighbour.contains(firstMAC), "\(neighbour) vs \(firstMAC)")

        DispatchQueue.concurrentPerform(iterations: 2) { index in
            do { try [first, second][index].teardown() } catch { errors.withLock { $0.append("\(error)") } }
        }
        #expect(errors.withLock { $0 }.isEmpty, "\(errors.withLock { $0 })")
        #expect(leftovers(first.name).isEmpty && leftovers(second.name).isEmpty)
    }
}
