import Lab
import SystemCalls
import Testing

// Names, subnets and addresses of a lab network: nothing is made.

@Test func labNamesSubnetsAndAddresses() throws {
    let network = try LabNetwork(name: "ci-7", nodes: 3)
    #expect(network.subnet == LabNetwork.defaultSubnet(for: "ci-7"))
    #expect(network.subnet.hasPrefix("10.77.") && network.subnet.hasSuffix(".0/24"))
    #expect(network.nodeAddress(1) == network.subnetPrefix + ".11")
    #expect(network.nodeAddress(3) == network.subnetPrefix + ".13")
    #expect(network.clientAddress == network.subnetPrefix + ".2")
    #expect(network.namespaces.map(\.name) == ["ci-7-hub", "ci-7-node1", "ci-7-node2", "ci-7-node3", "ci-7-client"])
    #expect(network.hub.path == "/run/swarm-lab/netns/ci-7-hub")
    // The octet follows the name (FNV-1a of "ci-7" mod 256); most other names differ.
    #expect(LabNetwork.subnetOctet(for: "ci-7") == LabNetwork.subnetOctet(for: "ci-7"))
    #expect(Set(["a", "b", "c", "lab", "ci-7", "ci-8"].map(LabNetwork.defaultSubnet)).count >= 5)
    #expect(try LabNetwork(name: "x", nodes: 1, subnet: "192.168.9.0/24").nodeAddress(1) == "192.168.9.11")
    #expect(LabNetwork.hubPort(node: LabNetwork.maximumNodes).count <= 15)
    // A partition per node at most: its bridge's name fits too, and is not the lab's.
    #expect(LabNetwork.partitionBridge(1) == "swlabp1" && LabNetwork.partitionBridge(LabNetwork.maximumNodes).count <= 15)

    for bad in ["", "-x", "a/b", "a b", "netns", "a.b", String(repeating: "x", count: 33)] {
        #expect(throws: RuntimeError.self, "\(bad)") { try LabNetwork(name: bad, nodes: 1) }
    }
    #expect(throws: RuntimeError.self) { try LabNetwork(name: "x", nodes: 0) }
    #expect(throws: RuntimeError.self) { try LabNetwork(name: "x", nodes: LabNetwork.maximumNodes + 1) }
    for bad in ["10.77.1.0/16", "10.77.1.5/24", "10.77.300.0/24", "10.77.1.0", "x"] {
        #expect(throws: RuntimeError.self, "\(bad)") { try LabNetwork(name: "x", nodes: 1, subnet: bad) }
    }
}

@Test func theSubnetOctetIsFNV1aOfTheName() {
    // FNV-1a (32 bit) of "a": 0xe40c292c; mod 256 = 0x2c = 44.
    #expect(LabNetwork.subnetOctet(for: "a") == 44)
    #expect(LabNetwork.defaultSubnet(for: "a") == "10.77.44.0/24")
}
