import ArgumentParser
import FoundationEssentials
import Formatting
import Glibc
import SwarmAPI
import SwarmClient
import SystemCalls

/// `swarm secret …` and `swarm config …`: one implementation, as the two
/// differ only in that a secret's value is never shown again.
struct SecretCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secret", abstract: "Manage Swarm secrets",
        subcommands: [SecretCreate<SecretFamily>.self, SecretInspect<SecretFamily>.self, SecretList<SecretFamily>.self, SecretRemove<SecretFamily>.self])
}

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Manage Swarm configs",
        subcommands: [SecretCreate<ConfigFamily>.self, SecretInspect<ConfigFamily>.self, SecretList<ConfigFamily>.self, SecretRemove<ConfigFamily>.self])
}

protocol SecretFamilyKind {
    static var noun: String { get }
    static var path: String { get }
    /// `ls` columns: configs have no DRIVER.
    static var table: String { get }
}

enum SecretFamily: SecretFamilyKind {
    static let noun = "secret"
    static let path = "/secrets"
    static let table = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.CreatedAt}}\t{{.UpdatedAt}}"
}

enum ConfigFamily: SecretFamilyKind {
    static let noun = "config"
    static let path = "/configs"
    static let table = "table {{.ID}}\t{{.Name}}\t{{.CreatedAt}}\t{{.UpdatedAt}}"
}

/// The object as the API returns both: a config's Data is there, a secret's never.
struct SecretObjectJSON: Decodable {
    var id: String
    var createdAt: Timestamp
    var updatedAt: Timestamp
    var spec: SecretSpec
}

struct SecretCreate<Family: SecretFamilyKind>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "create", abstract: "Create a \(Family.noun) from a file or STDIN as content",
                             usage: "swarm \(Family.noun) create [OPTIONS] \(Family.noun.uppercased()) file|-")
    }
    @Option(name: [.customShort("l"), .customLong("label")], help: "Labels") var label: [String] = []
    @OptionGroup var cluster: ClusterOptions
    @Argument(help: "Name") var name: String
    @Argument(help: "File with the content, or - for STDIN") var file: String

    func run() async throws {
        let content: [UInt8]
        if file == "-" {
            content = readAll(0)
        } else {
            let fd = open(file, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw RuntimeError.badInput("open \(file): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            content = readAll(fd)
        }
        var labels: [String: String] = [:]
        for entry in label {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            labels[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        let spec = SecretSpec(name: name, labels: labels, data: Data(content).base64EncodedString())
        try await APIClient.with(host: cluster.host) { client in
            let reply = try await client.post(Family.path + "/create", spec)
            writeStdout(try APIJSON.decode(CreateResponse.self, from: reply.body).id + "\n")
        }
    }
}

struct SecretInspect<Family: SecretFamilyKind>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "inspect", abstract: "Display detailed information on one or more \(Family.noun)s")
    }
    @Flag(name: .customLong("pretty"), help: "Print the information in a human friendly format") var pretty = false
    @Option(name: [.customShort("f"), .customLong("format")], help: "Format output using a custom template") var format: String?
    @OptionGroup var cluster: ClusterOptions
    @Argument(help: "Names or IDs") var refs: [String]

    func run() async throws {
        var failed = false
        try await APIClient.with(host: cluster.host) { client in
            var objects: [[UInt8]] = []
            for ref in refs {
                do { objects.append(try await client.send(.GET, Family.path + "/" + APIClient.percentEncode(ref)).body) } catch {
                    writeStderr("swarm: \(error)\n")
                    failed = true
                }
            }
            if pretty {
                for body in objects {
                    let object = try APIJSON.decode(SecretObjectJSON.self, from: body)
                    var text = "ID:              \(object.id)\nName:              \(object.spec.name)\n"
                    if let labels = object.spec.labels, !labels.isEmpty {
                        text += "Labels:\n" + labels.sorted { $0.key < $1.key }.map { " - \($0.key)=\($0.value)\n" }.joined()
                    }
                    text += "Created at:        \(object.createdAt.rfc3339)\nUpdated at:        \(object.updatedAt.rfc3339)\n"
                    if let data = object.spec.data.flatMap({ Data(base64Encoded: $0) }) {
                        text += "Data:\n" + String(decoding: data, as: UTF8.self) + "\n"
                    }
                    writeStdout(text)
                }
            } else {
                try printObjects(objects, format: format)
            }
        }
        if failed { throw ExitCode(1) }
    }
}

struct SecretList<Family: SecretFamilyKind>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "ls", abstract: "List \(Family.noun)s", aliases: ["list"])
    }
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Only display IDs") var quiet = false
    @Option(name: [.customShort("f"), .customLong("filter")], help: "Filter output based on conditions provided") var filters: [String] = []
    @Option(name: .customLong("format"), help: "Format output using a custom template") var format: String?
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await APIClient.with(host: cluster.host) { client in
            let objects = try await client.get([SecretObjectJSON].self, Family.path, query: try APIClient.filtersJSON(filters))
            let now = Timestamp.now()
            let rows: [[String: TemplateValue]] = objects.map { object in
                ["ID": .string(object.id), "Name": .string(object.spec.name), "Driver": .string(""),
                 "CreatedAt": .string(Render.humanDuration(now.seconds(since: object.createdAt)) + " ago"),
                 "UpdatedAt": .string(Render.humanDuration(now.seconds(since: object.updatedAt)) + " ago"),
                 "Labels": .string((object.spec.labels ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))]
            }
            try printList(rows, format: format, quiet: quiet, defaultTable: Family.table,
                          headers: ["ID": "ID", "Name": "NAME", "Driver": "DRIVER", "CreatedAt": "CREATED", "UpdatedAt": "UPDATED", "Labels": "LABELS"])
        }
    }
}

struct SecretRemove<Family: SecretFamilyKind>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "rm", abstract: "Remove one or more \(Family.noun)s", aliases: ["remove"])
    }
    @OptionGroup var cluster: ClusterOptions
    @Argument(help: "Names or IDs") var refs: [String]

    func run() async throws {
        var failed = false
        try await APIClient.with(host: cluster.host) { client in
            for ref in refs {
                do {
                    _ = try await client.send(.DELETE, Family.path + "/" + APIClient.percentEncode(ref))
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
