import Glibc
import HostNetwork
import Testing

// What comes back: acks, errors with the operation and errno, the kernel's
// extended-ack reason, leftovers of earlier requests, a failing socket.

@Test func anErrorAckBecomesATypedErrorNamingTheOperation() {
    let socket = RecordingNetlinkSocket(answers: [failure(sequence: 101, errno: EEXIST)])
    let links = Netlink(socket: socket, firstSequence: 100)
    let error = #expect(throws: NetlinkError.self) { try links.createBridge("swlab0") }
    #expect(error == NetlinkError(operation: "create bridge swlab0", errno: EEXIST))
    #expect(error?.description == "create bridge swlab0: EEXIST (File exists)")
    #expect(socket.sent.count == 1)
}

@Test func theKernelsReasonIsKept() {
    let socket = RecordingNetlinkSocket(answers: [failure(sequence: 101, errno: EOPNOTSUPP, reason: "Unknown device type")])
    let error = #expect(throws: NetlinkError.self) { try Netlink(socket: socket, firstSequence: 100).createBridge("br0") }
    #expect(error?.kernelMessage == "Unknown device type")
    #expect(error?.description.hasSuffix(": Unknown device type") == true, "\(String(describing: error))")
    #expect(error?.description.hasPrefix("create bridge br0: EOPNOTSUPP") == true, "\(String(describing: error))")
}

@Test func aMissingLinkIsENODEVForItsLookup() {
    let socket = RecordingNetlinkSocket(answers: [failure(sequence: 101, errno: ENODEV)])
    let error = #expect(throws: NetlinkError.self) { try Netlink(socket: socket, firstSequence: 100).setMaster("veth0", bridge: "nosuch0") }
    #expect(error == NetlinkError(operation: "find link nosuch0", errno: ENODEV))
    // The lookup failed: the change itself was never sent.
    #expect(socket.sent == [getLink("nosuch0", sequence: 101)])
}

@Test func answersToEarlierRequestsAreSkipped() throws {
    // A late error for request 100 arrives in the same datagram ahead of the ack for 101.
    let socket = RecordingNetlinkSocket(answers: [failure(sequence: 100, errno: EEXIST) + ack(sequence: 101)])
    try Netlink(socket: socket, firstSequence: 100).setLinkUp("lo")
    #expect(socket.sent.count == 1)
}

@Test func aLinkIndexComesFromTheReplyThenTheAck() throws {
    // The reply and its ack in two datagrams, as the kernel may send them.
    let socket = RecordingNetlinkSocket(answers: [linkReply(sequence: 101, index: 42, name: "eth0"), ack(sequence: 101)])
    #expect(try Netlink(socket: socket, firstSequence: 100).linkIndex("eth0") == 42)
}

@Test func aFailingSocketNamesTheOperation() {
    // No answer prepared: the double's receive fails with EAGAIN.
    let socket = RecordingNetlinkSocket()
    let error = #expect(throws: NetlinkError.self) { try Netlink(socket: socket, firstSequence: 100).deleteLink("veth0") }
    #expect(error == NetlinkError(operation: "delete link veth0", errno: EAGAIN))
}

@Test func aFailedRequestLeavesTheNetlinkUsable() throws {
    let socket = RecordingNetlinkSocket(answers: [failure(sequence: 101, errno: EEXIST), ack(sequence: 102)])
    let links = Netlink(socket: socket, firstSequence: 100)
    #expect(throws: NetlinkError.self) { try links.createBridge("br0") }
    try links.deleteLink("br0")
    #expect(socket.sent.count == 2)
}
