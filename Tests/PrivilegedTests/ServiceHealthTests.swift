import Foundation
import Testing

/// Health checks in services on a one-node swarm: a task with a check is
/// running only once healthy; one that turns unhealthy fails with Docker's
/// error and is replaced; `--no-healthcheck` turns the check off.
@Suite(.serialized)
struct ServiceHealthTests {
    @Test(.enabled(if: isRoot, rootReason))
    func runningOnlyWhenHealthyAndUnhealthyIsReplaced() throws {
        let node = try SwarmNode()
        _ = try node.initialize()
        try node.importBusybox()
        func states(_ service: String) -> [String] {
            node.lines("service", "ps", "--no-trunc", "--format", "{{.CurrentState}}|{{.Error}}", service)
        }
        // Healthy after a 2 s start (failures in the start period do not count): `starting` until then, then running.
        let slow = node.cli("service", "create", "-d", "--name", "slow", "--health-cmd", "test -e /tmp/up", "--health-interval", "500ms",
                            "--health-retries", "1", "--health-start-period", "10s", "busybox", "sh", "-c", "sleep 2; touch /tmp/up; sleep 1000")
        try #require(slow.status == 0, "\(slow.stderr)")
        #expect(waitUntil(10) { states("slow").first?.hasPrefix("Starting") == true }, "\(states("slow"))")
        #expect(!states("slow").contains { $0.hasPrefix("Running") })
        #expect(waitUntil(15) { states("slow").first?.hasPrefix("Running") == true }, "\(states("slow"))")
        let inspected = node.cli("service", "inspect", "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Healthcheck}}", "slow").stdout
        #expect(inspected.contains(#""Test":["CMD-SHELL","test -e /tmp/up"]"#) && inspected.contains(#""Interval":500000000"#), "\(inspected)")

        // Turns unhealthy after a while: the task fails with Docker's error and a new one takes the slot.
        let sick = node.cli("service", "create", "-d", "--name", "sick", "--restart-delay", "1s", "--health-cmd", "test ! -e /tmp/down",
                            "--health-interval", "300ms", "--health-retries", "2",
                            "busybox", "sh", "-c", "sleep 2; touch /tmp/down; sleep 1000")
        try #require(sick.status == 0, "\(sick.stderr)")
        #expect(waitUntil(20) { states("sick").contains { $0.contains("dockerexec: unhealthy container") && $0.hasPrefix("Failed") } },
                "\(states("sick"))")
        #expect(waitUntil(20) { states("sick").count >= 2 && states("sick").first?.hasPrefix("Running") == true || states("sick").first?.hasPrefix("Starting") == true },
                "\(states("sick"))")

        // --no-healthcheck: running at once, whatever the check would say.
        let off = node.cli("service", "update", "-d", "--no-healthcheck", "sick")
        #expect(off.status == 0, "\(off.stderr)")
        #expect(waitUntil(20) { node.lines("service", "ps", "--filter", "desired-state=running", "--format", "{{.CurrentState}}", "sick").first?.hasPrefix("Running") == true })
        let bad = node.cli("service", "create", "--no-healthcheck", "--health-cmd", "true", "busybox", "true")
        #expect(bad.status == 1 && bad.stderr.contains("--no-healthcheck conflicts with --health-* options"), "\(bad.stderr)")
    }
}
