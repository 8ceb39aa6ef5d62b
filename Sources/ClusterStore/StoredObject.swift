import SwarmAPI

/// An object the store keeps: versioned by the store's index, which grows
/// with every committed change (like swarmkit's raft index).
public protocol StoredObject: Codable, Sendable {
    static var kind: String { get }
    var id: String { get }
    var version: ObjectVersion { get set }
    var updatedAt: Timestamp { get set }
    /// Wraps the object for the watch and the store's cache.
    var stored: StoreObject { get }
    /// Unwraps; nil when `object` is of another kind.
    init?(_ object: StoreObject)
}

/// Any object the store keeps, as the watch carries it. Indirect: the
/// store's cache, its log and every watch share one copy of an object.
public indirect enum StoreObject: Sendable, Equatable {
    case swarm(SwarmInfo)
    case node(Node)
    case service(Service)
    case task(SwarmTask)
    case secret(SwarmSecret)
    case config(SwarmConfig)
    case network(SwarmNetwork)

    public var kind: String {
        switch self {
        case .swarm: SwarmInfo.kind
        case .node: Node.kind
        case .service: Service.kind
        case .task: SwarmTask.kind
        case .secret: SwarmSecret.kind
        case .config: SwarmConfig.kind
        case .network: SwarmNetwork.kind
        }
    }

    public var id: String {
        switch self {
        case .swarm(let swarm): swarm.id
        case .node(let node): node.id
        case .service(let service): service.id
        case .task(let task): task.id
        case .secret(let secret): secret.id
        case .config(let config): config.id
        case .network(let network): network.id
        }
    }

    public var versionIndex: UInt64 {
        switch self {
        case .swarm(let swarm): swarm.version.index
        case .node(let node): node.version.index
        case .service(let service): service.version.index
        case .task(let task): task.version.index
        case .secret(let secret): secret.version.index
        case .config(let config): config.version.index
        case .network(let network): network.version.index
        }
    }
}

extension SwarmInfo: StoredObject {
    public static let kind = "swarm"
    public var stored: StoreObject { .swarm(self) }
    public init?(_ object: StoreObject) { guard case .swarm(let value) = object else { return nil }; self = value }
}

extension Node: StoredObject {
    public static let kind = "node"
    public var stored: StoreObject { .node(self) }
    public init?(_ object: StoreObject) { guard case .node(let value) = object else { return nil }; self = value }
}

extension Service: StoredObject {
    public static let kind = "service"
    public var stored: StoreObject { .service(self) }
    public init?(_ object: StoreObject) { guard case .service(let value) = object else { return nil }; self = value }
}

extension SwarmTask: StoredObject {
    public static let kind = "task"
    public var stored: StoreObject { .task(self) }
    public init?(_ object: StoreObject) { guard case .task(let value) = object else { return nil }; self = value }
}

extension SwarmSecret: StoredObject {
    public static let kind = "secret"
    public var stored: StoreObject { .secret(self) }
    public init?(_ object: StoreObject) { guard case .secret(let value) = object else { return nil }; self = value }
}

extension SwarmConfig: StoredObject {
    public static let kind = "config"
    public var stored: StoreObject { .config(self) }
    public init?(_ object: StoreObject) { guard case .config(let value) = object else { return nil }; self = value }
}

extension SwarmNetwork: StoredObject {
    public static let kind = "network"
    public var stored: StoreObject { .network(self) }
    public init?(_ object: StoreObject) { guard case .network(let value) = object else { return nil }; self = value }
}
