/// rtnetlink numbers that Swift's Glibc module does not export (they live in
/// linux/*.h, mostly as macros). Names and values as in the kernel headers.
enum LinuxNetlink {
    // linux/netlink.h
    static let NETLINK_ROUTE: Int32 = 0
    static let SOL_NETLINK: Int32 = 270
    static let NETLINK_CAP_ACK: Int32 = 10
    static let NETLINK_EXT_ACK: Int32 = 11
    static let NLM_F_REQUEST: UInt16 = 0x01
    static let NLM_F_ACK: UInt16 = 0x04
    static let NLM_F_REPLACE: UInt16 = 0x100
    static let NLM_F_EXCL: UInt16 = 0x200
    static let NLM_F_CREATE: UInt16 = 0x400
    static let NLM_F_CAPPED: UInt16 = 0x100     // on NLMSG_ERROR: request not echoed back
    static let NLM_F_ACK_TLVS: UInt16 = 0x200   // on NLMSG_ERROR: extended-ack attributes follow
    static let NLMSG_ERROR: UInt16 = 2
    static let NLMSGERR_ATTR_MSG: UInt16 = 1
    // linux/rtnetlink.h
    static let RTM_NEWLINK: UInt16 = 16
    static let RTM_DELLINK: UInt16 = 17
    static let RTM_GETLINK: UInt16 = 18
    static let RTM_NEWADDR: UInt16 = 20
    static let RTM_NEWROUTE: UInt16 = 24
    static let RTM_NEWNEIGH: UInt16 = 28
    static let RTM_DELNEIGH: UInt16 = 29
    static let RTA_DST: UInt16 = 1
    static let RTA_OIF: UInt16 = 4
    static let RTA_GATEWAY: UInt16 = 5
    static let RT_TABLE_MAIN: UInt8 = 254
    static let RTPROT_BOOT: UInt8 = 3
    static let RT_SCOPE_UNIVERSE: UInt8 = 0
    static let RT_SCOPE_LINK: UInt8 = 253
    static let RTN_UNICAST: UInt8 = 1
    // linux/if.h
    static let IFF_UP: UInt32 = 0x1
    // linux/if_link.h
    static let IFLA_IFNAME: UInt16 = 3
    static let IFLA_MTU: UInt16 = 4
    static let IFLA_MASTER: UInt16 = 10
    static let IFLA_LINKINFO: UInt16 = 18
    static let IFLA_NET_NS_FD: UInt16 = 28
    static let IFLA_INFO_KIND: UInt16 = 1
    static let IFLA_INFO_DATA: UInt16 = 2
    static let IFLA_VXLAN_ID: UInt16 = 1
    static let IFLA_VXLAN_LINK: UInt16 = 3
    static let IFLA_VXLAN_LOCAL: UInt16 = 4
    static let IFLA_VXLAN_LEARNING: UInt16 = 7
    static let IFLA_VXLAN_PORT: UInt16 = 15
    // linux/veth.h
    static let VETH_INFO_PEER: UInt16 = 1
    // linux/if_addr.h
    static let IFA_ADDRESS: UInt16 = 1
    static let IFA_LOCAL: UInt16 = 2
    static let IFA_BROADCAST: UInt16 = 4
    // linux/neighbour.h
    static let NDA_DST: UInt16 = 1
    static let NDA_LLADDR: UInt16 = 2
    static let NTF_SELF: UInt8 = 0x02
    static let NUD_PERMANENT: UInt16 = 0x80
}
