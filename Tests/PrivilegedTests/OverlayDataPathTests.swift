import Foundation
import HostNetwork
import NodeAgent
import OverlayNetwork
import SwarmAPI
import Testing

// Two "nodes" are network namespaces of the test's, joined by a bridge in a
// third (the underlay, 10.231.1.0/24); each runs its own OverlayDataPath
// with that namespace as its node namespace and a state directory of its
// own. Everything lives under one temporary directory, removed at the end.

/// The underlay and the two nodes; `cleanUp` removes every namespace, link
/// and directory, whatever the test left.
private final class TwoNodes {
    let directory: String
    let hub: NetworkNamespace
    let nodes: [NetworkNamespace]
    let addresses = ["10.231.1.1", "10.231.1.2"]
    var dataPaths: [OverlayDataPath] = []

    init(_ letter: String) throws {
        directory = NSTemporaryDirectory() + "swarm-test-overlay-\(getpid())\(letter)"
        let namespaces = directory + "/netns"
        hub = try NetworkNamespace.create("hub", in: namespaces)
        nodes = [try NetworkNamespace.create("node1", in: namespaces), try NetworkNamespace.create("node2", in: namespaces)]
        let hubLinks = try Netlink(namespace: hub)
        try hubLinks.createBridge("br0")
        try hubLinks.setLinkUp("br0")
        for (index, node) in nodes.enumerated() {
            let port = "u\(index)"
            try node.withFileDescriptor { try hubLinks.createVeth(port, peer: "eth0", peerNamespace: $0) }
            try hubLinks.setMaster(port, bridge: "br0")
            try hubLinks.setLinkUp(port)
            try node.bringUpLoopback()
            let links = try Netlink(namespace: node)
            try links.addAddress(addresses[index], prefix: 24, link: "eth0")
            try links.setLinkUp("eth0")
        }
        dataPaths = (0..<2).map { dataPath($0) }
    }

    func stateDirectory(_ index: Int) -> String { directory + "/state\(index + 1)" }

    /// A data path for node `index`, as an agent (re)started there makes it.
    func dataPath(_ index: Int) -> OverlayDataPath {
        OverlayDataPath(nodeAddr: addresses[index] + ":2377", stateDirectory: stateDirectory(index), nodeNamespace: nodes[index])
    }

    func cleanUp() async {
        for dataPath in dataPaths { await dataPath.removeAll() }
        for namespace in nodes + [hub] { try? namespace.delete() }
        try? NetworkNamespace.removeDirectory(directory + "/netns")
        for index in 0..<2 {
            // A failed removeAll must not leave mounts: detach whatever is left.
            let netns = stateDirectory(index) + "/overlay/netns"
            for name in (try? FileManager.default.contentsOfDirectory(atPath: netns)) ?? [] { umount2(netns + "/" + name, Int32(MNT_DETACH)) }
            umount2(netns, Int32(MNT_DETACH))
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A program inside the namespace at `path`.
    func run(in path: String, _ arguments: String...) -> ProcessResult {
        runProcess("/usr/bin/nsenter", ["--net=" + path] + arguments)
    }

    func links(_ node: Int) -> [String] {
        let output = run(in: nodes[node].path, "ip", "-o", "link", "show").stdout
        return output.split(separator: "\n").compactMap { line in
            line.split(separator: ":").dropFirst().first.map { String($0.trimmingCharacters(in: .whitespaces).split(separator: "@")[0]) }
        }.sorted()
    }

    func ping(from path: String, _ address: String) -> Bool {
        run(in: path, "/usr/bin/busybox", "ping", "-c", "1", "-W", "2", address).status == 0
    }
}

/// Reads `fd` until its writers close it, then closes it.
private func readToEnd(_ fd: Int32) -> String {
    var text: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = read(fd, &chunk, chunk.count)
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { break }
        text += chunk[..<count]
    }
    close(fd)
    return String(decoding: text, as: UTF8.self)
}

private func network(_ id: String, vni: UInt32, subnet: String, ingress: Bool = false, `internal`: Bool = false) -> SwarmNetwork {
    var spec = NetworkSpec(name: id.prefix(8).lowercased())
    spec.ingress = ingress
    spec.`internal` = `internal`
    var network = SwarmNetwork(id: id, version: ObjectVersion(index: 1), createdAt: Timestamp(nanoseconds: 0), spec: spec)
    network.driverState = NetworkDriver(name: "overlay", options: [SwarmNetwork.vxlanOption: String(vni)])
    network.ipamOptions = IPAMOptions(configs: [IPAMConfig(subnet: subnet, gateway: String(subnet.dropLast(4)) + "1")])
    return network
}

private func task(_ id: String, on networks: [(SwarmNetwork, String)]) -> SwarmTask {
    var task = SwarmTask(id: id, version: ObjectVersion(index: 1), createdAt: Timestamp(nanoseconds: 0),
                         spec: TaskSpec(containerSpec: SwarmAPI.ContainerSpec(image: "busybox")), serviceID: "service1", slot: 1,
                         nodeID: nil, status: TaskStatus(timestamp: Timestamp(nanoseconds: 0), state: .new, message: ""),
                         desiredState: .running, specIndex: 1, serviceName: "web")
    task.networksAttachments = networks.map { NetworkAttachment(network: $0.0, addresses: [$0.1]) }
    return task
}

struct OverlayDataPathTests {
    static let app = network("appnet0000000000000000001", vni: 4101, subnet: "10.0.9.0/24")
    static let taskA = task("taskaaaaaaaaaaaaaaaaaaaaa", on: [(app, "10.0.9.3/24")])
    static let taskB = task("taskbbbbbbbbbbbbbbbbbbbbb", on: [(app, "10.0.9.4/24")])
    static let view = NetworkView(network: app, endpoints: [
        OverlayEndpoint(address: "10.0.9.3", nodeAddr: "10.231.1.1", taskID: taskA.id, running: true),
        OverlayEndpoint(address: "10.0.9.4", nodeAddr: "10.231.1.2", taskID: taskB.id, running: true),
    ], services: [])

    @Test(.enabled(if: isRoot, rootReason))
    func tasksOnTwoNodesReachEachOtherOverVXLAN() async throws {
        let lab = try TwoNodes("a")
        do {
            let (one, two) = (lab.dataPaths[0], lab.dataPaths[1])
            let linksBefore = lab.links(0)
            await one.update([Self.view])
            await two.update([Self.view])
            let pathA = try #require(try await one.prepare(Self.taskA))
            let pathB = try #require(try await two.prepare(Self.taskB))
            #expect(lab.ping(from: pathA, "10.0.9.4"), "task A cannot ping task B over the overlay")
            #expect(lab.ping(from: pathB, "10.0.9.3"))

            // A TCP connection across the VXLAN.
            var out: [Int32] = [0, 0]
            #expect(makePipe(&out))
            let server = try spawn("/usr/bin/nsenter", ["--net=" + pathB, "/usr/bin/busybox", "nc", "-l", "-p", "7000"], stdout: out[1])
            close(out[1])
            var sent = false
            for _ in 0..<50 where !sent {
                sent = runProcess("/bin/sh", ["-c", "echo over-the-overlay | nsenter --net=\(pathA) /usr/bin/busybox nc 10.0.9.4 7000"]).status == 0
                if !sent { usleep(100_000) }
            }
            // The server exits when the client's connection closes (killed if there was none).
            if !sent { kill(server, SIGKILL) }
            let received = readToEnd(out[0])
            kill(server, SIGKILL)
            waitFor(server)
            #expect(sent && received.contains("over-the-overlay"), "\(received)")

            // The task's interface: its address, the MAC derived from it, MTU 1450.
            let eth0 = lab.run(in: pathA, "ip", "-o", "link", "show", "eth0").stdout
            #expect(eth0.contains("mtu 1450") && eth0.contains("02:42:0a:00:09:03"), "\(eth0)")
            // The way out: the default route to the node's gateway bridge, which answers.
            #expect(lab.run(in: pathA, "ip", "route", "show", "default").stdout.contains("via 172.18.0.1"))
            #expect(lab.ping(from: pathA, "172.18.0.1"))
            let wiring = await one.nodeWiring
            #expect(wiring.gatewayBridge == "swarm_gwbridge" && wiring.gatewaySubnet == "172.18.0.0/16" && wiring.nodeAddr == "10.231.1.1")
            let wired = try #require(await one.wired(Self.taskA.id))
            #expect(wired.interfaces == [WiredInterface(networkID: Self.app.id, name: "eth0", address: "10.0.9.3")])
            #expect(wired.gatewayAddress == "172.18.0.2" && wired.namespacePath == pathA)

            // The peer's FDB and neighbour entries, and nothing flooded: no all-zero entry.
            let sandbox = lab.stateDirectory(0) + "/overlay/netns/sb-" + Self.app.id
            #expect(await one.sandboxPath(Self.app.id) == sandbox)
            let fdb = lab.run(in: sandbox, "bridge", "fdb", "show", "dev", "vx-appnet000000").stdout
            #expect(fdb.contains("02:42:0a:00:09:04 dst 10.231.1.2") && !fdb.contains("00:00:00:00:00:00"), "\(fdb)")
            let vxlan = lab.run(in: sandbox, "ip", "-d", "link", "show", "vx-appnet000000").stdout
            #expect(vxlan.contains("vxlan id 4101") && vxlan.contains("local 10.231.1.1") && vxlan.contains("nolearning")
                    && vxlan.contains("proxy") && vxlan.contains("mtu 1450") && vxlan.contains("dstport 4789"), "\(vxlan)")

            // Task B's endpoint goes: its entries go, and A no longer reaches it.
            await one.update([NetworkView(network: Self.app, endpoints: [Self.view.endpoints[0]], services: [])])
            let after = lab.run(in: sandbox, "bridge", "fdb", "show", "dev", "vx-appnet000000").stdout
            // Neither the VXLAN's entry nor what the bridge learned from B's packets remains.
            #expect(!after.contains("02:42:0a:00:09:04"), "\(after)")
            #expect(!lab.run(in: sandbox, "ip", "neigh", "show", "dev", "vx-appnet000000").stdout.contains("10.0.9.4"))
            #expect(!lab.ping(from: pathA, "10.0.9.4"))
            await one.update([Self.view])
            #expect(lab.ping(from: pathA, "10.0.9.4"))

            // Release and leave: nothing of the data path's remains.
            await two.release(taskID: Self.taskB.id)
            #expect(access(pathB, F_OK) != 0)
            #expect(!lab.links(1).contains { $0.hasPrefix("gw-") })
            await one.removeAll()
            await two.removeAll()
            #expect(lab.links(0) == linksBefore, "\(lab.links(0))")
            #expect(lab.links(1) == linksBefore.map { $0 }, "\(lab.links(1))")
            #expect(access(lab.stateDirectory(0) + "/overlay", F_OK) != 0)
            #expect(access(lab.stateDirectory(1) + "/overlay", F_OK) != 0)
        } catch {
            await lab.cleanUp()
            throw error
        }
        await lab.cleanUp()
    }

    @Test(.enabled(if: isRoot, rootReason))
    func aRestartedDataPathAdoptsWhatItFinds() async throws {
        let lab = try TwoNodes("b")
        do {
            for dataPath in lab.dataPaths { await dataPath.update([Self.view]) }
            let pathA = try #require(try await lab.dataPaths[0].prepare(Self.taskA))
            _ = try await lab.dataPaths[1].prepare(Self.taskB)
            // Traffic flowing across the restart.
            var out: [Int32] = [0, 0]
            #expect(makePipe(&out))
            let pinger = try spawn("/usr/bin/nsenter", ["--net=" + pathA, "/usr/bin/busybox", "ping", "-c", "3", "10.0.9.4"], stdout: out[1])
            close(out[1])
            let linksBefore = lab.links(0)
            let sandbox = lab.stateDirectory(0) + "/overlay/netns/sb-" + Self.app.id
            let sandboxLinks = lab.run(in: sandbox, "ip", "-o", "link", "show").stdout.split(separator: "\n").count

            // The agent is killed: a new instance over the same state directory.
            let restarted = lab.dataPath(0)
            lab.dataPaths[0] = restarted
            let adopted = await restarted.adoptedTasks()
            #expect(adopted.map(\.taskID) == [Self.taskA.id] && adopted.first?.namespacePath == pathA)
            await restarted.update([Self.view])
            #expect(await restarted.wired(Self.taskA.id)?.gatewayAddress == "172.18.0.2")
            #expect(lab.links(0) == linksBefore, "links were made again: \(lab.links(0))")
            #expect(lab.run(in: sandbox, "ip", "-o", "link", "show").stdout.split(separator: "\n").count == sandboxLinks)
            waitFor(pinger)
            let summary = readToEnd(out[0])
            #expect(summary.contains("3 packets transmitted, 3 packets received"), "\(summary)")
            #expect(lab.ping(from: pathA, "10.0.9.4"))
            // A second task gets the next gateway address, not a reused one.
            let taskC = task("taskccccccccccccccccccccc", on: [(Self.app, "10.0.9.5/24")])
            _ = try await restarted.prepare(taskC)
            #expect(await restarted.wired(taskC.id)?.gatewayAddress == "172.18.0.3")
        } catch {
            await lab.cleanUp()
            throw error
        }
        await lab.cleanUp()
    }

    @Test(.enabled(if: isRoot, rootReason))
    func theIngressEndpointAndInternalNetworks() async throws {
        let lab = try TwoNodes("c")
        do {
            let ingress = network("ingress00000000000000000001", vni: 4096, subnet: "10.0.0.0/24", ingress: true)
            let secret = network("secret00000000000000000001", vni: 4102, subnet: "10.0.10.0/24", internal: true)
            let ingressView = NetworkView(network: ingress, endpoints: [
                OverlayEndpoint(address: "10.0.0.2", nodeAddr: "10.231.1.1", running: true),
                OverlayEndpoint(address: "10.0.0.3", nodeAddr: "10.231.1.2", running: true),
                OverlayEndpoint(address: "10.0.0.5", nodeAddr: "10.231.1.2", taskID: Self.taskB.id, running: true),
            ], services: [])
            for dataPath in lab.dataPaths { await dataPath.update([ingressView]) }
            let web = task(Self.taskB.id, on: [(ingress, "10.0.0.5/24")])
            let pathB = try #require(try await lab.dataPaths[1].prepare(web))
            let wiring = await lab.dataPaths[0].nodeWiring
            #expect(wiring.ingressAddress == "10.0.0.2" && wiring.ingressInterface == "lb-ingress00000")
            // Node 1 itself reaches the task on node 2 through its ingress endpoint.
            #expect(lab.ping(from: lab.nodes[0].path, "10.0.0.5"))
            #expect(lab.ping(from: pathB, "10.0.0.2"))

            // A task only on an internal network has no way out.
            let hidden = task("taskddddddddddddddddddddd", on: [(secret, "10.0.10.3/24")])
            let pathD = try #require(try await lab.dataPaths[0].prepare(hidden))
            #expect(await lab.dataPaths[0].wired(hidden.id)?.gatewayAddress == nil)
            #expect(lab.run(in: pathD, "ip", "route", "show", "default").stdout.isEmpty)
            // A task on no network at all gets the way out only.
            let plain = task("taskeeeeeeeeeeeeeeeeeeeee", on: [])
            let pathE = try #require(try await lab.dataPaths[0].prepare(plain))
            #expect(lab.ping(from: pathE, "172.18.0.1"))

            // The ingress network leaves the views: its sandbox and endpoint go.
            await lab.dataPaths[0].update([])
            #expect(!lab.links(0).contains("lb-ingress00000"))
            #expect(await lab.dataPaths[0].nodeWiring.ingressAddress == nil)
        } catch {
            await lab.cleanUp()
            throw error
        }
        await lab.cleanUp()
    }
}
