import Glibc
import HostNetwork

/// A `NetlinkSocket` that records every request sent and answers with
/// datagrams prepared by the test, in order. With none left, a receive fails
/// with EAGAIN (as a non-blocking socket would), so a request that waits
/// for more than the test prepared fails instead of hanging.
final class RecordingNetlinkSocket: NetlinkSocket {
    private(set) var sent: [[UInt8]] = []
    private var answers: [[UInt8]]

    init(answers: [[UInt8]] = []) {
        self.answers = answers
    }

    func send(_ message: [UInt8]) throws(NetlinkSocketError) {
        sent.append(message)
    }

    func receive() throws(NetlinkSocketError) -> [UInt8] {
        guard !answers.isEmpty else { throw NetlinkSocketError(errno: EAGAIN) }
        return answers.removeFirst()
    }
}
