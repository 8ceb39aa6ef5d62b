import Foundation
@testable import OCIImages
import Testing

/// Our SHA-256 against FIPS 180-4's examples and against `sha256sum` on
/// inputs of every length around the block and padding boundaries, fed in
/// uneven pieces.
struct SHA256StreamTests {
    func digest(_ bytes: [UInt8], pieces: Int = 1) -> String {
        var hasher = SHA256Stream()
        let size = max(1, bytes.count / pieces + 1)
        for start in stride(from: 0, to: bytes.count, by: size) { hasher.update(bytes[start..<min(start + size, bytes.count)]) }
        return hasher.finalize().hex
    }

    @Test func standardExamples() {
        #expect(digest([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(digest(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(digest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8), pieces: 3)
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(digest([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000), pieces: 7)
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func matchesSha256sumAcrossBoundaries() throws {
        var generator = SystemRandomNumberGenerator()
        let lengths = Array(0...130) + [1023, 1024, 1025, 65_599, 1 << 20]
        let directory = NSTemporaryDirectory() + "swarm-test-sha256-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var expected: [Int: [UInt8]] = [:]
        for length in lengths {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            expected[length] = bytes
            try Data(bytes).write(to: URL(fileURLWithPath: "\(directory)/\(length)"))
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.arguments = lengths.map(String.init)
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let sums = output.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(sums.count == lengths.count)
        for sum in sums {
            let length = Int(sum[1])!
            #expect(digest(expected[length]!, pieces: length % 5 + 1) == String(sum[0]), "length \(length)")
        }
    }
}
