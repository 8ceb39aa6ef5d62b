import ArgumentParser
import Formatting
import SwarmAPI
import SwarmClient
import Synchronization
import SystemCalls

/// `swarm events`: the swarm's service and node events as Docker prints
/// them, from `GET /events` (past ones with --since, until --until or ^C).
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "events", abstract: "Get real time events from the server")
    @Option(name: [.customShort("f"), .customLong("filter")], help: "Filter output based on conditions provided (type=service|node|network, event=create|update|remove, service=, node=, scope=swarm)")
    var filters: [String] = []
    @Option(name: .customLong("format"), help: "Format output using a custom template: 'json' or a Go template") var format: String?
    @Option(name: .customLong("since"), help: "Show all events created since timestamp") var since: String?
    @Option(name: .customLong("until"), help: "Stream events until this timestamp") var until: String?
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        var query = try APIClient.filtersJSON(filters)
        if let since { query["since"] = try ServiceLogs.unixTimestamp(since) }
        if let until { query["until"] = try ServiceLogs.unixTimestamp(until) }
        var template: Template?
        if let format, format != "json" {
            do { template = try Template(parse: expandFormatEscapes(format)) } catch let error as FormattingError {
                throw RuntimeError.badInput("template parsing error: " + error.message)
            }
        }
        let printer = EventPrinter(json: format == "json", template: template)
        try await APIClient.with(host: cluster.host) { client in
            try await client.stream("/events", query: query) { printer.consume($0) }
        }
    }
}

/// Splits the stream into its JSON lines and prints each event.
final class EventPrinter: Sendable {
    let json: Bool
    let template: Template?
    private let pending = Mutex<[UInt8]>([])

    init(json: Bool, template: Template?) { self.json = json; self.template = template }

    func consume(_ bytes: [UInt8]) {
        let lines = pending.withLock { buffer -> [String] in
            buffer += bytes
            guard let last = buffer.lastIndex(of: UInt8(ascii: "\n")) else { return [] }
            let complete = buffer[...last].split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
            buffer.removeFirst(last + 1)
            return complete
        }
        for line in lines {
            guard let event = try? TemplateValue(json: line) else { continue }
            writeStdout(render(event, line: line))
        }
    }

    /// Docker's line: `TIME TYPE ACTION ID (k=v, k=v)`; or the template, or the JSON.
    func render(_ event: TemplateValue, line: String) -> String {
        if json { return line + "\n" }
        if let template {
            // Templates see Go's field names (`.Scope`, `.TimeNano`), the JSON has Docker's tags.
            guard case .object(let fields) = event else { return "" }
            let renamed = TemplateValue.object(fields.map { (key: $0.key.prefix(1).uppercased() + $0.key.dropFirst(), value: $0.value) })
            return ((try? template.execute(renamed, missingKey: .noValue)) ?? "") + "\n"
        }
        var nanoseconds = 0
        if case .int(let n)? = event["timeNano"] { nanoseconds = n }
        let id = event["Actor"]?["ID"]?.stringValue ?? ""
        var text = Self.time(Int64(nanoseconds)) + " \(event["Type"]?.stringValue ?? "") \(event["Action"]?.stringValue ?? "") \(id)"
        if case .object(let attributes)? = event["Actor"]?["Attributes"], !attributes.isEmpty {
            text += " (" + attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.stringValue ?? "")" }.joined(separator: ", ") + ")"
        }
        return text + "\n"
    }

    /// Docker's RFC3339NanoFixed, in UTC.
    static func time(_ nanoseconds: Int64) -> String {
        let seconds = nanoseconds / 1_000_000_000
        let fraction = String(nanoseconds - seconds * 1_000_000_000)
        return Timestamp(nanoseconds: seconds * 1_000_000_000).rfc3339.dropLast() + "." + String(repeating: "0", count: 9 - fraction.count) + fraction + "Z"
    }
}
