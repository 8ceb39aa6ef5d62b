import ClusterStore
import Formatting
import SwarmAPI

/// One event in Docker's shape (`GET /events`): what changed, on which
/// object, when. Only swarm-scoped types: `service`, `node`, `network`,
/// `secret` and `config` (Docker emits no task events either).
public struct ClusterEvent: Sendable, Equatable {
    public var type: String
    public var action: String
    public var actorID: String
    public var attributes: [String: String]
    public var timeNano: Int64

    /// Docker's JSON, field for field: `{"Type","Action","Actor":{"ID","Attributes"},"scope","time","timeNano"}`.
    public var json: String {
        TemplateValue.object([
            ("Type", .string(type)), ("Action", .string(action)),
            ("Actor", .object([("ID", .string(actorID)), ("Attributes", TemplateValue(attributes))])),
            ("scope", .string("swarm")), ("time", .int(Int(timeNano / 1_000_000_000))), ("timeNano", .int(Int(timeNano))),
        ]).json()
    }
}

/// The swarm's events, from the store's watch: services and nodes created,
/// updated (with Docker's `.old`/`.new` attributes) and removed; networks,
/// secrets and configs created and removed (secrets and configs updated). The recent
/// ones are kept for `--since`; readers get the new ones as they come.
public actor ClusterEvents {
    /// How many past events `--since` can reach.
    let capacity: Int
    private(set) var history: [ClusterEvent] = []
    private var readers: [UInt64: AsyncStream<ClusterEvent>.Continuation] = [:]
    private var nextReader: UInt64 = 0
    private var services: [String: Service] = [:]
    private var nodes: [String: Node] = [:]

    public init(capacity: Int = 1000) { self.capacity = capacity }

    /// Follows the store's committed changes until cancelled.
    public func record(_ store: any ClusterStore) async {
        let start = await store.index
        for service in await store.all(Service.self) { services[service.id] = service }
        for node in await store.all(Node.self) { nodes[node.id] = node }
        for await event in store.watch(from: start) {
            switch event {
            case .snapshot(let snapshot):
                // Fallen behind: the steps in between are lost, the state is not.
                services = Dictionary(uniqueKeysWithValues: snapshot.services.map { ($0.id, $0) })
                nodes = Dictionary(uniqueKeysWithValues: snapshot.nodes.map { ($0.id, $0) })
            case .changes(let changes):
                for change in changes { apply(change) }
            }
        }
    }

    func apply(_ change: StoreChange) {
        switch change.object {
        case .service(let service):
            let old = services[service.id]
            switch change.action {
            case .created:
                services[service.id] = service
                emit("service", "create", service.id, ["name": service.spec.name], service.updatedAt)
            case .updated:
                services[service.id] = service
                guard let old, old.spec != service.spec || old.updateStatus != service.updateStatus else { return }
                var attributes = ["name": service.spec.name]
                Self.changed(&attributes, "image", old.spec.taskTemplate.containerSpec?.image, service.spec.taskTemplate.containerSpec?.image)
                Self.changed(&attributes, "replicas", old.spec.mode.replicated?.replicas.map(String.init), service.spec.mode.replicated?.replicas.map(String.init))
                Self.changed(&attributes, "updatestate", old.updateStatus?.state, service.updateStatus?.state)
                emit("service", "update", service.id, attributes, service.updatedAt)
            case .deleted:
                services[service.id] = nil
                emit("service", "remove", service.id, ["name": service.spec.name], Timestamp.now())
            }
        case .node(let node):
            let old = nodes[node.id]
            let name = node.description.hostname
            switch change.action {
            case .created:
                nodes[node.id] = node
                emit("node", "create", node.id, ["name": name], node.updatedAt)
            case .updated:
                nodes[node.id] = node
                guard let old else { return }
                var attributes: [String: String] = [:]
                Self.changed(&attributes, "availability", old.spec.availability.rawValue, node.spec.availability.rawValue)
                Self.changed(&attributes, "role", old.spec.role.rawValue, node.spec.role.rawValue)
                Self.changed(&attributes, "state", old.status.state.rawValue, node.status.state.rawValue)
                guard !attributes.isEmpty || old.spec.labels != node.spec.labels || old.spec.name != node.spec.name else { return }
                attributes["name"] = name
                emit("node", "update", node.id, attributes, node.updatedAt)
            case .deleted:
                nodes[node.id] = nil
                emit("node", "remove", node.id, ["name": name], Timestamp.now())
            }
        case .network(let network):
            // Docker's swarm network events: made and removed (the allocator's numbers are no event).
            switch change.action {
            case .created: emit("network", "create", network.id, ["name": network.spec.name], network.updatedAt)
            case .deleted: emit("network", "remove", network.id, ["name": network.spec.name], Timestamp.now())
            case .updated: return
            }
        case .secret(let secret):
            emit("secret", Self.verb(change.action), secret.id, ["name": secret.spec.name], change.action == .deleted ? Timestamp.now() : secret.updatedAt)
        case .config(let config):
            emit("config", Self.verb(change.action), config.id, ["name": config.spec.name], change.action == .deleted ? Timestamp.now() : config.updatedAt)
        default:
            return
        }
    }

    /// Docker's action for a change of a secret or config (its labels are all an update can change).
    static func verb(_ action: StoreChange.Action) -> String {
        switch action {
        case .created: "create"
        case .updated: "update"
        case .deleted: "remove"
        }
    }

    /// Docker's `key.old` / `key.new` pair, when the value changed.
    static func changed(_ attributes: inout [String: String], _ key: String, _ old: String?, _ new: String?) {
        guard old != new else { return }
        if let old { attributes[key + ".old"] = old }
        if let new { attributes[key + ".new"] = new }
    }

    func emit(_ type: String, _ action: String, _ id: String, _ attributes: [String: String], _ time: Timestamp) {
        let event = ClusterEvent(type: type, action: action, actorID: id, attributes: attributes, timeNano: time.nanoseconds)
        history.append(event)
        if history.count > capacity { history.removeFirst(history.count - capacity) }
        for reader in readers.values { reader.yield(event) }
    }

    /// The kept events from `since`, then every new one, until the reader stops.
    public func subscribe(since: Timestamp?) -> (past: [ClusterEvent], live: AsyncStream<ClusterEvent>) {
        let past = since.map { since in history.filter { $0.timeNano >= since.nanoseconds } } ?? []
        let (stream, continuation) = AsyncStream<ClusterEvent>.makeStream()
        nextReader += 1
        let id = nextReader
        readers[id] = continuation
        continuation.onTermination = { _ in Task { await self.drop(id) } }
        return (past, stream)
    }

    private func drop(_ id: UInt64) { readers[id] = nil }
}
