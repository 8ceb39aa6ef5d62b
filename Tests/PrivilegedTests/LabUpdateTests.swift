import Foundation
import Lab
import Testing

/// Rolling updates on a 3-node lab with real containers: parallelism and
/// delay keep enough replicas serving, start-first keeps them all, a
/// failing update rolls back (or pauses) as its failure action says.
@Suite(.serialized)
struct LabUpdateTests {
    @Test(.enabled(if: isRoot, rootReason))
    func rollingUpdatesRollbackAndPause() throws {
        let lab = try LabSwarm(name: "u\(getpid())")
        let create = lab.swarm("node1", "service", "create", "--name", "roll", "--replicas", "6", "--update-parallelism", "2",
                               "--update-delay", "1s", "--update-monitor", "1s", "--stop-grace-period", "1s",
                               "--restart-delay", "1s", "busybox", "sleep", "1000")
        try #require(create.status == 0, "\(create.stdout) \(create.stderr)")
        #expect(waitUntil(30) { lab.spread("roll").values.reduce(0, +) == 6 })

        func state() -> String {
            lab.swarm("node1", "service", "inspect", "--format", "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}", "roll").stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        /// The fewest replicas running while an update rolls, until it completes.
        func fewestRunning(during arguments: String...) -> Int {
            let update = lab.swarm("node1", ["service", "update", "-d"] + arguments + ["roll"])
            guard update.status == 0 else { Issue.record("\(update.stderr)"); return 0 }
            var fewest = 6
            _ = waitUntil(60) {
                fewest = min(fewest, lab.spread("roll").values.reduce(0, +))
                return state() == "completed"
            }
            return fewest
        }

        // Parallelism 2 (stop-first): never fewer than 4 of 6 serve.
        let stopFirst = fewestRunning(during: "--env-add", "V=2")
        #expect(state() == "completed")
        #expect(stopFirst >= 4, "fewest running: \(stopFirst)")
        #expect(lab.swarm("node1", "service", "ps", "--filter", "desired-state=running", "--format", "{{.Image}}", "roll").status == 0)
        // Start-first: all 6 serve throughout.
        #expect(fewestRunning(during: "--update-order", "start-first", "--env-add", "V=3") == 6)

        // A command that exits 1, failure action rollback: back to V=3, told as Docker tells it.
        let rolled = lab.swarm("node1", "service", "update", "--update-failure-action", "rollback", "--args", "sh -c false", "roll")
        #expect(rolled.status == 0, "\(rolled.stdout) \(rolled.stderr)")
        // Docker's CLI: the rollback announced with its reason, or (when it was over before the next look) its end.
        #expect(rolled.stdout.contains("rollback: update rolled back due to failure or early termination of task ")
                || rolled.stdout.contains("service rolled back: rollback completed"), "\(rolled.stdout)")
        #expect(waitUntil(30) { state() == "rollback_completed" })
        let args = lab.swarm("node1", "service", "inspect", "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Args}} {{json .Spec.TaskTemplate.ContainerSpec.Env}}", "roll")
        #expect(args.stdout.contains(#"["sleep","1000"]"#) && args.stdout.contains("V=3"), "\(args.stdout)")
        #expect(waitUntil(30) { lab.spread("roll").values.reduce(0, +) == 6 })

        // Failure action pause: the CLI stops with the reason, exit 1; the spec stays, the update waits.
        let paused = lab.swarm("node1", "service", "update", "--update-failure-action", "pause", "--args", "sh -c false", "roll")
        #expect(paused.status == 1)
        #expect(paused.stderr.contains("service update paused: update paused due to failure or early termination of task "), "\(paused.stderr)")
        #expect(state() == "paused")
        let message = lab.swarm("node1", "service", "inspect", "--format", "{{.UpdateStatus.Message}}", "roll").stdout
        #expect(message.hasPrefix("update paused due to failure or early termination of task "), "\(message)")

        // service rollback brings the last good spec back.
        let back = lab.swarm("node1", "service", "rollback", "roll")
        #expect(back.status == 0, "\(back.stdout) \(back.stderr)")
        // Docker's CLI announces the rollback, or, when it was over before the first look, its end.
        #expect(back.stdout.contains("rollback: manually requested rollback") || back.stdout.contains("service rolled back: rollback completed"),
                "\(back.stdout)")
        #expect(waitUntil(30) { lab.spread("roll").values.reduce(0, +) == 6 })
    }
}
