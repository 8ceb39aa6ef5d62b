import Containers
import Foundation
import Testing

/// The stock docker CLI against a node's unix socket: exec, top and stats of
/// a service's task container (the Engine API paths swarmd serves;
/// `exec -it`, `-i` and attach in DockerCLITerminalTests).
@Suite(.enabled(if: isRoot, rootReason))
struct DockerCLIExecTests {
    static let docker = ["/usr/local/bin/docker", "/usr/bin/docker"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: docker != nil, "needs the docker CLI (docker-ce-cli) installed"))
    func execTopAndStatsOfATaskContainer() throws {
        let node = try SwarmNode()
        _ = try node.initialize()
        try node.importBusybox()
        let create = node.cli("service", "create", "--name", "web", "busybox", "sleep", "1000")
        try #require(create.status == 0, "\(create.stderr)")
        let task = try #require(node.lines("container", "ls").dropFirst().first?.split(separator: " ").last.map(String.init))
        #expect(task.hasPrefix("web.1."), "\(task)")

        var environment = node.sandbox.environment
        environment["DOCKER_CONFIG"] = node.sandbox.homeDir + "/.docker"
        environment.removeValue(forKey: "DOCKER_HOST")
        func docker(_ arguments: String...) -> ProcessResult {
            runProcess(Self.docker!, ["-H", "unix://" + node.socket] + arguments, environment: environment)
        }

        // The swarm CLI on the node, by the task container's name.
        let local = node.cli("container", "exec", task, "hostname")
        #expect(local.status == 0 && local.stdout.count == 13, "\(local.stdout) \(local.stderr)")

        let exec = docker("exec", "-u", "app", "-w", "/tmp", "-e", "X=1", task, "sh", "-c", "id -u; pwd; echo $X; echo oops >&2; exit 3")
        #expect(exec.status == 3, "\(exec.stderr)")
        #expect(exec.stdout == "1000\n/tmp\n1\n", "\(exec.stdout)")
        #expect(exec.stderr == "oops\n", "\(exec.stderr)")
        let missing = docker("exec", task, "nosuchcommand")
        #expect(missing.status == 127, "\(missing.stderr)")
        #expect(missing.stdout.contains("exec: \"nosuchcommand\": executable file not found in $PATH"), "\(missing.stdout) \(missing.stderr)")
        #expect(docker("exec", "-d", task, "sleep", "555").status == 0)

        let top = docker("top", task)
        #expect(top.status == 0, "\(top.stderr)")
        let lines = top.stdout.split(separator: "\n")
        #expect(lines.first?.split(separator: " ") == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"], "\(top.stdout)")
        #expect(lines.count == 3 && top.stdout.contains("sleep 1000") && top.stdout.contains("sleep 555"), "\(top.stdout)")

        let stats = docker("stats", "--no-stream", "--format", "{{.Name}} {{.NetIO}} {{.PIDs}}", task)
        #expect(stats.status == 0, "\(stats.stderr)")
        #expect(stats.stdout == "\(task) 0B / 0B 2\n", "\(stats.stdout)")

        let unknown = docker("exec", "nosuchcontainer", "true")
        #expect(unknown.status == 1 && unknown.stderr.contains("No such container: nosuchcontainer"), "\(unknown.stderr)")
    }
}
