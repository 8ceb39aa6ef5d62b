import ArgumentParser
import Formatting
import FoundationEssentials
import SwarmAPI
import SwarmClient
import SystemCalls

/// `swarm stack`: a whole application from compose files. A stack is the
/// objects labelled `com.docker.stack.namespace=NAME`, as Docker's CLI keeps
/// it, so `docker stack …` and `swarm stack …` see and manage the same ones.
struct StackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stack", abstract: "Manage Swarm stacks",
        subcommands: [StackDeploy.self, StackList.self, StackPS.self, StackRemove.self, StackServices.self])

    static let namespaceLabel = "com.docker.stack.namespace"

    /// The `--filter` that selects one stack's objects.
    static func filter(_ namespace: String) -> String { "label=\(namespaceLabel)=\(namespace)" }

    /// What `stack` reads of a network (`Name`), and of a secret or config (`Spec.Name`).
    struct Named: Decodable { var id: String; var name: String }
    struct Object: Decodable {
        struct Spec: Decodable { var name: String }
        var id: String
        var spec: Spec
    }
}

/// Run by swarmd, which reads compose files (YAML) so that `swarm` stays
/// small: see `DaemonOperations.loadCompose` and `StackDeployment`.
struct StackDeploy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "deploy", abstract: "Deploy a new stack or update an existing stack",
                                                           aliases: ["up"])
    @Option(name: [.customShort("c"), .customLong("compose-file")], help: "Path to a Compose file (several are merged in order)")
    var composeFiles: [String] = []
    @Flag(name: .customLong("prune"), help: "Prune services that are no longer referenced") var prune = false
    @Option(name: .customLong("resolve-image"), help: "Query the registry to resolve image digest and supported platforms (\"always\", \"changed\", \"never\")")
    var resolveImage: String = "always"
    @Flag(name: [.customShort("d"), .customLong("detach")], inversion: .prefixedNo,
          help: "Exit immediately instead of waiting for the stack services to converge (--detach=false waits)")
    var detach = true
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Suppress progress output") var quiet = false
    @OptionGroup var registryAuth: RegistryAuthOption
    @OptionGroup var cluster: ClusterOptions
    @Argument(help: "Stack name") var namespace: String

    func validate() throws {
        guard !composeFiles.isEmpty else { throw ValidationError("Please specify a Compose file (with --compose-file).") }
        guard ["always", "changed", "never"].contains(resolveImage) else {
            throw ValidationError("Invalid option \(resolveImage) for flag --resolve-image")
        }
        try StackDeploy.validateName(namespace)
    }

    func run() async throws {
        let operations = try DaemonBinary.operations()
        let plan = try operations.loadCompose(files: composeFiles, environment: ProcessInfo.processInfo.environment, namespace: namespace)
        try await APIClient.with(host: cluster.host) { client in
            try await StackDeployment(client: client, plan: plan, options: self).run()
        }
    }

    /// Docker's rule: a stack name makes object names, so it must be one.
    static func validateName(_ name: String) throws {
        let allowed = name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
        guard !name.isEmpty, allowed, name.first.map({ $0.isLetter || $0.isNumber }) == true else {
            throw ValidationError("invalid name \"\(name)\": a stack name starts with a letter or digit and has only letters, digits, '_', '.' and '-'")
        }
    }
}

struct StackList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List stacks", aliases: ["list"])
    @Option(name: .customLong("format"), help: "Format output using a custom template") var format: String?
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await APIClient.with(host: cluster.host) { client in
            let services = try await client.get([Service].self, "/services", query: try APIClient.filtersJSON(["label=\(StackCommand.namespaceLabel)"]))
            var counts: [String: Int] = [:]
            for service in services {
                if let namespace = service.spec.labels?[StackCommand.namespaceLabel] { counts[namespace, default: 0] += 1 }
            }
            let rows: [[String: TemplateValue]] = counts.keys.sorted().map { ["Name": .string($0), "Services": .string(String(counts[$0]!))] }
            try printList(rows, format: format, quiet: false, defaultTable: "table {{.Name}}\t{{.Services}}",
                          headers: ["Name": "NAME", "Services": "SERVICES"])
        }
    }
}

struct StackServices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "services", abstract: "List the services in the stack")
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Only display IDs") var quiet = false
    @Option(name: [.customShort("f"), .customLong("filter")], help: "Filter output based on conditions provided") var filters: [String] = []
    @Option(name: .customLong("format"), help: "Format output using a custom template") var format: String?
    @OptionGroup var cluster: ClusterOptions
    @Argument(help: "Stack name") var namespace: String

    func run() async throws {
        try await APIClient.with(host: cluster.host) { client in
            let listed = try await listServices(client, filters: filters + [StackCommand.filter(namespace)])
            guard !listed.isEmpty else {
                if !quiet { writeStderr("Nothing found in stack: \(namespace)\n") }
                return
            }
            try printServices(listed.sorted { $0.service.spec.name < $1.service.spec.name }, quiet: quiet, format: format)
        }
    }
}

struct StackPS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List the tasks in the stack")
    @Flag(name: .customLong("no-trunc"), help: "Do not truncate output") var noTrunc = false
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Only display task IDs") var quiet = false
    @Option(name: [.customShort("f"), .customLong("filter")], help: "Filter output based on conditions provided") var filters: [String] = []
    @Option(name: .customLong("format"), help: "Pretty-print tasks using a Go template") var format: String?
    @OptionGroup var cluster: ClusterOptions
    @Argument(help: "Stack name") var namespace: String

    func run() async throws {
        try await APIClient.with(host: cluster.host) { client in
            let tasks = try await client.get([SwarmTask].self, "/tasks", query: try APIClient.filtersJSON(filters + [StackCommand.filter(namespace)]))
            guard !tasks.isEmpty else { throw RuntimeError.badInput("nothing found in stack: \(namespace)") }
            try await printTasks(client, tasks, noTrunc: noTrunc, quiet: quiet, format: format)
        }
    }
}

struct StackRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove one or more stacks", aliases: ["remove", "down"])
    @Flag(name: [.customShort("d"), .customLong("detach")], inversion: .prefixedNo, help: "Do not wait for stack removal (--detach=false waits)")
    var detach = true
    @OptionGroup var cluster: ClusterOptions
    @Argument(help: "Stack names") var namespaces: [String]

    /// As Docker's: services, secrets, configs, then networks, each named
    /// as it goes; what fails is named and the rest still removed.
    func run() async throws {
        var failed: [String] = []
        try await APIClient.with(host: cluster.host) { client in
            for namespace in namespaces {
                let filter = try APIClient.filtersJSON([StackCommand.filter(namespace)])
                let services = try await client.get([Service].self, "/services", query: filter).sorted { $0.spec.name < $1.spec.name }
                let secrets = try await client.get([StackCommand.Object].self, "/secrets", query: filter).sorted { $0.spec.name < $1.spec.name }
                let configs = try await client.get([StackCommand.Object].self, "/configs", query: filter).sorted { $0.spec.name < $1.spec.name }
                let networks = try await client.get([StackCommand.Named].self, "/networks", query: filter).sorted { $0.name < $1.name }
                guard !(services.isEmpty && secrets.isEmpty && configs.isEmpty && networks.isEmpty) else {
                    writeStderr("Nothing found in stack: \(namespace)\n")
                    continue
                }
                // Taken before: once its service is gone, a task no longer carries the stack's label.
                let tasks = detach ? [] : try await client.get([SwarmTask].self, "/tasks", query: filter).filter { !$0.status.state.isTerminal }
                var ok = true
                func remove(_ noun: String, _ name: String, _ path: String) async {
                    writeStdout("Removing \(noun) \(name)\n")
                    do { _ = try await client.send(.DELETE, path) } catch {
                        writeStderr("Failed to remove \(noun) \(name): \(error)\n")
                        ok = false
                    }
                }
                for service in services { await remove("service", service.spec.name, "/services/\(service.id)") }
                for secret in secrets { await remove("secret", secret.spec.name, "/secrets/\(secret.id)") }
                for config in configs { await remove("config", config.spec.name, "/configs/\(config.id)") }
                for network in networks { await remove("network", network.name, "/networks/\(network.id)") }
                if !ok { failed.append(namespace); continue }
                if !detach { try await waitUntilGone(client, Set(tasks.map(\.id))) }
            }
        }
        if !failed.isEmpty {
            writeStderr("Failed to remove some resources from stack: \(failed.joined(separator: ", "))\n")
            throw ExitCode(1)
        }
    }

    /// `--detach=false`: until none of these tasks is left running (or left at all).
    private func waitUntilGone(_ client: APIClient, _ tasks: Set<String>) async throws {
        var remaining = tasks
        while !remaining.isEmpty {
            for id in remaining {
                let task = try? await client.get(SwarmTask.self, "/tasks/\(id)")
                if task.map({ $0.status.state.isTerminal }) ?? true { remaining.remove(id) }
            }
            if !remaining.isEmpty { try await Task.sleep(for: .milliseconds(200)) }
        }
    }
}
