@testable import Compose
import SwarmAPI
import Testing

/// Durations, sizes and command strings as Docker parses them.
@Suite struct ComposeUnitsTests {
    @Test func goDurations() {
        #expect(GoDuration.parse("10s") == 10_000_000_000)
        #expect(GoDuration.parse("1m30s") == 90_000_000_000)
        #expect(GoDuration.parse("500ms") == 500_000_000)
        #expect(GoDuration.parse("1.5h") == 5_400_000_000_000)
        #expect(GoDuration.parse("2h45m10.5s") == 9_910_500_000_000)
        #expect(GoDuration.parse("0") == 0)
        #expect(GoDuration.parse("100us") == 100_000)
        for bad in ["", "10", "s", "ten", "10 s", "1d", "1.2.3s"] { #expect(GoDuration.parse(bad) == nil, "\(bad)") }
    }

    @Test func sizes() {
        #expect(ByteSize.parse("512M") == 536_870_912)
        #expect(ByteSize.parse("1g") == 1_073_741_824)
        #expect(ByteSize.parse("1.5GiB") == 1_610_612_736)
        #expect(ByteSize.parse("64k") == 65536)
        #expect(ByteSize.parse("100") == 100)
        #expect(ByteSize.parse("100b") == 100)
        for bad in ["", "lots", "1x", "M"] { #expect(ByteSize.parse(bad) == nil, "\(bad)") }
    }

    @Test func shellWords() {
        #expect(ShellWords.split("python app.py --port 5000") == ["python", "app.py", "--port", "5000"])
        #expect(ShellWords.split(#"sh -c 'echo "hi there"; exit 1'"#) == ["sh", "-c", #"echo "hi there"; exit 1"#])
        #expect(ShellWords.split(#"echo "a \"quoted\" word" b\ c"#) == ["echo", #"a "quoted" word"#, "b c"])
        #expect(ShellWords.split("  spaced   out  ") == ["spaced", "out"])
        #expect(ShellWords.split("''") == [""])
        #expect(ShellWords.split("echo 'unclosed") == nil)
    }
}
