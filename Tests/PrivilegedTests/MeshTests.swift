import Foundation
import HostNetwork
import NodeAgent
import ServiceMesh
import SwarmAPI
import Testing

// Two "nodes" and three "tasks", each a network namespace the test makes
// (under a directory of its own): node1 holds the tasks' app bridge and the
// ingress bridge (its ingress endpoint, 10.0.0.2), node2 joins the ingress
// bridge by a veth (10.0.0.3), a client namespace reaches both nodes. The
// tasks' default route goes to node1, so replies to connections node2
// forwarded reach the client only if the mesh routes them back by mark.

/// The namespaces, processes and files of one mesh test, all removed by cleanUp.
private final class MeshLab {
    let tag = "swm\(getpid())"
    let directory: String
    let files: String
    private(set) var made: [NetworkNamespace] = []
    private(set) var processes: [pid_t] = []

    init() {
        directory = NSTemporaryDirectory() + "swarm-test-netns-\(tag)"
        files = NSTemporaryDirectory() + "swarm-test-mesh-\(tag)"
        try? FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
    }

    func namespace(_ suffix: String) throws -> NetworkNamespace {
        let namespace = try NetworkNamespace.create("\(tag)-\(suffix)", in: directory)
        made.append(namespace)
        try namespace.bringUpLoopback()
        return namespace
    }

    /// A command inside `namespace`; fails the test step if it fails.
    @discardableResult
    func run(_ namespace: NetworkNamespace, _ arguments: String...) throws -> String {
        let result = runProcess("/usr/bin/nsenter", ["--net=" + namespace.path] + arguments)
        guard result.status == 0 else { throw MeshError.badInput("\(arguments.joined(separator: " ")) in \(namespace.name): \(result.stderr)") }
        return result.stdout
    }

    func python(_ namespace: NetworkNamespace, _ script: String, _ arguments: String...) throws -> [String] {
        try run(namespace, ["/usr/bin/python3", "-c", script] + arguments).split(separator: "\n").map(String.init)
    }

    func run(_ namespace: NetworkNamespace, _ arguments: [String]) throws -> String {
        let result = runProcess("/usr/bin/nsenter", ["--net=" + namespace.path] + arguments)
        guard result.status == 0 else { throw MeshError.badInput("\(arguments.first ?? "") in \(namespace.name): \(result.stderr)") }
        return result.stdout
    }

    /// A long-running Python program inside `namespace`, ready once it touched its file.
    func start(_ namespace: NetworkNamespace, _ script: String, _ arguments: String...) throws {
        let ready = files + "/ready-\(processes.count)"
        processes.append(try spawn("/usr/bin/nsenter", ["--net=" + namespace.path, "/usr/bin/python3", "-c", script] + arguments + [ready]))
        guard eventually(10, { FileManager.default.fileExists(atPath: ready) }) else { throw MeshError.badInput("\(arguments) did not start") }
    }

    func cleanUp() {
        for pid in processes { kill(pid, SIGKILL); waitFor(pid) }
        processes = []
        for namespace in made { try? namespace.delete() }
        made = []
        try? NetworkNamespace.removeDirectory(directory)
        try? FileManager.default.removeItem(atPath: files)
    }
}

private func network(_ id: String, ingress: Bool = false) -> SwarmNetwork {
    var spec = NetworkSpec(name: id)
    spec.ingress = ingress
    return SwarmNetwork(id: id, version: ObjectVersion(index: 1), createdAt: .zero, spec: spec)
}

private let ports = [PortConfig(targetPort: 80, publishedPort: 8080), PortConfig(protocol: "udp", targetPort: 9999, publishedPort: 5353),
                     PortConfig(targetPort: 80, publishedPort: 9090, publishMode: "host")]

/// web (VIP 10.0.1.2, alias www, tasks t1–t3 where `running`), empty (VIP
/// 10.0.1.3, no task), secret on a network no task is on; the ingress network
/// with both nodes' endpoints.
private func views(running: Set<Int> = [1, 2, 3]) -> [NetworkView] {
    let tasks = (1...3).map { index in
        OverlayEndpoint(address: "10.0.1.\(4 + index)", nodeAddr: "10.99.0.1", taskID: "t\(index)", serviceID: "web",
                        names: ["web.\(index).t\(index)"], running: running.contains(index))
    }
    let ingressTasks = tasks.map { endpoint in
        var endpoint = endpoint
        endpoint.address = "10.0.0.\(Int(endpoint.address.split(separator: ".").last!)!)"
        return endpoint
    }
    return [
        NetworkView(network: network("app"), endpoints: tasks, services: [
            ServiceBinding(serviceID: "web", name: "web", aliases: ["www"], vip: "10.0.1.2", ports: ports),
            ServiceBinding(serviceID: "empty", name: "empty", vip: "10.0.1.3"),
        ]),
        NetworkView(network: network("other"), endpoints: [OverlayEndpoint(address: "10.0.2.5", nodeAddr: "10.99.0.1", taskID: "s1", serviceID: "secret", running: true)],
                    services: [ServiceBinding(serviceID: "secret", name: "secret", vip: "10.0.2.2")]),
        NetworkView(network: network("ingress", ingress: true),
                    endpoints: [OverlayEndpoint(address: "10.0.0.2", nodeAddr: "10.99.0.1", running: true),
                                OverlayEndpoint(address: "10.0.0.3", nodeAddr: "10.98.0.1", running: true)] + ingressTasks,
                    services: [ServiceBinding(serviceID: "web", name: "web", vip: "10.0.0.4", ports: ports)]),
    ]
}

struct MeshTests {
    @Test(.enabled(if: isRoot, rootReason))
    func vipsIngressAndDNSOverThreeTasksAndTwoNodes() async throws {
        let lab = MeshLab()
        defer { lab.cleanUp() }
        let node1 = try lab.namespace("n1"), node2 = try lab.namespace("n2"), client = try lab.namespace("c")
        let tasks = try (1...3).map { try lab.namespace("t\($0)") }

        // node1: the app and ingress bridges; its ingress endpoint is the bridge itself, with the overlay MAC of 10.0.0.2.
        let links1 = try Netlink(namespace: node1)
        for bridge in ["br-app", "br-ing"] { try links1.createBridge(bridge) }
        try lab.run(node1, "ip", "link", "set", "br-ing", "address", OverlayAddress.mac(of: "10.0.0.2")!)
        try links1.addAddress("10.0.0.2", prefix: 24, link: "br-ing")
        for bridge in ["br-app", "br-ing"] { try links1.setLinkUp(bridge) }
        for (index, task) in tasks.enumerated() {
            let number = index + 5
            for (port, peer, bridge) in [("a\(number)", "eth0", "br-app"), ("i\(number)", "eth1", "br-ing")] {
                try task.withFileDescriptor { try links1.createVeth(port, peer: peer, peerNamespace: $0) }
                try links1.setMaster(port, bridge: bridge)
                try links1.setLinkUp(port)
            }
            let links = try Netlink(namespace: task)
            try lab.run(task, "ip", "link", "set", "eth0", "address", OverlayAddress.mac(of: "10.0.1.\(number)")!)
            try lab.run(task, "ip", "link", "set", "eth1", "address", OverlayAddress.mac(of: "10.0.0.\(number)")!)
            try links.addAddress("10.0.1.\(number)", prefix: 24, link: "eth0")
            try links.addAddress("10.0.0.\(number)", prefix: 24, link: "eth1")
            try links.setLinkUp("eth0")
            try links.setLinkUp("eth1")
            try links.addDefaultRoute(via: "10.0.0.2", link: "eth1")
        }
        // node1's gateway bridge; only t1 is on it (172.31.0.5): host-mode ports go there.
        try links1.createBridge("swgw0")
        try links1.addAddress("172.31.0.1", prefix: 16, link: "swgw0")
        try links1.setLinkUp("swgw0")
        try tasks[0].withFileDescriptor { try links1.createVeth("g5", peer: "eth2", peerNamespace: $0) }
        try links1.setMaster("g5", bridge: "swgw0")
        try links1.setLinkUp("g5")
        try Netlink(namespace: tasks[0]).addAddress("172.31.0.5", prefix: 16, link: "eth2")
        try Netlink(namespace: tasks[0]).setLinkUp("eth2")
        // node2: a veth into node1's ingress bridge.
        try node2.withFileDescriptor { try links1.createVeth("n2", peer: "ing", peerNamespace: $0) }
        try links1.setMaster("n2", bridge: "br-ing")
        try links1.setLinkUp("n2")
        let links2 = try Netlink(namespace: node2)
        try lab.run(node2, "ip", "link", "set", "ing", "address", OverlayAddress.mac(of: "10.0.0.3")!)
        try links2.addAddress("10.0.0.3", prefix: 24, link: "ing")
        try links2.setLinkUp("ing")
        // The client: 10.99.0.2 to node1 (10.99.0.1), 10.98.0.2 to node2 (10.98.0.1).
        for (node, links, subnet, clientLink) in [(node1, links1, "10.99.0", "eth0"), (node2, links2, "10.98.0", "eth1")] {
            try client.withFileDescriptor { try links.createVeth("cl", peer: clientLink, peerNamespace: $0) }
            try links.addAddress("\(subnet).1", prefix: 24, link: "cl")
            try links.setLinkUp("cl")
            try Netlink(namespace: client).addAddress("\(subnet).2", prefix: 24, link: clientLink)
            try Netlink(namespace: client).setLinkUp(clientLink)
            try lab.run(node, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        }

        for (index, task) in tasks.enumerated() { try lab.start(task, MeshScripts.server, "t\(index + 1)") }
        try lab.start(node1, MeshScripts.resolver)
        let resolvConf = lab.files + "/resolv.conf"
        try "nameserver 127.0.0.1\n".write(toFile: resolvConf, atomically: true, encoding: .utf8)

        let mesh1 = ServiceMesh(nodeNamespace: node1.path, resolvConf: resolvConf)
        let mesh2 = ServiceMesh(nodeNamespace: node2.path, resolvConf: resolvConf)
        let wiring1 = NodeWiring(nodeAddr: "10.99.0.1", gatewayBridge: "swgw0", gatewaySubnet: "172.31.0.0/16", ingressInterface: "br-ing", ingressAddress: "10.0.0.2")
        let wiring2 = NodeWiring(nodeAddr: "10.98.0.1", gatewayBridge: "swgw0", gatewaySubnet: "172.31.0.0/16", ingressInterface: "ing", ingressAddress: "10.0.0.3")
        let wired = tasks.enumerated().map { index, task in
            WiredTask(taskID: "t\(index + 1)", serviceID: "web", namespacePath: task.path,
                      interfaces: [WiredInterface(networkID: "app", name: "eth0", address: "10.0.1.\(index + 5)"),
                                   WiredInterface(networkID: "ingress", name: "eth1", address: "10.0.0.\(index + 5)")],
                      gatewayAddress: index == 0 ? "172.31.0.5" : nil)
        }
        // Someone else's table in node1: the mesh must leave it alone.
        try lab.run(node1, "nft", "add table inet foreign; add chain inet foreign input { type filter hook input priority 10; }; add rule inet foreign input counter")
        do {
            await mesh1.update(views(), node: wiring1)
            await mesh2.update(views(), node: wiring2)
            for task in wired { try await mesh1.attach(task) }
            try await exercise(lab, node1: node1, node2: node2, client: client, tasks: tasks, mesh1: mesh1, mesh2: mesh2, wiring1: wiring1)
        } catch {
            await mesh1.removeAll()
            await mesh2.removeAll()
            throw error
        }
        await mesh1.detach(taskID: "t3")
        #expect(try lab.run(tasks[2], "nft", "list", "tables") == "")
        #expect(try !lab.run(tasks[2], "ip", "rule").contains("fwmark"))
        await mesh1.removeAll()
        await mesh2.removeAll()
        // Nothing of ours left: no table, rule, route table or socket.
        for namespace in [node2] + tasks {
            #expect(try lab.run(namespace, "nft", "list", "tables") == "", "\(namespace.name)")
        }
        #expect(try lab.run(node1, "nft", "list", "tables") == "table inet foreign\n")
        #expect(try lab.run(node1, "nft", "list", "chain", "inet", "foreign", "input").contains("counter packets"))
        for task in tasks {
            #expect(try !lab.run(task, "ip", "rule").contains("fwmark"))
            #expect(try lab.run(task, "ip", "route", "show", "table", "all").contains("10.0.0.2 dev eth1 table") == false)
            #expect(try !lab.run(task, "ss", "-uln").contains("127.0.0.11:53"))
            #expect(try !lab.run(task, "ss", "-tln").contains("127.0.0.11:53"))
        }
    }

    private func exercise(_ lab: MeshLab, node1: NetworkNamespace, node2: NetworkNamespace, client: NetworkNamespace,
                          tasks: [NetworkNamespace], mesh1: ServiceMesh, mesh2: ServiceMesh, wiring1: NodeWiring) async throws {
        // 300 connections to the VIP from t1, spread over the three tasks.
        let answers = try lab.python(tasks[0], MeshScripts.client, "tcp", "10.0.1.2", "80", "300")
        let counts = Dictionary(grouping: answers.map { String($0.split(separator: " ")[0]) }, by: { $0 }).mapValues(\.count)
        #expect(answers.count == 300 && Set(counts.keys) == ["t1", "t2", "t3"], "\(counts)")
        #expect(counts.values.allSatisfy { (60...140).contains($0) }, "\(counts)")
        // A VIP with no task: refused at once, TCP and UDP.
        let refused = try lab.python(tasks[1], MeshScripts.client, "tcp", "10.0.1.3", "80", "1")
        #expect(refused.count == 1 && refused[0].hasPrefix("refused"), "\(refused)")
        #expect((Double(refused.first?.split(separator: " ").last ?? "9") ?? 9) < 0.5)
        // UDP: the datagram is rejected on its way out, so the sender's send fails at once (EPERM).
        let refusedUDP = try lab.python(tasks[1], MeshScripts.client, "udp", "10.0.1.3", "9999", "1")
        #expect(refusedUDP == ["error [Errno 1] Operation not permitted"], "\(refusedUDP)")

        // Ingress through both nodes: every task answers, and sees the client's own address.
        for (node, clientAddress) in [("10.99.0.1", "10.99.0.2"), ("10.98.0.1", "10.98.0.2")] {
            let replies = try lab.python(client, MeshScripts.client, "tcp", node, "8080", "30")
            #expect(replies.count == 30 && replies.allSatisfy { $0.hasSuffix(" " + clientAddress) }, "\(node): \(replies)")
            #expect(Set(replies.map { $0.split(separator: " ")[0] }) == ["t1", "t2", "t3"], "\(node): \(replies)")
            let datagrams = try lab.python(client, MeshScripts.client, "udp", node, "5353", "6")
            #expect(datagrams.count == 6 && datagrams.allSatisfy { $0.hasSuffix(" " + clientAddress) }, "\(node) udp: \(datagrams)")
        }
        // Host mode: node1 runs t1 (on its gateway bridge), node2 runs no task and does not publish the port.
        let host = try lab.python(client, MeshScripts.client, "tcp", "10.99.0.1", "9090", "3")
        #expect(host == Array(repeating: "t1 10.99.0.2", count: 3), "\(host)")
        let notHere = try lab.python(client, MeshScripts.client, "tcp", "10.98.0.1", "9090", "1")
        #expect(notHere.first?.hasPrefix("refused") == true, "\(notHere)")
        // The node itself uses the published port, on its own address and on 127.0.0.1.
        let local = try lab.python(node2, MeshScripts.client, "tcp", "10.98.0.1", "8080", "3")
        #expect(local.count == 3 && local.allSatisfy { $0.hasSuffix(" 10.98.0.1") }, "\(local)")
        let loopback = try lab.python(node2, MeshScripts.client, "tcp", "127.0.0.1", "8080", "3")
        #expect(loopback.count == 3 && loopback.allSatisfy { $0.hasSuffix(" 10.0.0.3") }, "\(loopback)")

        // DNS from a task.
        let names = try lab.python(tasks[0], MeshScripts.dnsQuery, "web", "tasks.web", "www", "web.2.t2", "empty", "example.test", "secret", "tasks.secret",
                                   "tcp:tasks.web", "tcp:example.test")
        #expect(names == ["web 0 10.0.1.2", "tasks.web 0 10.0.1.5,10.0.1.6,10.0.1.7", "www 0 10.0.1.2", "web.2.t2 0 10.0.1.6",
                          "empty 0 10.0.1.3", "example.test 0 192.0.2.7", "secret 3 ", "tasks.secret 3 ",
                          "tcp:tasks.web 0 10.0.1.5,10.0.1.6,10.0.1.7", "tcp:example.test 0 192.0.2.7"])

        // An established flow stays on its task when the table is replaced, even
        // with its task gone from the views; new flows follow the new table.
        let go = lab.files + "/go", flowOutput = lab.files + "/flow"
        let outputFD = open(flowOutput, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let flow = try spawn("/usr/bin/nsenter", ["--net=" + tasks[0].path, "/usr/bin/python3", "-c", MeshScripts.udpFlow, "10.0.1.2", "9999", go],
                             stdout: outputFD)
        close(outputFD)
        let firstLine = { (try? String(contentsOfFile: flowOutput, encoding: .utf8))?.split(separator: "\n").first.map(String.init) }
        #expect(eventually(10) { firstLine() != nil })
        let first = firstLine() ?? "none"
        let other = ["t1", "t2", "t3"].first { !first.hasPrefix($0) }!
        await mesh1.update(views(running: [Int(other.dropFirst())!]), node: wiring1)
        FileManager.default.createFile(atPath: go, contents: nil)
        #expect(waitFor(flow) == 0)
        let flowLines = ((try? String(contentsOfFile: flowOutput, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        #expect(flowLines == Array(repeating: first, count: 6), "\(flowLines)")
        let fresh = try lab.python(tasks[0], MeshScripts.client, "udp", "10.0.1.2", "9999", "3")
        #expect(fresh.allSatisfy { $0.hasPrefix(other + " ") } && fresh.count == 3, "\(fresh)")
        await mesh1.update(views(), node: wiring1)

        // Attaching again (an agent restarted) replaces what was there; a namespace that is not there fails with the reason.
        try await mesh1.attach(WiredTask(taskID: "t2", serviceID: "web", namespacePath: tasks[1].path,
                                         interfaces: [WiredInterface(networkID: "app", name: "eth0", address: "10.0.1.6"),
                                                      WiredInterface(networkID: "ingress", name: "eth1", address: "10.0.0.6")],
                                         gatewayAddress: nil))
        #expect(try lab.python(tasks[1], MeshScripts.dnsQuery, "www") == ["www 0 10.0.1.2"])
        #expect(try lab.run(tasks[1], "ip", "rule").components(separatedBy: "fwmark 0xa000003").count == 2)
        await #expect(throws: MeshError.self) {
            try await mesh1.attach(WiredTask(taskID: "gone", serviceID: "web", namespacePath: lab.files + "/no-such-namespace", interfaces: [], gatewayAddress: nil))
        }

        // t3 stops running: new connections avoid it, its name goes, ingress too; nothing listens on it anymore for the mesh.
        await mesh1.update(views(running: [1, 2]), node: wiring1)
        await mesh2.update(views(running: [1, 2]), node: NodeWiring(nodeAddr: "10.98.0.1", gatewayBridge: "swgw0", gatewaySubnet: "172.31.0.0/16",
                                                                       ingressInterface: "ing", ingressAddress: "10.0.0.3"))
        let after = try lab.python(tasks[0], MeshScripts.client, "tcp", "10.0.1.2", "80", "30")
        #expect(after.count == 30 && !after.contains { $0.hasPrefix("t3") } && Set(after.map { $0.prefix(2) }) == ["t1", "t2"], "\(after)")
        let ingressAfter = try lab.python(client, MeshScripts.client, "tcp", "10.98.0.1", "8080", "20")
        #expect(ingressAfter.count == 20 && !ingressAfter.contains { $0.hasPrefix("t3") }, "\(ingressAfter)")
        #expect(try lab.python(tasks[0], MeshScripts.dnsQuery, "tasks.web") == ["tasks.web 0 10.0.1.5,10.0.1.6"])

        // No task at all: the published port is refused at once.
        await mesh2.update(views(running: []), node: NodeWiring(nodeAddr: "10.98.0.1", gatewayBridge: "swgw0", gatewaySubnet: "172.31.0.0/16",
                                                                   ingressInterface: "ing", ingressAddress: "10.0.0.3"))
        let none = try lab.python(client, MeshScripts.client, "tcp", "10.98.0.1", "8080", "1")
        #expect(none.first?.hasPrefix("refused") == true, "\(none)")
        // Ours beside the other table; the reply routes by mark in each task.
        #expect(try lab.run(node1, "nft", "list", "tables") == "table inet foreign\ntable ip swarm\n")
        for task in tasks {
            let rules = try lab.run(task, "ip", "rule")
            #expect(rules.contains("from all fwmark 0xa000002 lookup 167772162") && rules.contains("from all fwmark 0xa000003 lookup 167772163"), "\(rules)")
            #expect(try lab.run(task, "ip", "route", "show", "table", "167772163") == "default via 10.0.0.3 dev eth1 \n")
        }
    }
}
