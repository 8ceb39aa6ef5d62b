import Foundation
import Testing

/// Volumes on one host: named volumes made on first use and kept, the
/// image's VOLUMEs as anonymous volumes filled from the image, tmpfs
/// mounts, and `volume ls|inspect|rm|prune` as Docker's.
@Suite(.serialized)
struct VolumeTests {
    @Test(.enabled(if: isRoot, rootReason))
    func namedAnonymousAndTmpfs() throws {
        let sandbox = try Sandbox()
        let tar = sandbox.dataDir + "-rootfs.tar"
        defer { unlink(tar) }
        try #require(runProcess("/bin/tar", ["-C", busyboxRootfs, "-cf", tar, "."]).status == 0)
        let imported = sandbox.cli("image", "import", "--change", "VOLUME /var", "--change", "VOLUME [\"/usr/sbin\"]", tar, "vol:1")
        try #require(imported.status == 0, "\(imported.stderr)")

        // A named volume: made on first use, its data outlives the container; read-only with :ro.
        #expect(sandbox.run("-v", "data:/d", "--", "sh", "-c", "echo kept > /d/file").status == 0)
        #expect(sandbox.run("-v", "data:/d:ro", "--", "cat", "/d/file").stdout == "kept\n")
        #expect(sandbox.run("--mount", "type=volume,source=data,target=/d,readonly", "--", "sh", "-c", "echo x > /d/other").status != 0)
        #expect(sandbox.cli("volume", "ls").stdout == "DRIVER    VOLUME NAME\nlocal     data\n")
        let mountpoint = sandbox.cli("volume", "inspect", "--format", "{{.Mountpoint}} {{.Driver}} {{.Scope}}", "data").stdout
        #expect(mountpoint == sandbox.dataDir + "/volumes/data/_data local local\n", "\(mountpoint)")

        // The image's VOLUMEs: anonymous volumes, a new one filled with the image's files there.
        let started = sandbox.swarm("run", "-d", "--name", "db", "vol:1", "sleep", "100")
        try #require(started.status == 0, "\(started.stderr)")
        let anonymous = sandbox.cli("volume", "ls", "-q", "--filter", "dangling=false").stdout.split(separator: "\n").map(String.init)
        #expect(anonymous.count == 2 && anonymous.allSatisfy { $0.count == 64 }, "\(anonymous)")
        let listed = sandbox.swarm("exec", "db", "sh", "-c", "ls /usr/sbin | wc -l; mount | grep -c ' /var '").stdout.split(separator: "\n")
        #expect(listed.count == 2 && (Int(listed[0].trimmingCharacters(in: .whitespaces)) ?? 0) > 10 && listed[1] == "1", "\(listed)")
        // In use: refused with Docker's message, even forced.
        let inUse = sandbox.cli("volume", "rm", "-f", anonymous[0])
        #expect(inUse.status == 1 && inUse.stderr.contains("volume is in use - ["), "\(inUse.stderr)")
        // rm -v: its anonymous volumes go; the named one stays.
        #expect(sandbox.swarm("rm", "-f", "-v", "db").status == 0)
        #expect(sandbox.cli("volume", "ls", "-q").stdout == "data\n")

        // tmpfs, with a size.
        let tmpfs = sandbox.run("--tmpfs", "/scratch:size=1m", "--mount", "type=tmpfs,target=/other", "--", "sh", "-c", "grep -E ' /(scratch|other) ' /proc/mounts")
        #expect(tmpfs.stdout.contains("tmpfs /scratch tmpfs rw,nosuid,nodev,relatime,size=1024k") && tmpfs.stdout.contains("tmpfs /other tmpfs"), "\(tmpfs.stdout) \(tmpfs.stderr)")

        // prune: anonymous ones by default, every unused one with -a.
        #expect(sandbox.swarm("run", "--name", "once", "vol:1", "true").status == 0)
        #expect(sandbox.swarm("rm", "once").status == 0)
        #expect(sandbox.cli("volume", "ls", "-q").stdout.split(separator: "\n").count == 3)
        let pruned = sandbox.cli("volume", "prune", "-f")
        #expect(pruned.stdout.hasPrefix("Deleted Volumes:\n") && sandbox.cli("volume", "ls", "-q").stdout == "data\n", "\(pruned.stdout)")
        #expect(sandbox.cli("volume", "prune", "-f", "-a").stdout.contains("data"))
        #expect(sandbox.cli("volume", "ls", "-q").stdout.isEmpty)

        // Bad input: one line, exit 1.
        let bad = sandbox.run("-v", "bad name:/d", "--", "true")
        #expect(bad.status == 1 && bad.stderr.contains("invalid characters for a local volume name"), "\(bad.stderr)")
        let missing = sandbox.cli("volume", "inspect", "nope")
        #expect(missing.status == 1 && missing.stderr.contains("No such volume: nope"))
    }
}
