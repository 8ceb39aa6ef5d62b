import FoundationEssentials

// Bodies of the Engine API's answers that are not objects of their own.

public struct CreateResponse: Codable, Sendable {
    public var id: String
    public init(id: String) { self.id = id }
}

public struct UpdateResponse: Codable, Sendable {
    public var warnings: [String]? = nil
    public init() {}
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: APIJSON.Key.self)
        try container.encodeNil(forKey: APIJSON.Key(stringValue: "Warnings"))
    }
}

/// `GET /services?status=true`: Docker adds running/desired counts.
public struct ServiceWithStatus: Encodable, Sendable {
    public var service: Service
    public var serviceStatus: Status
    public struct Status: Codable, Sendable {
        public var runningTasks: Int
        public var desiredTasks: Int
        public var completedTasks: Int
    }

    public init(_ service: Service, tasks: [SwarmTask], nodes: [String: Node]) {
        self.service = service
        let mine = tasks.filter { $0.serviceID == service.id }
        let running = mine.filter { $0.status.state == .running && $0.desiredState == .running
            && nodes[$0.nodeID ?? ""]?.status.state == .ready }.count
        let desired: Int
        if service.spec.mode.isGlobal {
            desired = mine.filter { $0.desiredState == .running }.count
        } else {
            desired = Int(service.spec.mode.replicated?.replicas ?? 0)
        }
        serviceStatus = Status(runningTasks: running, desiredTasks: desired,
                               completedTasks: mine.filter { $0.status.state == .complete }.count)
    }

    public func encode(to encoder: Encoder) throws {
        try service.encode(to: encoder)
        var container = encoder.container(keyedBy: APIJSON.Key.self)
        try container.encode(serviceStatus, forKey: APIJSON.Key(stringValue: "ServiceStatus"))
    }
}

public struct SystemInfo: Codable, Sendable {
    public struct RemoteManager: Codable, Sendable {
        public var nodeID: String
        public var addr: String
        public init(nodeID: String, addr: String) {
            self.nodeID = nodeID
            self.addr = addr
        }
    }
    public struct SwarmPart: Codable, Sendable {
        public var nodeID: String
        public var nodeAddr: String
        public var localNodeState: String
        public var controlAvailable: Bool
        public var error: String
        public var remoteManagers: [RemoteManager]
        public var nodes: Int
        public var managers: Int
        public var cluster: SwarmInfo?
        public init(nodeID: String, nodeAddr: String, localNodeState: String, controlAvailable: Bool, error: String,
                    remoteManagers: [RemoteManager], nodes: Int, managers: Int, cluster: SwarmInfo?) {
            self.nodeID = nodeID
            self.nodeAddr = nodeAddr
            self.localNodeState = localNodeState
            self.controlAvailable = controlAvailable
            self.error = error
            self.remoteManagers = remoteManagers
            self.nodes = nodes
            self.managers = managers
            self.cluster = cluster
        }
    }
    public var id: String
    public var name: String
    public var serverVersion: String
    public var operatingSystem: String
    public var osType: String
    public var architecture: String
    public var ncpu: Int
    public var memTotal: Int64
    public var swarm: SwarmPart
    public init(id: String, name: String, serverVersion: String, operatingSystem: String, osType: String, architecture: String,
                ncpu: Int, memTotal: Int64, swarm: SwarmPart) {
        self.id = id
        self.name = name
        self.serverVersion = serverVersion
        self.operatingSystem = operatingSystem
        self.osType = osType
        self.architecture = architecture
        self.ncpu = ncpu
        self.memTotal = memTotal
        self.swarm = swarm
    }
}
