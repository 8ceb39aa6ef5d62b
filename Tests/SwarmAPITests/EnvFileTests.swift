@testable import SwarmAPI
import Testing

struct EnvFileTests {
    @Test func linesAsDockerReadsThem() throws {
        let text = "A=1\n# a comment\n\n  B=two words\nHOME\nUNSET_HERE\nC=\nD=x=y\r\n"
        let entries = try EnvFile.parse(text, path: "x.env", environment: ["HOME": "/root"])
        #expect(entries.map { "\($0.key)=\($0.value)" } == ["A=1", "B=two words", "HOME=/root", "C=", "D=x=y"])
    }

    @Test func quotesOnlyForDotEnv() throws {
        let text = "export Q=\"a b\"\nR='c'\n"
        #expect(try EnvFile.parse(text, path: ".env", environment: [:], unquote: true).map(\.value) == ["a b", "c"])
        #expect(try EnvFile.parse("R='c'\n", path: "x.env", environment: [:]).map(\.value) == ["'c'"])
    }

    @Test func badLinesNameFileAndLine() {
        #expect(throws: EnvFile.Failure(path: "x.env", line: 2, message: "variable 'MY VAR' contains whitespaces")) {
            try EnvFile.parse("A=1\nMY VAR=2\n", path: "x.env", environment: [:])
        }
        #expect(throws: EnvFile.Failure(path: "x.env", line: 1, message: "no variable name on line '=2'")) {
            try EnvFile.parse("=2\n", path: "x.env", environment: [:])
        }
        #expect(EnvFile.entry("HOME", environment: [:]) == nil)
        #expect(EnvFile.entry("HOME", environment: ["HOME": "/h"]) == "HOME=/h")
    }
}
