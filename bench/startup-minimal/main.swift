import ArgumentParser

// The reference for bench/startup: a small static Swift program that uses
// swift-argument-parser (a command with a subcommand and a few options),
// so that swarm's start-up is compared with what the toolchain itself costs.
struct Minimal: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "minimal", subcommands: [List.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls")
        @Flag(name: .shortAndLong) var quiet = false
        @Option var format: String?
        @Option var filter: [String] = []
        func run() { print("ID  NAME") }
    }
}

Minimal.main()
