import ArgumentParser
import Containers
import Glibc
import SystemCalls

extension ContainerCommand {
    struct Copy: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cp",
            abstract: "Copy files/folders between a container and the local filesystem.",
            usage: "swarm container cp CONTAINER:SRC_PATH DEST_PATH\n       swarm container cp SRC_PATH CONTAINER:DEST_PATH",
            discussion: """
                Container paths are relative to the container's / and are resolved inside its root file \
                system as the container sees it (its mounts included); a path that leads out of it \
                (../../etc/passwd) is refused. The container must be running.
                """
        )

        @OptionGroup var global: RuntimeOptions
        @Argument(help: "CONTAINER:SRC_PATH or SRC_PATH.") var source: String
        @Argument(help: "DEST_PATH or CONTAINER:DEST_PATH.") var destination: String

        /// "name:path" → (name, path); a path with a slash before any colon
        /// is local, as Docker splits them.
        static func split(_ argument: String) -> (container: String, path: String)? {
            guard let colon = argument.firstIndex(of: ":") else { return nil }
            let head = argument[..<colon]
            if head.isEmpty || head.contains("/") || argument.hasPrefix(".") { return nil }
            return (String(head), String(argument[argument.index(after: colon)...]))
        }

        func run() throws {
            let from = Self.split(source), to = Self.split(destination)
            if from != nil && to != nil { throw RuntimeError.badInput("copying between containers is not supported") }
            guard from != nil || to != nil else { throw RuntimeError.badInput("must specify at least one container source") }
            if source == "-" || destination == "-" {
                throw RuntimeError.badInput("tar streams (-) are not supported: give a file or directory path")
            }
            let runtime = try global.runtime()
            if let from {
                guard !from.path.isEmpty else { throw RuntimeError.badInput("filepath cannot be empty") }
                try runtime.copy(from.container, .fromContainer(path: from.path, toHost: destination))
            } else if let to {
                guard !to.path.isEmpty else { throw RuntimeError.badInput("filepath cannot be empty") }
                try runtime.copy(to.container, .toContainer(fromHost: source, path: to.path))
            }
        }
    }
}
