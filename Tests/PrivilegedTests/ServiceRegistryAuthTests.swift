import Foundation
import Testing

/// `--with-registry-auth`: the CLI forwards the login for the image's
/// registry (from $DOCKER_CONFIG/config.json here, which the daemon does
/// not read), the manager keeps it with the service without ever showing
/// it, and the node pulls the task's image with it, through basic auth or
/// the registry's token service (Debian's docker-registry with htpasswd or
/// token auth on loopback).
@Suite(.serialized)
struct ServiceRegistryAuthTests {
    @Test(.enabled(if: isRoot, rootReason), arguments: [TestRegistry.Auth.basic, .token])
    func aPrivateImageRunsOnlyWithTheForwardedLogin(_ auth: TestRegistry.Auth) throws {
        let registry = try TestRegistry(auth: auth)
        try #require(registry.push(layout: "busybox", tag: "latest", as: "private/busybox:latest").status == 0)
        let image = "\(registry.host)/private/busybox:latest"
        let node = try SwarmNode()
        _ = try node.initialize()
        let dockerConfig = node.sandbox.dataDir + "-docker-config"
        try FileManager.default.createDirectory(atPath: dockerConfig, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dockerConfig) }
        let encoded = Data("\(registry.user):\(registry.password)".utf8).base64EncodedString()
        try #"{"auths":{"\#(registry.host)":{"auth":"\#(encoded)"}}}"#.write(toFile: dockerConfig + "/config.json", atomically: true, encoding: .utf8)
        func withDockerConfig(_ arguments: [String]) -> ProcessResult {
            var environment = node.sandbox.environment
            environment["SWARM_HOST"] = "unix://" + node.socket
            environment["SWARM_CONVERGE_TIMEOUT"] = "20s"
            environment["DOCKER_CONFIG"] = dockerConfig
            return runProcess(swarmBinary, arguments, environment: environment)
        }
        func errors(_ service: String) -> [String] {
            node.lines("service", "ps", "--no-trunc", "--format", "{{.Error}}", service)
        }

        // Without the flag the node has no login: the task fails with the registry's 401.
        let plain = withDockerConfig(["service", "create", "-d", "--name", "plain", "--no-resolve-image", "--restart-delay", "1s", image, "sleep", "1000"])
        try #require(plain.status == 0, "\(plain.stderr)")
        #expect(waitUntil(20) { errors("plain").contains { $0.contains("401") && $0.contains("unauthorized") } }, "\(errors("plain"))")
        #expect(node.cli("service", "rm", "plain").status == 0)

        // With it: running.
        let create = withDockerConfig(["service", "create", "--name", "private", "--no-resolve-image", "--with-registry-auth", image, "sleep", "1000"])
        #expect(create.status == 0, "\(create.stderr)")
        #expect(waitUntil(20) { node.lines("service", "ps", "--format", "{{.CurrentState}}", "private").first?.hasPrefix("Running") == true },
                "\(errors("private"))")
        // Never shown.
        let shown = node.cli("service", "inspect", "private").stdout
        #expect(shown.contains("private/busybox") && !shown.contains("PullOptions") && !shown.contains("RegistryAuth"), "\(shown)")
        // An update without the flag keeps the login (Docker's daemon does the same): still running after it.
        #expect(node.cli("service", "update", "--env-add", "V=2", "private").status == 0)
        #expect(waitUntil(20) { node.lines("service", "ps", "--filter", "desired-state=running", "--format", "{{.CurrentState}}", "private").first?.hasPrefix("Running") == true })

        // A credential helper swarm does not run: one line saying so, nothing created.
        try #"{"credsStore":"secretservice"}"#.write(toFile: dockerConfig + "/config.json", atomically: true, encoding: .utf8)
        let helper = withDockerConfig(["service", "create", "--name", "helped", "--no-resolve-image", "--with-registry-auth", image, "true"])
        #expect(helper.status == 1 && helper.stderr.contains("credential helper docker-credential-secretservice"), "\(helper.stderr)")
        #expect(!node.lines("service", "ls", "--format", "{{.Name}}").contains("helped"))
    }

    @Test(.enabled(if: isRoot, rootReason))
    func stackDeployForwardsTheLogin() throws {
        let registry = try TestRegistry(auth: .basic)
        try #require(registry.push(layout: "busybox", tag: "latest", as: "private/busybox:latest").status == 0)
        let node = try SwarmNode()
        _ = try node.initialize()
        let dir = node.sandbox.dataDir + "-stack"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let encoded = Data("\(registry.user):\(registry.password)".utf8).base64EncodedString()
        try #"{"auths":{"\#(registry.host)":{"auth":"\#(encoded)"}}}"#.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        try """
            services:
              app:
                image: \(registry.host)/private/busybox:latest
                command: sleep 1000
                # The host's network: a one-node swarm on loopback has no overlay data path.
                networks: [hostnet]
            networks:
              hostnet:
                external: true
                name: host
            """.write(toFile: dir + "/stack.yml", atomically: true, encoding: .utf8)
        var environment = node.sandbox.environment
        environment["SWARM_HOST"] = "unix://" + node.socket
        environment["DOCKER_CONFIG"] = dir
        let deploy = runProcess(swarmBinary, ["stack", "deploy", "--with-registry-auth", "--resolve-image", "never", "-c", dir + "/stack.yml", "priv"],
                                environment: environment)
        #expect(deploy.status == 0, "\(deploy.stderr)")
        #expect(waitUntil(20) { node.lines("stack", "ps", "--format", "{{.CurrentState}}", "priv").first?.hasPrefix("Running") == true },
                "\(node.cli("stack", "ps", "--no-trunc", "priv").stdout)")
        #expect(node.cli("stack", "rm", "priv").status == 0)
    }
}
