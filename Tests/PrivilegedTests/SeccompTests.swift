import Foundation
import FoundationEssentials
import SystemCalls
import Testing

/// Docker's seccomp semantics, observed by a static C program calling the
/// syscalls directly inside a container.
@Suite(.enabled(if: isRoot, rootReason))
struct SeccompTests {
    let sandbox: Sandbox
    let probeDir: String

    init() throws {
        sandbox = try Sandbox()
        probeDir = NSTemporaryDirectory() + "swarm-test-probe-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: probeDir, withIntermediateDirectories: true)
        let build = runProcess("/usr/bin/cc", ["-static", "-O1", "-o", probeDir + "/probe", packageRoot + "/Tests/fixtures/syscall-probe.c"])
        try #require(build.status == 0, "cannot build the probe: \(build.stderr)")
    }

    func probe(_ options: String...) -> [String: Int] {
        let result = sandbox.run((options + ["--mount", "type=bind,source=\(probeDir),target=/probe,readonly", "--", "/probe/probe"]))
        var values: [String: Int] = [:]
        for line in result.stdout.split(separator: "\n") {
            let parts = line.split(separator: "=")
            if parts.count == 2 { values[String(parts[0])] = Int(parts[1]) }
        }
        return values
    }

    @Test func defaultProfileRefusesWithEPERM() {
        let results = probe()
        defer { try? FileManager.default.removeItem(atPath: probeDir) }
        #expect(results["getpid"] == 0)
        for name in ["keyctl", "add_key", "request_key", "unshare", "mount", "kexec_load", "bpf", "open_by_handle_at", "personality_norandom"] {
            #expect(results[name] == Int(EPERM), "\(name) gave \(results[name].map(String.init) ?? "nothing")")
        }
        // clone3 answers ENOSYS so that libc falls back to clone.
        #expect(results["clone3"] == Int(ENOSYS))
        #expect(results["personality_query"] == 0)
    }

    @Test func unconfinedAllowsWhatOnlySeccompRefused() {
        let results = probe("--security-opt", "seccomp=unconfined")
        defer { try? FileManager.default.removeItem(atPath: probeDir) }
        // Root with Docker's capabilities may use keyrings and user namespaces:
        // only the filter refused them above.
        #expect(results["keyctl"] != Int(EPERM))
        #expect(results["add_key"] == 0)
        #expect(results["unshare"] == 0)
        #expect(results["personality_norandom"] == 0)
    }
}
