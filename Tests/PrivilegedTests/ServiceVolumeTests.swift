import Foundation
import Testing

/// Volumes in services on a one-node swarm. Beyond Docker: a task that
/// replaces another in its slot (a restart, an update) gets the slot's
/// anonymous volumes back, so a database started from an image with a
/// VOLUME keeps its data; named volumes and tmpfs mounts as Docker's.
@Suite(.serialized)
struct ServiceVolumeTests {
    @Test(.enabled(if: isRoot, rootReason))
    func aSlotKeepsItsImageVolumeAcrossRestartAndUpdate() throws {
        let node = try SwarmNode()
        _ = try node.initialize()
        let tar = node.sandbox.dataDir + "-db.tar"
        defer { unlink(tar) }
        try #require(runProcess("/bin/tar", ["-C", busyboxRootfs, "-cf", tar, "."]).status == 0)
        try #require(node.cli("image", "import", "--change", "VOLUME /var", tar, "db:1").status == 0)

        // Each start of the task appends a line to /var/starts (the image's VOLUME) and shows the count.
        let create = node.cli("service", "create", "--name", "db", "--restart-delay", "1s", "--stop-grace-period", "1s",
                              "--mount", "type=volume,source=shared,target=/shared", "--mount", "type=tmpfs,target=/scratch,tmpfs-size=1m",
                              "db:1", "sh", "-c", "echo start >> /var/starts; echo start >> /shared/starts; grep -c . /var/starts; sleep 1000")
        try #require(create.status == 0, "\(create.stderr)")
        func starts() -> String {
            guard let id = node.lines("container", "ls", "-q", "--no-trunc").first else { return "" }
            return node.cli("container", "exec", id, "sh", "-c", "grep -c . /var/starts; grep -c . /shared/starts; grep -c ' /scratch tmpfs' /proc/mounts").stdout
        }
        #expect(waitUntil(15) { starts() == "1\n1\n1\n" }, "\(starts())")

        // The container is killed: the replacement gets the slot's volume back.
        let first = try #require(node.lines("container", "ls", "-q").first)
        #expect(node.cli("container", "kill", first).status == 0)
        #expect(waitUntil(20) { starts() == "2\n2\n1\n" }, "\(starts())")
        // An update replaces the task: still the same volume.
        #expect(node.cli("service", "update", "--env-add", "V=2", "db").status == 0)
        #expect(waitUntil(20) { starts() == "3\n3\n1\n" }, "\(starts())")
        // Two volumes on the node: the slot's and the named one; the slot's is named after it.
        let volumes = node.lines("volume", "ls", "--format", "{{.Name}}")
        #expect(volumes.count == 2 && volumes.contains("shared") && volumes.contains { $0.hasPrefix("db.1.") && $0.hasSuffix("-var") }, "\(volumes)")
        #expect(node.cli("service", "rm", "db").status == 0)
        #expect(waitUntil(20) { node.lines("container", "ls", "-a", "-q").isEmpty })
        // Bad input: refused with what to do.
        let bad = node.cli("service", "create", "--mount", "type=nfs,target=/x", "busybox", "true")
        #expect(bad.status == 1 && bad.stderr.contains("mount type nfs is not supported"), "\(bad.stderr)")
    }
}
