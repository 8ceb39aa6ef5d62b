import ArgumentParser
import Containers
import Formatting
import FoundationEssentials
import OCIImages
import SwarmAPI
import SwarmClient
import SystemCalls

struct ServiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service", abstract: "Manage Swarm services",
        subcommands: [ServiceCreate.self, ServiceInspect.self, ServiceLogs.self, ServiceList.self, ServicePS.self, ServiceRemove.self,
                      ServiceRollback.self, ServiceScale.self, ServiceUpdate.self])
}

struct ServiceCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a new service")
    @Option(name: .customLong("name"), help: "Service name") var name: String?
    @Option(name: .customLong("mode"), help: "Service mode (\"replicated\", \"global\")") var mode: String = "replicated"
    @Option(name: [.customShort("e"), .customLong("env")], help: "Set environment variables") var env: [String] = []
    @Option(name: .customLong("env-file"), help: "Read in a file of environment variables") var envFiles: [String] = []
    @Option(name: [.customShort("l"), .customLong("label")], help: "Service labels") var labels: [String] = []
    @Option(name: .customLong("container-label"), help: "Container labels") var containerLabels: [String] = []
    @Option(name: .customLong("mount"), help: "Attach a filesystem mount to the service") var mounts: [String] = []
    @Option(name: .customLong("constraint"), help: "Placement constraints") var constraints: [String] = []
    @Option(name: .customLong("network"), help: "Network attachments (name=N[,alias=A]; \"host\": the node's own network)") var networks: [String] = []
    @Option(name: [.customShort("p"), .customLong("publish")], help: "Publish a port as a node port (published=5000,target=80[,protocol=udp][,mode=host] or 5000:80[/udp])") var publish: [String] = []
    @OptionGroup var spec: ServiceSpecOptions
    @OptionGroup var secrets: SecretCreateFlags
    @OptionGroup var kernel: KernelCreateFlags
    @OptionGroup var registryAuth: RegistryAuthOption
    @OptionGroup var cluster: ClusterOptions
    @Argument(help: "Image") var image: String
    @Argument(parsing: .captureForPassthrough, help: "Command and arguments") var command: [String] = []

    func run() async throws {
        guard mode == "replicated" || mode == "global" else {
            throw RuntimeError.badInput("invalid argument \"\(mode)\" for \"--mode\" flag: unknown mode \(mode): use replicated or global")
        }
        let global = mode == "global"
        if global && spec.replicas != nil { throw RuntimeError.badInput("replicas can only be used with replicated mode") }
        var container = SwarmAPI.ContainerSpec(image: withDefaultTag(image))
        if !command.isEmpty { container.args = command }
        container.env = try envFiles.flatMap(readEnvFile) + env
        if (container.env ?? []).isEmpty { container.env = nil }
        container.labels = try keyValues(containerLabels)
        container.mounts = try mounts.map(parseServiceMount)
        if container.mounts?.isEmpty == true { container.mounts = nil }
        var template = TaskSpec(containerSpec: container)
        if !constraints.isEmpty { template.placement = Placement(constraints: constraints) }
        if !networks.isEmpty { template.networks = try networks.map(NetworkOption.parse) }
        let ports = try publish.map { try PublishOption.parse($0) }
        var pinned = false
        if !spec.noResolveImage, let resolved = try await resolveImageDigest(container.image) {
            template.containerSpec?.image = resolved
            pinned = true
        }
        var serviceSpec = ServiceSpec(name: name ?? NameGenerator.generate(), taskTemplate: template,
                                      mode: global ? ServiceMode(global: .init()) : .replicas(1))
        serviceSpec.labels = try keyValues(labels)
        if !ports.isEmpty { serviceSpec.endpointSpec = EndpointSpec(mode: "vip", ports: ports) }
        try spec.apply(to: &serviceSpec)
        try secrets.apply(to: &serviceSpec)
        try kernel.apply(to: &serviceSpec)
        try await APIClient.with(host: cluster.host) { client in
            let reply = try await client.post("/services/create", headers: try registryAuth.headers(for: serviceSpec.taskTemplate.containerSpec?.image ?? ""), serviceSpec)
            let id = try APIJSON.decode(CreateResponse.self, from: reply.body).id
            writeStdout(id + "\n")
            if !spec.noResolveImage && !pinned { warnUnpinned(withDefaultTag(image)) }
            guard !spec.detach else { return }
            try await ServiceProgress(client: client, serviceID: id, quiet: spec.quiet).waitForConvergence(label: id, name: serviceSpec.name)
        }
    }
}

/// `busybox` → `busybox:latest`, as Docker's CLI records it.
func withDefaultTag(_ image: String) -> String {
    let name = image.split(separator: "/").last ?? ""
    return name.contains(":") || name.contains("@") ? image : image + ":latest"
}

/// Docker's CLI pins the image to the digest its registry reports for the
/// tag, so every node runs the same bits; nil when no registry answers.
func resolveImageDigest(_ image: String) async throws -> String? {
    guard !image.contains("@"), (try? ImageReference.parse(image)) != nil else { return nil }
    return await (try DaemonBinary.operations()).resolveImageDigest(image)
}

/// Docker's warning when the image digest was not pinned from a registry.
func warnUnpinned(_ image: String) {
    guard !image.contains("@") else { return }
    writeStderr("""
        image \(image) could not be accessed on a registry to record
        its digest. Each node will access \(image) independently,
        possibly leading to different nodes running different
        versions of the image.


        """)
}

func keyValues(_ pairs: [String]) throws -> [String: String]? {
    guard !pairs.isEmpty else { return nil }
    var result: [String: String] = [:]
    for pair in pairs {
        let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
        result[parts[0]] = parts.count > 1 ? parts[1] : ""
    }
    return result
}

struct ServiceList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List services", aliases: ["list"])
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Only display IDs") var quiet = false
    @Option(name: [.customShort("f"), .customLong("filter")], help: "Filter output based on conditions provided") var filters: [String] = []
    @Option(name: .customLong("format"), help: "Format output using a custom template") var format: String?
    @OptionGroup var cluster: ClusterOptions

    struct Listed: Decodable {
        var service: Service
        var serviceStatus: ServiceWithStatus.Status
        init(from decoder: Decoder) throws {
            service = try Service(from: decoder)
            let container = try decoder.container(keyedBy: APIJSON.Key.self)
            serviceStatus = try container.decode(ServiceWithStatus.Status.self, forKey: APIJSON.Key(stringValue: "serviceStatus"))
        }
    }

    func run() async throws {
        try await APIClient.with(host: cluster.host) { client in
            try printServices(try await listServices(client, filters: filters), quiet: quiet, format: format)
        }
    }
}

/// The services with their task counts (`?status=true`).
func listServices(_ client: APIClient, filters: [String]) async throws -> [ServiceList.Listed] {
    var query = try APIClient.filtersJSON(filters)
    query["status"] = "true"
    return try await client.get([ServiceList.Listed].self, "/services", query: query)
}

/// `service ls` and `stack services`: Docker's columns, REPLICAS running/desired.
func printServices(_ listed: [ServiceList.Listed], quiet: Bool, format: String?) throws {
    let rows: [[String: TemplateValue]] = listed.map { item in
        let service = item.service, status = item.serviceStatus
        var replicas = "\(status.runningTasks)/\(status.desiredTasks)"
        if let max = service.spec.taskTemplate.placement?.maxReplicas, max > 0 { replicas += " (max \(max) per node)" }
        return ["ID": .string(service.id), "Name": .string(service.spec.name),
                "Mode": .string(service.spec.mode.isGlobal ? "global" : "replicated"), "Replicas": .string(replicas),
                "Image": .string(displayImage(service.spec.taskTemplate.containerSpec?.image ?? "", noTrunc: false)),
                "Ports": .string(PublishOption.column(service.endpoint?.ports))]
    }
    try printList(rows.map { row in var row = row; if !quiet && format == nil { row["ID"] = .string(shortID(row["ID"]!.stringValue!, false)) }; return row },
                  format: format, quiet: quiet,
                  defaultTable: "table {{.ID}}\t{{.Name}}\t{{.Mode}}\t{{.Replicas}}\t{{.Image}}\t{{.Ports}}",
                  headers: ["ID": "ID", "Name": "NAME", "Mode": "MODE", "Replicas": "REPLICAS", "Image": "IMAGE", "Ports": "PORTS"])
}

/// Docker shows images without their pinned digest unless --no-trunc.
func displayImage(_ image: String, noTrunc: Bool) -> String {
    noTrunc ? image : String(image.split(separator: "@").first ?? "")
}

struct ServicePS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List the tasks of one or more services")
    @Flag(name: .customLong("no-trunc"), help: "Do not truncate output") var noTrunc = false
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Only display task IDs") var quiet = false
    @Option(name: [.customShort("f"), .customLong("filter")], help: "Filter output based on conditions provided") var filters: [String] = []
    @Option(name: .customLong("format"), help: "Pretty-print tasks using a Go template") var format: String?
    @Argument(help: "Services") var services: [String]
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await APIClient.with(host: cluster.host) { client in
            var tasks: [SwarmTask] = []
            for ref in services {
                let service = try await client.get(Service.self, "/services/\(APIClient.percentEncode(ref))")
                tasks += try await client.get([SwarmTask].self, "/tasks", query: try APIClient.filtersJSON(filters + ["service=\(service.id)"]))
            }
            try await printTasks(client, tasks, noTrunc: noTrunc, quiet: quiet, format: format)
        }
    }
}

/// `service ps` / `node ps`: newest task of each slot first, its history
/// below it as ` \_ web.1`, Docker's columns.
func printTasks(_ client: APIClient, _ tasks: [SwarmTask], noTrunc: Bool, quiet: Bool, format: String?) async throws {
    let nodes = Dictionary(uniqueKeysWithValues: try await client.get([Node].self, "/nodes").map { ($0.id, $0) })
    let now = Timestamp.now()
    // Slots zero-padded so that they sort as numbers.
    func padded(_ slot: Int) -> String { let digits = String(slot); return String(repeating: "0", count: max(0, 9 - digits.count)) + digits }
    let groups = Dictionary(grouping: tasks) { "\($0.serviceName ?? $0.serviceID)\u{0}\($0.slot.map(padded) ?? $0.nodeID ?? "")" }
    var rows: [[String: TemplateValue]] = []
    for key in groups.keys.sorted() {
        let slotTasks = groups[key]!.sorted { $0.createdAt > $1.createdAt }
        for (index, task) in slotTasks.enumerated() {
            let name = "\(task.serviceName ?? task.serviceID).\(task.slot.map(String.init) ?? task.nodeID ?? "")"
            let state = task.status.state.name.capitalized
            let ago = Render.humanDuration(Double(now.nanoseconds - task.status.timestamp.nanoseconds) / 1e9)
            var error = task.status.err.map { "\"\($0)\"" } ?? ""
            if !noTrunc, error.count > 30 { error = String(error.prefix(29)) + "…" }
            rows.append([
                "ID": .string(shortID(task.id, noTrunc || quiet)), "Name": .string(index == 0 || format != nil ? name : " \\_ " + name),
                "Image": .string(displayImage(task.spec.containerSpec?.image ?? "", noTrunc: noTrunc)),
                "Node": .string(task.nodeID.flatMap { nodes[$0]?.description.hostname } ?? ""),
                "DesiredState": .string(task.desiredState.name.capitalized),
                "CurrentState": .string("\(state) \(ago == "Less than a second" ? "less than a second" : ago) ago"),
                "Error": .string(error), "Ports": .string(""),
            ])
        }
    }
    try printList(rows, format: format, quiet: quiet,
                  defaultTable: "table {{.ID}}\t{{.Name}}\t{{.Image}}\t{{.Node}}\t{{.DesiredState}}\t{{.CurrentState}}\t{{.Error}}\t{{.Ports}}",
                  headers: ["ID": "ID", "Name": "NAME", "Image": "IMAGE", "Node": "NODE", "DesiredState": "DESIRED STATE",
                            "CurrentState": "CURRENT STATE", "Error": "ERROR", "Ports": "PORTS"])
}

struct ServiceInspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Display detailed information on one or more services")
    @Flag(name: .customLong("pretty"), help: "Print the information in a human friendly format") var pretty = false
    @Option(name: [.customShort("f"), .customLong("format")], help: "Format output using a custom template") var format: String?
    @Argument var services: [String]
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await APIClient.with(host: cluster.host) { client in
            var objects: [[UInt8]] = []
            var failed = false
            for ref in services {
                do { objects.append(try await client.send(.GET, "/services/\(APIClient.percentEncode(ref))").body) } catch {
                    writeStderr("swarm: \(error)\n")
                    failed = true
                }
            }
            if pretty {
                // Networks by name, as Docker's CLI shows them.
                let names = Dictionary(try await client.get([ListedNetwork].self, "/networks").map { ($0.id, $0.name) }) { first, _ in first }
                for object in objects { writeStdout(Self.pretty(try APIJSON.decode(Service.self, from: object), networkNames: names)) }
            } else {
                try printObjects(objects, format: format)
            }
            if failed { throw ExitCode(1) }
        }
    }

    static func pretty(_ service: Service, networkNames: [String: String] = [:]) -> String {
        let spec = service.spec, container = spec.taskTemplate.containerSpec
        var text = "\nID:\t\t\(service.id)\nName:\t\t\(spec.name)\n"
        if let labels = spec.labels, !labels.isEmpty { text += "Labels:\n" + labels.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)\n" }.joined() }
        if spec.mode.isGlobal { text += "Service Mode:\tGlobal\n" } else {
            text += "Service Mode:\tReplicated\n Replicas:\t\(spec.mode.replicated?.replicas ?? 0)\n"
        }
        if let status = service.updateStatus {
            let now = Timestamp.now()
            text += "UpdateStatus:\n State:\t\t\(status.state)\n"
            if let started = status.startedAt { text += " Started:\t\(Render.humanDuration(now.seconds(since: started))) ago\n" }
            if let completed = status.completedAt { text += " Completed:\t\(Render.humanDuration(now.seconds(since: completed))) ago\n" }
            if let message = status.message { text += " Message:\t\(message)\n" }
        }
        text += "Placement:\n"
        if let constraints = spec.taskTemplate.placement?.constraints, !constraints.isEmpty { text += " Constraints:\t\(constraints)\n" }
        if let preferences = spec.taskTemplate.placement?.preferences, !preferences.isEmpty {
            text += " Preferences:   [\(preferences.compactMap { $0.spread.map { "spread=" + $0.spreadDescriptor } }.joined(separator: " "))]\n"
        }
        if let max = spec.taskTemplate.placement?.maxReplicas, max > 0 { text += " Max Replicas Per Node:\t\(max)\n" }
        let update = spec.updateConfig
        text += "UpdateConfig:\n Parallelism:\t\(update?.parallelism ?? 1)\n On failure:\tpause\n Monitoring Period: \(Render.goDuration(update?.monitor ?? 5_000_000_000))\n Max failure ratio: 0\n Update order:      stop-first\n"
        text += "ContainerSpec:\n Image:\t\t\(container?.image ?? "")\n"
        if let args = container?.args, !args.isEmpty { text += " Args:\t\t\(args.joined(separator: " ")) \n" }
        if let env = container?.env, !env.isEmpty { text += " Env:\t\t\(env.joined(separator: " ")) \n" }
        text += " Init:\t\t\(container?.`init` ?? false)\n"
        if let sysctls = container?.sysctls, !sysctls.isEmpty {
            text += "SysCtls:\n" + sysctls.sorted { $0.key < $1.key }.map { " \($0.key)\($0.value.isEmpty ? "" : ": " + $0.value)\n" }.joined()
        }
        if let ulimits = container?.ulimits, !ulimits.isEmpty {
            text += "Ulimits:\n" + ulimits.sorted { $0.name < $1.name }.map { " \($0.name): \($0.soft):\($0.hard)\n" }.joined()
        }
        if let mounts = container?.mounts, !mounts.isEmpty {
            text += "Mounts:\n" + mounts.map { " Target:\t\($0.target)\n  Source:\t\($0.source ?? "")\n  ReadOnly:\t\($0.readOnly ?? false)\n  Type:\t\t\($0.type)\n" }.joined()
        }
        text += "Resources:\n"
        if let reservations = spec.taskTemplate.resources?.reservations {
            text += " Reservations:\n"
            if let cpu = reservations.nanoCPUs { text += "  CPU:\t\t\(Double(cpu) / 1e9)\n" }
            if let memory = reservations.memoryBytes { text += "  Memory:\t\(Render.binarySize(memory))\n" }
        }
        if let limits = spec.taskTemplate.resources?.limits {
            text += " Limits:\n"
            if let cpu = limits.nanoCPUs { text += "  CPU:\t\t\(Double(cpu) / 1e9)\n" }
            if let memory = limits.memoryBytes { text += "  Memory:\t\(Render.binarySize(memory))\n" }
            if let pids = limits.pids { text += "  PIDs:\t\t\(pids)\n" }
        }
        if let networks = spec.taskTemplate.networks, !networks.isEmpty {
            text += "Networks:" + networks.map { " " + (networkNames[$0.target] ?? $0.target) }.joined() + " \n"
        }
        text += "Endpoint Mode:\t\(spec.endpointSpec?.mode ?? "vip")\n"
        if let ports = service.endpoint?.ports, !ports.isEmpty {
            text += "Ports:\n" + ports.map {
                " PublishedPort = \($0.publishedPort ?? 0)\n  Protocol = \($0.protocol ?? "tcp")\n  TargetPort = \($0.targetPort ?? 0)\n  PublishMode = \($0.publishMode ?? "ingress")\n"
            }.joined()
        }
        text += "\n"
        return text
    }
}

struct ServiceRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove one or more services", aliases: ["remove"])
    @Argument var services: [String]
    @OptionGroup var cluster: ClusterOptions
    func run() async throws {
        var failed = false
        try await APIClient.with(host: cluster.host) { client in
            for ref in services {
                do {
                    _ = try await client.send(.DELETE, "/services/\(APIClient.percentEncode(ref))")
                    writeStdout(ref + "\n")
                } catch {
                    writeStderr("swarm: \(error)\n")
                    failed = true
                }
            }
        }
        if failed { throw ExitCode(1) }
    }
}

struct ServiceScale: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scale", abstract: "Scale one or multiple replicated services")
    @Flag(name: [.customShort("d"), .customLong("detach")], inversion: .prefixedNo, help: "Exit immediately instead of waiting for the service to converge") var detach = false
    @Argument(help: "SERVICE=REPLICAS") var pairs: [String]
    @OptionGroup var cluster: ClusterOptions
    func run() async throws {
        var requests: [(String, UInt64)] = []
        for pair in pairs {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw RuntimeError.badInput("invalid scale specifier '\(pair)'.\nSee 'swarm service scale --help'.") }
            guard let count = UInt64(parts[1]) else { throw RuntimeError.badInput("invalid replicas value \(parts[1]): invalid syntax") }
            requests.append((parts[0], count))
        }
        var failed = false
        try await APIClient.with(host: cluster.host) { client in
            for (ref, count) in requests {
                do {
                    let service = try await client.get(Service.self, "/services/\(APIClient.percentEncode(ref))")
                    guard !service.spec.mode.isGlobal else { throw RuntimeError.badInput("scale can only be used with replicated mode") }
                    var spec = service.spec
                    spec.mode = .replicas(count)
                    _ = try await client.post("/services/\(service.id)/update", query: ["version": "\(service.version.index)"], spec)
                    writeStdout("\(ref) scaled to \(count)\n")
                    if !detach { try await ServiceProgress(client: client, serviceID: service.id, quiet: false).waitForConvergence(label: ref) }
                } catch {
                    writeStderr("swarm: \(error)\n")
                    failed = true
                }
            }
        }
        if failed { throw ExitCode(1) }
    }
}

struct ServiceUpdate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "update", abstract: "Update a service")
    @Option(name: .customLong("image"), help: "Service image tag") var image: String?
    @Option(name: .customLong("args"), help: "Service command args") var args: String?
    @Option(name: .customLong("env-add"), help: "Add or update an environment variable") var envAdd: [String] = []
    @Option(name: .customLong("env-rm"), help: "Remove an environment variable") var envRemove: [String] = []
    @Option(name: .customLong("label-add"), help: "Add or update a service label") var labelAdd: [String] = []
    @Option(name: .customLong("label-rm"), help: "Remove a label by its key") var labelRemove: [String] = []
    @Option(name: .customLong("constraint-add"), help: "Add or update a placement constraint") var constraintAdd: [String] = []
    @Option(name: .customLong("constraint-rm"), help: "Remove a constraint") var constraintRemove: [String] = []
    @Option(name: .customLong("mount-add"), help: "Add or update a mount on a service") var mountAdd: [String] = []
    @Option(name: .customLong("mount-rm"), help: "Remove a mount by its target path") var mountRemove: [String] = []
    @Option(name: .customLong("network-add"), help: "Add a network (name=N[,alias=A])") var networkAdd: [String] = []
    @Option(name: .customLong("network-rm"), help: "Remove a network") var networkRemove: [String] = []
    @Option(name: .customLong("publish-add"), help: "Add or update a published port") var publishAdd: [String] = []
    @Option(name: .customLong("publish-rm"), help: "Remove a published port by its target port") var publishRemove: [String] = []
    @Flag(name: .customLong("force"), help: "Force update even if no changes require it") var force = false
    @Flag(name: .customLong("rollback"), help: "Rollback to previous specification") var rollback = false
    @OptionGroup var spec: ServiceSpecOptions
    @OptionGroup var secrets: SecretUpdateFlags
    @OptionGroup var kernel: KernelUpdateFlags
    @OptionGroup var registryAuth: RegistryAuthOption
    @OptionGroup var cluster: ClusterOptions
    @Argument(help: "Service") var service: String

    func run() async throws {
        try await APIClient.with(host: cluster.host) { client in
            let current = try await client.get(Service.self, "/services/\(APIClient.percentEncode(service))")
            var updated = current.spec
            var container = updated.taskTemplate.containerSpec ?? SwarmAPI.ContainerSpec(image: "")
            if let image {
                container.image = withDefaultTag(image)
                if !spec.noResolveImage {
                    if let resolved = try await resolveImageDigest(container.image) { container.image = resolved } else { warnUnpinned(container.image) }
                }
            }
            if let args { container.args = args.split(separator: " ").map(String.init) }
            var env = container.env ?? []
            env.removeAll { entry in envRemove.contains { entry == $0 || entry.hasPrefix($0 + "=") } }
            for entry in envAdd {
                let key = entry.split(separator: "=", maxSplits: 1).first.map(String.init) ?? entry
                env.removeAll { $0 == key || $0.hasPrefix(key + "=") }
                env.append(entry)
            }
            container.env = env.isEmpty ? nil : env
            var mounts = (container.mounts ?? []).filter { !mountRemove.contains($0.target) }
            for text in mountAdd {
                let mount = try parseServiceMount(text)
                mounts.removeAll { $0.target == mount.target }
                mounts.append(mount)
            }
            container.mounts = mounts.isEmpty ? nil : mounts
            updated.taskTemplate.containerSpec = container
            var constraints = (updated.taskTemplate.placement?.constraints ?? []).filter { !constraintRemove.contains($0) }
            constraints += constraintAdd.filter { !constraints.contains($0) }
            if !constraintAdd.isEmpty || !constraintRemove.isEmpty {
                var placement = updated.taskTemplate.placement ?? Placement()
                placement.constraints = constraints.isEmpty ? nil : constraints
                updated.taskTemplate.placement = placement
            }
            var labels = updated.labels ?? [:]
            for key in labelRemove { labels[key] = nil }
            for (key, value) in try keyValues(labelAdd) ?? [:] { labels[key] = value }
            updated.labels = labels.isEmpty ? nil : labels
            if force { updated.taskTemplate.forceUpdate = (updated.taskTemplate.forceUpdate ?? 0) + 1 }
            try await applyNetworksAndPorts(client, &updated)
            try spec.apply(to: &updated)
            try secrets.apply(to: &updated)
            try kernel.apply(to: &updated)
            _ = try await client.post("/services/\(current.id)/update",
                                      query: ["version": "\(current.version.index)"].merging(rollback ? ["rollback": "previous"] : [:]) { $1 },
                                      headers: try registryAuth.headers(for: updated.taskTemplate.containerSpec?.image ?? ""), updated)
            writeStdout(service + "\n")
            if !spec.detach {
                try await ServiceProgress(client: client, serviceID: current.id, quiet: spec.quiet).waitForConvergence(label: service, rollback: rollback)
            }
        }
    }

    /// `--network-add/--network-rm` (by name or ID: the spec holds IDs) and `--publish-add/--publish-rm`.
    func applyNetworksAndPorts(_ client: APIClient, _ spec: inout ServiceSpec) async throws {
        let adds = try networkAdd.map(NetworkOption.parse)
        let portAdds = try publishAdd.map { try PublishOption.parse($0, flag: "publish-add") }
        if !networkRemove.isEmpty || !adds.isEmpty {
            var networks = spec.taskTemplate.networks ?? []
            for ref in networkRemove {
                let id = ref == "host" ? "host" : try await client.get(NetworkID.self, "/networks/\(APIClient.percentEncode(ref))").id
                networks.removeAll { $0.target == id || $0.target == ref }
            }
            for attachment in adds {
                let id = attachment.target == "host" ? "host" : try await client.get(NetworkID.self, "/networks/\(APIClient.percentEncode(attachment.target))").id
                guard !networks.contains(where: { $0.target == id || $0.target == attachment.target }) else {
                    throw RuntimeError.badInput("service is already attached to network \(attachment.target)")
                }
                networks.append(attachment)
            }
            spec.taskTemplate.networks = networks.isEmpty ? nil : networks
        }
        if !publishRemove.isEmpty || !portAdds.isEmpty {
            var endpoint = spec.endpointSpec ?? EndpointSpec(mode: "vip")
            var ports = endpoint.ports ?? []
            for text in publishRemove {
                let before = ports.count
                ports = try ports.filter { !(try PublishOption.removes(text, $0)) }
                if ports.count == before { writeStderr("swarm: no published port with target \(text) to remove\n") }
            }
            for port in portAdds {
                ports.removeAll { $0.targetPort == port.targetPort && ($0.protocol ?? "tcp") == (port.protocol ?? "tcp") && ($0.publishedPort == port.publishedPort || port.publishedPort == nil) }
                ports.append(port)
            }
            endpoint.ports = ports.isEmpty ? nil : ports
            spec.endpointSpec = endpoint
        }
    }
}

/// A network's ID, from `GET /networks/{name}`.
struct NetworkID: Decodable {
    var id: String
}
