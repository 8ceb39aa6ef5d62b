import Foundation
import Testing

/// `--sysctl` and `--ulimit` on a one-node swarm: stored in the spec as
/// Docker stores them, shown by inspect, applied in the task's container
/// before its command starts; a sysctl outside the container's namespaces
/// is refused when the service is created.
@Suite(.serialized)
struct ServiceKernelLimitsTests {
    @Test(.enabled(if: isRoot, rootReason))
    func sysctlsAndUlimitsReachTheContainer() throws {
        let node = try SwarmNode()
        _ = try node.initialize()
        try node.importBusybox()
        let create = node.cli("service", "create", "-d", "--name", "tuned", "--no-resolve-image",
                              "--sysctl", "net.core.somaxconn=1234", "--sysctl", "kernel.shmmni=2048",
                              "--ulimit", "nofile=1024:2048", "--ulimit", "nproc=300",
                              "busybox", "sleep", "1000")
        try #require(create.status == 0, "\(create.stderr)")
        let spec = node.cli("service", "inspect", "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Sysctls}} {{json .Spec.TaskTemplate.ContainerSpec.Ulimits}}", "tuned").stdout
        #expect(spec == #"{"kernel.shmmni":"2048","net.core.somaxconn":"1234"} [{"Hard":2048,"Name":"nofile","Soft":1024},{"Hard":300,"Name":"nproc","Soft":300}]"# + "\n", "\(spec)")
        let pretty = node.cli("service", "inspect", "--pretty", "tuned").stdout
        #expect(pretty.contains("SysCtls:\n kernel.shmmni: 2048\n net.core.somaxconn: 1234\n"), "\(pretty)")
        #expect(pretty.contains("Ulimits:\n nofile: 1024:2048\n nproc: 300:300\n"), "\(pretty)")

        /// The task's sysctls, then its first process's open-files and processes limits, spaces squeezed.
        func inside() -> [String] {
            guard let id = node.lines("container", "ls", "-q", "--no-trunc").first else { return [] }
            let text = node.cli("container", "exec", id, "sh", "-c",
                                "cat /proc/sys/net/core/somaxconn /proc/sys/kernel/shmmni; grep -e 'open files' -e 'Max processes' /proc/1/limits").stdout
            return text.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
        }
        #expect(waitUntil(15) { inside() == ["1234", "2048", "Max processes 300 300 processes", "Max open files 1024 2048 files"] }, "\(inside())")
        // The host's values did not move.
        #expect((try? String(contentsOfFile: "/proc/sys/kernel/shmmni", encoding: .utf8)) != "2048\n")

        // Update: one removed, one changed.
        let update = node.cli("service", "update", "-d", "--sysctl-rm", "kernel.shmmni", "--ulimit-rm", "nproc", "--ulimit-add", "nofile=512:512", "tuned")
        #expect(update.status == 0, "\(update.stderr)")
        let updated = node.cli("service", "inspect", "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Sysctls}} {{json .Spec.TaskTemplate.ContainerSpec.Ulimits}}", "tuned").stdout
        #expect(updated == #"{"net.core.somaxconn":"1234"} [{"Hard":512,"Name":"nofile","Soft":512}]"# + "\n", "\(updated)")
        // The replacing task: the kernel's default for the removed ones (shmmni 4096, the node's nproc).
        #expect(waitUntil(20) { let lines = inside(); return lines.count == 4 && lines[0] == "1234" && lines[1] == "4096" && lines[3] == "Max open files 512 512 files" },
                "\(inside())")
        #expect(node.cli("service", "rm", "tuned").status == 0)
        #expect(waitUntil(15) { node.lines("container", "ls", "-aq").isEmpty })
    }

    @Test(.enabled(if: isRoot, rootReason))
    func sysctlsOutsideTheContainersNamespacesAreRefused() throws {
        let node = try SwarmNode()
        _ = try node.initialize()
        try node.importBusybox()
        let global = node.cli("service", "create", "--no-resolve-image", "--sysctl", "kernel.pid_max=100000", "busybox", "true")
        #expect(global.status == 1, "\(global.stdout)")
        #expect(global.stderr == "swarm: Error response from daemon: rpc error: code = InvalidArgument desc = ContainerSpec: sysctl \"kernel.pid_max\" is not allowed: only namespaced ones are (net.* with its own network, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)\n", "\(global.stderr)")
        let hostNet = node.cli("service", "create", "--no-resolve-image", "--network", "host", "--sysctl", "net.core.somaxconn=10", "busybox", "true")
        #expect(hostNet.status == 1 && hostNet.stderr.contains("is not allowed in the host's network namespace"), "\(hostNet.stderr)")
        let badLimit = node.cli("service", "create", "--no-resolve-image", "--ulimit", "nofile=10:5", "busybox", "true")
        #expect(badLimit.status == 1 && badLimit.stderr.contains("ulimit soft limit must be less than or equal to hard limit: 10 > 5"), "\(badLimit.stderr)")
        let badPref = node.cli("service", "create", "--no-resolve-image", "--placement-pref", "pack=node.labels.zone", "busybox", "true")
        #expect(badPref.status == 1 && badPref.stderr.contains("unsupported placement preference pack (only spread is supported)"), "\(badPref.stderr)")
        // Nothing was created.
        #expect(node.lines("service", "ls", "-q").isEmpty)
    }

    /// The stock docker CLI's `service create --sysctl --ulimit --placement-pref` stores what swarm's does,
    /// and its `--pretty` shows them as ours does.
    @Test(.enabled(if: hasDockerCLI, "needs root and the docker CLI (scripts/install-deps)"))
    func dockerCLIStoresTheSameSpec() throws {
        let node = try SwarmNode()
        _ = try node.initialize()
        try node.importBusybox()
        let flags = ["--no-resolve-image", "-d", "--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.msgmax=9000",
                     "--ulimit", "nofile=1000:2000", "--ulimit", "core=0", "--placement-pref", "spread=node.labels.zone",
                     "--placement-pref", "spread=node.labels.rack"]
        let ours = node.cli(["service", "create", "--name", "ours"] + flags + ["busybox", "sleep", "1000"])
        try #require(ours.status == 0, "\(ours.stderr)")
        let theirs = runProcess(dockerBinary!, ["-H", "unix://" + node.socket, "service", "create", "--name", "theirs"] + flags + ["busybox", "sleep", "1000"],
                                environment: node.sandbox.environment.merging(["DOCKER_CONFIG": node.sandbox.homeDir + "/.docker"]) { $1 })
        try #require(theirs.status == 0, "\(theirs.stderr)")
        let format = "{{json .Spec.TaskTemplate.ContainerSpec.Sysctls}} {{json .Spec.TaskTemplate.ContainerSpec.Ulimits}} {{json .Spec.TaskTemplate.Placement.Preferences}}"
        let stored = node.cli("service", "inspect", "--format", format, "ours").stdout
        #expect(stored == #"{"kernel.msgmax":"9000","net.ipv4.ip_forward":"1"} [{"Hard":0,"Name":"core","Soft":0},{"Hard":2000,"Name":"nofile","Soft":1000}] [{"Spread":{"SpreadDescriptor":"node.labels.zone"}},{"Spread":{"SpreadDescriptor":"node.labels.rack"}}]"# + "\n", "\(stored)")
        #expect(node.cli("service", "inspect", "--format", format, "theirs").stdout == stored)
        // Docker's --pretty (its own formatter, reading our API) and ours: the same lines for these.
        let dockerPretty = node.docker("service", "inspect", "--pretty", "theirs").stdout.split(separator: "\n").map(String.init)
        let ourPretty = node.cli("service", "inspect", "--pretty", "ours").stdout.split(separator: "\n").map(String.init)
        for marker in ["SysCtls:", "Ulimits:", " Preferences:"] {
            func section(_ lines: [String]) -> [String] {
                guard let start = lines.firstIndex(where: { $0.hasPrefix(marker) }) else { return [] }
                return Array(lines[start...].prefix { $0 == lines[start] || $0.hasPrefix(marker.hasPrefix(" ") ? "  " : " ") })
            }
            #expect(!section(dockerPretty).isEmpty && section(dockerPretty) == section(ourPretty), "docker's:\n\(dockerPretty.joined(separator: "\n"))\nours:\n\(ourPretty.joined(separator: "\n"))")
        }
    }
}
