import Foundation
import Lab
import Testing

/// `container run --network NAME` on a 3-node lab: a container started by
/// hand on node1 joins an `--attachable` overlay network, reaches a service
/// on node3 by name, is reached from a task by its address and name, and
/// its attachment (address, namespace, links) goes when it ends; other
/// networks are refused in one line, leaving nothing; `network rm` is
/// refused while a container is attached.
@Suite(.serialized)
struct LabAttachTests {
    @Test(.enabled(if: isRoot, rootReason))
    func containersAttachToAttachableOverlaysAndReleaseThem() throws {
        let lab = try LabSwarm(name: "a\(getpid())")
        let stateDir = try #require(lab.cluster.record.nodes.first { $0.name == "node1" }?.stateDir)
        func ok(_ result: ProcessResult, _ what: String) { #expect(result.status == 0, "\(what): \(result.stdout) \(result.stderr)") }
        func namespaces() -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: stateDir + "/overlay/netns")) ?? [] }
        func links() -> String { runProcess(swarmBinary, ["lab", "exec", "--name", lab.name, "node1", "ip", "-o", "link"]).stdout }
        func attachments() -> String {
            lab.swarm("node1", "node", "inspect", "--format", "{{json .Attachments}}", "node1").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func leftovers() -> String {
            "namespaces \(namespaces().filter { $0.hasPrefix("task-") || $0.contains(debugID) }) attachments \(attachments()) "
                + "containers \(lab.swarm("node1", "container", "ls", "-a", "-q").stdout)"
        }
        func clean() -> Bool {
            !namespaces().contains { $0.hasPrefix("task-") || $0.contains(debugID) } && !links().contains("gw-")
                && ["null", "[]"].contains(attachments()) && lab.swarm("node1", "container", "ls", "-a", "-q").stdout.isEmpty
        }

        ok(lab.swarm("node1", "network", "create", "-d", "overlay", "--attachable", "debug"), "attachable network")
        ok(lab.swarm("node1", "network", "create", "-d", "overlay", "closed"), "network")
        let debugID = lab.swarm("node1", "network", "inspect", "--format", "{{.Id}}", "debug").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        ok(lab.swarm("node1", "service", "create", "-d", "--name", "web", "--network", "debug", "--constraint", "node.hostname==node3",
                     "--stop-grace-period", "1s", "busybox", "sh", "-c", "echo hello-from-web > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"), "web")
        #expect(lab.converged("web", ["node3": 1], within: 60))

        // From node1, by name, at once: DNS at 127.0.0.11 answers the service's VIP, balanced to node3's task.
        let fetched = lab.swarm("node1", "container", "run", "--rm", "--network", "debug", "busybox", "wget", "-qO-", "-T", "5", "http://web:8080/")
        #expect(fetched.status == 0 && fetched.stdout == "hello-from-web\n", "\(fetched.stdout) \(fetched.stderr)")
        // The container is gone (--rm) and so is its attachment, at once.
        #expect(clean(), "\(leftovers())")

        // A container in the background: a task on node3 reaches it by its address and by its name.
        ok(lab.swarm("node1", "container", "run", "-d", "--name", "shell", "--network", "debug", "busybox",
                     "sh", "-c", "echo hello-from-shell > /tmp/index.html; exec httpd -f -p 80 -h /tmp"), "shell")
        let held = attachments()
        let address = try #require(held.split(separator: "\"").drop { $0 != "Address" }.dropFirst(2).first.map { String($0.split(separator: "/")[0]) },
                                   "\(held)")
        #expect(held.contains(debugID) && held.contains("\"shell\""), "\(held)")
        let inShell = lab.swarm("node1", "container", "exec", "shell", "ip", "-o", "-4", "addr", "show", "eth0").stdout
        #expect(inShell.contains(" \(address)/"), "\(inShell)")
        let task = lab.swarm("node3", "container", "ls", "-q").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        for target in [address, "shell"] {
            var answer = ProcessResult(status: -1, stdout: "", stderr: "")
            #expect(waitUntil(10) {
                answer = lab.swarm("node3", "container", "exec", task, "wget", "-qO-", "-T", "2", "http://\(target)/")
                return answer.stdout == "hello-from-shell\n"
            }, "\(target): \(answer.stdout) \(answer.stderr)")
        }

        // The network is in use: refused, Docker's message.
        let inUse = lab.swarm("node1", "network", "rm", "debug")
        #expect(inUse.status == 1 && inUse.stderr.contains("is in use by task") && inUse.stderr.split(separator: "\n").count == 1, "\(inUse.stderr)")

        // Stopped: the daemon releases the attachment (address, namespace, links, the sandbox node1 had only for it).
        ok(lab.swarm("node1", "container", "stop", "-t", "1", "shell"), "stop")
        #expect(waitUntil(10) { !namespaces().contains { $0.hasPrefix("task-") || $0.contains(debugID) } && ["null", "[]"].contains(attachments()) },
                "\(leftovers())")
        #expect(!links().contains("gw-"), "\(links())")
        ok(lab.swarm("node1", "container", "rm", "shell"), "rm")
        // The address is free again: the next attachment may have any address but a held one (here: node1 holds none).
        #expect(attachments() == "null" || attachments() == "[]")

        // Not attachable, unknown: one line, exit 1, nothing left behind.
        let closed = lab.swarm("node1", "container", "run", "--rm", "--network", "closed", "busybox", "true")
        #expect(closed.status == 1 && closed.stderr == "swarm: Error response from daemon: Could not attach to network closed: rpc error: code = PermissionDenied desc = network closed not manually attachable\n",
                "\(closed.stderr)")
        let unknown = lab.swarm("node1", "container", "run", "--rm", "--network", "nope", "busybox", "true")
        #expect(unknown.status == 1 && unknown.stderr == "swarm: Error response from daemon: network nope not found\n", "\(unknown.stderr)")
        #expect(clean(), "\(leftovers())")

        // Nothing attached any more: the network can go.
        ok(lab.swarm("node1", "service", "rm", "web"), "service rm")
        #expect(waitUntil(20) { lab.swarm("node1", "network", "rm", "debug").status == 0 })
    }
}
