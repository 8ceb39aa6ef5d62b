import Glibc
import HostNetwork
import Testing

// The overlay data path's requests, byte for byte (layouts in Layout.swift;
// numbers from linux/if_link.h and linux/neighbour.h written out here).

private let IFLA_ADDRESS: UInt16 = 1
private let IFLA_VXLAN_ID: UInt16 = 1, IFLA_VXLAN_LOCAL: UInt16 = 4, IFLA_VXLAN_LEARNING: UInt16 = 7
private let IFLA_VXLAN_PROXY: UInt16 = 11, IFLA_VXLAN_PORT: UInt16 = 15

@Test func anOverlayVXLANHasNoLearningAndProxyARP() throws {
    let socket = RecordingNetlinkSocket(answers: [ack(sequence: 101)])
    try Netlink(socket: socket, firstSequence: 100).createOverlayVXLAN("vx-abc", vni: 4101, local: "10.77.0.2")
    let data = rtattr(IFLA_VXLAN_ID, u32: 4101) + rtattr(IFLA_VXLAN_LOCAL, ip(10, 77, 0, 2))
        + rtattr(IFLA_VXLAN_PORT, [0x12, 0xb5])  // 4789, big-endian
        + rtattr(IFLA_VXLAN_LEARNING, [0]) + rtattr(IFLA_VXLAN_PROXY, [1])
    let linkInfo = rtattr(UAPI.IFLA_INFO_KIND, string: "vxlan") + rtattr(UAPI.IFLA_INFO_DATA, data)
    let flags = UAPI.NLM_F_REQUEST | UAPI.NLM_F_ACK | UAPI.NLM_F_CREATE | UAPI.NLM_F_EXCL
    #expect(socket.sent == [message(type: UAPI.RTM_NEWLINK, flags: flags, sequence: 101,
                                    ifinfomsg() + rtattr(UAPI.IFLA_IFNAME, string: "vx-abc") + rtattr(UAPI.IFLA_LINKINFO, linkInfo))])
}

@Test func setMACAddressSendsIFLAAddress() throws {
    let socket = RecordingNetlinkSocket(answers: [ack(sequence: 101)])
    try Netlink(socket: socket, firstSequence: 100).setMACAddress("eth0", "02:42:0a:00:09:03")
    #expect(socket.sent == [message(type: UAPI.RTM_NEWLINK, flags: UAPI.NLM_F_REQUEST | UAPI.NLM_F_ACK, sequence: 101,
                                    ifinfomsg() + rtattr(UAPI.IFLA_IFNAME, string: "eth0")
                                        + rtattr(IFLA_ADDRESS, [0x02, 0x42, 0x0a, 0x00, 0x09, 0x03]))])
    #expect(throws: HostNetworkError.badInput("not a MAC address: 02:42")) {
        try Netlink(socket: RecordingNetlinkSocket(), firstSequence: 100).setMACAddress("eth0", "02:42")
    }
}

@Test func aMissingLinkIsNoErrorWhereAbsenceIsTheGoal() throws {
    let socket = RecordingNetlinkSocket(answers: [failure(sequence: 101, errno: ENODEV), failure(sequence: 102, errno: ENODEV)])
    let links = Netlink(socket: socket, firstSequence: 100)
    #expect(try links.linkExists("gw-x") == false)
    #expect(try links.deleteLinkIfPresent("gw-x") == false)
    let failing = Netlink(socket: RecordingNetlinkSocket(answers: [failure(sequence: 101, errno: EPERM)]), firstSequence: 100)
    #expect(throws: NetlinkError.self) { try failing.deleteLinkIfPresent("gw-x") }
}
