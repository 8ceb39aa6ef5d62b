import SwarmAPI

/// Several `-c` files merged as Docker's loader merges them (merge.go): a
/// later file's scalars override, maps merge key by key, ports merge by
/// their whole value, volumes by target, secrets and configs by source,
/// command and entrypoint are replaced, other lists are appended;
/// top-level networks, volumes, secrets and configs are replaced by name.
extension ComposeModel {
    mutating func merge(_ other: ComposeModel) {
        for service in other.services {
            if let index = services.firstIndex(where: { $0.name == service.name }) {
                services[index].merge(service)
            } else {
                services.append(service)
            }
        }
        networks.merge(other.networks) { _, new in new }
        volumes.merge(other.volumes) { _, new in new }
        secrets.merge(other.secrets) { _, new in new }
        configs.merge(other.configs) { _, new in new }
        unsupported.formUnion(other.unsupported)
        deprecated.formUnion(other.deprecated)
        warnings += other.warnings
    }
}

extension ServiceConfig {
    mutating func merge(_ other: ServiceConfig) {
        image = other.image ?? image
        if let command = other.command, !command.isEmpty { self.command = command }
        if let entrypoint = other.entrypoint, !entrypoint.isEmpty { self.entrypoint = entrypoint }
        environment.merge(other.environment) { _, new in new }
        for port in other.ports where !ports.contains(port) { ports.append(port) }
        ports.sort { ($0.publishedPort ?? 0) < ($1.publishedPort ?? 0) }
        if let more = other.networks { networks = (networks ?? [:]).merging(more) { _, new in new } }
        volumes = Self.merged(volumes, other.volumes, key: \.target)
        hostname = other.hostname ?? hostname
        user = other.user ?? user
        workingDir = other.workingDir ?? workingDir
        if let check = other.healthcheck {
            if var merged = healthcheck { merged.merge(check); healthcheck = merged } else { healthcheck = check }
        }
        stopGracePeriod = other.stopGracePeriod ?? stopGracePeriod
        stopSignal = other.stopSignal ?? stopSignal
        secrets = Self.merged(secrets, other.secrets, key: \.source)
        configs = Self.merged(configs, other.configs, key: \.source)
        labels.merge(other.labels) { _, new in new }
        capAdd += other.capAdd
        capDrop += other.capDrop
        initProcess = other.initProcess ?? initProcess
        readOnly = other.readOnly ?? readOnly
        tmpfs += other.tmpfs
        dependsOn = Self.merged(dependsOn, other.dependsOn, key: \.service, sorted: false)
        sysctls.merge(other.sysctls) { _, new in new }
        ulimits.merge(other.ulimits) { _, new in new }
        restart = other.restart ?? restart
        deploy.merge(other.deploy)
    }

    /// Docker's mergeSlice: entries keyed, a later one replaces, sorted by key.
    private static func merged<T>(_ base: [T], _ other: [T], key: KeyPath<T, String>, sorted: Bool = true) -> [T] {
        var result = base
        for item in other {
            if let index = result.firstIndex(where: { $0[keyPath: key] == item[keyPath: key] }) { result[index] = item } else { result.append(item) }
        }
        return sorted ? result.sorted { $0[keyPath: key] < $1[keyPath: key] } : result
    }
}

extension Healthcheck {
    mutating func merge(_ other: Healthcheck) {
        test = other.test ?? test
        interval = other.interval ?? interval
        timeout = other.timeout ?? timeout
        startPeriod = other.startPeriod ?? startPeriod
        retries = other.retries ?? retries
        disable = other.disable ?? disable
    }
}

extension Deploy {
    mutating func merge(_ other: Deploy) {
        if other.mode != nil { mode = other.mode; modePosition = other.modePosition }
        replicas = other.replicas ?? replicas
        labels.merge(other.labels) { _, new in new }
        constraints += other.constraints
        preferences += other.preferences
        maxReplicasPerNode = other.maxReplicasPerNode ?? maxReplicasPerNode
        limits.nanoCPUs = other.limits.nanoCPUs ?? limits.nanoCPUs
        limits.memoryBytes = other.limits.memoryBytes ?? limits.memoryBytes
        limits.pids = other.limits.pids ?? limits.pids
        reservations.nanoCPUs = other.reservations.nanoCPUs ?? reservations.nanoCPUs
        reservations.memoryBytes = other.reservations.memoryBytes ?? reservations.memoryBytes
        if let policy = other.restartPolicy {
            var merged = restartPolicy ?? RestartPolicy()
            merged.condition = policy.condition ?? merged.condition
            merged.delay = policy.delay ?? merged.delay
            merged.maxAttempts = policy.maxAttempts ?? merged.maxAttempts
            merged.window = policy.window ?? merged.window
            restartPolicy = merged
        }
        updateConfig = Self.merged(updateConfig, other.updateConfig)
        rollbackConfig = Self.merged(rollbackConfig, other.rollbackConfig)
        endpointMode = other.endpointMode ?? endpointMode
    }

    private static func merged(_ base: UpdateConfig?, _ other: UpdateConfig?) -> UpdateConfig? {
        guard let other else { return base }
        guard var merged = base else { return other }
        merged.parallelism = other.parallelism ?? merged.parallelism
        merged.delay = other.delay ?? merged.delay
        merged.failureAction = other.failureAction ?? merged.failureAction
        merged.monitor = other.monitor ?? merged.monitor
        merged.maxFailureRatio = other.maxFailureRatio ?? merged.maxFailureRatio
        merged.order = other.order ?? merged.order
        return merged
    }
}
