import ArgumentParser
import Containers
import Dispatch
import FoundationEssentials
import Glibc
import OCIImages
import SwarmClient
import SystemCalls

public struct Swarm: ParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(
        commandName: "swarm",
        abstract: "Docker Swarm's job without Docker: a swarm of hosts running services, and the containers on each.",
        subcommands: [ContainerCommand.self, ImageCommand.self, Login.self, SwarmGroup.self, InitCommand.self, JoinCommand.self,
                      JoinTokenCommand.self, LeaveCommand.self, DaemonCommand.self, NodeCommand.self, NetworkCommand.self, ServiceCommand.self, StackCommand.self, SecretCommand.self, ConfigCommand.self, VolumeCommand.self, EventsCommand.self, InfoCommand.self, LabCommand.self]
    )
}

/// Options every container command takes: where state and cgroups live.
public struct RuntimeOptions: ParsableArguments {
    public init() {}
    // getenv, not ProcessInfo's dictionary of the whole environment: `container exec` reads them at every start.
    static var defaultStateDir: String { getenv("SWARM_STATE_DIR").map { String(cString: $0) } ?? "/run/swarm" }
    static var defaultDataDir: String { getenv("SWARM_DATA_DIR").map { String(cString: $0) } ?? "/var/lib/swarm" }
    static var defaultCgroupParent: String { getenv("SWARM_CGROUP_PARENT").map { String(cString: $0) } ?? "swarm.slice" }

    @Option(name: .customLong("state-dir"), help: "Where container state is kept (env SWARM_STATE_DIR).")
    public var stateDir: String = RuntimeOptions.defaultStateDir

    @Option(name: .customLong("data-dir"), help: "Where images and containers' files are kept (env SWARM_DATA_DIR).")
    public var dataDir: String = RuntimeOptions.defaultDataDir

    @Option(name: .customLong("cgroup-parent"), help: "cgroup v2 parent of containers, under the cgroup2 mount.")
    public var cgroupParent: String = RuntimeOptions.defaultCgroupParent

    public func runtime() throws -> ContainerRuntime {
        try Self.runtime(stateDir: stateDir, dataDir: dataDir, cgroupParent: cgroupParent)
    }

    /// Also without the parser (`container exec`'s fast path, `ExecOptions`).
    static func runtime(stateDir: String, dataDir: String, cgroupParent: String) throws -> ContainerRuntime {
        guard getuid() == 0 else {
            throw RuntimeError.badInput("containers need root (namespaces, mounts, cgroups): run swarm as root or with sudo")
        }
        return try ContainerRuntime(stateRoot: stateDir, dataRoot: dataDir, cgroups: CgroupManager.host(parent: cgroupParent))
    }

    public func imageStore() throws -> ImageStore {
        guard getuid() == 0 else {
            throw RuntimeError.badInput("images need root (layers keep their owners and device nodes): run swarm as root or with sudo")
        }
        return ImageStore(root: dataDir + "/images")
    }
}

/// Writes all of `text` to a descriptor, bypassing stdio buffers so output
/// interleaves correctly with the container's.
public func writeAll(_ fd: Int32, _ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if written < 0 { if errno == EINTR { continue }; return }
        bytes = bytes.dropFirst(written)
    }
}

public func writeStdout(_ text: String) { writeAll(1, text) }
public func writeStderr(_ text: String) { writeAll(2, text) }

/// Exits with a one-line message on stderr: "swarm: ...", status 1.
func fail(_ message: String, hint: String? = nil) -> Never {
    writeStderr("swarm: " + message + (hint.map { " (\($0))" } ?? "") + "\n")
    exit(1)
}

/// The command line as a command; on a parse error, exits with it (`--help` and `--version` print and exit 0).
private func parseCLI(_ commandLine: [String]) -> ParsableCommand {
    parseArguments(normalizedArguments(commandLine))
}

/// Docker's global `-H` taken out, Go's boolean forms made ours.
private func normalizedArguments(_ commandLine: [String]) -> [String] {
    var arguments = commandLine
    // Docker's global `-H HOST` before the command: the same as SWARM_HOST.
    while arguments.count >= 2, ["-H", "--host"].contains(arguments[0]) {
        setenv("SWARM_HOST", arguments[1], 1)
        arguments.removeFirst(2)
    }
    // Go's boolean flags take `=true|false`: `--detach=false` is our `--no-detach`.
    arguments = arguments.map { argument in
        switch argument {
        case "--detach=true", "-d=true": return "--detach"
        case "--detach=false", "-d=false": return "--no-detach"
        default: return argument
        }
    }
    return arguments
}

private func parseArguments(_ arguments: [String]) -> ParsableCommand {
    if let unknown = CommandPath.unknownCommand(arguments) { fail(unknown.message, hint: unknown.hint) }
    do {
        return try Swarm.parseAsRoot(arguments)
    } catch {
        let code = Swarm.exitCode(for: error)
        if code == .success {
            // --help and --version
            print(Swarm.fullMessage(for: error))
            exit(0)
        }
        let message = Swarm.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments"
        let path = arguments.prefix { !$0.hasPrefix("-") }.prefix(2).joined(separator: " ")
        fail(message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message, hint: "see 'swarm \(path)\(path.isEmpty ? "" : " ")--help'")
    }
}

/// Runs the CLI: parse errors and runtime errors alike end in one line and
/// status 1, so scripts can rely on it. `swarmd` runs it (after registering
/// what only it can do, `DaemonBinary`); `swarm` starts with `startCLI`.
public func runCLI(_ commandLine: [String] = Array(CommandLine.arguments.dropFirst())) async -> Never {
    var command = parseCLI(commandLine)
    do {
        if var command = command as? AsyncParsableCommand {
            try await command.run()
        } else {
            try command.run()
        }
        exit(0)
    } catch {
        exitOnCLIError(error)
    }
}

/// `swarm`'s entry: a synchronous command (`container exec`, `run`, `ls`…)
/// runs at once on the main thread, without starting Swift's async runtime,
/// whose threads cost milliseconds at every start (most of an exec's time);
/// an async one runs in a task while the main thread parks.
public func startCLI(_ commandLine: [String] = Array(CommandLine.arguments.dropFirst())) -> Never {
    let arguments = normalizedArguments(commandLine)
    // `container exec` without ArgumentParser's cost (see ExecOptions.parse(fast:)).
    if let exec = ExecOptions.parse(fast: arguments) {
        do {
            try exec.run()
            exit(0)
        } catch {
            exitOnCLIError(error)
        }
    }
    var command = parseArguments(arguments)
    guard command is AsyncParsableCommand else {
        do {
            try command.run()
            exit(0)
        } catch {
            exitOnCLIError(error)
        }
    }
    Task { await runCLI(commandLine) }
    dispatchMain()
}

private func exitOnCLIError(_ error: any Error) -> Never {
    switch error {
    case let code as ExitCode:
        exit(code.rawValue)
    case is APIClient.RemoteTransportMissing:
        // tcp://MANAGER needs the cluster's TLS, which swarmd has.
        do { try DaemonBinary.forward() } catch { fail("\(error)") }
    case let error as RuntimeError:
        fail(error.description)
    default:
        // A command group run without a subcommand asks for its help.
        if Swarm.exitCode(for: error) == .success {
            print(Swarm.fullMessage(for: error))
            exit(0)
        }
        fail(Swarm.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)")
    }
}

