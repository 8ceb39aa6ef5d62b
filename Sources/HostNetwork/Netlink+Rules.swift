import Glibc

/// Policy routing: rules that send marked packets to a routing table of
/// their own, and the default route in such a table (`ip rule add fwmark M
/// lookup T`, `ip route add default via G dev L table T`).
extension Netlink {
    /// `ip rule add fwmark MARK lookup TABLE priority PRIORITY`; EEXIST if an
    /// equal rule is there already.
    public func addRule(fwmark: UInt32, table: UInt32, priority: UInt32) throws {
        try perform("add rule fwmark \(fwmark) lookup \(table)",
                    ruleRequest(RuleNumbers.RTM_NEWRULE, flags: LinuxNetlink.NLM_F_CREATE | LinuxNetlink.NLM_F_EXCL,
                                fwmark: fwmark, table: table, priority: priority))
    }

    /// `ip rule del fwmark MARK lookup TABLE priority PRIORITY`; ENOENT if there is none.
    public func deleteRule(fwmark: UInt32, table: UInt32, priority: UInt32) throws {
        try perform("delete rule fwmark \(fwmark) lookup \(table)",
                    ruleRequest(RuleNumbers.RTM_DELRULE, flags: 0, fwmark: fwmark, table: table, priority: priority))
    }

    /// `ip route replace default via GATEWAY dev LINK table TABLE`.
    public func replaceDefaultRoute(via gateway: String, link: String, table: UInt32) throws {
        var request = NetlinkRequest(type: LinuxNetlink.RTM_NEWROUTE, flags: LinuxNetlink.NLM_F_CREATE | LinuxNetlink.NLM_F_REPLACE)
        try tableRoute(&request, table: table, scope: LinuxNetlink.RT_SCOPE_UNIVERSE)
        request.attribute(LinuxNetlink.RTA_GATEWAY, try ipv4(gateway))
        request.attribute(LinuxNetlink.RTA_OIF, UInt32(bitPattern: try linkIndex(link)))
        try perform("add default route via \(gateway) dev \(link) table \(table)", request)
    }

    /// `ip route del default table TABLE`; ESRCH if there is none.
    public func deleteDefaultRoute(table: UInt32) throws {
        var request = NetlinkRequest(type: RuleNumbers.RTM_DELROUTE)
        try tableRoute(&request, table: table, scope: RuleNumbers.RT_SCOPE_NOWHERE)
        try perform("delete default route table \(table)", request)
    }

    /// struct rtmsg for a default route in `table` (RTA_TABLE carries tables above 255).
    private func tableRoute(_ request: inout NetlinkRequest, table: UInt32, scope: UInt8) throws {
        request.append(UInt8(AF_INET)); request.append(UInt8(0)); request.append(UInt8(0)); request.append(UInt8(0))
        request.append(table < 256 ? UInt8(table) : RuleNumbers.RT_TABLE_COMPAT)
        request.append(LinuxNetlink.RTPROT_BOOT); request.append(scope); request.append(LinuxNetlink.RTN_UNICAST)
        request.append(UInt32(0))
        request.attribute(RuleNumbers.RTA_TABLE, table)
    }

    /// struct fib_rule_hdr (linux/fib_rules.h), then the rule's attributes.
    private func ruleRequest(_ type: UInt16, flags: UInt16, fwmark: UInt32, table: UInt32, priority: UInt32) -> NetlinkRequest {
        var request = NetlinkRequest(type: type, flags: flags)
        request.append(UInt8(AF_INET)); request.append(UInt8(0)); request.append(UInt8(0)); request.append(UInt8(0))  // family, dst_len, src_len, tos
        request.append(table < 256 ? UInt8(table) : RuleNumbers.RT_TABLE_COMPAT)
        request.append(UInt8(0)); request.append(UInt8(0)); request.append(RuleNumbers.FR_ACT_TO_TBL)  // res1, res2, action
        request.append(UInt32(0))  // flags
        request.attribute(RuleNumbers.FRA_PRIORITY, priority)
        request.attribute(RuleNumbers.FRA_FWMARK, fwmark)
        request.attribute(RuleNumbers.FRA_FWMASK, UInt32.max)
        request.attribute(RuleNumbers.FRA_TABLE, table)
        return request
    }
}

/// linux/fib_rules.h and the route numbers Netlink.swift does not need.
private enum RuleNumbers {
    static let RTM_DELROUTE: UInt16 = 25
    static let RTM_NEWRULE: UInt16 = 32
    static let RTM_DELRULE: UInt16 = 33
    static let RTA_TABLE: UInt16 = 15
    static let RT_TABLE_COMPAT: UInt8 = 252
    static let RT_SCOPE_NOWHERE: UInt8 = 255
    static let FR_ACT_TO_TBL: UInt8 = 1
    static let FRA_PRIORITY: UInt16 = 6
    static let FRA_FWMARK: UInt16 = 10
    static let FRA_TABLE: UInt16 = 15
    static let FRA_FWMASK: UInt16 = 16
}
