import NodeAgent
@testable import ServiceMesh
import SwarmAPI
import Testing

struct MeshRulesTests {
    @Test func taskTableBalancesVIPsOverRunningTasksAndRefusesEmptyOnes() {
        let rules = MeshRules.task(MeshFixtures.w1, views: [MeshFixtures.app, MeshFixtures.other, MeshFixtures.ingress])
        let lines = rules.nft.split(separator: "\n").map { String($0.trimmingPrefix(while: { $0 == " " })) }
        // The whole table is replaced in one transaction.
        #expect(Array(lines.prefix(3)) == ["table ip swarm", "delete table ip swarm", "table ip swarm {"])
        #expect(lines.contains("ip daddr 10.0.1.2 dnat to numgen inc mod 3 map { 0 : 10.0.1.5, 1 : 10.0.1.6, 2 : 10.0.1.7 }"))
        #expect(lines.contains("ip daddr 10.0.0.4 dnat to numgen inc mod 2 map { 0 : 10.0.0.5, 1 : 10.0.0.6 }"))
        #expect(lines.contains("ip daddr 10.0.1.3 meta l4proto tcp reject with tcp reset"))
        #expect(lines.contains("ip daddr 10.0.1.3 reject"))
        // dnsrr has no VIP; `other` is not the task's network.
        #expect(!rules.nft.contains("10.0.1.10") && !rules.nft.contains("10.0.2.2"))
        #expect(lines.contains("iifname \"eth1\" ct state new ct mark set ether saddr map { 02:42:0a:00:00:02 : 0x0a000002, 02:42:0a:00:00:03 : 0x0a000003 }"))
        #expect(lines.contains("ct mark != 0 meta mark set ct mark"))
        #expect(rules.routes == [MarkRoute(mark: 0x0a00_0002, gateway: "10.0.0.2", link: "eth1"),
                                 MarkRoute(mark: 0x0a00_0003, gateway: "10.0.0.3", link: "eth1")])
    }

    @Test func taskOffIngressHasNoMarks() {
        var task = MeshFixtures.w1
        task.interfaces.removeLast()
        let rules = MeshRules.task(task, views: [MeshFixtures.app, MeshFixtures.ingress])
        #expect(rules.routes.isEmpty && !rules.nft.contains("ct mark") && !rules.nft.contains("10.0.0.4"))
        // One task left: a plain dnat.
        var view = MeshFixtures.app
        view.endpoints = view.endpoints.filter { $0.taskID != "w2" && $0.taskID != "w3" }
        #expect(MeshRules.task(task, views: [view]).nft.contains("ip daddr 10.0.1.2 dnat to 10.0.1.5\n"))
    }

    @Test func nodeTablePublishesIngressPortsToEveryRunningTask() {
        let text = MeshRules.node(views: [MeshFixtures.app, MeshFixtures.ingress], node: MeshFixtures.nodeWiring, localTasks: [])
        let dnat = "dnat to numgen inc mod 2 map { 0 : 10.0.0.5, 1 : 10.0.0.6 }"
        #expect(text.contains("    fib daddr type local meta l4proto tcp th dport 8080 counter \(dnat) : 80 comment \"published 8080/tcp\"\n"))
        #expect(text.contains("    fib daddr type local meta l4proto udp th dport 5353 counter \(dnat) : 53 comment \"published 5353/udp\"\n"))
        // In prerouting and in output: the same rule twice.
        #expect(text.ranges(of: "    fib daddr type local meta l4proto tcp th dport 8080 counter \(dnat) : 80 comment").count == 2)
        #expect(text.contains("ip saddr 172.18.0.0/16 oifname != \"swgw0\" masquerade"))
        #expect(text.contains("ip saddr 127.0.0.0/8 oifname \"swin0\" masquerade"))
        #expect(!text.contains("reject"))
        #expect(MeshRules.publishedPorts([MeshFixtures.app, MeshFixtures.ingress]).count == 2)
    }

    @Test func nodeTableRefusesPortsWithNoTask() {
        var ingress = MeshFixtures.ingress
        ingress.endpoints = ingress.endpoints.filter { $0.taskID == nil }
        let text = MeshRules.node(views: [ingress], node: MeshFixtures.nodeWiring, localTasks: [])
        #expect(text.contains("    meta l4proto tcp th dport 8080 meta l4proto tcp reject with tcp reset\n"))
        #expect(text.contains("    meta l4proto udp th dport 5353 reject\n"))
        #expect(!text.contains("dnat"))
        // Tasks running but no ingress interface on this node yet: refused too, not sent nowhere.
        var unwired = MeshFixtures.nodeWiring
        unwired.ingressInterface = nil
        let early = MeshRules.node(views: [MeshFixtures.ingress], node: unwired, localTasks: [])
        #expect(early.contains("meta l4proto tcp th dport 8080 meta l4proto tcp reject with tcp reset") && !early.contains("dnat"))
    }

    @Test func hostModePortsGoToThisNodesTasksOnly() {
        var view = MeshFixtures.app
        view.services[0].ports = [PortConfig(targetPort: 80, publishedPort: 9090, publishMode: "host")]
        let none = MeshRules.node(views: [view], node: MeshFixtures.nodeWiring, localTasks: [])
        #expect(!none.contains("9090"))
        let one = MeshRules.node(views: [view], node: MeshFixtures.nodeWiring, localTasks: [MeshFixtures.w1])
        #expect(one.contains("fib daddr type local meta l4proto tcp th dport 9090 counter dnat to 172.18.0.5 : 80 comment \"published 9090/tcp\"\n"))
    }

    /// nft's listing of the node table (as `nft list table ip swarm` prints it) back into connections per port.
    @Test func connectionsPerPublishedPortFromTheListing() {
        let listing = """
            table ip swarm {
            \tchain published {
            \t\ttype nat hook prerouting priority dstnat; policy accept;
            \t\tfib daddr type local tcp dport 5000 counter packets 7 bytes 420 dnat to numgen inc mod 2 map { 0 : 10.0.0.2, 1 : 10.0.0.3 }:80 comment "published 5000/tcp"
            \t\tfib daddr type local udp dport 53 counter packets 2 bytes 120 dnat to 10.0.0.4:53 comment "published 53/udp"
            \t}
            \tchain published_local {
            \t\ttype nat hook output priority -100; policy accept;
            \t\tfib daddr type local tcp dport 5000 counter packets 3 bytes 180 dnat to numgen inc mod 2 map { 0 : 10.0.0.2, 1 : 10.0.0.3 }:80 comment "published 5000/tcp"
            \t}
            }
            """
        let counts = MeshRules.publishedConnections(listing: listing)
        #expect(counts == [PublishedConnections(port: 5000, protocol: "tcp"): 10, PublishedConnections(port: 53, protocol: "udp"): 2])
    }
}

struct MeshRulesInputTests {
    /// Nothing from a view reaches nft's text unless it is what it claims to be.
    @Test func strayTextNeverReachesNft() {
        var view = MeshFixtures.app
        view.services[0].vip = "10.0.1.2; flush ruleset"
        view.endpoints.append(MeshFixtures.task("x", "10.0.1.99 }; flush ruleset", service: "db"))
        view.services[0].ports = [PortConfig(protocol: "icmp", targetPort: 1, publishedPort: 1), PortConfig(targetPort: 80, publishedPort: 70000)]
        var task = MeshFixtures.w1
        task.interfaces[0].name = "eth0\"; flush"
        let node = NodeWiring(nodeAddr: "10.77.0.2", gatewayBridge: "br\" ;", gatewaySubnet: "172.18.0.0/16; flush", ingressInterface: "a b")
        let texts = [MeshRules.task(task, views: [view]).nft, MeshRules.task(MeshFixtures.w1, views: [view]).nft,
                     MeshRules.node(views: [view], node: node, localTasks: [task])]
        for text in texts { #expect(!text.contains("flush") && !text.contains("\";") && !text.contains("a b")) }
        #expect(MeshRules.publishedPorts([view]).isEmpty)
        #expect(MeshRules.isIPv4Subnet("10.0.0.0/8") && !MeshRules.isIPv4Subnet("10.0.0.0/33") && MeshRules.isInterfaceName("br-ing"))
    }
}
