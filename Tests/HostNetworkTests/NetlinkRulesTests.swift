import Glibc
import HostNetwork
import Testing

// Policy routing's requests against linux/fib_rules.h and linux/rtnetlink.h,
// written out here: fib_rule_hdr is family, dst_len, src_len, tos, table,
// res1, res2, action (FR_ACT_TO_TBL = 1), then u32 flags.

private let RTM_DELROUTE: UInt16 = 25, RTM_NEWRULE: UInt16 = 32, RTM_DELRULE: UInt16 = 33
private let FRA_PRIORITY: UInt16 = 6, FRA_FWMARK: UInt16 = 10, FRA_TABLE: UInt16 = 15, FRA_FWMASK: UInt16 = 16
private let RTA_TABLE: UInt16 = 15

private func recorder(acking requests: Int, before: [UInt32: [UInt8]] = [:]) -> (Netlink, RecordingNetlinkSocket) {
    let answers = (101..<101 + UInt32(requests)).map { sequence in (before[sequence] ?? []) + ack(sequence: sequence) }
    let socket = RecordingNetlinkSocket(answers: answers)
    return (Netlink(socket: socket, firstSequence: 100), socket)
}

@Test func addRuleSendsFwmarkMaskTableAndPriority() throws {
    let (links, socket) = recorder(acking: 2)
    try links.addRule(fwmark: 0x0a00_0002, table: 0x0a00_0002, priority: 100)
    try links.deleteRule(fwmark: 0x0a00_0002, table: 0x0a00_0002, priority: 100)
    // A table above 255 goes in FRA_TABLE; the header's byte says RT_TABLE_COMPAT (252).
    let body = [UInt8(AF_INET), 0, 0, 0, 252, 0, 0, 1] + le(UInt32(0))
        + rtattr(FRA_PRIORITY, u32: 100) + rtattr(FRA_FWMARK, u32: 0x0a00_0002) + rtattr(FRA_FWMASK, u32: UInt32.max) + rtattr(FRA_TABLE, u32: 0x0a00_0002)
    #expect(socket.sent == [
        message(type: RTM_NEWRULE, flags: UAPI.NLM_F_REQUEST | UAPI.NLM_F_ACK | UAPI.NLM_F_CREATE | UAPI.NLM_F_EXCL, sequence: 101, body),
        message(type: RTM_DELRULE, flags: UAPI.NLM_F_REQUEST | UAPI.NLM_F_ACK, sequence: 102, body),
    ])
}

@Test func defaultRouteInATable() throws {
    let (links, socket) = recorder(acking: 3, before: [101: linkReply(sequence: 101, index: 4, name: "eth1")])
    try links.replaceDefaultRoute(via: "10.0.0.2", link: "eth1", table: 0x0a00_0002)
    try links.deleteDefaultRoute(table: 0x0a00_0002)
    let replace: UInt16 = 0x100
    #expect(socket.sent == [
        getLink("eth1", sequence: 101),
        message(type: UAPI.RTM_NEWROUTE, flags: UAPI.NLM_F_REQUEST | UAPI.NLM_F_ACK | UAPI.NLM_F_CREATE | replace, sequence: 102,
                [UInt8(AF_INET), 0, 0, 0, 252, UAPI.RTPROT_BOOT, UAPI.RT_SCOPE_UNIVERSE, UAPI.RTN_UNICAST] + le(UInt32(0))
                    + rtattr(RTA_TABLE, u32: 0x0a00_0002) + rtattr(UAPI.RTA_GATEWAY, ip(10, 0, 0, 2)) + rtattr(UAPI.RTA_OIF, u32: 4)),
        message(type: RTM_DELROUTE, flags: UAPI.NLM_F_REQUEST | UAPI.NLM_F_ACK, sequence: 103,
                [UInt8(AF_INET), 0, 0, 0, 252, UAPI.RTPROT_BOOT, 255, UAPI.RTN_UNICAST] + le(UInt32(0)) + rtattr(RTA_TABLE, u32: 0x0a00_0002)),
    ])
}
