import NodeAgent
import SwarmAPI

/// The names one task resolves itself: those of what shares a network with
/// it (not the ingress network: as Docker's, it serves no discovery).
struct DNSZone: Equatable, Sendable {
    /// Lower-cased name → its IPv4 addresses; a known name may have none (a service with no running task).
    var records: [String: [String]] = [:]
    /// Reverse names ("5.1.0.10.in-addr.arpa") → the task's first name, or the service's for a VIP.
    var pointers: [String: String] = [:]

    /// Short, not Docker's 600 s: a caching resolver in the container then
    /// follows tasks starting and stopping within a second, as the issue asks.
    static let ttl: UInt32 = 1

    init(records: [String: [String]] = [:]) { self.records = records }

    init(task: WiredTask, views: [NetworkView]) {
        let networks = Set(task.interfaces.map(\.networkID))
        var records: [String: [String]] = [:]
    /// Reverse names ("5.1.0.10.in-addr.arpa") → the task's first name, or the service's for a VIP.
    var pointers: [String: String] = [:]
        func add(_ name: String, _ addresses: [String]) {
            records[name.lowercased(), default: []] += addresses
        }
        for view in views where networks.contains(view.network.id) && view.network.spec.ingress != true {
            let running = view.endpoints.filter { $0.running && $0.taskID != nil }
            for service in view.services {
                let tasks = running.filter { $0.serviceID == service.serviceID }.map(\.address)
                for name in [service.name] + service.aliases {
                    if service.mode != "dnsrr", let vip = service.vip { add(name, [vip]) } else { add(name, tasks) }
                    add("tasks." + name, tasks)
                }
                if service.mode != "dnsrr", let vip = service.vip { pointers[Self.reverseName(vip)] = service.name }
            }
            for endpoint in running {
                for name in endpoint.names ?? [] { add(name, [endpoint.address]) }
                if let name = endpoint.names?.first { pointers[Self.reverseName(endpoint.address)] = name }
            }
        }
        self.pointers = pointers
        self.records = records.mapValues { addresses in
            var seen = Set<String>()
            return addresses.filter { seen.insert($0).inserted }
        }
    }

    static let typePTR: UInt16 = 12

    /// "10.0.1.5" → "5.1.0.10.in-addr.arpa".
    static func reverseName(_ address: String) -> String {
        address.split(separator: ".").reversed().joined(separator: ".") + ".in-addr.arpa"
    }

    enum Outcome: Equatable {
        case reply(DNSMessage)
        /// Not ours: to the node's resolvers.
        case forward
        /// Not a query (a response, or garbage with no id): no answer at all.
        case ignore
    }

    /// `sizeLimit`: the largest reply (nil: the asker's UDP size).
    func answer(_ query: DNSMessage, sizeLimit: Int? = nil) -> Outcome {
        if query.isResponse { return .ignore }
        let rd = query.flags & DNSMessage.recursionDesired
        func reply(_ code: DNSMessage.ResponseCode, authoritative: Bool = false, answers: [DNSMessage.Record] = []) -> Outcome {
            var flags = DNSMessage.response | (query.flags & 0x7800) | rd | DNSMessage.recursionAvailable | code.rawValue
            if authoritative { flags |= DNSMessage.authoritative }
            return .reply(DNSMessage(id: query.id, flags: flags, questions: query.questions, answers: answers))
        }
        guard query.opcode == 0 else { return reply(.notImplemented) }
        guard query.questions.count == 1, let question = query.questions.first else { return reply(.formatError) }
        var name = question.name.lowercased()
        while name.hasSuffix(".") { name.removeLast() }
        if question.type == Self.typePTR, let target = pointers[name] {
            var data: [UInt8] = []
            data.appendName(target)
            return reply(.noError, authoritative: true,
                         answers: [DNSMessage.Record(name: question.name, type: Self.typePTR, class: DNSMessage.classIN, ttl: Self.ttl, data: data)])
        }
        guard let addresses = records[name] else {
            // A single label or tasks.X we do not know is no one's: answered here, not leaked upstream.
            if !name.contains(".") || name.hasPrefix("tasks.") { return reply(.nameError, authoritative: true) }
            return .forward
        }
        // A, or ANY; for other types (AAAA…) a known name has no data: NOERROR, empty.
        guard question.type == DNSMessage.typeA || question.type == 255,
              question.class == DNSMessage.classIN || question.class == 255 else { return reply(.noError, authoritative: true) }
        // As many as fit (12 header, the question, 16 per answer): over UDP a round-robin subset, shuffled.
        let room = ((sizeLimit ?? query.udpPayloadLimit) - 12 - (question.name.utf8.count + 2) - 4) / 16
        let answers = addresses.shuffled().prefix(max(0, room)).compactMap { address -> DNSMessage.Record? in
            guard let number = MeshRules.ipv4Number(address) else { return nil }
            let data = [UInt8(number >> 24), UInt8(number >> 16 & 0xFF), UInt8(number >> 8 & 0xFF), UInt8(number & 0xFF)]
            return DNSMessage.Record(name: question.name, type: DNSMessage.typeA, class: DNSMessage.classIN, ttl: Self.ttl, data: data)
        }
        return reply(.noError, authoritative: true, answers: answers)
    }
}
