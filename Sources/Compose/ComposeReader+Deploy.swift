import SwarmAPI

extension ComposeReader {
    func deploy(_ fields: Fields, warnings: inout [String], service: String) throws(ComposeError) -> Deploy {
        for unknown in fields.unknown(["mode", "replicas", "labels", "placement", "resources", "restart_policy", "update_config",
                                       "rollback_config", "endpoint_mode"]) {
            warnings.append(unknown.keyPosition.warning("unknown key '\(unknown.key)' in deploy of service \"\(service)\" (ignored)"))
        }
        var deploy = Deploy()
        if let mode = try fields.string("mode") {
            let position = fields["mode"]!.keyPosition
            switch mode {
            case "replicated", "global": deploy.mode = mode
            case "replicated-job", "global-job":
                throw position.error("deploy.mode \(mode) is not supported yet by swarm (replicated or global)")
            default: throw position.error("deploy.mode must be replicated or global, got \"\(mode)\"")
            }
            deploy.modePosition = position
        }
        if let entry = fields["replicas"] {
            guard let count = entry.value.scalarText.flatMap({ Int($0) }) else {
                throw entry.keyPosition.error("deploy.replicas must be an integer, got \(entry.value.shown)")
            }
            guard count >= 0 else { throw entry.keyPosition.error("deploy.replicas must not be negative, got \(count)") }
            deploy.replicas = UInt64(count)
        }
        deploy.labels = try fields.stringMap("labels") ?? [:]
        deploy.endpointMode = try fields.string("endpoint_mode").map { $0.lowercased() }
        if let mode = deploy.endpointMode, mode != "vip", mode != "dnsrr" {
            throw fields["endpoint_mode"]!.keyPosition.error("deploy.endpoint_mode must be vip or dnsrr, got \"\(mode)\"")
        }
        if let placement = try fields.fields("placement") {
            for unknown in placement.unknown(["constraints", "preferences", "max_replicas_per_node"]) {
                throw unknown.keyPosition.error("unknown key '\(unknown.key)' in deploy.placement (expected constraints, preferences or max_replicas_per_node)")
            }
            if let preferences = placement["preferences"] { deploy.preferences = try self.preferences(preferences) }
            deploy.constraints = try placement.strings("constraints") ?? []
            for (index, constraint) in deploy.constraints.enumerated() where (try? Constraint(parsing: constraint)) == nil {
                let entry = placement["constraints"]!
                let position = (try? entry.value.sequence("", at: entry.keyPosition))?[index].position ?? entry.keyPosition
                throw position.error("deploy.placement.constraints: invalid constraint \"\(constraint)\" (like node.role==manager)")
            }
            deploy.maxReplicasPerNode = try placement.unsigned("max_replicas_per_node")
        }
        if let resources = try fields.fields("resources") {
            for unknown in resources.unknown(["limits", "reservations"]) {
                throw unknown.keyPosition.error("unknown key '\(unknown.key)' in deploy.resources (expected limits or reservations)")
            }
            if let limits = try resources.fields("limits") {
                for unknown in limits.unknown(["cpus", "memory", "pids"]) {
                    throw unknown.keyPosition.error("unknown key '\(unknown.key)' in deploy.resources.limits (expected cpus, memory or pids)")
                }
                deploy.limits.nanoCPUs = try nanoCPUs(limits)
                deploy.limits.memoryBytes = try limits.size("memory")
                deploy.limits.pids = try limits.int("pids").map(Int64.init)
            }
            if let reservations = try resources.fields("reservations") {
                for unknown in reservations.unknown(["cpus", "memory", "generic_resources", "devices"]) {
                    throw unknown.keyPosition.error("unknown key '\(unknown.key)' in deploy.resources.reservations (expected cpus or memory)")
                }
                try reservations.refuse(["generic_resources", "devices"])
                deploy.reservations.nanoCPUs = try nanoCPUs(reservations)
                deploy.reservations.memoryBytes = try reservations.size("memory")
            }
        }
        if let restart = try fields.fields("restart_policy") {
            for unknown in restart.unknown(["condition", "delay", "max_attempts", "window"]) {
                throw unknown.keyPosition.error("unknown key '\(unknown.key)' in deploy.restart_policy (expected condition, delay, max_attempts or window)")
            }
            var policy = RestartPolicy()
            if let condition = try restart.string("condition") {
                guard let known = RestartCondition(rawValue: condition) else {
                    throw restart["condition"]!.keyPosition.error("deploy.restart_policy.condition must be none, on-failure or any, got \"\(condition)\"")
                }
                policy.condition = known
            }
            policy.delay = try restart.duration("delay")
            policy.maxAttempts = try restart.unsigned("max_attempts")
            policy.window = try restart.duration("window")
            deploy.restartPolicy = policy
        }
        if let update = try fields.fields("update_config") { deploy.updateConfig = try updateConfig(update) }
        if let rollback = try fields.fields("rollback_config") { deploy.rollbackConfig = try updateConfig(rollback) }
        return deploy
    }

    /// `cpus: "0.5"` or `cpus: 0.5`: nano CPUs, as Docker's ParseFloat × 1e9.
    private func nanoCPUs(_ fields: Fields) throws(ComposeError) -> Int64? {
        guard let entry = fields["cpus"] else { return nil }
        guard let text = entry.value.scalarText, let cpus = Double(text), cpus >= 0 else {
            throw entry.keyPosition.error("\(fields.name("cpus")) must be a number of CPUs like 0.5, got \(entry.value.shown)")
        }
        return Int64(cpus * 1e9)
    }

    private func updateConfig(_ fields: Fields) throws(ComposeError) -> UpdateConfig {
        for unknown in fields.unknown(["parallelism", "delay", "failure_action", "monitor", "max_failure_ratio", "order"]) {
            throw unknown.keyPosition.error("unknown key '\(unknown.key)' in \(fields.path) (expected parallelism, delay, failure_action, monitor, max_failure_ratio or order)")
        }
        var config = UpdateConfig(parallelism: nil)
        config.parallelism = try fields.unsigned("parallelism")
        config.delay = try fields.duration("delay")
        config.monitor = try fields.duration("monitor")
        config.maxFailureRatio = try fields.double("max_failure_ratio")
        if let action = try fields.string("failure_action") {
            guard ["pause", "continue", "rollback"].contains(action) else {
                throw fields["failure_action"]!.keyPosition.error("\(fields.path).failure_action must be pause, continue or rollback, got \"\(action)\"")
            }
            config.failureAction = action
        }
        if let order = try fields.string("order") {
            guard ["stop-first", "start-first"].contains(order) else {
                throw fields["order"]!.keyPosition.error("\(fields.path).order must be stop-first or start-first, got \"\(order)\"")
            }
            config.order = order
        }
        return config
    }
}
