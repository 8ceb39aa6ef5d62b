import ArgumentParser
import Containers
import FoundationEssentials
import SwarmAPI
import SystemCalls

/// Flags `service create` and `service update` share, as Docker's.
struct ServiceSpecOptions: ParsableArguments {
    @Option(name: .customLong("replicas"), help: "Number of tasks") var replicas: String?
    @Option(name: .customLong("replicas-max-per-node"), help: "Maximum number of tasks per node (default 0 = unlimited)") var maxPerNode: UInt64?
    @Option(name: .customLong("hostname"), help: "Container hostname") var hostname: String?
    @Option(name: [.customShort("u"), .customLong("user")], help: "Username or UID (format: <name|uid>[:<group|gid>])") var user: String?
    @Option(name: [.customShort("w"), .customLong("workdir")], help: "Working directory inside the container") var workdir: String?
    @Option(name: .customLong("entrypoint"), help: "Overwrite the default ENTRYPOINT of the image") var entrypoint: String?
    @Option(name: .customLong("stop-signal"), help: "Signal to stop the container") var stopSignal: String?
    @Option(name: .customLong("stop-grace-period"), help: "Time to wait before force killing a container (ns|us|ms|s|m|h)") var stopGracePeriod: String?
    @Option(name: .customLong("reserve-cpu"), help: "Reserve CPUs") var reserveCPU: String?
    @Option(name: .customLong("reserve-memory"), help: "Reserve Memory") var reserveMemory: String?
    @Option(name: .customLong("limit-cpu"), help: "Limit CPUs") var limitCPU: String?
    @Option(name: .customLong("limit-memory"), help: "Limit Memory") var limitMemory: String?
    @Option(name: .customLong("limit-pids"), help: "Limit maximum number of processes (default 0 = unlimited)") var limitPids: Int64?
    @Option(name: .customLong("restart-condition"), help: "Restart when condition is met (\"none\", \"on-failure\", \"any\") (default \"any\")") var restartCondition: String?
    @Option(name: .customLong("restart-delay"), help: "Delay between restart attempts (ns|us|ms|s|m|h) (default 5s)") var restartDelay: String?
    @Option(name: .customLong("restart-max-attempts"), help: "Maximum number of restarts before giving up") var restartMaxAttempts: UInt64?
    @Option(name: .customLong("restart-window"), help: "Window used to evaluate the restart policy (ns|us|ms|s|m|h)") var restartWindow: String?
    @OptionGroup var updates: UpdateConfigOptions
    @OptionGroup var health: HealthOptions
    @Flag(name: .customLong("init"), help: "Use an init inside each service container to forward signals and reap processes") var initProcess = false
    @Flag(name: [.customShort("d"), .customLong("detach")], inversion: .prefixedNo, help: "Exit immediately instead of waiting for the service to converge") var detach = false
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Suppress progress output") var quiet = false
    @Flag(name: .customLong("no-resolve-image"), help: "Do not query the registry to resolve image digest and supported platforms") var noResolveImage = false
    @Option(name: .customLong("endpoint-mode"), help: "Endpoint mode (vip or dnsrr) (default \"vip\")") var endpointMode: String?

    func parsedReplicas() throws -> UInt64? {
        guard let replicas else { return nil }
        guard let value = UInt64(replicas) else {
            throw RuntimeError.badInput("invalid argument \"\(replicas)\" for \"--replicas\" flag: replicas must be a whole number of 0 or more")
        }
        return value
    }

    static func cpus(_ text: String, _ flag: String) throws -> Int64 {
        guard let value = Double(text), value >= 0 else {
            throw RuntimeError.badInput("invalid argument \"\(text)\" for \"--\(flag)\" flag: use a number of CPUs, e.g. 0.5")
        }
        return Int64((value * 1e9).rounded())
    }

    static func bytes(_ text: String, _ flag: String) throws -> Int64 {
        do { return try Containers.Resources.parseBytes(text) } catch {
            throw RuntimeError.badInput("invalid argument \"\(text)\" for \"--\(flag)\" flag: use a size such as 64m or 1g")
        }
    }

    static func duration(_ text: String, _ flag: String) throws -> Int64 {
        do { return try Durations.parse(text) } catch {
            throw RuntimeError.badInput("invalid argument \"\(text)\" for \"--\(flag)\" flag: use a duration such as 5s, 1m30s or 500ms")
        }
    }

    /// Applies the flags that were given onto `spec`.
    func apply(to spec: inout ServiceSpec) throws {
        if let replicas = try parsedReplicas() {
            guard !spec.mode.isGlobal else { throw RuntimeError.badInput("replicas can only be used with replicated mode") }
            spec.mode = .replicas(replicas)
        }
        var task = spec.taskTemplate
        var container = task.containerSpec ?? SwarmAPI.ContainerSpec(image: "")
        if let hostname { container.hostname = hostname }
        if let user { container.user = user }
        if let workdir { container.dir = workdir }
        if let entrypoint { container.command = entrypoint.split(separator: " ").map(String.init) }
        if let stopSignal {
            _ = try Signals.parse(stopSignal)
            container.stopSignal = stopSignal
        }
        if let stopGracePeriod { container.stopGracePeriod = try Self.duration(stopGracePeriod, "stop-grace-period") }
        if initProcess { container.`init` = true }
        try health.apply(to: &container)
        task.containerSpec = container
        var resources = task.resources ?? ResourceRequirements()
        if let reserveCPU { resources.reservations = (resources.reservations ?? SwarmAPI.Resources()).with(cpu: try Self.cpus(reserveCPU, "reserve-cpu")) }
        if let reserveMemory { resources.reservations = (resources.reservations ?? SwarmAPI.Resources()).with(memory: try Self.bytes(reserveMemory, "reserve-memory")) }
        if limitCPU != nil || limitMemory != nil || limitPids != nil {
            var limits = resources.limits ?? Limits()
            if let limitCPU { limits.nanoCPUs = try Self.cpus(limitCPU, "limit-cpu") }
            if let limitMemory { limits.memoryBytes = try Self.bytes(limitMemory, "limit-memory") }
            if let limitPids { limits.pids = limitPids }
            resources.limits = limits
        }
        if resources.limits != nil || resources.reservations != nil { task.resources = resources }
        if restartCondition != nil || restartDelay != nil || restartMaxAttempts != nil || restartWindow != nil {
            var policy = task.restartPolicy ?? RestartPolicy(condition: .any, delay: RestartPolicy.defaultDelay, maxAttempts: 0)
            if let restartCondition {
                guard let condition = RestartCondition(rawValue: restartCondition) else {
                    throw RuntimeError.badInput("invalid argument \"\(restartCondition)\" for \"--restart-condition\" flag: invalid RestartCondition: use none, on-failure or any")
                }
                policy.condition = condition
            }
            if let restartDelay { policy.delay = try Self.duration(restartDelay, "restart-delay") }
            if let restartMaxAttempts { policy.maxAttempts = restartMaxAttempts }
            if let restartWindow { policy.window = try Self.duration(restartWindow, "restart-window") }
            task.restartPolicy = policy
        }
        if let maxPerNode {
            var placement = task.placement ?? Placement()
            placement.maxReplicas = maxPerNode
            task.placement = placement
        }
        spec.taskTemplate = task
        if let endpointMode {
            guard endpointMode == "vip" || endpointMode == "dnsrr" else {
                throw RuntimeError.badInput("invalid argument \"\(endpointMode)\" for \"--endpoint-mode\" flag: use vip or dnsrr")
            }
            var endpoint = spec.endpointSpec ?? EndpointSpec()
            endpoint.mode = endpointMode
            spec.endpointSpec = endpoint
        }
        try updates.apply(to: &spec)
    }
}

extension SwarmAPI.Resources {
    func with(cpu: Int64) -> SwarmAPI.Resources { var copy = self; copy.nanoCPUs = cpu; return copy }
    func with(memory: Int64) -> SwarmAPI.Resources { var copy = self; copy.memoryBytes = memory; return copy }
}

/// `--mount type=bind|volume|tmpfs,source=…,target=…[,readonly][,volume-nocopy][,volume-label=K=V][,tmpfs-size=…][,tmpfs-mode=…]`
/// into the API's Mount.
func parseServiceMount(_ text: String) throws -> SwarmAPI.Mount {
    var type = "volume", source: String?, target: String?, readOnly = false
    var noCopy: Bool?, labels: [String: String] = [:], size: Int64?, mode: UInt32?
    func bad(_ why: String) -> RuntimeError { RuntimeError.badInput("invalid argument \"\(text)\" for \"--mount\" flag: \(why)") }
    for field in text.split(separator: ",") {
        let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
        let value = parts.count > 1 ? parts[1] : nil
        switch parts[0].lowercased() {
        case "type": type = value ?? ""
        case "source", "src": source = value
        case "target", "destination", "dst": target = value
        case "readonly", "ro": readOnly = value.map { ["true", "1"].contains($0.lowercased()) } ?? true
        case "volume-nocopy": noCopy = value.map { ["true", "1"].contains($0.lowercased()) } ?? true
        case "volume-label":
            let pair = (value ?? "").split(separator: "=", maxSplits: 1).map(String.init)
            guard let key = pair.first else { throw bad("volume-label takes KEY=VALUE") }
            labels[key] = pair.count > 1 ? pair[1] : ""
        case "tmpfs-size":
            do { size = try Containers.Resources.parseBytes(value ?? "") } catch { throw bad("tmpfs-size takes a size such as 64m") }
        case "tmpfs-mode":
            guard let value, let bits = UInt32(value, radix: 8) else { throw bad("tmpfs-mode takes octal bits such as 1770") }
            mode = bits
        case "bind-propagation", "consistency": continue
        default: throw bad("unexpected key '\(parts[0])' in '\(field)'")
        }
    }
    guard ["bind", "volume", "tmpfs"].contains(type) else { throw bad("mount type \(type) is not supported: use bind, volume or tmpfs") }
    guard let target, !target.isEmpty else { throw bad("target is required") }
    if type == "bind" && (source ?? "").isEmpty { throw bad("source is required") }
    if type == "tmpfs" && source != nil { throw bad("a tmpfs takes no source") }
    var mount = SwarmAPI.Mount(type: type, source: source, target: target, readOnly: readOnly ? true : nil)
    if type == "volume" && (noCopy != nil || !labels.isEmpty) { mount.volumeOptions = .init(noCopy: noCopy, labels: labels.isEmpty ? nil : labels) }
    if type == "tmpfs" && (size != nil || mode != nil) { mount.tmpfsOptions = .init(sizeBytes: size, mode: mode) }
    return mount
}

/// KEY=VALUE lines of an env file, as `--env-file` reads them.
func readEnvFile(_ path: String) throws -> [String] {
    do {
        return try EnvFile.read(path, environment: ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
    } catch {
        throw RuntimeError.badInput(error.line == nil ? "open \(path): no such file or directory" : error.description)
    }
}

/// A `-e` argument, a bare `KEY` taking this process's value (Docker's `run` and `exec`).
func environmentEntry(_ text: String) -> String? {
    EnvFile.entry(text, environment: ProcessInfo.processInfo.environment)
}
