import SwarmAPI

extension ServiceSpec {
    /// The spec as Docker stores and shows it: what the client left out is
    /// filled with swarmkit's defaults (one replica, restart on any exit
    /// after 5 s, a 10 s stop grace period, update and rollback one task at
    /// a time with a 5 s monitor, pausing on failure, stop-first), so
    /// `inspect` shows what the orchestrator will do and clients that read
    /// these fields (`REPLICAS 1/1`) find them.
    func withDockerDefaults() -> ServiceSpec {
        var spec = self
        if spec.mode.global == nil {
            spec.mode.replicated = ServiceMode.Replicated(replicas: spec.mode.replicated?.replicas ?? 1)
        }
        spec.labels = spec.labels ?? [:]
        if spec.taskTemplate.containerSpec != nil, spec.taskTemplate.containerSpec?.stopGracePeriod == nil {
            spec.taskTemplate.containerSpec?.stopGracePeriod = 10_000_000_000
        }
        var restart = spec.taskTemplate.restartPolicy ?? RestartPolicy()
        restart.condition = restart.condition ?? .any
        restart.delay = restart.delay ?? RestartPolicy.defaultDelay
        restart.maxAttempts = restart.maxAttempts ?? 0
        spec.taskTemplate.restartPolicy = restart
        spec.taskTemplate.runtime = spec.taskTemplate.runtime ?? "container"
        // Go's uint64 with no omitempty: Docker always shows it.
        spec.taskTemplate.forceUpdate = spec.taskTemplate.forceUpdate ?? 0
        // Docker's mount has `ReadOnly bool omitempty`: the SDK's explicit false is not shown.
        let mounts = spec.taskTemplate.containerSpec?.mounts?.map { mount in
            var mount = mount
            if mount.readOnly == false { mount.readOnly = nil }
            return mount
        }
        spec.taskTemplate.containerSpec?.mounts = mounts
        spec.updateConfig = Self.filled(spec.updateConfig)
        spec.rollbackConfig = Self.filled(spec.rollbackConfig)
        spec.endpointSpec = EndpointSpec(mode: spec.endpointSpec?.mode ?? "vip", ports: spec.endpointSpec?.ports.flatMap { $0.isEmpty ? nil : $0 })
        return spec
    }

    static func filled(_ config: UpdateConfig?) -> UpdateConfig {
        var config = config ?? UpdateConfig()
        config.parallelism = config.parallelism ?? 1
        config.failureAction = config.failureAction ?? "pause"
        config.monitor = config.monitor ?? 5_000_000_000
        config.maxFailureRatio = config.maxFailureRatio ?? 0
        config.order = config.order ?? "stop-first"
        return config
    }
}
