import ArgumentParser
import Containers
import Glibc
import SystemCalls

extension ContainerCommand {
    struct Attach: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "attach",
            abstract: "Attach local standard input, output, and error streams to a running container.",
            usage: "swarm container attach [OPTIONS] CONTAINER",
            discussion: """
                Connects to the container's monitor (<state>/containers/<id>/attach.sock): its terminal \
                with -t (raw mode, window size followed), else its stdout and stderr; stdin goes to the \
                container when it was started with -i. The detach keys (default Ctrl-P Ctrl-Q) leave it \
                running; otherwise the exit status is the container's.
                """
        )

        @OptionGroup var global: RuntimeOptions
        @Flag(name: .customLong("no-stdin"), help: "Do not attach STDIN.") var noStdin = false
        @Option(name: .customLong("detach-keys"), help: "Override the key sequence for detaching a container (default ctrl-p,ctrl-q).")
        var detachKeys: String?
        @Argument(help: "The container (name or ID).") var container: String

        func run() throws {
            let runtime = try global.runtime()
            let keys = try DetachKeys.parse(detachKeys ?? DetachKeys.dockerDefault)
            let info = try runtime.inspect(container)
            let tty = info.record.spec.tty == true
            let input = !noStdin && info.record.spec.openStdin == true
            if input && tty && isatty(0) != 1 {
                throw RuntimeError.badInput("the input device is not a TTY: use --no-stdin, or attach from a terminal")
            }
            let connection = try runtime.attach(info.id)
            defer { close(connection.fd) }
            let relay = TerminalRelay(link: .monitor(connection), input: input, terminal: tty && isatty(0) == 1,
                                      detachKeys: input ? keys : [])
            if try relay.run() == .detached {
                writeStderr(TerminalRelay.detachedMessage)
                return
            }
            // A container run with --rm is gone with its exit status by now.
            let state = try? runtime.wait(info.id)
            throw ExitCode(state?.exitCode ?? 0)
        }
    }
}
