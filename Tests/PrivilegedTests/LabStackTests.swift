import Foundation
import Lab
import Testing

/// Stacks on a 3-node lab: one compose file makes networks, secrets,
/// configs and services; a redeploy of an edited file touches only what
/// changed; depends_on holds a dependent back until its dependency is
/// healthy; `stack rm` removes that stack's objects and nothing else; the
/// stock docker CLI's `stack deploy` (which reads the file itself) makes
/// the same services.
@Suite(.serialized)
struct LabStackTests {
    static func composeFile(webReplicas: Int, cacheImage: String) -> String {
        """
        version: "3.8"
        services:
          web:
            image: busybox:latest
            command: httpd -f -p 8080 -h /run/secrets
            ports:
              - "5000:8080"
            networks: [app]
            secrets: [token]
            configs:
              - source: settings
                target: /etc/settings
            deploy:
              replicas: \(webReplicas)
          cache:
            image: \(cacheImage)
            command: ["sleep", "1000"]
            networks: [app]
          db:
            image: busybox:latest
            command: sh -c "sleep 4; touch /tmp/ready; exec sleep 1000"
            healthcheck:
              test: ["CMD-SHELL", "test -e /tmp/ready"]
              interval: 1s
              retries: 30
          worker:
            image: busybox:latest
            command: sleep 1000
            depends_on:
              db:
                condition: service_healthy
        networks:
          app:
            driver: overlay
        secrets:
          token:
            file: ./token.txt
        configs:
          settings:
            file: ./settings.conf
        """
    }

    /// Many keys, for comparing what swarm's and Docker's `stack deploy` make of them.
    static let otherFile = """
        services:
          solo:
            image: busybox:latest
            command: ["sleep", "1000"]
            entrypoint: /bin/sh -c 'exec "$$@"' --
            environment:
              MODE: test
              EMPTY: ""
            labels: [tier=back]
            hostname: solo-host
            user: "0:0"
            working_dir: /tmp
            stop_grace_period: 3s
            stop_signal: SIGINT
            ports:
              - target: 8080
                published: 7000
                protocol: tcp
                mode: ingress
              - "7001:8081/udp"
            healthcheck:
              test: ["CMD", "true"]
              interval: 5s
              timeout: 2s
              retries: 4
              start_period: 1s
            sysctls:
              net.core.somaxconn: 1024
            ulimits:
              nproc: 65535
              nofile:
                soft: 10000
                hard: 20000
            deploy:
              mode: replicated
              replicas: 1
              labels:
                owner: ops
              placement:
                constraints: [node.role == manager]
                preferences:
                  - spread: node.labels.zone
                max_replicas_per_node: 2
              restart_policy:
                condition: on-failure
                delay: 2s
                max_attempts: 3
                window: 10s
              update_config:
                parallelism: 2
                delay: 1s
                failure_action: rollback
                monitor: 2s
                max_failure_ratio: 0.5
                order: start-first
              rollback_config:
                parallelism: 1
                order: stop-first
        """

    @Test(.enabled(if: isRoot, rootReason))
    func deployRedeployDependsOnAndRemove() throws {
        let lab = try LabSwarm(name: "s\(getpid())")
        let nodes = lab.cluster.record.nodes
        let directory = NSTemporaryDirectory() + "swarm-test-stack-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/stack.yml"
        try Self.composeFile(webReplicas: 2, cacheImage: "busybox:latest").write(toFile: file, atomically: true, encoding: .utf8)
        try "s3cret-token".write(toFile: directory + "/token.txt", atomically: true, encoding: .utf8)
        try "level=debug\n".write(toFile: directory + "/settings.conf", atomically: true, encoding: .utf8)
        func ok(_ result: ProcessResult, _ what: String) { #expect(result.status == 0, "\(what): \(result.stdout) \(result.stderr)") }

        // The seed's argument order: the name first.
        let deployed = lab.swarm("node1", "stack", "deploy", "app", "--compose-file=\(file)", "--resolve-image", "never")
        ok(deployed, "deploy")
        #expect(deployed.stdout.split(separator: "\n").map(String.init) == [
            "Creating network app_app", "Creating network app_default", "Creating secret app_token", "Creating config app_settings",
            "Creating service app_cache", "Creating service app_db", "Creating service app_web", "Creating service app_worker",
        ], "\(deployed.stdout)")
        // depends_on: the worker waits, pending with the reason, while the database is not yet healthy.
        let waiting = lab.swarm("node1", "stack", "ps", "--no-trunc", "--format", "{{.Name}} {{.CurrentState}} {{.Error}}", "app").stdout
        #expect(waiting.contains("app_worker.1 Pending") && waiting.contains("waiting for service app_db to be healthy (depends_on)"), "\(waiting)")
        #expect(waitUntil(60) {
            lab.spread("app_web").values.reduce(0, +) == 2 && lab.spread("app_cache").count == 1 && lab.spread("app_worker").count == 1
        }, "\(lab.swarm("node1", "stack", "ps", "app").stdout)")
        let services = lab.swarm("node1", "stack", "services", "--format", "{{.Name}} {{.Replicas}}", "app").stdout
        #expect(services == "app_cache 1/1\napp_db 1/1\napp_web 2/2\napp_worker 1/1\n", "\(services)")
        #expect(lab.swarm("node1", "stack", "ls").stdout == "NAME      SERVICES\napp       4\n")
        // The published port answers on every node; the secret is in the web task.
        let client = try #require(lab.cluster.record.client)
        _ = client
        for node in nodes {
            #expect(waitUntil(20) {
                runProcess(swarmBinary, ["lab", "exec", "--name", lab.name, "client", "curl", "-s", "-m", "5", "http://\(node.address):5000/token"]).stdout == "s3cret-token"
            }, "port 5000 on \(node.name)")
        }

        // Edit the file: more web replicas, a new image for the cache. Only those two change.
        func taskIDs(_ service: String) -> Set<String> {
            Set(lab.swarm("node1", "service", "ps", "-q", "--filter", "desired-state=running", service).stdout.split(separator: "\n").map(String.init))
        }
        let before = ["app_web": taskIDs("app_web"), "app_db": taskIDs("app_db"), "app_worker": taskIDs("app_worker"), "app_cache": taskIDs("app_cache")]
        let tar = directory + "/busybox.tar"
        try #require(runProcess("/bin/tar", ["-C", busyboxRootfs, "-cf", tar, "."]).status == 0)
        ok(lab.swarm("node1", "image", "import", tar, "busybox:v2"), "busybox:v2")
        try Self.composeFile(webReplicas: 3, cacheImage: "busybox:v2").write(toFile: file, atomically: true, encoding: .utf8)
        let redeployed = lab.swarm("node1", "stack", "deploy", "-c", file, "--resolve-image", "never", "app")
        ok(redeployed, "redeploy")
        #expect(redeployed.stdout.contains("Updating service app_web (id: ") && !redeployed.stdout.contains("Creating"), "\(redeployed.stdout)")
        #expect(waitUntil(60) { lab.spread("app_web").values.reduce(0, +) == 3 && taskIDs("app_cache") != before["app_cache"] && lab.spread("app_cache").count == 1 })
        #expect(taskIDs("app_web").isSuperset(of: before["app_web"]!), "the web tasks stayed; one was added")
        #expect(taskIDs("app_db") == before["app_db"] && taskIDs("app_worker") == before["app_worker"], "unchanged services were not rolled")

        // Another stack beside it, deployed by the stock docker CLI (it reads the file itself), and the
        // same file by swarm under another name: the same services, but for their names.
        let other = directory + "/other.yml"
        try Self.otherFile.write(toFile: other, atomically: true, encoding: .utf8)
        if let docker = dockerBinary {
            // The spec with the stack's name and its network's ID taken out.
            func spec(_ service: String, _ stack: String) -> String {
                var text = lab.swarm("node1", "service", "inspect", "--format", "{{json .Spec}}", service).stdout
                let networks = lab.swarm("node1", "service", "inspect", "--format", "{{range .Spec.TaskTemplate.Networks}}{{.Target}} {{end}}", service).stdout
                for id in networks.split(separator: " ") where id.count > 8 { text = text.replacingOccurrences(of: String(id), with: "NETWORK") }
                return text.replacingOccurrences(of: "\"\(stack)_", with: "\"STACK_").replacingOccurrences(of: "\"\(stack)\"", with: "\"STACK\"")
            }
            // (One after the other: both publish the same ports.)
            ok(lab.swarm("node1", "stack", "deploy", "-c", other, "--resolve-image", "never", "twin"), "swarm stack deploy of the same file")
            let twin = spec("twin_solo", "twin")
            ok(lab.swarm("node1", "stack", "rm", "twin"), "rm twin")
            let viaDocker = runProcess(docker, ["-H", nodes[0].socket, "stack", "deploy", "-c", other, "--resolve-image", "never", "other"])
            ok(viaDocker, "docker stack deploy")
            let viaDockerSpec = spec("other_solo", "other")
            #expect(!twin.isEmpty && viaDockerSpec == twin, "docker's:\n\(viaDockerSpec)\nswarm's:\n\(twin)")
            #expect(waitUntil(30) { lab.spread("other_solo").count == 1 }, "\(lab.swarm("node1", "service", "ps", "--no-trunc", "other_solo").stdout)")
            let listed = runProcess(docker, ["-H", nodes[0].socket, "stack", "ls"]).stdout
            #expect(listed.contains("app ") && listed.contains("other "), "\(listed)")
        } else {
            ok(lab.swarm("node1", "stack", "deploy", "-c", other, "--resolve-image", "never", "other"), "other stack")
        }

        // stack rm: that stack's services, secret, config and networks, and nothing of the other.
        let removed = lab.swarm("node1", "stack", "rm", "app")
        ok(removed, "stack rm")
        #expect(removed.stdout.split(separator: "\n").map(String.init) == [
            "Removing service app_cache", "Removing service app_db", "Removing service app_web", "Removing service app_worker",
            "Removing secret app_token", "Removing config app_settings", "Removing network app_app", "Removing network app_default",
        ], "\(removed.stdout)")
        #expect(lab.swarm("node1", "service", "ls", "--format", "{{.Name}}").stdout == "other_solo\n")
        #expect(!lab.swarm("node1", "network", "ls").stdout.contains("app_"))
        #expect(lab.swarm("node1", "secret", "ls", "-q").stdout.isEmpty && lab.swarm("node1", "config", "ls", "-q").stdout.isEmpty)
        let missing = lab.swarm("node1", "stack", "ps", "app")
        #expect(missing.status == 1 && missing.stderr.contains("nothing found in stack: app"), "\(missing.stderr)")
        ok(lab.swarm("node1", "stack", "rm", "other"), "rm other")
        #expect(waitUntil(30) { nodes.allSatisfy { lab.swarm($0.name, "container", "ls", "-a", "-q").stdout.isEmpty } })
    }

    @Test(.enabled(if: isRoot, rootReason))
    func aBadFileChangesNothing() throws {
        let lab = try LabSwarm(name: "b\(getpid())")
        let directory = NSTemporaryDirectory() + "swarm-test-stack-bad-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/stack.yml"
        try "services:\n  web:\n    image: busybox:latest\n    deploy:\n      replicas: three\nnetworks:\n  app: {}\n".write(toFile: file, atomically: true, encoding: .utf8)
        let refused = lab.swarm("node1", "stack", "deploy", "-c", file, "broken")
        #expect(refused.status == 1, "\(refused.stdout)")
        #expect(refused.stderr.hasPrefix("swarm: \(file):5:"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1)
        #expect(lab.swarm("node1", "service", "ls", "-q").stdout.isEmpty)
        #expect(!lab.swarm("node1", "network", "ls").stdout.contains("broken_"))
        // An external network that does not exist: refused before anything is made.
        try "services:\n  web:\n    image: busybox:latest\n    networks: [outside]\nnetworks:\n  outside:\n    external: true\n".write(toFile: file, atomically: true, encoding: .utf8)
        let external = lab.swarm("node1", "stack", "deploy", "-c", file, "broken")
        #expect(external.status == 1 && external.stderr.contains("network \"outside\" is declared as external, but could not be found"), "\(external.stderr)")
        #expect(lab.swarm("node1", "service", "ls", "-q").stdout.isEmpty)
        let typo = lab.swarm("node1", "stack", "deploy", "broken")
        #expect(typo.status == 1 && typo.stderr.contains("compose-file"), "\(typo.stderr)")
    }
}
