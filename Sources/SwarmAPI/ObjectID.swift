/// Docker's object IDs: 25 random characters of [0-9a-z] (about 128 bits).
public func newObjectID() -> String {
    // Eight random bytes per read of the system's generator, not one
    // read (a getrandom call) per character: the orchestrator makes
    // 100,000 IDs at a time. Bytes from 252 (36 × 7) up are dropped so
    // every character stays equally likely.
    let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz".utf8)
    var generator = SystemRandomNumberGenerator()
    var id: [UInt8] = []
    id.reserveCapacity(25)
    while id.count < 25 {
        var word: UInt64 = generator.next()
        for _ in 0..<8 where id.count < 25 {
            let byte = UInt8(truncatingIfNeeded: word)
            word >>= 8
            if byte < 252 { id.append(alphabet[Int(byte % 36)]) }
        }
    }
    return String(decoding: id, as: UTF8.self)
}
