import Glibc
import HostNetwork
import Testing

// Every request's bytes against the rtnetlink layouts written out in
// Layout.swift. The first request of a `Netlink` made with firstSequence
// 100 carries sequence number 101.

private let create = UAPI.NLM_F_REQUEST | UAPI.NLM_F_ACK | UAPI.NLM_F_CREATE | UAPI.NLM_F_EXCL
private let change = UAPI.NLM_F_REQUEST | UAPI.NLM_F_ACK

/// A Netlink over a recording socket that acks `requests` requests, in order
/// (sequence numbers 101, 102, …), with `before` answers (such as a
/// link-index reply) ahead of the ack of the same number.
private func recorder(acking requests: Int, before: [UInt32: [UInt8]] = [:]) -> (Netlink, RecordingNetlinkSocket) {
    let answers = (101..<101 + UInt32(requests)).map { sequence in (before[sequence] ?? []) + ack(sequence: sequence) }
    let socket = RecordingNetlinkSocket(answers: answers)
    return (Netlink(socket: socket, firstSequence: 100), socket)
}

@Test func createBridgeSendsNewLinkWithKindBridge() throws {
    let (links, socket) = recorder(acking: 1)
    try links.createBridge("br0")
    let expected = message(type: UAPI.RTM_NEWLINK, flags: create, sequence: 101,
                           ifinfomsg() + rtattr(UAPI.IFLA_IFNAME, string: "br0")
                               + rtattr(UAPI.IFLA_LINKINFO, rtattr(UAPI.IFLA_INFO_KIND, string: "bridge")))
    #expect(socket.sent == [expected])
}

@Test func createVethPairPutsThePeerInItsNamespace() throws {
    let (links, socket) = recorder(acking: 1)
    try links.createVeth("vnode1", peer: "eth0", peerNamespace: 7)
    // VETH_INFO_PEER holds a link of its own: an ifinfomsg, then its attributes.
    let peer = ifinfomsg() + rtattr(UAPI.IFLA_IFNAME, string: "eth0") + rtattr(UAPI.IFLA_NET_NS_FD, u32: 7)
    let linkInfo = rtattr(UAPI.IFLA_INFO_KIND, string: "veth") + rtattr(UAPI.IFLA_INFO_DATA, rtattr(UAPI.VETH_INFO_PEER, peer))
    let expected = message(type: UAPI.RTM_NEWLINK, flags: create, sequence: 101,
                           ifinfomsg() + rtattr(UAPI.IFLA_IFNAME, string: "vnode1") + rtattr(UAPI.IFLA_LINKINFO, linkInfo))
    #expect(socket.sent == [expected])
    #expect(expected.count == 16 + 16 + 12 + 4 + 12 + 4 + 4 + 16 + 12 + 8)
}

@Test func setMasterLooksUpTheBridgeThenSetsIFLAMaster() throws {
    let (links, socket) = recorder(acking: 2, before: [101: linkReply(sequence: 101, index: 5, name: "br0")])
    try links.setMaster("vnode1", bridge: "br0")
    #expect(socket.sent.count == 2)
    #expect(socket.sent.first == getLink("br0", sequence: 101))
    #expect(socket.sent.last == message(type: UAPI.RTM_NEWLINK, flags: change, sequence: 102,
                                        ifinfomsg() + rtattr(UAPI.IFLA_IFNAME, string: "vnode1") + rtattr(UAPI.IFLA_MASTER, u32: 5)))
}

@Test func setLinkUpChangesOnlyIFFUp() throws {
    let (links, socket) = recorder(acking: 2)
    try links.setLinkUp("eth0")
    try links.setLinkDown("eth0")
    #expect(socket.sent == [
        message(type: UAPI.RTM_NEWLINK, flags: change, sequence: 101,
                ifinfomsg(flags: UAPI.IFF_UP, change: UAPI.IFF_UP) + rtattr(UAPI.IFLA_IFNAME, string: "eth0")),
        message(type: UAPI.RTM_NEWLINK, flags: change, sequence: 102,
                ifinfomsg(flags: 0, change: UAPI.IFF_UP) + rtattr(UAPI.IFLA_IFNAME, string: "eth0")),
    ])
}

@Test func addAddressSetsLocalAddressAndBroadcast() throws {
    let (links, socket) = recorder(acking: 2, before: [101: linkReply(sequence: 101, index: 3, name: "eth0")])
    try links.addAddress("10.77.5.11", prefix: 24, link: "eth0", broadcast: "10.77.5.255")
    #expect(socket.sent.first == getLink("eth0", sequence: 101))
    #expect(socket.sent.last == message(type: UAPI.RTM_NEWADDR, flags: create, sequence: 102,
                                        ifaddrmsg(prefix: 24, index: 3) + rtattr(UAPI.IFA_LOCAL, ip(10, 77, 5, 11))
                                            + rtattr(UAPI.IFA_ADDRESS, ip(10, 77, 5, 11)) + rtattr(UAPI.IFA_BROADCAST, ip(10, 77, 5, 255))))
}

@Test func addRouteIsALinkScopeUnicastRouteInTheMainTable() throws {
    let (links, socket) = recorder(acking: 3, before: [101: linkReply(sequence: 101, index: 3, name: "eth0")])
    try links.addRoute("10.232.0.0", prefix: 16, link: "eth0")
    try links.addDefaultRoute(via: "10.231.0.2")
    #expect(socket.sent.count == 3)
    #expect(socket.sent[0] == getLink("eth0", sequence: 101))
    #expect(socket.sent[1] == message(type: UAPI.RTM_NEWROUTE, flags: create, sequence: 102,
                                      rtmsg(prefix: 16, scope: UAPI.RT_SCOPE_LINK) + rtattr(UAPI.RTA_DST, ip(10, 232, 0, 0))
                                          + rtattr(UAPI.RTA_OIF, u32: 3)))
    #expect(socket.sent[2] == message(type: UAPI.RTM_NEWROUTE, flags: create, sequence: 103,
                                      rtmsg(prefix: 0, scope: UAPI.RT_SCOPE_UNIVERSE) + rtattr(UAPI.RTA_GATEWAY, ip(10, 231, 0, 2))))
}

@Test func moveLinkToANamespaceSetsIFLANetNsFd() throws {
    let (links, socket) = recorder(acking: 1)
    try links.moveLink("mv1", toNamespace: 9)
    #expect(socket.sent == [message(type: UAPI.RTM_NEWLINK, flags: change, sequence: 101,
                                    ifinfomsg() + rtattr(UAPI.IFLA_IFNAME, string: "mv1") + rtattr(UAPI.IFLA_NET_NS_FD, u32: 9))])
}

@Test func badAddressesAreRefusedBeforeAnythingIsSent() {
    let (links, socket) = recorder(acking: 0)
    #expect(throws: HostNetworkError.badInput("not an IPv4 address: 10.0.0.300")) {
        try links.addAddress("10.0.0.300", prefix: 24, link: "eth0")
    }
    #expect(throws: HostNetworkError.badInput("not an IPv4 prefix length (0-32): 33")) {
        try links.addRoute("10.0.0.0", prefix: 33, link: "eth0")
    }
    #expect(throws: HostNetworkError.badInput("not a MAC address: 02:42")) {
        try links.addNeighbor("10.0.0.2", mac: "02:42", link: "eth0")
    }
    #expect(socket.sent.isEmpty)
}
