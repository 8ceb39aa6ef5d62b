/// Docker's multiplexed stream, as service logs, exec and attach send it
/// (and as swarm's container monitor speaks it on attach.sock): each frame
/// an 8-byte header (the stream: 0 stdin, 1 stdout, 2 stderr; three zero
/// bytes; the payload's length, big-endian u32), then the payload.
public enum StreamFrame {
    public static func encode(stream: UInt8, _ payload: some Collection<UInt8>) -> [UInt8] {
        let length = UInt32(payload.count)
        return [stream, 0, 0, 0, UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)]
            + payload
    }
}

/// Splits a multiplexed stream into its frames as bytes arrive.
public struct StreamFrameReader: Sendable {
    private var buffer: [UInt8] = []

    public init() {}

    /// The complete frames in what has arrived so far: (stream, payload).
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [(stream: UInt8, payload: [UInt8])] {
        buffer.append(contentsOf: bytes)
        var frames: [(stream: UInt8, payload: [UInt8])] = []
        var start = 0
        while buffer.count - start >= 8 {
            let length = buffer[start + 4 ..< start + 8].reduce(0) { $0 << 8 | Int($1) }
            guard buffer.count - start >= 8 + length else { break }
            frames.append((buffer[start], Array(buffer[start + 8 ..< start + 8 + length])))
            start += 8 + length
        }
        buffer.removeFirst(start)
        return frames
    }
}
