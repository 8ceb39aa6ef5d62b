import ArgumentParser
import Containers
import Glibc
import SystemCalls

extension ContainerCommand {
    struct Exec: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "exec",
            abstract: "Run a command in a running container.",
            usage: "swarm container exec [OPTIONS] CONTAINER COMMAND [ARG...]",
            discussion: """
                The command joins every namespace and the cgroup of the container, and runs with its \
                capabilities, no_new_privs and seccomp filter, its environment and user (unless -e, -u \
                or -w say otherwise). The exit status is the command's; 126 if it cannot be run, 127 if \
                it is not found. Works on the task containers of services (web.1.<task id>) on this node. \
                With -t the command gets a pty of the container's own devpts (`tty` inside names it). \
                The detach keys (-it) give the caller's terminal back and leave the command running, \
                as `docker exec -it` does; its output is then dropped, and it cannot be attached again.
                """
        )

        @OptionGroup var global: RuntimeOptions
        @Flag(name: .shortAndLong, help: "Keep STDIN open (the command reads this terminal or pipe).") var interactive = false
        @Flag(name: .shortAndLong, help: "Allocate a pseudo-TTY.") var tty = false
        @Flag(name: .shortAndLong, help: "Detached mode: run the command in the background.") var detach = false
        @Option(name: .customLong("detach-keys"), help: "Override the key sequence for detaching (default ctrl-p,ctrl-q).")
        var detachKeys: String?
        @Option(name: [.customShort("e"), .customLong("env")], help: "Set an environment variable (KEY=VALUE, or KEY to pass it through).")
        var env: [String] = []
        @Option(name: .customLong("env-file"), help: "Read environment variables from a file.") var envFile: [String] = []
        @Option(name: [.customShort("u"), .long], help: "User: UID[:GID] or name[:group] (default: the container's).") var user: String?
        @Option(name: [.customShort("w"), .customLong("workdir")], help: "Working directory inside the container (default: the container's).")
        var workdir: String?
        @Flag(help: "Give the command every capability.") var privileged = false
        @Argument(parsing: .captureForPassthrough, help: "CONTAINER, then the command and its arguments.")
        var positionals: [String] = []

        func validate() throws {
            if positionals.first == "--help" { throw CleanExit.helpRequest(self) }
            if let first = positionals.first, first.hasPrefix("-") { throw ValidationError("unknown flag: \(first)") }
            if positionals.count < 2 {
                throw ValidationError("\"swarm container exec\" requires at least 2 arguments: CONTAINER COMMAND [ARG...]")
            }
        }

        func run() throws {
            let runtime = try global.runtime()
            var spec = ExecSpec(command: Array(positionals.dropFirst()))
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
            let process: ExecProcess
            do {
                process = try runtime.exec(positionals[0], spec)
            } catch let failure as ExecFailure {
                writeStderr("swarm: \(failure.description)\n")
                throw ExitCode(failure.exitCode)
            }
            throw ExitCode(process.wait())
        }

        /// `exec -t`: the command's session has a pty of the container's
        /// devpts as controlling terminal; this process relays its master.
        func runWithTerminal(runtime: ContainerRuntime, spec base: ExecSpec, keys: [UInt8]) throws -> Never {
            var spec = base
            spec.stdin = -1
            spec.stdout = -1
            spec.stderr = -1
            spec.tty = true
            spec.terminalSize = terminalSize()
            let process: ExecProcess
            do {
                process = try runtime.exec(positionals[0], spec)
            } catch let failure as ExecFailure {
                writeStderr("swarm: \(failure.description)\n")
                throw ExitCode(failure.exitCode)
            }
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
    }
}
