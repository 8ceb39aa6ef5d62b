import ArgumentParser
import Containers
import Dispatch
import Formatting
import FoundationEssentials
import Glibc
import SystemCalls

extension ContainerCommand {
    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stats",
            abstract: "Display a live stream of containers' resource usage.",
            usage: "swarm container stats [OPTIONS] [CONTAINER...]",
            discussion: """
                Read from the containers' cgroup v2 files and network namespaces. A value this host \
                does not provide (a controller bound to cgroup v1 on a hybrid host) is shown as --.
                """
        )

        @OptionGroup var global: RuntimeOptions
        @Flag(name: .customLong("no-stream"), help: "Disable streaming stats and only pull the first result.") var noStream = false
        @Flag(name: .customLong("no-trunc"), help: "Do not truncate output.") var noTrunc = false
        @Option(help: "Format output using a custom template ('table', 'table TEMPLATE', 'json', or a Go template).") var format: String?
        @Argument(help: "Container IDs or names (default: all running).") var containers: [String] = []

        static let defaultTable = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"
        static let headers = ["ID": "CONTAINER ID", "Container": "CONTAINER", "Name": "NAME", "CPUPerc": "CPU %",
                              "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
                              "BlockIO": "BLOCK I/O", "PIDs": "PIDS"]

        func run() throws {
            let runtime = try global.runtime()
            let refs = containers.isEmpty ? runtime.list(all: false).map(\.id) : containers
            // CPU % needs two readings; Docker's one-shot stats also take
            // them a second apart.
            var previous = try sample(runtime, refs)
            while true {
                usleep(1_000_000)
                let current = try sample(runtime, refs)
                let before = Dictionary(previous.map { ($0.info.id, $0.stats) }, uniquingKeysWith: { first, _ in first })
                let rows = current.map { row($0.info, $0.stats, previous: before[$0.info.id]) }
                let text: String
                do {
                    text = try renderList(items: rows.map { TemplateValue($0) }, format: format,
                                          defaultTableFormat: Self.defaultTable, headers: Self.headers)
                } catch let error as FormattingError {
                    throw RuntimeError.badInput(error.message)
                }
                // Streaming redraws the screen, as Docker does.
                writeStdout(noStream ? text : "\u{1b}[2J\u{1b}[H" + text)
                if noStream { return }
                previous = current
            }
        }

        /// A reading of each container, in the order given; one that is not
        /// running (or gone) ends the command with Docker's error.
        func sample(_ runtime: ContainerRuntime, _ refs: [String]) throws -> [(info: ContainerInfo, stats: ContainerStats)] {
            try refs.map { try runtime.stats($0) }
        }

        func row(_ info: ContainerInfo, _ stats: ContainerStats, previous: ContainerStats?) -> [String: TemplateValue] {
            let cpu = previous.flatMap { ContainerStats.cpuPercent(previous: $0, current: stats) }
            let memory = stats.memoryUsage.flatMap { usage in stats.memoryLimit.map { Render.binarySize(Int64(usage)) + " / " + Render.binarySize(Int64($0)) } }
            return [
                "ID": .string(noTrunc ? info.id : String(info.id.prefix(12))),
                "Container": .string(containers.isEmpty ? String(info.id.prefix(12)) : info.name),
                "Name": .string(info.name),
                "CPUPerc": .string(cpu.map { Self.percent($0) } ?? "--"),
                "MemUsage": .string(memory ?? "-- / --"),
                "MemPerc": .string(stats.memoryPercent.map { Self.percent($0) } ?? "--"),
                "NetIO": .string(Self.pair(stats.netRx, stats.netTx)),
                "BlockIO": .string(Self.pair(stats.blockRead, stats.blockWrite)),
                "PIDs": .string(stats.pids.map(String.init) ?? "--"),
            ]
        }

        /// "12.34%", Docker's two decimals.
        static func percent(_ value: Double) -> String {
            let hundredths = Int64((value * 100).rounded())
            let fraction = hundredths % 100
            return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)%"
        }

        /// "1.2kB / 648B" (go-units' HumanSizeWithPrecision, 3 digits), or "-- / --".
        static func pair(_ first: UInt64?, _ second: UInt64?) -> String {
            guard let first, let second else { return "-- / --" }
            return decimal(first) + " / " + decimal(second)
        }

        static func decimal(_ bytes: UInt64) -> String {
            let units = ["B", "kB", "MB", "GB", "TB", "PB"]
            var value = Double(bytes), unit = 0
            while value >= 1000 && unit < units.count - 1 {
                value /= 1000
                unit += 1
            }
            return Render.significant(value, 3) + units[unit]
        }
    }
}
