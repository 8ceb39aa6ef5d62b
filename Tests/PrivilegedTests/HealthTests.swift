import Containers
import Foundation
import Testing

/// Health checks run by the container's monitor inside the container.
@Suite(.enabled(if: isRoot, rootReason))
struct HealthTests {
    let sandbox: Sandbox

    init() throws { sandbox = try Sandbox() }

    func health(_ name: String) -> HealthState? { try? sandbox.runtime.inspect(name).state.health }

    @Test func startingThenUnhealthyThenHealthy() throws {
        let marker = "/tmp/ok-\(UUID().uuidString.prefix(8))"
        let run = sandbox.swarm("run", "-d", "--name", "checked", "--health-cmd", "test -f \(marker) && echo fine",
                                "--health-interval", "1s", "--health-retries", "2", "--rootfs", busyboxRootfs,
                                "sh", "-c", "sleep 3.5; touch \(marker); sleep 100")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(health("checked")?.Status == "starting")
        #expect(sandbox.swarm("ls").stdout.contains("(health: starting)"))
        #expect(eventually(4) { health("checked")?.Status == "unhealthy" })
        #expect((health("checked")?.FailingStreak ?? 0) >= 2)
        #expect(sandbox.swarm("ls").stdout.contains("(unhealthy)"))
        #expect(eventually(5) { health("checked")?.Status == "healthy" })
        let last = try #require(health("checked")?.Log.last)
        #expect(last.ExitCode == 0 && last.Output == "fine\n")
        #expect(sandbox.swarm("ls").stdout.contains("(healthy)"))
        #expect((health("checked")?.Log.count ?? 0) <= 5)
        // The check ran inside the container: its cgroup, not the host's.
        try #require(sandbox.runtime.cgroups.processes(id: try sandbox.runtime.inspect("checked").id).count >= 1)
    }

    @Test func timeoutCountsAsAFailure() {
        #expect(sandbox.swarm("run", "-d", "--name", "slow", "--health-cmd", "sleep 10", "--health-timeout", "300ms",
                              "--health-interval", "100ms", "--health-retries", "1", "--rootfs", busyboxRootfs, "sleep", "100").status == 0)
        #expect(eventually(4) { health("slow")?.Status == "unhealthy" })
        #expect(health("slow")?.Log.last?.Output == "Health check exceeded timeout (300ms)")
        #expect(health("slow")?.Log.last?.ExitCode == -1)
    }

    @Test func aCheckEndsWhenItsProcessExits() {
        // The check leaves a background process holding its output: it still
        // counts as passed when the check itself exits, not at the timeout.
        #expect(sandbox.swarm("run", "-d", "--name", "bg", "--health-cmd", "sleep 30 & echo done", "--health-timeout", "5s",
                              "--health-interval", "200ms", "--rootfs", busyboxRootfs, "sleep", "100").status == 0)
        #expect(eventually(3) { health("bg")?.Status == "healthy" })
        #expect(health("bg")?.Log.first?.Output == "done\n")
    }

    @Test func imageHealthcheckIsHonouredOrDisabled() {
        #expect(sandbox.cli("image", "import", "--change", "CMD [\"sleep\", \"100\"]", testImages + "/rootfs.tar", "hc/base:1").status == 0)
        // The configured test image declares CMD-SHELL true every second.
        let registryless = sandbox.cli("image", "load", "-i", testImages + "/docker/busybox.tar")
        #expect(registryless.status == 0)
        let configured = testImages + "/oci/configured"
        #expect(FileManager.default.fileExists(atPath: configured))
        let packed = sandbox.dataDir + "-configured.tar"
        defer { try? FileManager.default.removeItem(atPath: packed) }
        #expect(runProcess("/usr/bin/skopeo", ["copy", "oci:\(configured):v1", "docker-archive:\(packed):app/configured:v1"]).status == 0)
        #expect(sandbox.cli("image", "load", "-i", packed).status == 0)
        #expect(sandbox.cli("container", "run", "-d", "--name", "from-image", "--entrypoint", "sleep", "app/configured:v1", "100").status == 0)
        #expect(eventually(5) { health("from-image")?.Status == "healthy" })
        #expect(sandbox.cli("container", "run", "-d", "--name", "disabled", "--no-healthcheck", "--entrypoint", "sleep",
                            "app/configured:v1", "100").status == 0)
        #expect(health("disabled") == nil)
        #expect(sandbox.swarm("ls").stdout.split(separator: "\n").contains { $0.contains("disabled") && !$0.contains("health") })
    }

    @Test func badHealthFlags() {
        let result = sandbox.swarm("run", "--health-interval", "soon", "--rootfs", busyboxRootfs, "true")
        #expect(result.status == 1 && result.stderr.hasPrefix("swarm: invalid duration soon"), "\(result.stderr)")
        #expect(sandbox.leftovers().isEmpty)
    }
}
