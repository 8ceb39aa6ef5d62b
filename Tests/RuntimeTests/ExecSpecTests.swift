@testable import Containers
import Foundation
import Glibc
import Testing

/// What an exec'd process gets besides its isolation: its environment, and
/// Docker's words and exit status when it cannot start.
@Suite struct ExecSpecTests {
    func record(env: [String], specEnv: [String] = []) -> ExecView {
        var spec = ContainerSpec(rootfs: "/", command: ["true"])
        spec.env = specEnv
        return ExecView(ContainerRecord(id: "x", name: "x", created: Date(timeIntervalSince1970: 1), spec: spec,
                               argv: ["true"], workingDir: "/", stopSignal: 15, rootfs: "/", image: nil, health: nil,
                               hostname: "h", user: ResolvedUser(uid: 0, gid: 0, groups: [], home: "/root"), env: env,
                               cgroupPath: "/nonexistent", logPath: "/nonexistent"))
    }

    @Test func extraVariablesReplaceByKey() {
        let env = ContainerRuntime.execEnvironment(record: record(env: ["PATH=/bin", "A=1", "HOME=/root"]), user: nil,
                                                   extra: ["A=2", "B=x=y"])
        #expect(env == ["PATH=/bin", "HOME=/root", "A=2", "B=x=y"])
    }

    @Test func anotherUserGetsItsHomeUnlessHOMEWasSet() {
        let app = ResolvedUser(uid: 1000, gid: 1000, groups: [1000], home: "/home/app")
        #expect(ContainerRuntime.execEnvironment(record: record(env: ["HOME=/root"]), user: app, extra: [])
                == ["HOME=/home/app"])
        #expect(ContainerRuntime.execEnvironment(record: record(env: ["HOME=/data"], specEnv: ["HOME=/data"]), user: app, extra: [])
                == ["HOME=/data"])
        #expect(ContainerRuntime.execEnvironment(record: record(env: ["HOME=/root"]), user: app, extra: ["HOME=/x"])
                == ["HOME=/x"])
    }

    @Test func failuresAsDockerReportsThem() {
        let missing = ContainerRuntime.execFailure(step: "exec", errno: ENOENT, command: "nope", workingDir: "/")
        #expect(missing.exitCode == 127)
        #expect(missing.description == "OCI runtime exec failed: exec failed: unable to start container process: exec: \"nope\": executable file not found in $PATH: unknown")
        let path = ContainerRuntime.execFailure(step: "exec", errno: ENOENT, command: "/bin/nope", workingDir: "/")
        #expect(path.exitCode == 127 && path.description.contains("\"/bin/nope\": no such file or directory"))
        #expect(ContainerRuntime.execFailure(step: "exec", errno: EACCES, command: "/etc", workingDir: "/").exitCode == 126)
        let chdir = ContainerRuntime.execFailure(step: "chdir", errno: ENOENT, command: "true", workingDir: "/nope")
        #expect(chdir.exitCode == 126 && chdir.description.contains("chdir to cwd (\"/nope\") set in config.json failed: no such file or directory"))
    }
}
