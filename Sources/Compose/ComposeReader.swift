import FoundationEssentials
import SwarmAPI

/// Reads one compose file's YAML into a `ComposeModel`: types checked with
/// positions, env_file read, relative paths made absolute against the
/// directory of the first file, as Docker's loader does.
struct ComposeReader {
    let workingDirectory: String
    /// The caller's environment with `.env` under it: `KEY` alone in
    /// `environment:` and bare keys in env files take their value here.
    let environment: [String: String]

    static let topLevelKeys: Set<String> = ["version", "services", "networks", "volumes", "secrets", "configs", "name"]
    /// Keys Docker's loader lists as unsupported by `docker stack deploy`.
    static let unsupportedKeys: Set<String> = [
        "build", "cgroupns_mode", "cgroup_parent", "devices", "domainname", "external_links", "ipc", "links",
        "mac_address", "network_mode", "pid", "privileged", "restart", "security_opt", "shm_size", "userns_mode",
    ]
    static let deprecatedKeys: [String: String] = [
        "container_name": "Setting the container name is not supported.",
        "expose": "Exposing ports is unnecessary - services on the same network can access each other's containers on any port.",
    ]
    /// Docker keys swarm's service spec has no place for yet: refused, never dropped.
    static let refusedKeys = [
        "extra_hosts", "dns", "dns_search", "dns_opt", "tty", "stdin_open", "isolation",
        "credential_spec", "logging",
    ]
    static let serviceKeys: Set<String> = [
        "image", "command", "entrypoint", "environment", "env_file", "ports", "networks", "volumes", "hostname", "user",
        "working_dir", "healthcheck", "stop_grace_period", "stop_signal", "configs", "secrets", "labels", "cap_add",
        "cap_drop", "init", "read_only", "tmpfs", "depends_on", "deploy", "sysctls", "ulimits",
    ]

    func read(_ root: YAMLValue) throws(ComposeError) -> ComposeModel {
        var model = ComposeModel()
        let top = try Fields(root, path: "", at: root.position)
        for entry in top.unknown(Self.topLevelKeys) {
            throw entry.keyPosition.error("unknown top-level key '\(entry.key)' (expected version, services, networks, volumes, secrets or configs)")
        }
        if let entry = top["version"] {
            let version = entry.value.scalarText ?? ""
            guard version.hasPrefix("3") else {
                throw entry.keyPosition.error("unsupported Compose file version: \(version) (stack deploy reads version 3.x and the Compose Specification)")
            }
        }
        if let services = try top.fields("services") {
            for entry in services.entries {
                guard entry.key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }), !entry.key.isEmpty else {
                    throw entry.keyPosition.error("invalid service name '\(entry.key)': use letters, digits, '.', '_' and '-'")
                }
                model.services.append(try service(entry, into: &model))
            }
        }
        if let networks = try top.fields("networks") {
            for entry in networks.entries { model.networks[entry.key] = try network(entry) }
        }
        if let volumes = try top.fields("volumes") {
            for entry in volumes.entries { model.volumes[entry.key] = try volume(entry) }
        }
        if let secrets = try top.fields("secrets") {
            for entry in secrets.entries { model.secrets[entry.key] = try fileObject(entry, kind: "secrets") }
        }
        if let configs = try top.fields("configs") {
            for entry in configs.entries { model.configs[entry.key] = try fileObject(entry, kind: "configs") }
        }
        return model
    }

    /// Absolute, against the first file's directory; `~` is the caller's home.
    func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return Self.clean(path) }
        if path == "~" || path.hasPrefix("~/"), let home = environment["HOME"] { return Self.clean(home + path.dropFirst()) }
        return Self.clean(workingDirectory + "/" + path)
    }

    /// Removes `.` and `..` components and doubled slashes, as filepath.Clean.
    static func clean(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    // MARK: - Services

    private func service(_ entry: YAMLValue.Entry, into model: inout ComposeModel) throws(ComposeError) -> ServiceConfig {
        let name = entry.key
        let fields = try Fields(entry.value, path: "", at: entry.keyPosition)
        var service = ServiceConfig(name: name, position: entry.keyPosition)
        try fields.refuse(Self.refusedKeys)
        for unknown in fields.unknown(Self.serviceKeys) {
            if Self.unsupportedKeys.contains(unknown.key) { model.unsupported.insert(unknown.key); continue }
            if Self.deprecatedKeys[unknown.key] != nil { model.deprecated.insert(unknown.key); continue }
            model.warnings.append(unknown.keyPosition.warning("unknown key '\(unknown.key)' in service \"\(name)\" (ignored)"))
        }
        service.image = try fields.string("image")
        if let command = fields["command"] { service.command = try command.value.command("command", at: command.keyPosition) }
        if let entrypoint = fields["entrypoint"] { service.entrypoint = try entrypoint.value.command("entrypoint", at: entrypoint.keyPosition) }
        // env_file first, `environment:` over it (Docker's resolveEnvironment).
        if let envFile = fields["env_file"] {
            for path in try envFile.value.stringOrList("env_file", at: envFile.keyPosition) {
                for (key, value) in try EnvFile.entries(absolute(path), environment: environment, at: envFile.keyPosition) {
                    service.environment[key] = .some(value)
                }
            }
        }
        if let environmentEntry = fields["environment"] {
            for (key, value) in try environmentEntry.value.listOrDict("environment", at: environmentEntry.keyPosition) {
                service.environment[key] = .some(value ?? environment[key])
            }
        }
        if let ports = fields["ports"] {
            for item in try ports.value.sequence("ports", at: ports.keyPosition) { service.ports += try port(item) }
        }
        if let networks = fields["networks"] { service.networks = try serviceNetworks(networks) }
        if let volumes = fields["volumes"] {
            for item in try volumes.value.sequence("volumes", at: volumes.keyPosition) { service.volumes.append(try volume(item)) }
        }
        service.hostname = try fields.string("hostname")
        service.user = try fields.string("user")
        service.workingDir = try fields.string("working_dir")
        if let healthcheck = try fields.fields("healthcheck") { service.healthcheck = try self.healthcheck(healthcheck, at: fields["healthcheck"]!.keyPosition) }
        service.stopGracePeriod = try fields.duration("stop_grace_period")
        service.stopSignal = try fields.string("stop_signal")
        if let secrets = fields["secrets"] { service.secrets = try fileReferences(secrets, kind: "secrets") }
        if let configs = fields["configs"] { service.configs = try fileReferences(configs, kind: "configs") }
        service.labels = try fields.stringMap("labels") ?? [:]
        service.capAdd = try fields.strings("cap_add") ?? []
        service.capDrop = try fields.strings("cap_drop") ?? []
        service.initProcess = try fields.bool("init")
        service.readOnly = try fields.bool("read_only")
        if let tmpfs = fields["tmpfs"] { service.tmpfs = try tmpfs.value.stringOrList("tmpfs", at: tmpfs.keyPosition) }
        if let dependsOn = fields["depends_on"] { service.dependsOn = try dependencies(dependsOn) }
        if let sysctls = fields["sysctls"] { service.sysctls = try self.sysctls(sysctls) }
        if let ulimits = fields["ulimits"] { service.ulimits = try self.ulimits(ulimits) }
        service.restart = try fields.string("restart")
        if let deploy = try fields.fields("deploy") { service.deploy = try self.deploy(deploy, warnings: &model.warnings, service: name) }
        return service
    }

    private func serviceNetworks(_ entry: YAMLValue.Entry) throws(ComposeError) -> [String: ServiceNetwork] {
        var result: [String: ServiceNetwork] = [:]
        switch entry.value.kind {
        case .sequence(let items):
            for item in items { result[try item.string("networks items", at: item.position)] = ServiceNetwork(aliases: [], position: item.position) }
        case .mapping(let entries):
            for network in entries {
                let fields = try Fields(network.value, path: "networks.\(network.key)", at: network.keyPosition)
                try fields.refuse(["ipv4_address", "ipv6_address"], why: "swarm allocates task addresses")
                for unknown in fields.unknown(["aliases"]) {
                    throw unknown.keyPosition.error("unknown key '\(unknown.key)' in networks.\(network.key) (expected aliases)")
                }
                result[network.key] = ServiceNetwork(aliases: try fields.strings("aliases") ?? [], position: network.keyPosition)
            }
        default:
            throw entry.keyPosition.error("networks must be a list or a mapping, got \(entry.value.shown)")
        }
        return result
    }

    private func healthcheck(_ fields: Fields, at position: Position) throws(ComposeError) -> Healthcheck {
        for unknown in fields.unknown(["test", "interval", "timeout", "start_period", "retries", "disable", "start_interval"]) {
            throw unknown.keyPosition.error("unknown key '\(unknown.key)' in healthcheck (expected test, interval, timeout, start_period, retries or disable)")
        }
        try fields.refuse(["start_interval"])
        var check = Healthcheck(position: position)
        if let test = fields["test"] {
            if case .sequence = test.value.kind {
                check.test = try test.value.strings("healthcheck.test", at: test.keyPosition)
            } else {
                check.test = ["CMD-SHELL", try test.value.string("healthcheck.test", at: test.keyPosition)]
            }
        }
        check.interval = try fields.duration("interval")
        check.timeout = try fields.duration("timeout")
        check.startPeriod = try fields.duration("start_period")
        check.retries = try fields.int("retries")
        check.disable = try fields.bool("disable")
        return check
    }

    private func fileReferences(_ entry: YAMLValue.Entry, kind: String) throws(ComposeError) -> [FileReference] {
        var result: [FileReference] = []
        for item in try entry.value.sequence(kind, at: entry.keyPosition) {
            if let source = item.scalarText {
                result.append(FileReference(source: source, position: item.position))
                continue
            }
            let fields = try Fields(item, path: kind, at: item.position)
            for unknown in fields.unknown(["source", "target", "uid", "gid", "mode"]) {
                throw unknown.keyPosition.error("unknown key '\(unknown.key)' in \(kind) (expected source, target, uid, gid or mode)")
            }
            guard let source = try fields.string("source") else { throw item.position.error("\(kind) items must have a source") }
            var reference = FileReference(source: source, position: item.position)
            reference.target = try fields.string("target")
            reference.uid = try fields.string("uid")
            reference.gid = try fields.string("gid")
            if let mode = fields["mode"] { reference.mode = try Self.fileMode(mode.value, name: "\(kind).mode", at: mode.keyPosition) }
            result.append(reference)
        }
        return result
    }

    /// Permission bits: YAML 1.1 reads `0440` as octal, and so do we.
    static func fileMode(_ value: YAMLValue, name: String, at position: Position) throws(ComposeError) -> UInt32 {
        guard let text = value.scalarText else { throw position.error("\(name) must be an octal mode like 0440, got \(value.shown)") }
        let parsed: UInt32?
        if text.hasPrefix("0o") { parsed = UInt32(text.dropFirst(2), radix: 8) }
        else if text.hasPrefix("0"), text.count > 1 { parsed = UInt32(text.dropFirst(), radix: 8) }
        else { parsed = UInt32(text) }
        guard let parsed, parsed <= 0o7777 else { throw position.error("\(name) must be an octal mode like 0440, got \(value.shown)") }
        return parsed
    }

    private func dependencies(_ entry: YAMLValue.Entry) throws(ComposeError) -> [Dependency] {
        switch entry.value.kind {
        case .sequence(let items):
            var result: [Dependency] = []
            for item in items {
                result.append(Dependency(service: try item.string("depends_on items", at: item.position), condition: .serviceStarted, position: item.position))
            }
            return result
        case .mapping(let entries):
            var result: [Dependency] = []
            for dependency in entries {
                let fields = try Fields(dependency.value, path: "depends_on.\(dependency.key)", at: dependency.keyPosition)
                for unknown in fields.unknown(["condition", "restart", "required"]) {
                    throw unknown.keyPosition.error("unknown key '\(unknown.key)' in depends_on.\(dependency.key) (expected condition)")
                }
                try fields.refuse(["restart"])
                if let required = try fields.bool("required"), !required {
                    throw fields["required"]!.keyPosition.error("depends_on.\(dependency.key).required: false is not supported yet by swarm; remove it from the file")
                }
                var condition = ServiceDependency.Condition.serviceStarted
                if let text = try fields.string("condition") {
                    guard let known = ServiceDependency.Condition(rawValue: text) else {
                        throw fields["condition"]!.keyPosition.error(
                            "depends_on.\(dependency.key).condition must be service_started or service_healthy, got \"\(text)\"")
                    }
                    condition = known
                }
                result.append(Dependency(service: dependency.key, condition: condition, position: dependency.keyPosition))
            }
            return result
        default:
            throw entry.keyPosition.error("depends_on must be a list or a mapping, got \(entry.value.shown)")
        }
    }

    // MARK: - Top-level objects

    private func external(_ fields: Fields) throws(ComposeError) -> (external: Bool, name: String?) {
        guard let entry = fields["external"] else { return (false, nil) }
        if case .mapping = entry.value.kind {
            // Compose 3.x: `external: {name: N}`.
            let inner = try Fields(entry.value, path: fields.name("external"), at: entry.keyPosition)
            return (true, try inner.string("name"))
        }
        return (try entry.value.bool(fields.name("external"), at: entry.keyPosition), nil)
    }

    private func network(_ entry: YAMLValue.Entry) throws(ComposeError) -> NetworkConfig {
        let path = "networks.\(entry.key)"
        let fields = try Fields(entry.value, path: path, at: entry.keyPosition)
        for unknown in fields.unknown(["driver", "driver_opts", "ipam", "external", "internal", "attachable", "labels", "name", "enable_ipv6"]) {
            throw unknown.keyPosition.error("unknown key '\(unknown.key)' in \(path)")
        }
        var network = NetworkConfig(position: entry.keyPosition)
        let (external, externalName) = try external(fields)
        network.external = external
        network.name = try fields.string("name") ?? externalName ?? (external ? entry.key : nil)
        network.driver = try fields.string("driver")
        network.driverOpts = try fields.stringMap("driver_opts")
        network.internal = try fields.bool("internal")
        network.attachable = try fields.bool("attachable")
        network.enableIPv6 = try fields.bool("enable_ipv6")
        network.labels = try fields.stringMap("labels") ?? [:]
        if let ipam = try fields.fields("ipam") {
            for unknown in ipam.unknown(["driver", "config", "options"]) {
                throw unknown.keyPosition.error("unknown key '\(unknown.key)' in \(path).ipam (expected driver or config)")
            }
            try ipam.refuse(["options"])
            network.ipamDriver = try ipam.string("driver")
            if let configs = ipam["config"] {
                for item in try configs.value.sequence("\(path).ipam.config", at: configs.keyPosition) {
                    let config = try Fields(item, path: "\(path).ipam.config", at: item.position)
                    for unknown in config.unknown(["subnet", "gateway", "ip_range", "aux_addresses"]) {
                        throw unknown.keyPosition.error("unknown key '\(unknown.key)' in \(path).ipam.config (expected subnet, gateway or ip_range)")
                    }
                    try config.refuse(["aux_addresses"])
                    network.ipamConfigs.append(IPAMConfig(subnet: try config.string("subnet"), range: try config.string("ip_range"),
                                                          gateway: try config.string("gateway")))
                }
            }
        }
        if network.external {
            for key in ["driver", "driver_opts", "ipam", "internal", "attachable", "labels"] where fields[key] != nil {
                throw fields[key]!.keyPosition.error("\(path) is external: \(key) cannot be set on it (it is created outside the stack)")
            }
        }
        return network
    }

    private func volume(_ entry: YAMLValue.Entry) throws(ComposeError) -> VolumeConfig {
        let path = "volumes.\(entry.key)"
        let fields = try Fields(entry.value, path: path, at: entry.keyPosition)
        for unknown in fields.unknown(["driver", "driver_opts", "external", "labels", "name"]) {
            throw unknown.keyPosition.error("unknown key '\(unknown.key)' in \(path)")
        }
        var volume = VolumeConfig(position: entry.keyPosition)
        let (external, externalName) = try external(fields)
        volume.external = external
        volume.name = try fields.string("name") ?? externalName ?? (external ? entry.key : nil)
        volume.driver = try fields.string("driver")
        volume.driverOpts = try fields.stringMap("driver_opts")
        volume.labels = try fields.stringMap("labels") ?? [:]
        // The node agent makes local volumes only: a driver's options would be dropped.
        if let driver = volume.driver, driver != "local" {
            throw fields["driver"]!.keyPosition.error("\(path).driver: volume driver \"\(driver)\" is not supported yet by swarm (only local)")
        }
        if let options = volume.driverOpts, !options.isEmpty {
            throw fields["driver_opts"]!.keyPosition.error("\(path).driver_opts is not supported yet by swarm; remove it from the file")
        }
        return volume
    }

    private func fileObject(_ entry: YAMLValue.Entry, kind: String) throws(ComposeError) -> FileObjectConfig {
        let path = "\(kind).\(entry.key)"
        let fields = try Fields(entry.value, path: path, at: entry.keyPosition)
        for unknown in fields.unknown(["file", "external", "labels", "name", "environment", "driver", "template_driver", "content"]) {
            throw unknown.keyPosition.error("unknown key '\(unknown.key)' in \(path) (expected file, external, name or labels)")
        }
        try fields.refuse(["driver", "template_driver"])
        var object = FileObjectConfig(position: entry.keyPosition)
        let (external, externalName) = try external(fields)
        object.external = external
        object.name = try fields.string("name") ?? externalName ?? (external ? entry.key : nil)
        object.labels = try fields.stringMap("labels") ?? [:]
        if let file = try fields.string("file") {
            let resolved = absolute(file)
            guard let data = FileManager.default.contents(atPath: resolved) else {
                throw fields["file"]!.keyPosition.error("\(path).file: cannot read \(resolved)")
            }
            object.data = Array(data)
        } else if let variable = try fields.string("environment") {
            guard let value = environment[variable] else {
                throw fields["environment"]!.keyPosition.error("\(path).environment: variable \(variable) is not set")
            }
            object.data = Array(value.utf8)
        } else if let content = try fields.string("content") {
            object.data = Array(content.utf8)
        } else if !external {
            throw entry.keyPosition.error("\(path) must have file, environment or external")
        }
        return object
    }
}
