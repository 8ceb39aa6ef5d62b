import Testing

@testable import SwarmCLI

/// Docker's --detach-keys format.
struct DetachKeysTests {
    @Test func dockerDefaultIsCtrlPCtrlQ() throws {
        #expect(try DetachKeys.parse(DetachKeys.dockerDefault) == [0x10, 0x11])
    }

    @Test func controlKeysAndPlainCharacters() throws {
        #expect(try DetachKeys.parse("ctrl-a,x") == [1, UInt8(ascii: "x")])
        #expect(try DetachKeys.parse("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_") == [0, 27, 28, 29, 30, 31])
        #expect(try DetachKeys.parse("CTRL-Z") == [26])
    }

    @Test func refusesWhatDockerRefuses() {
        for bad in ["", "ctrl-", "ctrl-1", "ab", "ctrl-p,", "ctrl-pq"] {
            #expect(throws: (any Error).self, "\(bad)") { try DetachKeys.parse(bad) }
        }
    }
}
