import ArgumentParser
import Containers
import FoundationEssentials
import Formatting
import SystemCalls

/// `swarm volume …`: this node's local volumes, as `docker volume` shows
/// them. Services make theirs on the nodes that run their tasks.
struct VolumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "volume", abstract: "Manage volumes",
        subcommands: [Create.self, Inspect.self, List.self, Prune.self, Remove.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a volume")
        @OptionGroup var global: RuntimeOptions
        @Option(name: .customLong("label"), help: "Set metadata for a volume") var label: [String] = []
        @Option(name: [.customShort("d"), .customLong("driver")], help: "Specify volume driver name") var driver = "local"
        @Argument(help: "Volume name (a random one if none)") var name: String?

        func run() throws {
            guard driver == "local" else { throw RuntimeError.badInput("volume driver \(driver) is not supported: only local") }
            var labels: [String: String] = [:]
            for entry in label {
                let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
                labels[parts[0]] = parts.count > 1 ? parts[1] : ""
            }
            let volume = try global.runtime().volumes.ensure(name ?? ContainerRuntime.newID(), labels: labels).volume
            print(volume.Name)
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Display detailed information on one or more volumes")
        @OptionGroup var global: RuntimeOptions
        @Option(name: [.customShort("f"), .customLong("format")], help: "Format output using a custom template") var format: String?
        @Argument(help: "Volume names") var names: [String]

        func run() throws {
            let volumes = try global.runtime().volumes
            var found: [[UInt8]] = []
            var failed = false
            for name in names {
                do { found.append(Array(try JSONEncoder().encode(try volumes.inspect(name)))) } catch {
                    writeStderr("swarm: \(error)\n")
                    failed = true
                }
            }
            if !found.isEmpty || format == nil { try printObjects(found, format: format) }
            if failed { throw ExitCode(1) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List volumes", aliases: ["list"])
        @OptionGroup var global: RuntimeOptions
        @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Only display volume names") var quiet = false
        @Option(name: .customLong("format"), help: "Format output using a custom template") var format: String?
        @Option(name: [.customShort("f"), .customLong("filter")], help: "Provide filter values (e.g. \"dangling=true\", \"name=NAME\", \"label=KEY\")") var filter: [String] = []

        func run() throws {
            let runtime = try global.runtime()
            var volumes = runtime.volumes.list()
            for entry in filter {
                let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
                let value = parts.count > 1 ? parts[1] : ""
                switch parts[0] {
                case "name": volumes = volumes.filter { $0.Name.contains(value) }
                case "dangling": volumes = volumes.filter { runtime.volumeUsers($0.Name).isEmpty == (value == "true" || value == "1") }
                case "label":
                    let pair = value.split(separator: "=", maxSplits: 1).map(String.init)
                    volumes = volumes.filter { $0.Labels[pair[0]] != nil && (pair.count == 1 || $0.Labels[pair[0]] == pair[1]) }
                case "driver": volumes = volumes.filter { $0.Driver == value }
                default: throw RuntimeError.badInput("invalid filter '\(parts[0])': use dangling, name, label or driver")
                }
            }
            if quiet {
                volumes.forEach { print($0.Name) }
                return
            }
            let rows: [[String: TemplateValue]] = volumes.map {
                ["Driver": .string($0.Driver), "Name": .string($0.Name), "Mountpoint": .string($0.Mountpoint), "Scope": .string($0.Scope),
                 "Labels": .string($0.Labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))]
            }
            try printList(rows, format: format, quiet: false, defaultTable: "table {{.Driver}}\t{{.Name}}",
                          headers: ["Driver": "DRIVER", "Name": "VOLUME NAME", "Mountpoint": "MOUNTPOINT", "Scope": "SCOPE", "Labels": "LABELS"])
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove one or more volumes", aliases: ["remove"])
        @OptionGroup var global: RuntimeOptions
        @Flag(name: [.customShort("f"), .customLong("force")], help: "Force the removal of one or more volumes") var force = false
        @Argument(help: "Volume names") var names: [String]

        func run() throws {
            let runtime = try global.runtime()
            try each(names) { name in
                // Docker's --force forgives a volume that does not exist, never one in use.
                if force, (try? runtime.volumes.inspect(name)) == nil { return }
                try runtime.removeVolume(name)
            }
        }
    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove unused local volumes")
        @OptionGroup var global: RuntimeOptions
        @Flag(name: [.customShort("a"), .customLong("all")], help: "Remove all unused volumes, not just anonymous ones") var all = false
        @Flag(name: [.customShort("f"), .customLong("force")], help: "Do not prompt for confirmation") var force = false

        func run() throws {
            if !force {
                writeStdout("WARNING! This will remove \(all ? "all" : "anonymous") local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ")
                guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else { return }
            }
            let removed = try global.runtime().pruneVolumes(all: all)
            if !removed.isEmpty { print("Deleted Volumes:\n" + removed.joined(separator: "\n") + "\n") }
            print("Total reclaimed space: 0B")
        }
    }
}
