import ArgumentParser
import Containers
import Formatting

extension ContainerCommand {
    struct Top: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "top",
            abstract: "Display the running processes of a container.",
            usage: "swarm container top CONTAINER [ps OPTIONS]",
            discussion: "The host's ps (default options -ef) lists the processes, and only those of the container's cgroup are shown, as Docker does."
        )

        @OptionGroup var global: RuntimeOptions
        @Argument(help: "Container ID or name.") var container: String
        @Argument(parsing: .captureForPassthrough, help: "Options for ps (default -ef).") var psOptions: [String] = []

        func run() throws {
            let table = try global.runtime().top(container, psArguments: psOptions)
            // docker/cli's writer: minimum width 20, padding 3.
            var writer = TabWriter(minWidth: 20, tabWidth: 1, padding: 3)
            writer.write(table.titles.joined(separator: "\t") + "\n")
            for row in table.processes { writer.write(row.joined(separator: "\t") + "\n") }
            writeStdout(writer.flush())
        }
    }
}
