import ArgumentParser
import Containers
import Formatting
import FoundationEssentials
import OCIImages
import SwarmAPI
import SwarmClient
import SystemCalls

struct NodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node", abstract: "Manage Swarm nodes",
        subcommands: [NodeList.self, NodeInspect.self, NodeUpdate.self, NodePromote.self, NodeDemote.self, NodeRemove.self, NodePS.self])
}

public struct ClusterOptions: ParsableArguments {
    public init() {}
    @Option(name: [.customShort("H"), .customLong("host")], help: "Daemon socket to connect to (env SWARM_HOST)") var host: String?
}

/// Renders list rows with Docker's `--format` rules (table, json, templates).
func printList(_ rows: [[String: TemplateValue]], format: String?, quiet: Bool, defaultTable: String, headers: [String: String]) throws {
    let chosen = quiet ? "{{.ID}}" : format
    do {
        writeStdout(try renderList(items: rows.map { TemplateValue($0) }, format: chosen, defaultTableFormat: defaultTable, headers: headers))
    } catch let error as FormattingError {
        throw RuntimeError.badInput(error.message)
    }
}

/// `inspect`: the API's JSON for each reference (an array), or `--format` per object.
func printObjects(_ objects: [[UInt8]], format: String?) throws {
    if let format, !format.isEmpty {
        let template: Template
        do { template = try Template(parse: expandFormatEscapes(format)) } catch let error as FormattingError {
            throw RuntimeError.badInput("template parsing error: " + error.message)
        }
        for object in objects {
            let value = try TemplateValue(json: String(decoding: object, as: UTF8.self))
            do { writeStdout(try template.execute(value) + "\n") } catch let error as FormattingError {
                throw RuntimeError.badInput(error.message)
            }
        }
        return
    }
    let values = try objects.map { try TemplateValue(json: String(decoding: $0, as: UTF8.self)) }
    writeStdout(indentedJSON(.array(values), indent: "") + "\n")
}

func shortID(_ id: String, _ noTrunc: Bool) -> String { noTrunc ? id : String(id.prefix(12)) }

struct NodeList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List nodes in the swarm", aliases: ["list"])
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Only display IDs") var quiet = false
    @Option(name: [.customShort("f"), .customLong("filter")], help: "Filter output based on conditions provided") var filters: [String] = []
    @Option(name: .customLong("format"), help: "Format output using a custom template") var format: String?
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await APIClient.with(host: cluster.host) { client in
            let nodes = try await client.get([Node].self, "/nodes", query: try APIClient.filtersJSON(filters))
            let me = try await client.get(SystemInfo.self, "/info").swarm.nodeID
            let rows: [[String: TemplateValue]] = nodes.map { node in
                [
                    "ID": .string(node.id), "Self": .bool(node.id == me), "Hostname": .string(node.description.hostname),
                    "Status": .string(node.status.state.rawValue.capitalized), "Availability": .string(node.spec.availability.rawValue.capitalized),
                    "ManagerStatus": .string(node.managerStatus.map { $0.leader ? "Leader" : $0.reachability.capitalized } ?? ""),
                    "EngineVersion": .string(node.description.engine.engineVersion),
                    "TLSStatus": .string("Ready"),
                ]
            }
            try printList(rows, format: format, quiet: quiet,
                          defaultTable: "table {{.ID}} {{if .Self}}*{{else}} {{ end }}\t{{.Hostname}}\t{{.Status}}\t{{.Availability}}\t{{.ManagerStatus}}\t{{.EngineVersion}}",
                          headers: ["ID": "ID", "Self": "", "Hostname": "HOSTNAME", "Status": "STATUS", "Availability": "AVAILABILITY",
                                    "ManagerStatus": "MANAGER STATUS", "EngineVersion": "ENGINE VERSION", "TLSStatus": "TLS STATUS"])
        }
    }
}

struct NodeInspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Display detailed information on one or more nodes")
    @Flag(name: .customLong("pretty"), help: "Print the information in a human friendly format") var pretty = false
    @Option(name: [.customShort("f"), .customLong("format")], help: "Format output using a custom template") var format: String?
    @Argument(help: "Node IDs or names (\"self\" for this node)") var nodes: [String]
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await APIClient.with(host: cluster.host) { client in
            var objects: [[UInt8]] = []
            var failed = false
            for ref in nodes {
                do { objects.append(try await client.send(.GET, "/nodes/\(APIClient.percentEncode(ref))").body) } catch {
                    writeStderr("swarm: \(error)\n")
                    failed = true
                }
            }
            if pretty {
                for object in objects { writeStdout(Self.pretty(try APIJSON.decode(Node.self, from: object))) }
            } else {
                try printObjects(objects, format: format)
            }
            if failed { throw ExitCode(1) }
        }
    }

    static func pretty(_ node: Node) -> String {
        var text = "ID:\t\t\t\(node.id)\n"
        if let name = node.spec.name { text += "Name:\t\t\t\(name)\n" }
        if !node.spec.labels.isEmpty { text += "Labels:\n" + node.spec.labels.sorted { $0.key < $1.key }.map { " - \($0.key)=\($0.value)\n" }.joined() }
        text += "Hostname:              \t\(node.description.hostname)\n"
        text += "Joined at:             \t\(node.createdAt.rfc3339)\n"
        text += "Status:\n State:\t\t\t\(node.status.state.rawValue.capitalized)\n"
        if let message = node.status.message, !message.isEmpty { text += " Message:              \t\(message)\n" }
        text += " Availability:         \t\(node.spec.availability.rawValue.capitalized)\n Address:\t\t\(node.status.addr)\n"
        if let manager = node.managerStatus {
            text += "Manager Status:\n Address:\t\t\(manager.addr)\n Raft Status:\t\t\(manager.reachability.capitalized)\n Leader:\t\t\(manager.leader ? "Yes" : "No")\n"
        }
        text += "Platform:\n Operating System:\t\(node.description.platform.os)\n Architecture:\t\t\(node.description.platform.architecture)\n"
        let cpus = Double(node.description.resources.nanoCPUs ?? 0) / 1e9
        text += "Resources:\n CPUs:\t\t\t\(cpus == cpus.rounded() ? String(Int(cpus)) : String(cpus))\n Memory:\t\t\(Render.binarySize(node.description.resources.memoryBytes ?? 0))\n"
        if let controllers = node.description.cgroupControllers { text += " cgroup controllers:\t\(controllers.joined(separator: ", "))\n" }
        text += "Engine Version:\t\t\(node.description.engine.engineVersion)\n"
        return text
    }
}

/// Reads a node, changes its spec, writes it back with the version it read.
func updateNode(_ client: APIClient, _ ref: String, _ change: (inout NodeSpec) throws -> Void) async throws {
    let node = try await client.get(Node.self, "/nodes/\(APIClient.percentEncode(ref))")
    var spec = node.spec
    try change(&spec)
    _ = try await client.post("/nodes/\(node.id)/update", query: ["version": "\(node.version.index)"], spec)
}

struct NodeUpdate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "update", abstract: "Update a node")
    @Option(name: .customLong("availability"), help: "Availability of the node (\"active\", \"pause\", \"drain\")") var availability: String?
    @Option(name: .customLong("role"), help: "Role of the node (\"worker\"|\"manager\")") var role: String?
    @Option(name: .customLong("label-add"), help: "Add or update a node label (key=value)") var labelAdd: [String] = []
    @Option(name: .customLong("label-rm"), help: "Remove a node label if exists") var labelRemove: [String] = []
    @Argument(help: "Node ID or name") var node: String
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let availability = try self.availability.map { value in
            guard let parsed = NodeAvailability(rawValue: value.lowercased()) else {
                throw RuntimeError.badInput("invalid argument \"\(value)\" for \"--availability\" flag: invalid availability: use active, pause or drain")
            }
            return parsed
        }
        let role = try self.role.map { value in
            guard let parsed = NodeRole(rawValue: value.lowercased()) else {
                throw RuntimeError.badInput("invalid argument \"\(value)\" for \"--role\" flag: invalid role: use worker or manager")
            }
            return parsed
        }
        try await APIClient.with(host: cluster.host) { client in
            try await updateNode(client, node) { spec in
                if let availability { spec.availability = availability }
                if let role { spec.role = role }
                for label in labelAdd {
                    let parts = label.split(separator: "=", maxSplits: 1).map(String.init)
                    spec.labels[parts[0]] = parts.count > 1 ? parts[1] : ""
                }
                for key in labelRemove {
                    guard spec.labels.removeValue(forKey: key) != nil else {
                        throw RuntimeError.badInput("key \(key) doesn't exist in node's labels")
                    }
                }
            }
        }
        writeStdout(node + "\n")
    }
}

struct NodePromote: AsyncParsableCommand {
    // Hidden until several managers exist (a replicated store): the manager refuses with the reason.
    static let configuration = CommandConfiguration(commandName: "promote", abstract: "Promote one or more nodes to manager in the swarm",
                                                    shouldDisplay: false)
    @Argument var nodes: [String]
    @OptionGroup var cluster: ClusterOptions
    func run() async throws {
        try await changeRole(nodes, to: .manager, host: cluster.host, unchanged: { "Node \($0) is already a manager.\n" },
                             changed: { "Node \($0) promoted to a manager in the swarm.\n" })
    }
}

struct NodeDemote: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demote", abstract: "Demote one or more nodes from manager in the swarm",
                                                    shouldDisplay: false)
    @Argument var nodes: [String]
    @OptionGroup var cluster: ClusterOptions
    func run() async throws {
        try await changeRole(nodes, to: .worker, host: cluster.host, unchanged: { "Node \($0) is already a worker.\n" },
                             changed: { "Manager \($0) demoted in the swarm.\n" })
    }
}

/// `promote` and `demote`: Docker's messages for each node.
func changeRole(_ refs: [String], to role: NodeRole, host: String?, unchanged: (String) -> String, changed: (String) -> String) async throws {
    try await APIClient.with(host: host) { client in
        for ref in refs {
            let node = try await client.get(Node.self, "/nodes/\(APIClient.percentEncode(ref))")
            if node.spec.role == role { writeStdout(unchanged(ref)); continue }
            try await updateNode(client, ref) { $0.role = role }
            writeStdout(changed(ref))
        }
    }
}

struct NodeRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove one or more nodes from the swarm", aliases: ["remove"])
    @Flag(name: [.customShort("f"), .customLong("force")], help: "Force remove a node from the swarm") var force = false
    @Argument var nodes: [String]
    @OptionGroup var cluster: ClusterOptions
    func run() async throws {
        var failed = false
        try await APIClient.with(host: cluster.host) { client in
            for ref in nodes {
                do {
                    _ = try await client.send(.DELETE, "/nodes/\(APIClient.percentEncode(ref))", query: force ? ["force": "1"] : [:])
                    writeStdout(ref + "\n")
                } catch {
                    writeStderr("swarm: \(error)\n")
                    failed = true
                }
            }
        }
        if failed { throw ExitCode(1) }
    }
}

struct NodePS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List tasks running on one or more nodes, defaults to current node")
    @Flag(name: .customLong("no-trunc"), help: "Do not truncate output") var noTrunc = false
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Only display task IDs") var quiet = false
    @Option(name: [.customShort("f"), .customLong("filter")], help: "Filter output based on conditions provided") var filters: [String] = []
    @Option(name: .customLong("format"), help: "Pretty-print tasks using a Go template") var format: String?
    @Argument var nodes: [String] = ["self"]
    @OptionGroup var cluster: ClusterOptions
    func run() async throws {
        try await APIClient.with(host: cluster.host) { client in
            var tasks: [SwarmTask] = []
            for ref in nodes {
                let node = try await client.get(Node.self, "/nodes/\(APIClient.percentEncode(ref))")
                tasks += try await client.get([SwarmTask].self, "/tasks", query: try APIClient.filtersJSON(filters + ["node=\(node.id)"]))
            }
            try await printTasks(client, tasks, noTrunc: noTrunc, quiet: quiet, format: format)
        }
    }
}

/// JSON indented by four spaces, as `docker inspect` prints it.
func indentedJSON(_ value: TemplateValue, indent: String) -> String {
    let inner = indent + "    "
    switch value {
    case .array(let items):
        if items.isEmpty { return "[]" }
        return "[\n" + items.map { inner + indentedJSON($0, indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
    case .object(let fields):
        if fields.isEmpty { return "{}" }
        return "{\n" + fields.map { inner + TemplateValue.string($0.key).json() + ": " + indentedJSON($0.value, indent: inner) }
            .joined(separator: ",\n") + "\n" + indent + "}"
    default:
        return value.json()
    }
}
