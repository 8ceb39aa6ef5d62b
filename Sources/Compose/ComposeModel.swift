import SwarmAPI

/// One compose file as read (interpolated, typed, paths resolved), before
/// several files are merged and the result converted into a `StackPlan`.
struct ComposeModel {
    var services: [ServiceConfig] = []
    var networks: [String: NetworkConfig] = [:]
    var volumes: [String: VolumeConfig] = [:]
    var secrets: [String: FileObjectConfig] = [:]
    var configs: [String: FileObjectConfig] = [:]
    /// Keys Docker names in "Ignoring unsupported options: …".
    var unsupported: Set<String> = []
    /// Keys Docker names in "Ignoring deprecated options: …".
    var deprecated: Set<String> = []
    var warnings: [String] = []
}

struct ServiceConfig {
    var name: String
    var position: Position
    var image: String?
    var command: [String]?
    var entrypoint: [String]?
    /// env_file entries overridden by `environment:`; nil value: `KEY` alone, unset in the caller's environment.
    var environment: [String: String?] = [:]
    var ports: [PortConfig] = []
    /// nil: no `networks:` key (the service joins the stack's default network).
    var networks: [String: ServiceNetwork]?
    var volumes: [ServiceVolume] = []
    var hostname: String?
    var user: String?
    var workingDir: String?
    var healthcheck: Healthcheck?
    var stopGracePeriod: Int64?
    var stopSignal: String?
    var secrets: [FileReference] = []
    var configs: [FileReference] = []
    var labels: [String: String] = [:]
    var capAdd: [String] = []
    var capDrop: [String] = []
    var initProcess: Bool?
    var readOnly: Bool?
    var tmpfs: [String] = []
    var dependsOn: [Dependency] = []
    var sysctls: [String: String] = [:]
    /// By name; merged files replace a name's values.
    var ulimits: [String: Ulimit] = [:]
    /// Compose's `restart:` (used only when deploy.restart_policy is absent, as Docker does).
    var restart: String?
    var deploy = Deploy()
}

struct ServiceNetwork {
    var aliases: [String]
    var position: Position
}

struct ServiceVolume {
    var type: String
    var source: String?
    var target: String
    var readOnly = false
    var noCopy: Bool?
    var tmpfsSize: Int64?
    var tmpfsMode: UInt32?
    var position: Position
}

/// A service's `secrets:` or `configs:` entry.
struct FileReference {
    var source: String
    var target: String?
    var uid: String?
    var gid: String?
    var mode: UInt32?
    var position: Position
}

struct Dependency {
    var service: String
    var condition: ServiceDependency.Condition
    var position: Position
}

struct Healthcheck {
    var test: [String]?
    var interval: Int64?
    var timeout: Int64?
    var startPeriod: Int64?
    var retries: Int?
    var disable: Bool?
    var position: Position
}

struct Deploy {
    var mode: String?
    var modePosition: Position?
    var replicas: UInt64?
    var labels: [String: String] = [:]
    var constraints: [String] = []
    /// `spread` descriptors, outermost first.
    var preferences: [String] = []
    var maxReplicasPerNode: UInt64?
    var limits = Limits()
    var reservations = Resources()
    var restartPolicy: RestartPolicy?
    var updateConfig: UpdateConfig?
    var rollbackConfig: UpdateConfig?
    var endpointMode: String?
}

struct NetworkConfig {
    var position: Position
    var name: String?
    var driver: String?
    var driverOpts: [String: String]?
    var ipamDriver: String?
    var ipamConfigs: [IPAMConfig] = []
    var external = false
    var `internal`: Bool?
    var attachable: Bool?
    var enableIPv6: Bool?
    var labels: [String: String] = [:]
}

struct VolumeConfig {
    var position: Position
    var name: String?
    var driver: String?
    var driverOpts: [String: String]?
    var external = false
    var labels: [String: String] = [:]
}

/// A top-level secret or config: its data from `file:` (read when the file
/// is read) or `environment:`, or external.
struct FileObjectConfig {
    var position: Position
    var name: String?
    var data: [UInt8]?
    var external = false
    var labels: [String: String] = [:]
}
