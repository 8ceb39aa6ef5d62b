/// The cluster's objects in the shapes of the Docker Engine API (v1.41):
/// property names map to Go's field names through `APIJSON`. Durations are
/// nanoseconds, as Docker's JSON carries them.

public struct ObjectVersion: Codable, Hashable, Sendable {
    public var index: UInt64
    public init(index: UInt64) { self.index = index }
}

public struct Platform: Codable, Hashable, Sendable {
    public var architecture: String
    public var os: String
    public init(architecture: String, os: String) { self.architecture = architecture; self.os = os }
}

public struct Resources: Codable, Hashable, Sendable {
    public var nanoCPUs: Int64?
    public var memoryBytes: Int64?
    public init(nanoCPUs: Int64? = nil, memoryBytes: Int64? = nil) { self.nanoCPUs = nanoCPUs; self.memoryBytes = memoryBytes }
}

// MARK: - Nodes

public enum NodeRole: String, Codable, Sendable { case worker, manager }
public enum NodeAvailability: String, Codable, Sendable { case active, pause, drain }
public enum NodeState: String, Codable, Sendable { case unknown, down, ready, disconnected }

public struct NodeSpec: Codable, Hashable, Sendable {
    public var name: String?
    public var labels: [String: String]
    public var role: NodeRole
    public var availability: NodeAvailability
    public init(name: String? = nil, labels: [String: String] = [:], role: NodeRole, availability: NodeAvailability = .active) {
        self.name = name; self.labels = labels; self.role = role; self.availability = availability
    }
}

public struct EngineDescription: Codable, Hashable, Sendable {
    public var engineVersion: String
    public var labels: [String: String]?
    public init(engineVersion: String, labels: [String: String]? = nil) { self.engineVersion = engineVersion; self.labels = labels }
}

public struct NodeDescription: Codable, Hashable, Sendable {
    public var hostname: String
    public var platform: Platform
    public var resources: Resources
    public var engine: EngineDescription
    /// cgroup v2 controllers this node can enforce (cpu, memory, pids, …);
    /// not in Docker's API, ignored by its CLI.
    public var cgroupControllers: [String]?
    public init(hostname: String, platform: Platform, resources: Resources, engine: EngineDescription, cgroupControllers: [String]? = nil) {
        self.hostname = hostname; self.platform = platform; self.resources = resources; self.engine = engine
        self.cgroupControllers = cgroupControllers
    }
}

public struct NodeStatus: Codable, Hashable, Sendable {
    public var state: NodeState
    public var message: String?
    public var addr: String
    public init(state: NodeState, message: String? = nil, addr: String) { self.state = state; self.message = message; self.addr = addr }
}

public struct ManagerStatus: Codable, Hashable, Sendable {
    public var leader: Bool
    public var reachability: String
    public var addr: String
    public init(leader: Bool, reachability: String, addr: String) { self.leader = leader; self.reachability = reachability; self.addr = addr }
}

public struct Node: Codable, Hashable, Sendable {
    public var id: String
    public var version: ObjectVersion
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var spec: NodeSpec
    public var description: NodeDescription
    public var status: NodeStatus
    public var managerStatus: ManagerStatus?
    /// The node's load-balancer address in the ingress network ("10.0.0.3/24"),
    /// given by the allocator once a service publishes an ingress port (not
    /// in Docker's API: swarmkit keeps it in the node's attachments).
    public var ingressAddress: String?
    /// Containers attached to overlay networks on this node (`container run --network`), with their addresses.
    public var attachments: [ContainerAttachment]?
    public init(id: String, version: ObjectVersion, createdAt: Timestamp, updatedAt: Timestamp, spec: NodeSpec,
                description: NodeDescription, status: NodeStatus, managerStatus: ManagerStatus? = nil) {
        self.id = id; self.version = version; self.createdAt = createdAt; self.updatedAt = updatedAt
        self.spec = spec; self.description = description; self.status = status; self.managerStatus = managerStatus
    }
}

// MARK: - Services

public struct Mount: Codable, Hashable, Sendable {
    /// "bind", "volume" (a named volume on the task's node, or an anonymous one without source) or "tmpfs".
    public var type: String
    public var source: String?
    public var target: String
    public var readOnly: Bool?
    public var volumeOptions: VolumeOptions?
    public var tmpfsOptions: TmpfsOptions?
    public init(type: String, source: String?, target: String, readOnly: Bool? = nil) {
        self.type = type; self.source = source; self.target = target; self.readOnly = readOnly
    }

    public struct VolumeOptions: Codable, Hashable, Sendable {
        public var noCopy: Bool?
        public var labels: [String: String]?
        public var driverConfig: NetworkDriver?
        public init(noCopy: Bool? = nil, labels: [String: String]? = nil) { self.noCopy = noCopy; self.labels = labels }
    }

    public struct TmpfsOptions: Codable, Hashable, Sendable {
        public var sizeBytes: Int64?
        public var mode: UInt32?
        public init(sizeBytes: Int64? = nil, mode: UInt32? = nil) { self.sizeBytes = sizeBytes; self.mode = mode }
    }
}

public struct ContainerSpec: Codable, Hashable, Sendable {
    public var image: String
    public var labels: [String: String]?
    public var command: [String]?
    public var args: [String]?
    public var hostname: String?
    public var env: [String]?
    public var dir: String?
    public var user: String?
    public var mounts: [Mount]?
    public var stopSignal: String?
    public var stopGracePeriod: Int64?
    public var `init`: Bool?
    /// The container's root filesystem is mounted read-only (compose's `read_only`).
    public var readOnly: Bool?
    public var capabilityAdd: [String]?
    public var capabilityDrop: [String]?
    /// Overrides the image's HEALTHCHECK; Test ["NONE"] turns it off.
    public var healthcheck: HealthConfig?
    public var secrets: [SecretReference]?
    public var configs: [ConfigReference]?
    /// Namespaced kernel parameters set inside the container (`--sysctl`).
    public var sysctls: [String: String]?
    /// Resource limits (setrlimit) for the container's processes (`--ulimit`).
    public var ulimits: [Ulimit]?
    /// The registry login forwarded with `--with-registry-auth` (swarmkit's
    /// ContainerSpec.PullOptions): kept by the manager, sent to the agents,
    /// never shown (`redactingRegistryAuth`).
    public var pullOptions: PullOptions?
    public init(image: String) { self.image = image }
}

public struct PullOptions: Codable, Hashable, Sendable {
    /// The X-Registry-Auth header's value, as the client sent it.
    public var registryAuth: String?
    public init(registryAuth: String?) { self.registryAuth = registryAuth }
}

/// One rlimit, as Docker's API carries it: `nofile` with soft and hard values.
public struct Ulimit: Codable, Hashable, Sendable {
    public var name: String
    public var soft: Int64
    public var hard: Int64
    public init(name: String, soft: Int64, hard: Int64) { self.name = name; self.soft = soft; self.hard = hard }
}

/// Docker's health check: Test is ["CMD", args…], ["CMD-SHELL", command] or
/// ["NONE"]; durations in nanoseconds; nil fields come from the image.
public struct HealthConfig: Codable, Hashable, Sendable {
    public var test: [String]?
    public var interval: Int64?
    public var timeout: Int64?
    public var startPeriod: Int64?
    public var retries: Int?
    public init(test: [String]? = nil, interval: Int64? = nil, timeout: Int64? = nil, startPeriod: Int64? = nil, retries: Int? = nil) {
        self.test = test; self.interval = interval; self.timeout = timeout; self.startPeriod = startPeriod; self.retries = retries
    }
}

public struct Limits: Codable, Hashable, Sendable {
    public var nanoCPUs: Int64?
    public var memoryBytes: Int64?
    public var pids: Int64?
    public init(nanoCPUs: Int64? = nil, memoryBytes: Int64? = nil, pids: Int64? = nil) {
        self.nanoCPUs = nanoCPUs; self.memoryBytes = memoryBytes; self.pids = pids
    }
}

public struct ResourceRequirements: Codable, Hashable, Sendable {
    public var limits: Limits?
    public var reservations: Resources?
    public init(limits: Limits? = nil, reservations: Resources? = nil) { self.limits = limits; self.reservations = reservations }
}

public enum RestartCondition: String, Codable, Sendable { case none, onFailure = "on-failure", any }

public struct RestartPolicy: Codable, Hashable, Sendable {
    public var condition: RestartCondition?
    public var delay: Int64?
    public var maxAttempts: UInt64?
    public var window: Int64?
    public init(condition: RestartCondition? = nil, delay: Int64? = nil, maxAttempts: UInt64? = nil, window: Int64? = nil) {
        self.condition = condition; self.delay = delay; self.maxAttempts = maxAttempts; self.window = window
    }
    /// Docker's defaults: restart on any exit after 5 s, no limit.
    public static let defaultDelay: Int64 = 5_000_000_000
}

public struct Placement: Codable, Hashable, Sendable {
    public var constraints: [String]?
    /// Spread the tasks evenly over the values of node labels, outermost first.
    public var preferences: [PlacementPreference]?
    public var maxReplicas: UInt64?
    public init(constraints: [String]? = nil, preferences: [PlacementPreference]? = nil, maxReplicas: UInt64? = nil) {
        self.constraints = constraints; self.preferences = preferences; self.maxReplicas = maxReplicas
    }
}

/// `{"Spread": {"SpreadDescriptor": "node.labels.zone"}}`, Docker's only kind.
public struct PlacementPreference: Codable, Hashable, Sendable {
    public struct SpreadOver: Codable, Hashable, Sendable {
        public var spreadDescriptor: String
        public init(spreadDescriptor: String) { self.spreadDescriptor = spreadDescriptor }
    }
    public var spread: SpreadOver?
    public init(spread descriptor: String) { spread = SpreadOver(spreadDescriptor: descriptor) }
}

/// A network a task joins: `host` is the host's own network namespace.
public struct NetworkAttachmentConfig: Codable, Hashable, Sendable {
    /// The network's name or ID (the manager stores the ID).
    public var target: String
    public var aliases: [String]?
    public var driverOpts: [String: String]?
    public init(target: String, aliases: [String]? = nil) { self.target = target; self.aliases = aliases }
}

public struct TaskSpec: Codable, Hashable, Sendable {
    public var containerSpec: ContainerSpec?
    public var networks: [NetworkAttachmentConfig]?
    public var resources: ResourceRequirements?
    public var restartPolicy: RestartPolicy?
    public var placement: Placement?
    public var forceUpdate: UInt64?
    public var runtime: String?
    public init(containerSpec: ContainerSpec) { self.containerSpec = containerSpec }
}

public struct ServiceMode: Codable, Hashable, Sendable {
    public struct Replicated: Codable, Hashable, Sendable {
        public var replicas: UInt64?
        public init(replicas: UInt64?) { self.replicas = replicas }
    }
    public struct Global: Codable, Hashable, Sendable { public init() {} }
    public var replicated: Replicated?
    public var global: Global?
    public init(replicated: Replicated? = nil, global: Global? = nil) { self.replicated = replicated; self.global = global }
    public static func replicas(_ count: UInt64) -> ServiceMode { ServiceMode(replicated: Replicated(replicas: count)) }
    public var isGlobal: Bool { global != nil }
}

public struct UpdateConfig: Codable, Hashable, Sendable {
    public var parallelism: UInt64?
    public var delay: Int64?
    public var failureAction: String?
    public var monitor: Int64?
    public var maxFailureRatio: Double?
    public var order: String?
    public init(parallelism: UInt64? = 1) { self.parallelism = parallelism }
}

public struct EndpointSpec: Codable, Hashable, Sendable {
    /// "vip" (default) or "dnsrr".
    public var mode: String?
    public var ports: [PortConfig]?
    public init(mode: String? = "vip", ports: [PortConfig]? = nil) { self.mode = mode; self.ports = ports }
}

/// One entry of `depends_on`: another service, by its full name (a stack's
/// services are `STACK_NAME`), and what it must reach first.
public struct ServiceDependency: Codable, Hashable, Sendable {
    public enum Condition: String, Codable, Sendable {
        /// At least one task running.
        case serviceStarted = "service_started"
        /// At least one task running and healthy (running, where it has no check).
        case serviceHealthy = "service_healthy"
    }
    public var service: String
    public var condition: Condition
    public init(service: String, condition: Condition = .serviceStarted) { self.service = service; self.condition = condition }
}

public struct ServiceSpec: Codable, Hashable, Sendable {
    public var name: String
    public var labels: [String: String]?
    public var taskTemplate: TaskSpec
    public var mode: ServiceMode
    public var updateConfig: UpdateConfig?
    public var rollbackConfig: UpdateConfig?
    public var endpointSpec: EndpointSpec?
    /// Services whose tasks must run (or be healthy) before this one's are
    /// scheduled: compose's `depends_on`, which Docker Swarm ignores. Not in
    /// Docker's API; its CLI leaves it alone.
    public var dependsOn: [ServiceDependency]?
    public init(name: String, taskTemplate: TaskSpec, mode: ServiceMode) {
        self.name = name; self.taskTemplate = taskTemplate; self.mode = mode
    }
}

public struct UpdateStatus: Codable, Hashable, Sendable {
    public var state: String
    public var startedAt: Timestamp?
    public var completedAt: Timestamp?
    public var message: String?
    public init(state: String, startedAt: Timestamp? = nil, completedAt: Timestamp? = nil, message: String? = nil) {
        self.state = state; self.startedAt = startedAt; self.completedAt = completedAt; self.message = message
    }
}

public struct Service: Codable, Hashable, Sendable {
    public var id: String
    public var version: ObjectVersion
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var spec: ServiceSpec
    public var previousSpec: ServiceSpec?
    public var updateStatus: UpdateStatus?
    /// Ports and VIPs the allocator gave the service.
    public var endpoint: Endpoint?
    /// The store index at which the task template last changed: tasks made
    /// from an older template are replaced by a rolling update. (Not in
    /// Docker's API; its CLI ignores it.)
    public var specIndex: UInt64
    /// `previousSpec`'s template index: a rollback gives it back, so tasks
    /// still on that template stay (not Docker's).
    public var previousSpecIndex: UInt64?
    public init(id: String, version: ObjectVersion, createdAt: Timestamp, spec: ServiceSpec, specIndex: UInt64) {
        self.id = id; self.version = version; self.createdAt = createdAt; self.updatedAt = createdAt
        self.spec = spec; self.specIndex = specIndex
    }
}

// MARK: - Tasks

public struct ContainerStatus: Codable, Hashable, Sendable {
    public var containerID: String?
    public var pid: Int32?
    public var exitCode: Int32?
    public init(containerID: String? = nil, pid: Int32? = nil, exitCode: Int32? = nil) {
        self.containerID = containerID; self.pid = pid; self.exitCode = exitCode
    }
}

public struct TaskStatus: Codable, Hashable, Sendable {
    public var timestamp: Timestamp
    public var state: TaskState
    public var message: String
    public var err: String?
    public var containerStatus: ContainerStatus?
    public init(timestamp: Timestamp, state: TaskState, message: String, err: String? = nil, containerStatus: ContainerStatus? = nil) {
        self.timestamp = timestamp; self.state = state; self.message = message; self.err = err; self.containerStatus = containerStatus
    }
}

public struct SwarmTask: Codable, Hashable, Sendable {
    public var id: String
    public var version: ObjectVersion
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var labels: [String: String]
    public var spec: TaskSpec
    public var serviceID: String
    /// Replicated services: 1…replicas. Global services have none.
    public var slot: Int?
    public var nodeID: String?
    public var status: TaskStatus
    public var desiredState: TaskState
    /// The service's `specIndex` this task was made from (not Docker's).
    public var specIndex: UInt64
    /// The service's name, for container names and `service ps` (not Docker's).
    public var serviceName: String?
    /// The task's addresses in its networks, set by the allocator before it is placed.
    public var networksAttachments: [NetworkAttachment]?
    public init(id: String, version: ObjectVersion, createdAt: Timestamp, spec: TaskSpec, serviceID: String, slot: Int?,
                nodeID: String?, status: TaskStatus, desiredState: TaskState, specIndex: UInt64, serviceName: String?) {
        self.id = id; self.version = version; self.createdAt = createdAt; self.updatedAt = createdAt; self.labels = [:]
        self.spec = spec; self.serviceID = serviceID; self.slot = slot; self.nodeID = nodeID; self.status = status
        self.desiredState = desiredState; self.specIndex = specIndex; self.serviceName = serviceName
    }
}

// MARK: - The swarm

public struct SwarmSpec: Codable, Hashable, Sendable {
    public struct Orchestration: Codable, Hashable, Sendable { public var taskHistoryRetentionLimit: Int64? }
    public struct Dispatcher: Codable, Hashable, Sendable { public var heartbeatPeriod: Int64? }
    public struct CAConfig: Codable, Hashable, Sendable { public var nodeCertExpiry: Int64? }
    public var name: String
    public var labels: [String: String]
    public var orchestration: Orchestration
    public var dispatcher: Dispatcher
    public var caConfig: CAConfig
    public init(heartbeatPeriod: Int64) {
        name = "default"; labels = [:]
        orchestration = Orchestration(taskHistoryRetentionLimit: 5)
        dispatcher = Dispatcher(heartbeatPeriod: heartbeatPeriod)
        caConfig = CAConfig(nodeCertExpiry: 90 * 24 * 3600 * 1_000_000_000)
    }
}

public struct JoinTokens: Codable, Hashable, Sendable {
    public var worker: String
    public var manager: String
    public init(worker: String, manager: String) { self.worker = worker; self.manager = manager }
}

public struct SwarmInfo: Codable, Hashable, Sendable {
    public var id: String
    public var version: ObjectVersion
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var spec: SwarmSpec
    public var joinTokens: JoinTokens
    public var rootRotationInProgress: Bool
    /// Where overlay subnets come from (`swarm init --default-addr-pool`);
    /// nil: Docker's default, 10.0.0.0/8.
    public var defaultAddrPool: [String]?
    /// The prefix length of each subnet cut from the pools (`--default-addr-pool-mask-length`); nil: 24.
    public var subnetSize: UInt32?
    public init(id: String, version: ObjectVersion, createdAt: Timestamp, spec: SwarmSpec, joinTokens: JoinTokens) {
        self.id = id; self.version = version; self.createdAt = createdAt; self.updatedAt = createdAt
        self.spec = spec; self.joinTokens = joinTokens; rootRotationInProgress = false
    }
}
