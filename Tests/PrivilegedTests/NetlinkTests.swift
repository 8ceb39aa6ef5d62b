import Foundation
import HostNetwork
import Testing

// Everything here happens inside network namespaces the test makes, under a
// directory of its own (/tmp/swarm-test-netns-*), so the host's links,
// addresses and /run/netns are never touched; `ip` and `bridge` only observe.

/// Namespaces made by one test, all removed (with their directory) by cleanUp.
private final class NetnsLab {
    let tag: String
    let directory: String
    private var made: [NetworkNamespace] = []

    init(_ letter: String) {
        tag = "swt\(getpid())\(letter)"
        directory = NSTemporaryDirectory() + "swarm-test-netns-\(tag)"
    }

    func namespace(_ suffix: String) throws -> NetworkNamespace {
        let namespace = try NetworkNamespace.create("\(tag)-\(suffix)", in: directory)
        made.append(namespace)
        return namespace
    }

    func cleanUp() {
        for namespace in made { try? namespace.delete() }
        made = []
        try? NetworkNamespace.removeDirectory(directory)
    }

    /// Runs a program inside `namespace` (nsenter enters the bind-mounted file).
    func run(in namespace: NetworkNamespace, _ arguments: String...) -> ProcessResult {
        runProcess("/usr/bin/nsenter", ["--net=" + namespace.path] + arguments)
    }
}

/// Read to the end by hand: Foundation's String(contentsOfFile:) stops after
/// the first read of a /proc file, about 4 KiB of it.
private func mountinfo() -> String {
    let fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return "" }
    defer { close(fd) }
    var text: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = read(fd, &chunk, chunk.count)
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { break }
        text += chunk[..<count]
    }
    return String(decoding: text, as: UTF8.self)
}

private func inode(_ path: String) -> ino_t {
    var info = stat()
    return stat(path, &info) == 0 ? info.st_ino : 0
}

/// Each test makes namespaces of its own, under a directory of its own.
struct NetlinkTests {
    @Test(.enabled(if: isRoot, rootReason))
    func twoNamespacesPingThroughABridgeInAThird() throws {
        let lab = NetnsLab("p")
        defer { lab.cleanUp() }
        let hub = try lab.namespace("hub"), nodes = [try lab.namespace("a"), try lab.namespace("b")]

        let hubLinks = try Netlink(namespace: hub)
        try hubLinks.createBridge("br0")
        try hubLinks.setLinkUp("br0")
        for (index, node) in nodes.enumerated() {
            let port = "veth\(index)"
            // The node's end is made straight inside it, as eth0.
            try node.withFileDescriptor { try hubLinks.createVeth(port, peer: "eth0", peerNamespace: $0) }
            try hubLinks.setMaster(port, bridge: "br0")
            try hubLinks.setLinkUp(port)
            try node.bringUpLoopback()
            let links = try Netlink(namespace: node)
            try links.setMTU("eth0", 1400)
            try links.addAddress("10.231.0.\(index + 1)", prefix: 24, link: "eth0", broadcast: "10.231.0.255")
            try links.setLinkUp("eth0")
        }
        #expect(try hubLinks.linkIndex("veth0") > 0)
        #expect(lab.run(in: hub, "ip", "-o", "link", "show", "veth1").stdout.contains("master br0"))
        #expect(lab.run(in: nodes[0], "ip", "-o", "link", "show", "eth0").stdout.contains("mtu 1400"))
        let address = lab.run(in: nodes[0], "ip", "-o", "-4", "addr", "show", "dev", "eth0").stdout
        #expect(address.contains("inet 10.231.0.1/24 brd 10.231.0.255"), "\(address)")

        let ping = lab.run(in: nodes[0], "/usr/bin/busybox", "ping", "-c", "1", "-W", "3", "10.231.0.2")
        #expect(ping.status == 0, "ping a → b: \(ping.stdout)\(ping.stderr)")

        let links = try Netlink(namespace: nodes[0])
        try links.addDefaultRoute(via: "10.231.0.2")
        try links.addRoute("10.232.0.0", prefix: 16, link: "eth0")
        let routes = lab.run(in: nodes[0], "ip", "-4", "route", "show").stdout
        #expect(routes.contains("default via 10.231.0.2 dev eth0"), "\(routes)")
        #expect(routes.contains("10.232.0.0/16 dev eth0 scope link"), "\(routes)")

        // Deleting a node's namespace takes its veth pair, the hub's end too.
        try nodes[1].delete()
        #expect(eventually { (try? hubLinks.linkIndex("veth1")) == nil })
    }

    @Test(.enabled(if: isRoot, rootReason))
    func linksMoveAndDeleteAcrossNamespaces() throws {
        let lab = NetnsLab("m")
        defer { lab.cleanUp() }
        let one = try lab.namespace("one"), two = try lab.namespace("two")
        let links = try Netlink(namespace: one)
        try links.createVeth("mv0", peer: "mv1")
        try links.setLinkDown("mv1")
        try two.withFileDescriptor { try links.moveLink("mv1", toNamespace: $0) }
        #expect(throws: NetlinkError.self) { try links.linkIndex("mv1") }
        #expect(try Netlink(namespace: two).linkIndex("mv1") > 0)
        try links.deleteLink("mv0")
        #expect(throws: NetlinkError.self) { try Netlink(namespace: two).linkIndex("mv1") }
    }

    @Test(.enabled(if: isRoot, rootReason))
    func netlinkErrorsNameTheOperationAndErrno() throws {
        let lab = NetnsLab("e")
        defer { lab.cleanUp() }
        let links = try Netlink(namespace: try lab.namespace("e"))
        try links.createBridge("swlab0")

        let exists = #expect(throws: NetlinkError.self) { try links.createBridge("swlab0") }
        #expect(exists?.errno == EEXIST)
        #expect(exists?.description.hasPrefix("create bridge swlab0: EEXIST (File exists)") == true, "\(String(describing: exists))")

        let missing = #expect(throws: NetlinkError.self) { try links.setLinkUp("nosuch0") }
        #expect(missing?.errno == ENODEV)
        #expect(missing?.description.hasPrefix("set link nosuch0 up: ENODEV") == true, "\(String(describing: missing))")
        #expect((try? links.linkIndex("nosuch0")) == nil)
        #expect(throws: NetlinkError.self) { try links.deleteLink("nosuch0") }

        // A failed request leaves the socket usable.
        try links.addAddress("10.233.0.1", prefix: 24, link: "swlab0")
        let twice = #expect(throws: NetlinkError.self) { try links.addAddress("10.233.0.1", prefix: 24, link: "swlab0") }
        #expect(twice?.errno == EEXIST)
        #expect(throws: HostNetworkError.badInput("not an IPv4 address: 10.233.0.300")) {
            try links.addAddress("10.233.0.300", prefix: 24, link: "swlab0")
        }
        try links.deleteLink("swlab0")
    }

    @Test(.enabled(if: isRoot, rootReason))
    func vxlanWithFDBAndNeighbourEntries() throws {
        let lab = NetnsLab("v")
        defer { lab.cleanUp() }
        let namespace = try lab.namespace("v")
        let links = try Netlink(namespace: namespace)
        try links.createVXLAN("vx0", vni: 4242, local: "10.234.0.1", port: 4789)
        try links.setLinkUp("vx0")
        let details = lab.run(in: namespace, "ip", "-d", "-o", "link", "show", "vx0").stdout
        for part in ["vxlan id 4242", "local 10.234.0.1", "dstport 4789", "nolearning"] {
            #expect(details.contains(part), "\(part) in \(details)")
        }

        try links.addFDBEntry(mac: "02:42:0a:ea:00:02", destination: "10.234.0.2", link: "vx0")
        try links.addFDBEntry(mac: "02:42:0a:ea:00:02", destination: "10.234.0.2", link: "vx0")  // again: replaces
        try links.addNeighbor("10.235.0.2", mac: "02:42:0a:ea:00:02", link: "vx0")
        let fdb = lab.run(in: namespace, "bridge", "fdb", "show", "dev", "vx0").stdout
        #expect(fdb.contains("02:42:0a:ea:00:02 dst 10.234.0.2 self permanent"), "\(fdb)")
        let neighbours = lab.run(in: namespace, "ip", "neigh", "show", "dev", "vx0").stdout
        #expect(neighbours.contains("10.235.0.2 lladdr 02:42:0a:ea:00:02 PERMANENT"), "\(neighbours)")

        try links.deleteFDBEntry(mac: "02:42:0a:ea:00:02", destination: "10.234.0.2", link: "vx0")
        try links.deleteNeighbor("10.235.0.2", link: "vx0")
        #expect(!lab.run(in: namespace, "bridge", "fdb", "show", "dev", "vx0").stdout.contains("02:42:0a:ea:00:02"))
        #expect(!lab.run(in: namespace, "ip", "neigh", "show", "dev", "vx0").stdout.contains("10.235.0.2"))
        try links.deleteLink("vx0")
    }

    @Test(.enabled(if: isRoot, rootReason))
    func namespaceLifecycleLeavesNothingBehind() throws {
        let lab = NetnsLab("n")
        defer { lab.cleanUp() }
        let namespace = try lab.namespace("n")
        #expect(mountinfo().contains(" \(namespace.path) "))
        #expect(mountinfo().contains(" \(lab.directory) "))

        // run switches only this thread, and back.
        let before = inode("/proc/thread-self/ns/net")
        let inside = try namespace.run { inode("/proc/thread-self/ns/net") }
        #expect(inside == inode(namespace.path) && inside != before)
        #expect(inode("/proc/thread-self/ns/net") == before)

        try namespace.bringUpLoopback()
        #expect(lab.run(in: namespace, "/usr/bin/busybox", "ping", "-c", "1", "-W", "2", "127.0.0.1").status == 0)

        let again = #expect(throws: HostNetworkError.self) { try NetworkNamespace.create(namespace.name, in: lab.directory) }
        #expect(again == .system(errno: EEXIST, call: "create network namespace", detail: namespace.path))
        #expect(throws: HostNetworkError.self) { try NetworkNamespace.create("a/b", in: lab.directory) }
        // Refused while a namespace is in it, and nothing hidden.
        #expect(throws: HostNetworkError.self) { try NetworkNamespace.removeDirectory(lab.directory) }
        #expect(mountinfo().contains(" \(namespace.path) "))

        try namespace.delete()
        try NetworkNamespace.removeDirectory(lab.directory)
        #expect(!FileManager.default.fileExists(atPath: lab.directory))
        #expect(!mountinfo().contains(lab.directory))
    }
}
