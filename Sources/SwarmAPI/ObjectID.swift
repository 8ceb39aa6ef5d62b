/// Docker's object IDs: 25 random characters of [0-9a-z] (about 128 bits).
public func newObjectID() -> String {
    let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz")
    var generator = SystemRandomNumberGenerator()
    return String((0..<25).map { _ in alphabet[Int(generator.next(upperBound: UInt8(36)))] })
}
