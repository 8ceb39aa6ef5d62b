import ArgumentParser
import Formatting
import SwarmAPI
import SwarmClient
import SystemCalls

struct NetworkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network", abstract: "Manage networks",
        subcommands: [NetworkCreate.self, NetworkInspect.self, NetworkList.self, NetworkPrune.self, NetworkRemove.self])
}

/// What `network ls` and `rm` read of Docker's NetworkResource.
struct ListedNetwork: Decodable {
    var name: String
    var id: String
    var driver: String
    var scope: String
    var created: String?
    var `internal`: Bool?
    var enableIPv6: Bool?
    var labels: [String: String]?
}

struct NetworkCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a network")
    @Option(name: [.customShort("d"), .customLong("driver")], help: "Driver to manage the Network (only overlay)") var driver = "overlay"
    @Option(name: .customLong("subnet"), help: "Subnet in CIDR format that represents a network segment") var subnets: [String] = []
    @Option(name: .customLong("gateway"), help: "IPv4 Gateway for the master subnet") var gateways: [String] = []
    @Flag(name: .customLong("attachable"), help: "Enable manual container attachment") var attachable = false
    @Flag(name: .customLong("internal"), help: "Restrict external access to the network") var isInternal = false
    @Option(name: .customLong("label"), help: "Set metadata on a network") var labels: [String] = []
    @Option(name: [.customShort("o"), .customLong("opt")], help: "Set driver specific options") var options: [String] = []
    @OptionGroup var cluster: ClusterOptions
    @Argument(help: "Network name") var name: String

    struct Request: Encodable {
        struct IPAM: Encodable {
            struct Config: Encodable { var subnet: String; var gateway: String? }
            var driver = "default"
            var config: [Config]
            enum CodingKeys: String, CodingKey { case driver = "Driver", config = "Config" }
        }
        var name: String
        var driver: String
        var scope = "swarm"
        var ipam: IPAM?
        var `internal`: Bool
        var attachable: Bool
        var options: [String: String]
        var labels: [String: String]
        enum CodingKeys: String, CodingKey {
            case name, driver, scope, ipam = "IPAM", `internal`, attachable, options, labels
        }
    }

    /// `{"Id": …}`: APIJSON reads Go's "Id" as `id`.
    struct Created: Decodable { var id: String }

    func run() async throws {
        // Docker's: one gateway per subnet, none without one.
        guard gateways.count <= subnets.count else { throw RuntimeError.badInput("every ip-range or gateway must have a corresponding subnet") }
        let configs = subnets.enumerated().map { Request.IPAM.Config(subnet: $0.element, gateway: $0.offset < gateways.count ? gateways[$0.offset] : nil) }
        let request = Request(name: name, driver: driver, ipam: configs.isEmpty ? nil : Request.IPAM(config: configs), internal: isInternal,
                              attachable: attachable, options: try keyValues(options) ?? [:], labels: try keyValues(labels) ?? [:])
        try await APIClient.with(host: cluster.host) { client in
            let reply = try await client.post("/networks/create", request)
            writeStdout(try APIJSON.decode(Created.self, from: reply.body).id + "\n")
        }
    }
}

struct NetworkList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List networks", aliases: ["list"])
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Only display network IDs") var quiet = false
    @Flag(name: .customLong("no-trunc"), help: "Do not truncate the output") var noTrunc = false
    @Option(name: [.customShort("f"), .customLong("filter")], help: "Provide filter values (e.g. \"driver=overlay\")") var filters: [String] = []
    @Option(name: .customLong("format"), help: "Format output using a custom template") var format: String?
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await APIClient.with(host: cluster.host) { client in
            let networks = try await client.get([ListedNetwork].self, "/networks", query: try APIClient.filtersJSON(filters))
            let rows: [[String: TemplateValue]] = networks.map { network in
                [
                    "ID": .string(shortID(network.id, noTrunc)), "Name": .string(network.name), "Driver": .string(network.driver),
                    "Scope": .string(network.scope), "IPv6": .string(String(network.enableIPv6 ?? false)),
                    "Internal": .string(String(network.internal ?? false)),
                    "Labels": .string((network.labels ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")),
                    "CreatedAt": .string(network.created ?? ""),
                ]
            }
            try printList(rows, format: format, quiet: quiet, defaultTable: "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
                          headers: ["ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv6": "IPV6",
                                    "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT"])
        }
    }
}

struct NetworkInspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Display detailed information on one or more networks")
    @Option(name: [.customShort("f"), .customLong("format")], help: "Format output using a custom template") var format: String?
    @Argument(help: "Networks") var networks: [String]
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await APIClient.with(host: cluster.host) { client in
            var objects: [[UInt8]] = []
            var failed = false
            for ref in networks {
                do { objects.append(try await client.send(.GET, "/networks/\(APIClient.percentEncode(ref))").body) } catch {
                    writeStderr("swarm: \(error)\n")
                    failed = true
                }
            }
            try printObjects(objects, format: format)
            if failed { throw ExitCode(1) }
        }
    }
}

struct NetworkRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove one or more networks", aliases: ["remove"])
    @Argument(help: "Networks") var networks: [String]
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        var failed = false
        try await APIClient.with(host: cluster.host) { client in
            for ref in networks {
                do {
                    _ = try await client.send(.DELETE, "/networks/\(APIClient.percentEncode(ref))")
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

struct NetworkPrune: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove all unused networks")
    @Flag(name: [.customShort("f"), .customLong("force")], help: "Do not prompt for confirmation") var force = false
    @OptionGroup var cluster: ClusterOptions

    struct Report: Decodable { var networksDeleted: [String]? }

    func run() async throws {
        if !force {
            writeStdout("WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ")
            guard let answer = readLine(), ["y", "yes"].contains(answer.trimmed.lowercased()) else { return }
        }
        try await APIClient.with(host: cluster.host) { client in
            let reply = try await client.send(.POST, "/networks/prune")
            let deleted = try APIJSON.decode(Report.self, from: reply.body).networksDeleted ?? []
            if !deleted.isEmpty { writeStdout("Deleted Networks:\n" + deleted.map { $0 + "\n" }.joined()) }
        }
    }
}
