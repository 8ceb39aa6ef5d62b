import Containers
import SwarmAPI
import Testing

/// The frames between an attach client and a container's monitor.
struct AttachFrameTests {
    @Test func framesHaveDockersStreamHeader() {
        let frame = [UInt8]("hi".utf8).withUnsafeBytes { AttachConnection.frame(kind: 1, $0) }
        #expect(frame == [1, 0, 0, 0, 0, 0, 0, 2, UInt8(ascii: "h"), UInt8(ascii: "i")])
    }

    @Test func readerSplitsFramesAcrossReads() {
        var reader = StreamFrameReader()
        let big = [UInt8](repeating: 7, count: 300)
        let bytes = big.withUnsafeBytes { AttachConnection.frame(kind: 2, $0) }
            + [UInt8]("ok".utf8).withUnsafeBytes { AttachConnection.frame(kind: 1, $0) }
        var frames: [(stream: UInt8, payload: [UInt8])] = []
        for cut in stride(from: 0, to: bytes.count, by: 7) {
            frames += bytes[cut..<min(cut + 7, bytes.count)].withUnsafeBytes { reader.feed($0) }
        }
        #expect(frames.count == 2)
        #expect(frames.first?.stream == 2 && frames.first?.payload == big)
        #expect(frames.last?.stream == 1 && frames.last?.payload == Array("ok".utf8))
    }
}
