import ArgumentParser

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

        /// What was parsed, as the fast path gives it too.
        var options: ExecOptions {
            ExecOptions(stateDir: global.stateDir, dataDir: global.dataDir, cgroupParent: global.cgroupParent,
                        interactive: interactive, tty: tty, detach: detach, detachKeys: detachKeys, env: env,
                        envFile: envFile, user: user, workdir: workdir, privileged: privileged,
                        container: positionals[0], command: Array(positionals.dropFirst()))
        }

        func run() throws { try options.run() }
    }
}
