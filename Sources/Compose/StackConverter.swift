import FoundationEssentials
import SwarmAPI

/// The merged compose model into a `StackPlan`, as docker/cli's `convert`
/// package does it: names scoped `NAMESPACE_KEY` (or the file's `name:`),
/// the namespace label everywhere, the image label on services, a default
/// overlay network for services without `networks:`.
struct StackConverter {
    let namespace: String
    let model: ComposeModel

    func scope(_ name: String) -> String { "\(namespace)_\(name)" }

    func stackLabels(_ labels: [String: String]) -> [String: String] {
        labels.merging([StackPlan.namespaceLabel: namespace]) { _, stack in stack }
    }

    func convert() throws(ComposeError) -> StackPlan {
        var plan = StackPlan(namespace: namespace)
        let services = model.services.sorted { $0.name < $1.name }
        try checkDependencies(services)
        for service in services { plan.services.append(try convert(service)) }

        // Networks: only those the services use, as Docker creates them.
        var used: Set<String> = []
        for service in services { used.formUnion(Self.networks(of: service).keys) }
        for name in used.sorted() {
            guard let network = model.networks[name] else {
                // Only "default" can be undeclared (checked per service).
                plan.networks.append(defaultNetwork())
                continue
            }
            if network.external {
                plan.externalNetworks.append(network.name ?? name)
                continue
            }
            var spec = NetworkSpec(name: network.name ?? scope(name))
            spec.labels = stackLabels(network.labels)
            spec.driverConfiguration = NetworkDriver(name: network.driver ?? "overlay", options: network.driverOpts)
            spec.internal = network.internal
            spec.attachable = network.attachable
            spec.ipv6Enabled = network.enableIPv6
            if network.ipamDriver != nil || !network.ipamConfigs.isEmpty {
                spec.ipamOptions = IPAMOptions(driver: NetworkDriver(name: network.ipamDriver ?? "default"),
                                               configs: network.ipamConfigs.isEmpty ? nil : network.ipamConfigs)
            }
            plan.networks.append(spec)
        }

        // Secrets and configs: every one declared (Docker creates them all).
        for (name, secret) in model.secrets.sorted(by: { $0.key < $1.key }) {
            if secret.external { continue }
            plan.secrets.append(SecretSpec(name: secret.name ?? scope(name), labels: stackLabels(secret.labels),
                                           data: Data(secret.data ?? []).base64EncodedString()))
        }
        for (name, config) in model.configs.sorted(by: { $0.key < $1.key }) {
            if config.external { continue }
            plan.configs.append(SecretSpec(name: config.name ?? scope(name), labels: stackLabels(config.labels),
                                           data: Data(config.data ?? []).base64EncodedString()))
        }
        var externalSecrets: Set<String> = [], externalConfigs: Set<String> = []
        for service in services {
            for reference in service.secrets { if let secret = model.secrets[reference.source], secret.external { externalSecrets.insert(secret.name ?? reference.source) } }
            for reference in service.configs { if let config = model.configs[reference.source], config.external { externalConfigs.insert(config.name ?? reference.source) } }
        }
        plan.externalSecrets = externalSecrets.sorted()
        plan.externalConfigs = externalConfigs.sorted()

        if !model.unsupported.isEmpty {
            plan.warnings.append("Ignoring unsupported options: \(model.unsupported.sorted().joined(separator: ", "))")
        }
        if !model.deprecated.isEmpty {
            plan.warnings.append("Ignoring deprecated options:\n\n" + model.deprecated.sorted()
                .map { "\($0): \(ComposeReader.deprecatedKeys[$0] ?? "")" }.joined(separator: "\n"))
        }
        plan.warnings += model.warnings
        return plan
    }

    private func defaultNetwork() -> NetworkSpec {
        var spec = NetworkSpec(name: scope("default"))
        spec.labels = stackLabels([:])
        spec.driverConfiguration = NetworkDriver(name: "overlay")
        return spec
    }

    // MARK: - Services

    private func convert(_ service: ServiceConfig) throws(ComposeError) -> ServiceSpec {
        guard let image = service.image, !image.isEmpty else {
            throw service.position.error("service \"\(service.name)\" has no image (swarm runs images; build: is not supported)")
        }
        var container = ContainerSpec(image: image)
        container.labels = stackLabels(service.labels)
        container.command = service.entrypoint
        container.args = service.command
        container.hostname = service.hostname
        let environment = service.environment.map { key, value in value.map { "\(key)=\($0)" } ?? key }.sorted()
        container.env = environment.isEmpty ? nil : environment
        container.dir = service.workingDir
        container.user = service.user
        let mounts = try self.mounts(service)
        container.mounts = mounts.isEmpty ? nil : mounts
        container.stopGracePeriod = service.stopGracePeriod
        container.stopSignal = service.stopSignal
        container.`init` = service.initProcess
        container.readOnly = service.readOnly
        container.capabilityAdd = service.capAdd.isEmpty ? nil : service.capAdd
        container.capabilityDrop = service.capDrop.isEmpty ? nil : service.capDrop
        container.healthcheck = try healthcheck(service)
        container.sysctls = service.sysctls.isEmpty ? nil : service.sysctls
        container.ulimits = service.ulimits.isEmpty ? nil : service.ulimits.values.sorted { $0.name < $1.name }
        let secrets = try references(service.secrets, objects: model.secrets, kind: "secret", service: service.name)
        container.secrets = secrets.isEmpty ? nil : secrets.map { SecretReference(file: $0.file, secretID: "", secretName: $0.name) }
        let configs = try references(service.configs, objects: model.configs, kind: "config", service: service.name)
        container.configs = configs.isEmpty ? nil : configs.map { ConfigReference(file: $0.file, configID: "", configName: $0.name) }

        var task = TaskSpec(containerSpec: container)
        task.networks = try networks(service)
        var resources = ResourceRequirements()
        let deploy = service.deploy
        if deploy.limits != Limits() { resources.limits = deploy.limits }
        if deploy.reservations != Resources() { resources.reservations = deploy.reservations }
        task.resources = resources
        task.restartPolicy = try restartPolicy(service)
        task.placement = Placement(constraints: deploy.constraints.isEmpty ? nil : deploy.constraints,
                                   preferences: deploy.preferences.isEmpty ? nil : deploy.preferences.map { PlacementPreference(spread: $0) },
                                   maxReplicas: deploy.maxReplicasPerNode)

        let mode: ServiceMode
        if deploy.mode == "global" {
            if deploy.replicas != nil {
                throw (deploy.modePosition ?? service.position).error("replicas can only be used with replicated mode (service \"\(service.name)\" is global)")
            }
            mode = ServiceMode(global: .init())
        } else {
            // Docker sends no count and the daemon stores 1: the same service.
            mode = .replicas(deploy.replicas ?? 1)
        }
        var spec = ServiceSpec(name: scope(service.name), taskTemplate: task, mode: mode)
        spec.labels = stackLabels(deploy.labels).merging([StackPlan.imageLabel: image]) { _, image in image }
        spec.updateConfig = deploy.updateConfig.map(Self.withParallelism)
        spec.rollbackConfig = deploy.rollbackConfig.map(Self.withParallelism)
        let ports = service.ports.sorted {
            ($0.publishedPort ?? 0, $0.targetPort ?? 0, $0.protocol ?? "") < ($1.publishedPort ?? 0, $1.targetPort ?? 0, $1.protocol ?? "")
        }
        spec.endpointSpec = EndpointSpec(mode: deploy.endpointMode ?? "vip", ports: ports.isEmpty ? nil : ports)
        spec.dependsOn = service.dependsOn.isEmpty ? nil : service.dependsOn.map { ServiceDependency(service: scope($0.service), condition: $0.condition) }
        return spec
    }

    /// Docker's convertUpdateConfig: parallelism 1 unless given.
    private static func withParallelism(_ config: UpdateConfig) -> UpdateConfig {
        var config = config
        config.parallelism = config.parallelism ?? 1
        return config
    }

    private func healthcheck(_ service: ServiceConfig) throws(ComposeError) -> HealthConfig? {
        guard let check = service.healthcheck else { return nil }
        if check.disable == true {
            guard check.test?.isEmpty ?? true else { throw check.position.error("healthcheck: test and disable can't be set at the same time") }
            return HealthConfig(test: ["NONE"])
        }
        if let test = check.test, let first = test.first, !["CMD", "CMD-SHELL", "NONE"].contains(first) {
            throw check.position.error("healthcheck.test must start with CMD, CMD-SHELL or NONE, got \"\(first)\"")
        }
        return HealthConfig(test: check.test, interval: check.interval, timeout: check.timeout, startPeriod: check.startPeriod, retries: check.retries)
    }

    /// deploy.restart_policy, else the legacy `restart:` (no, always, on-failure[:N], unless-stopped).
    private func restartPolicy(_ service: ServiceConfig) throws(ComposeError) -> RestartPolicy? {
        if let policy = service.deploy.restartPolicy { return policy }
        guard let restart = service.restart, !restart.isEmpty else { return nil }
        let parts = restart.split(separator: ":", maxSplits: 1).map(String.init)
        var attempts: UInt64?
        if parts.count == 2 {
            guard let count = UInt64(parts[1]) else { throw service.position.error("invalid restart policy: maximum retry count must be an integer") }
            attempts = count > 0 ? count : nil
        }
        switch parts[0] {
        case "no": return nil
        case "always", "unless-stopped": return RestartPolicy(condition: .any, maxAttempts: attempts)
        case "on-failure": return RestartPolicy(condition: .onFailure, maxAttempts: attempts)
        default:
            throw service.position.error(
                "invalid restart policy: unknown policy '\(parts[0])' (must be one of 'no', 'always', 'on-failure', or 'unless-stopped')")
        }
    }

    /// A service without networks is on the stack's `default` network.
    static func networks(of service: ServiceConfig) -> [String: ServiceNetwork] {
        guard let networks = service.networks, !networks.isEmpty else {
            return ["default": ServiceNetwork(aliases: [], position: service.position)]
        }
        return networks
    }

    private func networks(_ service: ServiceConfig) throws(ComposeError) -> [NetworkAttachmentConfig] {
        var attachments: [NetworkAttachmentConfig] = []
        for (name, network) in Self.networks(of: service) {
            let declared = model.networks[name]
            if declared == nil && name != "default" {
                throw network.position.error("service \(service.name): undefined network \"\(name)\"")
            }
            let target = declared?.name ?? scope(name)
            var attachment = NetworkAttachmentConfig(target: target, aliases: network.aliases)
            // Docker adds the service's short name on user-defined networks.
            if !["host", "bridge", "none", "default"].contains(target) { attachment.aliases = network.aliases + [service.name] }
            if attachment.aliases?.isEmpty == true { attachment.aliases = nil }
            attachments.append(attachment)
        }
        return attachments.sorted { $0.target < $1.target }
    }

    private func references(_ references: [FileReference], objects: [String: FileObjectConfig], kind: String, service: String)
        throws(ComposeError) -> [(name: String, file: FileTarget)] {
        var result: [(name: String, file: FileTarget)] = []
        for reference in references {
            guard let object = objects[reference.source] else {
                throw reference.position.error("service \(service): undefined \(kind) \"\(reference.source)\"")
            }
            let name = object.name ?? (object.external ? reference.source : scope(reference.source))
            let file = FileTarget(name: reference.target ?? reference.source, uid: reference.uid ?? "0", gid: reference.gid ?? "0",
                                  mode: reference.mode ?? 0o444)
            result.append((name, file))
        }
        // Docker sorts them so that a redeploy does not restart a service for their order.
        return result.sorted { $0.name < $1.name }
    }

    private func mounts(_ service: ServiceConfig) throws(ComposeError) -> [Mount] {
        var mounts: [Mount] = []
        for volume in service.volumes {
            var mount = Mount(type: volume.type, source: volume.source, target: volume.target, readOnly: volume.readOnly ? true : nil)
            switch volume.type {
            case "volume":
                guard let source = volume.source, !source.isEmpty else {
                    // An anonymous volume.
                    mount.source = nil
                    if let noCopy = volume.noCopy { mount.volumeOptions = .init(noCopy: noCopy) }
                    break
                }
                guard let declared = model.volumes[source] else {
                    throw volume.position.error("service \(service.name): undefined volume \"\(source)\"")
                }
                mount.source = declared.name ?? scope(source)
                var options = Mount.VolumeOptions(noCopy: volume.noCopy)
                if !declared.external {
                    options.labels = stackLabels(declared.labels)
                    if let driver = declared.driver { options.driverConfig = NetworkDriver(name: driver, options: declared.driverOpts) }
                }
                mount.volumeOptions = options
            case "tmpfs":
                mount.source = nil
                if volume.tmpfsSize != nil || volume.tmpfsMode != nil {
                    mount.tmpfsOptions = .init(sizeBytes: volume.tmpfsSize, mode: volume.tmpfsMode)
                }
            default: break
            }
            mounts.append(mount)
        }
        // Beyond Docker (which ignores `tmpfs:` in swarm mode): tmpfs mounts.
        for entry in service.tmpfs {
            let parts = entry.split(separator: ":", maxSplits: 1).map(String.init)
            var mount = Mount(type: "tmpfs", source: nil, target: parts[0])
            guard parts[0].hasPrefix("/") else { throw service.position.error("tmpfs: \"\(entry)\" must be an absolute path") }
            if parts.count == 2 {
                var options = Mount.TmpfsOptions()
                for option in parts[1].split(separator: ",") {
                    let pair = option.split(separator: "=", maxSplits: 1).map(String.init)
                    if pair.count == 2, pair[0] == "size", let size = ByteSize.parse(pair[1]) { options.sizeBytes = size; continue }
                    if pair.count == 2, pair[0] == "mode", let mode = UInt32(pair[1], radix: 8) { options.mode = mode; continue }
                    throw service.position.error("tmpfs: option \"\(option)\" of \"\(entry)\" is not supported (size=SIZE, mode=OCTAL)")
                }
                mount.tmpfsOptions = options
            }
            mounts.append(mount)
        }
        return mounts
    }

    /// depends_on names services of the file, and no cycle.
    private func checkDependencies(_ services: [ServiceConfig]) throws(ComposeError) {
        let byName = Dictionary(services.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for service in services {
            for dependency in service.dependsOn where byName[dependency.service] == nil {
                throw dependency.position.error("service \(service.name) depends on undefined service \"\(dependency.service)\"")
            }
        }
        // Depth-first search for a cycle.
        var state: [String: Int] = [:]  // 1: on the path, 2: done
        func visit(_ name: String, path: [String]) -> [String]? {
            if state[name] == 2 { return nil }
            if state[name] == 1 { return path + [name] }
            state[name] = 1
            for dependency in byName[name]?.dependsOn ?? [] {
                if let cycle = visit(dependency.service, path: path + [name]) { return cycle }
            }
            state[name] = 2
            return nil
        }
        for service in services {
            if let cycle = visit(service.name, path: []) {
                let start = cycle.firstIndex(of: cycle.last!) ?? 0
                throw service.position.error("depends_on: dependency cycle: \(cycle[start...].joined(separator: " -> "))")
            }
        }
    }
}
