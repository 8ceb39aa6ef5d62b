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
        /// Node1's attachments as the manager holds them: (name, address without prefix, network ID).
        func attachments() -> [(name: String, address: String, network: String)] {
            let json = Data(lab.swarm("node1", "node", "inspect", "node1").stdout.utf8)
            let node = ((try? JSONSerialization.jsonObject(with: json)) as? [[String: Any]])?.first
            return (node?["Attachments"] as? [[String: Any]] ?? []).map {
                (($0["ContainerName"] as? String) ?? "", String((($0["Address"] as? String) ?? "").split(separator: "/").first ?? ""),
                 ($0["NetworkID"] as? String) ?? "")
            }
        }
        func leftovers() -> String {
            "namespaces \(namespaces().filter { $0.hasPrefix("task-") || $0.contains(debugID) }) attachments \(attachments()) "
                + "containers \(lab.swarm("node1", "container", "ls", "-a", "-q").stdout)"
        }
        func clean() -> Bool {
            !namespaces().contains { $0.hasPrefix("task-") || $0.contains(debugID) } && !links().contains("gw-")
                && attachments().isEmpty && lab.swarm("node1", "container", "ls", "-a", "-q").stdout.isEmpty
        }
        /// An HTTP GET with busybox nc (its wget crashes in this rootfs); the body's last line.
        func get(_ target: String) -> [String] { ["sh", "-c", "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 \(target) | tail -n 1"] }

        ok(lab.swarm("node1", "network", "create", "-d", "overlay", "--attachable", "debug"), "attachable network")
        ok(lab.swarm("node1", "network", "create", "-d", "overlay", "closed"), "network")
        let debugID = lab.swarm("node1", "network", "inspect", "--format", "{{.Id}}", "debug").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        ok(lab.swarm("node1", "service", "create", "-d", "--name", "web", "--network", "debug", "--constraint", "node.hostname==node3",
                     "--stop-grace-period", "1s", "busybox", "sh", "-c", "echo hello-from-web > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"), "web")
        #expect(lab.converged("web", ["node3": 1], within: 60))

        // From node1, by name, at once: DNS at 127.0.0.11 answers the service's VIP, balanced to node3's task.
        let fetched = lab.swarm("node1", ["container", "run", "--rm", "--network", "debug", "busybox"] + get("web 8080"))
        #expect(fetched.status == 0 && fetched.stdout == "hello-from-web\n", "\(fetched.stdout) \(fetched.stderr)")
        // The container is gone (--rm) and so are its attachment and namespace, at once; the network's sandbox once node1's view drops it.
        #expect(attachments().isEmpty && !namespaces().contains { $0.hasPrefix("task-") }, "\(leftovers())")
        #expect(waitUntil(5) { clean() }, "\(leftovers())")

        // A container in the background: a task on node3 reaches it by its address and by its name.
        ok(lab.swarm("node1", "container", "run", "-d", "--name", "shell", "--network", "debug", "busybox",
                     "sh", "-c", "echo hello-from-shell > /tmp/index.html; exec httpd -f -p 80 -h /tmp"), "shell")
        let held = attachments()
        let address = try #require(held.first?.address, "\(held)")
        #expect(held.count == 1 && held[0].name == "shell" && held[0].network == debugID, "\(held)")
        let inShell = lab.swarm("node1", "container", "exec", "shell", "ip", "-o", "-4", "addr", "show", "eth0").stdout
        #expect(inShell.contains(" \(address)/"), "\(inShell)")
        let task = lab.swarm("node3", "container", "ls", "-q").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        for target in [address, "shell"] {
            var answer = ProcessResult(status: -1, stdout: "", stderr: "")
            #expect(waitUntil(10) {
                answer = lab.swarm("node3", ["container", "exec", task] + get("\(target) 80"))
                return answer.stdout == "hello-from-shell\n"
            }, "\(target): \(answer.stdout) \(answer.stderr)")
        }

        // Once the service is gone, the network is still in use by the container: refused, Docker's message.
        ok(lab.swarm("node1", "service", "rm", "web"), "service rm")
        #expect(waitUntil(20) { lab.swarm("node3", "container", "ls", "-a", "-q").stdout.isEmpty })
        let inUse = lab.swarm("node1", "network", "rm", "debug")
        #expect(inUse.status == 1 && inUse.stderr.contains("is in use by task") && inUse.stderr.split(separator: "\n").count == 1, "\(inUse.stderr)")

        // Stopped: the daemon releases the attachment (address, namespace, links, the sandbox node1 had only for it).
        ok(lab.swarm("node1", "container", "stop", "-t", "1", "shell"), "stop")
        #expect(waitUntil(10) { !namespaces().contains { $0.hasPrefix("task-") || $0.contains(debugID) } && attachments().isEmpty },
                "\(leftovers())")
        #expect(!links().contains("gw-"), "\(links())")
        ok(lab.swarm("node1", "container", "rm", "shell"), "rm")

        // Not attachable, unknown: one line, exit 1, nothing left behind.
        let closed = lab.swarm("node1", "container", "run", "--rm", "--network", "closed", "busybox", "true")
        #expect(closed.status == 1 && closed.stderr == "swarm: Error response from daemon: Could not attach to network closed: rpc error: code = PermissionDenied desc = network closed not manually attachable\n",
                "\(closed.stderr)")
        let unknown = lab.swarm("node1", "container", "run", "--rm", "--network", "nope", "busybox", "true")
        #expect(unknown.status == 1 && unknown.stderr == "swarm: Error response from daemon: network nope not found\n", "\(unknown.stderr)")
        #expect(waitUntil(5) { clean() }, "\(leftovers())")

        // Nothing attached any more: the network can go.
        ok(lab.swarm("node1", "network", "rm", "debug"), "network rm")
    }
}
