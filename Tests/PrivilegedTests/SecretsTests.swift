import Foundation
import Testing

/// Secrets and configs on a one-node swarm: created from STDIN or a file,
/// listed and inspected as Docker's (a secret's value never shown), mounted
/// in granted tasks only, sealed in the store, absent from logs; one in use
/// cannot be removed.
@Suite(.serialized)
struct SecretsTests {
    @Test(.enabled(if: isRoot, rootReason))
    func secretsAndConfigsReachOnlyGrantedTasks() throws {
        let node = try SwarmNode()
        _ = try node.initialize()
        try node.importBusybox()
        let clear = "s3cr3t-\(getpid())-value"
        var environment = node.sandbox.environment
        environment["SWARM_HOST"] = "unix://" + node.socket
        let piped = runProcess("/bin/sh", ["-c", "printf %s '\(clear)' | '\(swarmBinary)' secret create --label team=db db_pass -"], environment: environment)
        #expect(piped.status == 0 && piped.stdout.count == 26, "\(piped.stdout) \(piped.stderr)")
        let confFile = node.sandbox.dataDir + "-app.conf"
        defer { unlink(confFile) }
        try "listen 8080\n".write(toFile: confFile, atomically: true, encoding: .utf8)
        #expect(node.cli("config", "create", "app_conf", confFile).status == 0)

        let listed = node.lines("secret", "ls", "--format", "{{.Name}} {{.Labels}}")
        #expect(listed == ["db_pass team=db"], "\(listed)")
        #expect(node.lines("secret", "ls").first?.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") == "ID NAME DRIVER CREATED UPDATED")
        let inspected = node.cli("secret", "inspect", "db_pass").stdout
        #expect(inspected.contains("\"Name\": \"db_pass\"") && !inspected.contains("Data") && !inspected.contains(clear), "\(inspected)")
        #expect(node.cli("config", "inspect", "--pretty", "app_conf").stdout.contains("Data:\nlisten 8080\n"))

        let create = node.cli("service", "create", "--name", "app", "--secret", "db_pass", "--secret", "source=db_pass,target=/etc/pw,mode=0400,uid=5",
                              "--config", "source=app_conf,target=/etc/app.conf", "busybox", "sleep", "1000")
        try #require(create.status == 0, "\(create.stdout) \(create.stderr)")
        let other = node.cli("service", "create", "--name", "other", "busybox", "sleep", "1000")
        try #require(other.status == 0)
        func exec(_ service: String, _ command: String) -> ProcessResult {
            let row = node.lines("container", "ls", "--no-trunc").dropFirst().first { $0.hasSuffix(" ") == false && $0.split(separator: " ").last?.hasPrefix(service + ".") == true }
            let id = row?.split(separator: " ").first.map(String.init) ?? ""
            return node.cli("container", "exec", id, "sh", "-c", command)
        }
        #expect(exec("app", "cat /run/secrets/db_pass").stdout == clear)
        #expect(exec("app", "stat -c '%a %u' /etc/pw; cat /etc/app.conf").stdout == "400 5\nlisten 8080\n")
        #expect(exec("app", "echo x > /run/secrets/db_pass").status != 0, "read-only")
        #expect(exec("other", "ls /run/secrets").status != 0, "a task without the grant has nothing")

        // In use: refused; the value is nowhere in the store, the daemon's log or the service's inspect.
        let inUse = node.cli("secret", "rm", "db_pass")
        #expect(inUse.status == 1 && inUse.stderr.contains("secret 'db_pass' is in use by the following service: app"), "\(inUse.stderr)")
        for path in ["/swarm/state.db", "/swarm/state.db-wal"].map({ node.sandbox.dataDir + $0 }) + [node.sandbox.stateDir + "/swarmd.log"] {
            let bytes = FileManager.default.contents(atPath: path) ?? Data()
            #expect(bytes.range(of: Data(clear.utf8)) == nil, "\(path) holds the secret in the clear")
            #expect(bytes.range(of: Data(Data(clear.utf8).base64EncodedString().utf8)) == nil, "\(path) holds the secret in base64")
        }
        #expect(!node.cli("service", "inspect", "app").stdout.contains(clear))

        // Bad input changes nothing.
        let unknown = node.cli("service", "create", "--name", "bad", "--secret", "nope", "busybox", "true")
        #expect(unknown.status == 1 && unknown.stderr.contains("secret nope not found"), "\(unknown.stderr)")
        #expect(node.cli("service", "inspect", "bad").status == 1)
        let badName = runProcess("/bin/sh", ["-c", "echo x | '\(swarmBinary)' secret create 'bad name' -"], environment: environment)
        #expect(badName.status == 1 && badName.stderr.contains("invalid name"), "\(badName.stderr)")
        let again = runProcess("/bin/sh", ["-c", "echo x | '\(swarmBinary)' secret create db_pass -"], environment: environment)
        #expect(again.status == 1 && again.stderr.contains("secret db_pass already exists"), "\(again.stderr)")

        // Removed from the service: then it can go.
        #expect(node.cli("service", "update", "--secret-rm", "db_pass", "app").status == 0)
        #expect(waitUntil(20) { exec("app", "ls /run/secrets").status != 0 })
        let removed = node.cli("secret", "rm", "db_pass")
        #expect(removed.status == 0, "\(removed.stderr) \(node.cli("service", "inspect", "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Secrets}}", "app").stdout)")
        #expect(node.lines("secret", "ls", "-q").isEmpty)

        if let docker = dockerBinary {
            // The stock docker CLI: create from STDIN, ls, use in a service.
            let made = runProcess("/bin/sh", ["-c", "printf hello | '\(docker)' -H unix://\(node.socket) secret create greeting -"])
            #expect(made.status == 0, "\(made.stderr)")
            #expect(runProcess(docker, ["-H", "unix://" + node.socket, "secret", "ls", "--format", "{{.Name}}"]).stdout == "greeting\n")
            let service = runProcess(docker, ["-H", "unix://" + node.socket, "service", "create", "--detach", "--name", "greeter", "--secret", "greeting", "busybox", "sleep", "1000"])
            #expect(service.status == 0, "\(service.stderr)")
            #expect(waitUntil(20) { exec("greeter", "cat /run/secrets/greeting").stdout == "hello" })
        }
    }
}
