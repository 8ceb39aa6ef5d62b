import ArgumentParser
import Containers
import SystemCalls

extension ContainerCommand {
    struct Port: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "port",
            abstract: "List port mappings or a specific mapping for the container.",
            usage: "swarm container port CONTAINER [PRIVATE_PORT[/PROTO]]",
            discussion: """
                Containers run by `swarm container run` publish no ports (they have their own network \
                namespace with loopback only, the host's, or a swarm overlay network; services publish \
                through the routing mesh, see `swarm service inspect`): the list is empty, and asking \
                for a private port is Docker's error for a port not published.
                """
        )

        @OptionGroup var global: RuntimeOptions
        @Argument(help: "The container (name or ID).") var container: String
        @Argument(help: "A private port, with /tcp (default), /udp or /sctp.") var privatePort: String?

        func run() throws {
            let runtime = try global.runtime()
            _ = try runtime.inspect(container)   // Docker's error for an unknown container
            // No container of this runtime has a published port: the list is empty.
            guard let privatePort else { return }
            let parts = privatePort.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            let proto = parts.count == 2 ? String(parts[1]) : "tcp"
            guard UInt16(parts[0]) != nil, ["tcp", "udp", "sctp"].contains(proto) else {
                throw RuntimeError.badInput("invalid port (\(privatePort)): give a port number 0-65535, optionally with /tcp, /udp or /sctp")
            }
            writeStderr("Error: No public port '\(parts[0])/\(proto)' published for \(container)\n")
            throw ExitCode(1)
        }
    }
}
