import ArgumentParser
import Containers
import Dispatch
import FoundationEssentials
import Glibc
import OCIImages
import SystemCalls

struct ContainerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "container",
        abstract: "Run and manage containers on this host (no manager involved).",
        subcommands: [Run.self, Exec.self, Attach.self, Top.self, Stats.self, Copy.self, Port.self, List.self, Inspect.self, Logs.self, Stop.self, Kill.self, Remove.self]
    )
}

extension ContainerCommand {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run a command in a new container.",
            usage: "swarm container run [OPTIONS] IMAGE [COMMAND [ARG...]]\n       swarm container run [OPTIONS] --rootfs DIR COMMAND [ARG...]"
        )

        @OptionGroup var global: RuntimeOptions
        @OptionGroup var registry: RegistryOptions
        @Option(help: "Pull the image: missing (default), always or never.") var pull: String = "missing"
        @Flag(name: .customLong("rm"), help: "Remove the container when it exits.") var autoRemove = false
        @Flag(name: .shortAndLong, help: "Run in the background and print the container ID.") var detach = false
        @Flag(name: .shortAndLong, help: "Keep STDIN open (the container reads this terminal or pipe).") var interactive = false
        @Flag(name: .shortAndLong, help: "Allocate a pseudo-TTY (kept by the container's monitor; Ctrl-P Ctrl-Q detaches).") var tty = false
        @Option(name: .customLong("detach-keys"), help: "Override the key sequence for detaching a container (default ctrl-p,ctrl-q).")
        var detachKeys: String?
        @Option(help: "Name the container.") var name: String?
        @Option(name: [.customShort("h"), .long], help: "Container host name.") var hostname: String?
        @Option(name: [.customShort("e"), .customLong("env")], help: "Set an environment variable (KEY=VALUE, or KEY to pass it through).")
        var env: [String] = []
        @Option(name: .customLong("env-file"), help: "Read environment variables from a file.") var envFile: [String] = []
        @Option(help: "Attach a mount: type=bind|volume|tmpfs,source=S,target=T[,readonly].") var mount: [String] = []
        @Option(name: [.customShort("v"), .customLong("volume")], help: "Bind mount a host path or a volume: /host:/path, NAME:/path or /path (anonymous), [:ro].")
        var volume: [String] = []
        @Option(help: "Mount a tmpfs: /path[:size=64m,mode=1777].") var tmpfs: [String] = []
        @Option(name: [.customShort("w"), .customLong("workdir")], help: "Working directory inside the container.")
        var workdir: String?
        @Option(name: [.customShort("u"), .long], help: "User: UID[:GID] or name[:group].") var user: String?
        @Option(name: .customLong("cap-add"), help: "Add a Linux capability (e.g. NET_ADMIN, ALL).") var capAdd: [String] = []
        @Option(name: .customLong("cap-drop"), help: "Drop a Linux capability (e.g. CHOWN, ALL).") var capDrop: [String] = []
        @Flag(name: .customLong("read-only"), help: "Mount the root file system read-only.") var readOnly = false
        @Flag(name: .customLong("init"), help: "Run an init as PID 1 that forwards signals and reaps zombies.") var initProcess = false
        @Option(help: "Network: none (own namespace, loopback only), host, or an attachable overlay network of the swarm (name or ID).")
        var network: String = "none"
        @Option(name: [.customShort("m"), .long], help: "Memory limit (e.g. 64m); needs the cgroup v2 memory controller.")
        var memory: String?
        @Option(help: "CPU limit (e.g. 0.5); needs the cgroup v2 cpu controller.") var cpus: String?
        @Option(name: .customLong("pids-limit"), help: "Process limit; needs the cgroup v2 pids controller.") var pidsLimit: Int64?
        @Option(name: .customLong("stop-signal"), help: "Signal that stops the container (default: the image's, or SIGTERM).") var stopSignal: String?
        @Option(help: "Overwrite the image's ENTRYPOINT (the image's CMD is then not used).") var entrypoint: String?
        @Option(name: .customLong("stop-timeout"), help: "Seconds to wait after the stop signal before killing.") var stopTimeout: Int = 10
        @Option(name: .customLong("log-opt"), help: "json-file log option: max-size=10m, max-file=3.") var logOpt: [String] = []
        @Option(name: .customLong("health-cmd"), help: "Command to run to check health (run by the container's monitor).")
        var healthCmd: String?
        @Option(name: .customLong("health-interval"), help: "Time between running the check (e.g. 30s).") var healthInterval: String?
        @Option(name: .customLong("health-timeout"), help: "Maximum time to allow one check to run.") var healthTimeout: String?
        @Option(name: .customLong("health-start-period"), help: "Start period during which failures do not count.") var healthStartPeriod: String?
        @Option(name: .customLong("health-retries"), help: "Consecutive failures needed to report unhealthy.") var healthRetries: Int?
        @Flag(name: .customLong("no-healthcheck"), help: "Disable any container-specified HEALTHCHECK.") var noHealthcheck = false
        @Option(name: .customLong("security-opt"), help: "seccomp=unconfined turns the default seccomp profile off; no-new-privileges is always on.")
        var securityOpt: [String] = []
        @Option(help: "Run this root file system directory instead of an image.") var rootfs: String?
        @Argument(parsing: .captureForPassthrough, help: "IMAGE (unless --rootfs), then the command and its arguments.")
        var rawPositionals: [String] = []

        /// Without a "--" that ends the options (as Docker's: only before the image).
        var positionals: [String] { rawPositionals.first == "--" ? Array(rawPositionals.dropFirst()) : rawPositionals }

        func validate() throws {
            // The passthrough argument takes --help too (-h is --hostname, as in Docker).
            if positionals.first == "--help" { throw CleanExit.helpRequest(self) }
            // An unknown option before the image would otherwise be taken for it.
            if let first = positionals.first, first.hasPrefix("-") { throw ValidationError("unknown flag: \(first)") }
            if rootfs == nil && positionals.isEmpty {
                throw ValidationError("\"swarm container run\" requires at least 1 argument: IMAGE [COMMAND [ARG...]], or --rootfs DIR COMMAND")
            }
        }

        func spec() throws -> ContainerSpec {
            var spec = rootfs.map { ContainerSpec(rootfs: $0, command: positionals) }
                ?? ContainerSpec(image: positionals[0], command: Array(positionals.dropFirst()))
            spec.entrypoint = entrypoint.map { $0.isEmpty ? [] : [$0] }
            spec.env = try envFile.flatMap(readEnvFile) + env.compactMap(environmentEntry)
            for option in try mount.map(MountOption.parse(mount:)) + volume.map(MountOption.parse(volume:)) {
                switch option {
                case .bind(let bind): spec.mounts.append(bind)
                case .volume(let volume): spec.volumes = (spec.volumes ?? []) + [volume]
                case .tmpfs(let mount): spec.tmpfs = (spec.tmpfs ?? []) + [mount]
                }
            }
            let tmpfsMounts = try tmpfs.map(MountOption.parse(tmpfs:))
            if !tmpfsMounts.isEmpty { spec.tmpfs = (spec.tmpfs ?? []) + tmpfsMounts }
            spec.workingDir = workdir
            spec.user = user
            spec.hostname = hostname
            spec.capAdd = capAdd
            spec.capDrop = capDrop
            spec.readOnlyRootfs = readOnly
            spec.initProcess = initProcess
            // Any other name is a swarm network, attached in `run` (ContainerRun+Network.swift).
            spec.network = NetworkMode(rawValue: network) ?? .none
            spec.resources.memoryBytes = try memory.map(Resources.parseMemory)
            spec.resources.nanoCPUs = try cpus.map(Resources.parseCPUs)
            spec.resources.pidsLimit = pidsLimit
            spec.stopSignal = try stopSignal.map(Signals.parse)
            guard stopTimeout >= 0 else { throw RuntimeError.badInput("invalid --stop-timeout \(stopTimeout): use seconds >= 0") }
            spec.stopTimeout = stopTimeout
            for option in logOpt { try spec.log.apply(option) }
            for option in securityOpt {
                switch option {
                case "seccomp=unconfined", "seccomp:unconfined": spec.seccomp = false
                case "no-new-privileges", "no-new-privileges=true", "no-new-privileges:true": continue
                default: throw RuntimeError.badInput("unsupported --security-opt \(option): use seccomp=unconfined or no-new-privileges")
                }
            }
            spec.autoRemove = autoRemove
            spec.tty = tty ? true : nil
            spec.openStdin = interactive ? true : nil
            if noHealthcheck {
                spec.healthcheck = ImageConfig.Healthcheck(Test: ["NONE"])
            } else if healthCmd != nil || healthInterval != nil || healthTimeout != nil || healthStartPeriod != nil || healthRetries != nil {
                spec.healthcheck = ImageConfig.Healthcheck(
                    Test: healthCmd.map { ["CMD-SHELL", $0] }, Interval: try healthInterval.map(Durations.parse),
                    Timeout: try healthTimeout.map(Durations.parse), StartPeriod: try healthStartPeriod.map(Durations.parse),
                    Retries: healthRetries)
            }
            return spec
        }

        func run() async throws {
            var spec = try spec()
            let runtime = try global.runtime()
            if let image = spec.image {
                guard ["missing", "always", "never"].contains(pull) else {
                    throw RuntimeError.badInput("invalid --pull \(pull): use missing, always or never")
                }
                let present = try runtime.images.lookup(image) != nil
                if pull == "always" || (!present && pull == "missing") {
                    let reference = try ImageReference.parse(image)
                    // Pulls are swarmd's: in swarm this runs the command there, before anything is said or done.
                    _ = try DaemonBinary.operations()
                    if !present { writeStderr("Unable to find image '\(reference.familiar)' locally\n") }
                    try await pullImage(reference, store: runtime.images, registry: registry, output: 2)
                }
            }
            let keys = try DetachKeys.parse(detachKeys ?? DetachKeys.dockerDefault)
            if !detach && interactive && tty && isatty(0) != 1 {
                throw RuntimeError.badInput("the input device is not a TTY: run without -t, or from a terminal")
            }
            let overlay = NetworkMode(rawValue: network) == nil ? try await attach(&spec, runtime: runtime) : nil
            if !detach && (interactive || tty) {
                try await runAttached(spec, runtime: runtime, overlay: overlay, keys: keys)
            }
            if detach {
                // The node's daemon releases the attachment when the container ends.
                let container: StartedContainer
                do { container = try runtime.run(spec, name: name ?? overlay?.name) } catch {
                    if let overlay { await release(overlay.attachment) }
                    throw error
                }
                container.detach()
                print(container.id)
                return
            }
            let container: StartedContainer
            do {
                container = try runtime.run(spec, name: name ?? overlay?.name, attach: .init(stdout: 1, stderr: 2))
            } catch {
                if let overlay { await release(overlay.attachment) }
                throw error
            }
            // Like `docker run` (--sig-proxy): signals to the CLI go to the container.
            let proxies = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2].map { signal in
                Glibc.signal(signal, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signal, queue: .global())
                source.setEventHandler { _ = try? runtime.kill(container.id, signal: signal) }
                source.resume()
                return source
            }
            let status = container.wait()
            proxies.forEach { $0.cancel() }
            if let overlay { await release(overlay.attachment) }
            throw ExitCode(status?.exitCode ?? 1)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List containers.", aliases: ["ps", "list"])
        @OptionGroup var global: RuntimeOptions
        @Flag(name: .shortAndLong, help: "Show all containers (default shows just running).") var all = false
        @Flag(name: .shortAndLong, help: "Only display container IDs.") var quiet = false
        @Flag(name: .customLong("no-trunc"), help: "Don't truncate output.") var noTrunc = false

        func run() throws {
            let containers = try global.runtime().list(all: all)
            if quiet {
                containers.forEach { print(noTrunc ? $0.id : String($0.id.prefix(12))) }
                return
            }
            var rows = [["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]]
            let now = Date()
            for container in containers {
                let command = "\"" + Render.truncate(container.record.argv.joined(separator: " "), to: noTrunc ? nil : 20) + "\""
                rows.append([
                    noTrunc ? container.id : String(container.id.prefix(12)),
                    container.record.image?.reference ?? container.record.rootfs,
                    command,
                    Render.humanDuration(now.timeIntervalSince(container.record.created)) + " ago",
                    Render.status(container.state, now: now),
                    "",
                    container.name,
                ])
            }
            print(Render.table(rows), terminator: "")
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show details of containers as JSON.")
        @OptionGroup var global: RuntimeOptions
        @Argument(help: "Container IDs or names.") var containers: [String]

        func run() throws {
            let runtime = try global.runtime()
            try printInspect(containers) { ContainerInspect(try runtime.inspect($0)) }
        }
    }

    struct Logs: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print a container's output.")
        @OptionGroup var global: RuntimeOptions
        @Flag(name: .shortAndLong, help: "Follow the output until the container exits.") var follow = false
        @Option(name: [.customShort("n"), .long], help: "Number of lines to show from the end (or all).") var tail: String = "all"
        @Flag(name: .shortAndLong, help: "Show timestamps.") var timestamps = false
        @Argument(help: "Container ID or name.") var container: String

        func run() throws {
            let runtime = try global.runtime()
            let info = try runtime.inspect(container)
            var lines: Int?
            if tail != "all" {
                guard let n = Int(tail), n >= 0 else { throw RuntimeError.badInput("invalid --tail \(tail): use a number or all") }
                lines = n
            }
            let reader = LogReader(path: info.record.logPath, maxFiles: info.record.spec.log.maxFiles)
            reader.copy(tail: lines, timestamps: timestamps, follow: follow,
                        isRunning: { (try? runtime.inspect(container).state.status) == .running }) { entry, stamp in
                let text = (stamp ? entry.time + " " : "") + entry.log
                writeAll(entry.stream == "stderr" ? 2 : 1, text)
            }
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop containers: the stop signal, then SIGKILL after the timeout.")
        @OptionGroup var global: RuntimeOptions
        @Option(name: [.customShort("t"), .customLong("time"), .customLong("timeout")], help: "Seconds to wait before killing (default: the container's stop timeout).")
        var time: Int?
        @Option(name: .shortAndLong, help: "Signal to send instead of the container's stop signal.") var signal: String?
        @Argument(help: "Container IDs or names.") var containers: [String]

        func run() throws {
            let runtime = try global.runtime()
            let number = try signal.map(Signals.parse)
            try each(containers) { try runtime.stop($0, timeout: time, signal: number) }
        }
    }

    struct Kill: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "kill", abstract: "Send a signal to containers (default SIGKILL).")
        @OptionGroup var global: RuntimeOptions
        @Option(name: .shortAndLong, help: "Signal to send.") var signal: String = "KILL"
        @Argument(help: "Container IDs or names.") var containers: [String]

        func run() throws {
            let runtime = try global.runtime()
            let number = try Signals.parse(signal)
            try each(containers) { try runtime.kill($0, signal: number) }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove containers.")
        @OptionGroup var global: RuntimeOptions
        @Flag(name: .shortAndLong, help: "Kill and remove a running container.") var force = false
        @Flag(name: [.customShort("v"), .customLong("volumes")], help: "Remove anonymous volumes associated with the container.") var volumes = false
        @Argument(help: "Container IDs or names.") var containers: [String]

        func run() throws {
            let runtime = try global.runtime()
            try each(containers) { try runtime.remove($0, force: force, volumes: volumes) }
        }
    }
}

/// `inspect` of several references, as Docker prints it: one JSON array of
/// what was found, a line on stderr for each miss, exit 1 if any missed.
func printInspect<T: Encodable>(_ refs: [String], _ find: (String) throws -> T) throws {
    var found: [T] = []
    var failed = false
    for ref in refs {
        do { found.append(try find(ref)) } catch {
            writeStderr("swarm: \(error)\n")
            failed = true
        }
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    writeStdout(String(decoding: try encoder.encode(found), as: UTF8.self) + "\n")
    if failed { throw ExitCode(1) }
}

/// Docker's way with several references: print each that worked, report each
/// that failed on its own line, exit 1 if any failed.
func each(_ refs: [String], _ body: (String) throws -> Void) throws {
    var failed = false
    for ref in refs {
        do {
            try body(ref)
            print(ref)
        } catch {
            writeStderr("swarm: \(error)\n")
            failed = true
        }
    }
    if failed { throw ExitCode(1) }
}
