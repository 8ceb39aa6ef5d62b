import Foundation
import Testing

/// Each isolation property observed from inside a real container.
@Suite(.enabled(if: isRoot, rootReason))
struct IsolationTests {
    let sandbox: Sandbox

    init() throws { sandbox = try Sandbox() }

    @Test func commandIsPID1InItsOwnNamespaces() throws {
        // The shell expands the glob itself: no other process is running then.
        let result = sandbox.run("--hostname", "box1", "--", "sh", "-c", "echo $$; hostname; echo /proc/[0-9]*")
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines == ["1", "box1", "/proc/1"], "only PID 1 (the shell) should be visible: \(result.stdout)")
        // Each namespace differs from the host's.
        let namespaces = sandbox.run("--", "sh", "-c", "for n in pid mnt uts ipc net cgroup; do readlink /proc/1/ns/$n; done")
        for (line, ns) in zip(namespaces.stdout.split(separator: "\n"), ["pid", "mnt", "uts", "ipc", "net", "cgroup"]) {
            let host = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/\(ns)")
            #expect(String(line) != host, "\(ns) namespace is the host's")
        }
    }

    @Test func defaultHostnameIsTheShortIDAndLoopbackIsUp() {
        let result = sandbox.run("--", "sh", "-c", "hostname; cat /etc/hostname; ip link show lo 2>/dev/null || cat /sys/class/net/lo/operstate; cat /sys/class/net/lo/flags")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count >= 3)
        #expect(lines[0].count == 12 && lines[0] == lines[1])
        #expect(result.stdout.contains("UP") || result.stdout.contains("unknown"), "\(result.stdout)")
        #expect(lines.last.flatMap { Int($0.dropFirst(2), radix: 16) }.map { $0 & 1 == 1 } == true, "IFF_UP not set")
    }

    @Test func filesystemIsTheRootfsWithDockerMounts() {
        let result = sandbox.run("--", "sh", "-c", "cat /proc/self/mountinfo; echo ---; ls /dev; echo ---; ls /")
        #expect(result.status == 0)
        let parts = result.stdout.components(separatedBy: "---\n")
        let mounts = parts[0]
        for expected in [" /proc ", " /dev ", " /dev/pts ", " /dev/shm ", " /dev/mqueue ", " /sys ", " /sys/fs/cgroup ",
                         " /etc/hostname ", " /etc/hosts ", " /etc/resolv.conf ", " /proc/sys "] {
            #expect(mounts.contains(expected), "no mount at \(expected)")
        }
        #expect(mounts.split(separator: "\n").contains { $0.contains(" /sys ") && $0.contains(" ro,") }, "/sys is not read-only")
        for device in ["null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "mqueue", "ptmx"] {
            #expect(parts[1].split(separator: "\n").contains(Substring(device)), "/dev/\(device) missing")
        }
        #expect(parts[2].contains("bin") && !parts[2].contains("vmlinuz") && !parts[2].contains("home\n"))
    }

    @Test func maskedAndReadOnlyPaths() {
        let result = sandbox.run("--", "sh", "-c", """
            wc -c < /proc/keys; ls /sys/firmware | wc -l; \
            echo 1 > /proc/sys/vm/drop_caches 2>/dev/null && echo writable || echo readonly
            """)
        #expect(result.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) } == ["0", "0", "readonly"], "\(result.stdout)")
    }

    @Test func dockerDefaultCapabilitiesNoNewPrivsAndSeccomp() {
        let result = sandbox.run("--", "grep", "-E", "^(CapEff|CapPrm|CapBnd|CapInh|CapAmb|NoNewPrivs|Seccomp):", "/proc/self/status")
        let fields = Dictionary(uniqueKeysWithValues: result.stdout.split(separator: "\n").map {
            let kv = $0.split(separator: ":", maxSplits: 1)
            return (String(kv[0]), kv[1].trimmingCharacters(in: .whitespaces))
        })
        #expect(fields["CapEff"] == "00000000a80425fb")
        #expect(fields["CapPrm"] == "00000000a80425fb")
        #expect(fields["CapBnd"] == "00000000a80425fb")
        #expect(fields["CapInh"] == "0000000000000000")
        #expect(fields["CapAmb"] == "0000000000000000")
        #expect(fields["NoNewPrivs"] == "1")
        #expect(fields["Seccomp"] == "2")
    }

    @Test func capAddAndDropByName() {
        let added = sandbox.run("--cap-add", "NET_ADMIN", "--cap-drop", "CAP_CHOWN", "--", "grep", "CapEff", "/proc/self/status")
        // a80425fb + NET_ADMIN (bit 12) - CHOWN (bit 0)
        #expect(added.stdout.contains(String(format: "%016llx", (0xa80425fb as UInt64 | 1 << 12) & ~1)), "\(added.stdout)")
        let none = sandbox.run("--cap-drop", "ALL", "--", "grep", "CapBnd", "/proc/self/status")
        #expect(none.stdout.contains("0000000000000000"))
    }

    @Test func seccompRefusesWhatDockerRefuses() {
        // Creating a user namespace needs no capability, so only seccomp refuses it.
        let refused = sandbox.run("--", "unshare", "-U", "true")
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("Operation not permitted"), "\(refused.stderr)")
        let unconfined = sandbox.run("--security-opt", "seccomp=unconfined", "--", "unshare", "-U", "true")
        #expect(unconfined.status == 0, "without the filter unshare works: \(unconfined.stderr)")
        // mount is refused for lack of CAP_SYS_ADMIN and by the filter.
        let mount = sandbox.run("--", "mount", "-t", "tmpfs", "none", "/mnt")
        #expect(mount.status != 0)
    }

    @Test func userSwitchHappensAfterSetup() {
        let result = sandbox.run("-u", "1000", "--", "sh", "-c", "id -u; id -g; id -G; grep CapEff /proc/self/status")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.prefix(3) == ["1000", "1000", "1000 50"] || lines.prefix(3) == ["1000", "1000", "50 1000"], "\(lines)")
        #expect(lines.last?.hasSuffix("0000000000000000") == true)
        let named = sandbox.run("-u", "nobody:staff", "--", "sh", "-c", "id -u; id -g")
        #expect(named.stdout == "65534\n50\n")
    }

    @Test func environmentWorkdirAndMounts() throws {
        let dir = NSTemporaryDirectory() + "swarm-test-bind-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "from-host\n".write(toFile: dir + "/file", atomically: true, encoding: .utf8)
        try "A=1\n# comment\nB=two words\n".write(toFile: dir + "/env", atomically: true, encoding: .utf8)
        let result = sandbox.run("-e", "C=3", "--env-file", dir + "/env", "-w", "/work/here",
                                 "--mount", "type=bind,source=\(dir),target=/data",
                                 "--mount", "type=bind,src=\(dir)/file,dst=/ro/file,readonly", "--",
                                 "sh", "-c", "echo $A $B $C $HOME; pwd; cat /data/file; echo x > /data/new && echo rw; echo y > /ro/file || echo ro")
        #expect(result.stdout == "1 two words 3 /root\n/work/here\nfrom-host\nrw\nro\n", "\(result.stdout) \(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir + "/new"))
    }

    @Test func readOnlyRootfs() {
        let result = sandbox.run("--read-only", "--", "sh", "-c", "touch /x 2>/dev/null && echo rw || echo ro; touch /dev/shm/x && echo shm-rw")
        #expect(result.stdout == "ro\nshm-rw\n")
    }

    @Test func setupFailureNamesTheStep() throws {
        // A working directory that is a file: making it fails inside the child.
        let result = sandbox.run("-w", "/etc/passwd", "--", "true")
        #expect(result.status == 1)
        #expect(result.stderr == "swarm: container setup failed at mkdir: ENOTDIR\n")
        #expect(sandbox.leftovers().isEmpty, "\(sandbox.leftovers())")
        let missing = sandbox.run("--", "no-such-command")
        #expect(missing.stderr == "swarm: container setup failed at exec: ENOENT (\"no-such-command\": executable file not found in $PATH)\n")
    }

    @Test func symlinksInTheRootfsCannotReachTheHost() throws {
        // A rootfs whose /etc points at a host directory: mount points and
        // files the runtime creates must stay inside the rootfs.
        let tag = UUID().uuidString.prefix(8)
        let hostDir = NSTemporaryDirectory() + "swarm-test-escape-\(tag)"
        let rootfs = NSTemporaryDirectory() + "swarm-test-evil-rootfs-\(tag)"
        defer {
            try? FileManager.default.removeItem(atPath: hostDir)
            try? FileManager.default.removeItem(atPath: rootfs)
        }
        try FileManager.default.createDirectory(atPath: hostDir, withIntermediateDirectories: true)
        #expect(runProcess("/bin/cp", ["-a", busyboxRootfs, rootfs]).status == 0)
        try FileManager.default.removeItem(atPath: rootfs + "/etc")
        try FileManager.default.createSymbolicLink(atPath: rootfs + "/etc", withDestinationPath: hostDir)
        try? FileManager.default.removeItem(atPath: rootfs + "/data")   // other tests mount at /data
        try FileManager.default.createSymbolicLink(atPath: rootfs + "/data", withDestinationPath: "/../../../../" + hostDir)
        let source = NSTemporaryDirectory() + "swarm-test-escape-src-\(tag)"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: source) }
        _ = sandbox.swarm(["run", "--rm", "--mount", "type=bind,source=\(source),target=/data/sub",
                           "--rootfs", rootfs, "true"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: hostDir).isEmpty, "the runtime wrote into the host's \(hostDir)")
        #expect(sandbox.leftovers().isEmpty)
    }
}
