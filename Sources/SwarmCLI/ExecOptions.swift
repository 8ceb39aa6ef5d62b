import ArgumentParser
import Containers
import Glibc
import SystemCalls

/// `container exec`'s command line as values: what ArgumentParser's
/// `ContainerCommand.Exec` and the fast path (`ExecOptions.parse(fast:)`)
/// both yield, and the one place the exec is run from.
struct ExecOptions: Equatable {
    var stateDir = RuntimeOptions.defaultStateDir
    var dataDir = RuntimeOptions.defaultDataDir
    var cgroupParent = RuntimeOptions.defaultCgroupParent
    var interactive = false
    var tty = false
    var detach = false
    var detachKeys: String?
    var env: [String] = []
    var envFile: [String] = []
    var user: String?
    var workdir: String?
    var privileged = false
    var container = ""
    /// The command and its arguments (at least the command).
    var command: [String] = []

    func run() throws {
        let runtime = try RuntimeOptions.runtime(stateDir: stateDir, dataDir: dataDir, cgroupParent: cgroupParent)
        var spec = ExecSpec(command: command)
        spec.env = try envFile.flatMap(readEnvFile) + env.compactMap(environmentEntry)
        spec.user = user
        spec.workingDir = workdir
        spec.privileged = privileged
        spec.detach = detach
        if !detach {
            spec.stdin = interactive ? 0 : -1
            spec.stdout = 1
            spec.stderr = 2
        }
        let keys = try DetachKeys.parse(detachKeys ?? DetachKeys.dockerDefault)
        if tty && !detach {
            if interactive && isatty(0) != 1 {
                throw RuntimeError.badInput("the input device is not a TTY: run without -t, or from a terminal")
            }
            try runWithTerminal(runtime: runtime, spec: spec, keys: keys)
        }
        throw ExitCode(try start(runtime, spec).wait())
    }

    /// `exec -t`: the command's session has a pty of the container's
    /// devpts as controlling terminal; this process relays its master.
    private func runWithTerminal(runtime: ContainerRuntime, spec base: ExecSpec, keys: [UInt8]) throws -> Never {
        var spec = base
        spec.stdin = -1
        spec.stdout = -1
        spec.stderr = -1
        spec.tty = true
        spec.terminalSize = terminalSize()
        let process = try start(runtime, spec)
        guard let master = process.master else { throw ExitCode(process.wait()) }
        let relay = TerminalRelay(link: .pty(master: master), input: interactive, terminal: isatty(0) == 1,
                                  detachKeys: interactive ? keys : [])
        if try relay.run() == .detached {
            // As `docker exec -it`: the command goes on without a caller.
            try PseudoTerminal.holdInBackground(master)
            writeStderr(TerminalRelay.detachedMessage)
            throw ExitCode(0)
        }
        close(master)
        throw ExitCode(process.wait())
    }

    /// Docker's message and status (126, 127) when the command does not start.
    private func start(_ runtime: ContainerRuntime, _ spec: ExecSpec) throws -> ExecProcess {
        do {
            return try runtime.exec(container, spec)
        } catch let failure as ExecFailure {
            writeStderr("swarm: \(failure.description)\n")
            throw ExitCode(failure.exitCode)
        }
    }
}
