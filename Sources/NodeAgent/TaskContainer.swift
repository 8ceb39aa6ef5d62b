import Containers
import OCIImages
import SwarmAPI
import SystemCalls

/// How a task becomes a container: Docker's names and labels, the task's
/// container spec mapped onto the runtime's.
enum TaskContainer {
    static let taskLabel = "com.docker.swarm.task.id"
    /// The service mesh's DNS server, in every overlay task's namespace.
    static let dnsServer = "127.0.0.11"

    /// `web.1.<task id>` for replicated services, `web.<node id>.<task id>` for global ones.
    static func name(_ task: SwarmTask) -> String {
        "\(task.serviceName ?? task.serviceID).\(task.slot.map(String.init) ?? task.nodeID ?? "0").\(task.id)"
    }

    /// `networkNamespace`: the namespace the data path wired for the task
    /// (`TaskNetworking.prepare`); the container joins it, and a task on an
    /// overlay network resolves names through the DNS server at 127.0.0.11.
    static func spec(_ task: SwarmTask, networkNamespace: String? = nil) throws -> Containers.ContainerSpec {
        guard let source = task.spec.containerSpec else { throw RuntimeError.badInput("task has no container spec") }
        var spec = Containers.ContainerSpec(image: source.image, command: source.args ?? [])
        spec.entrypoint = source.command
        spec.env = source.env ?? []
        spec.workingDir = source.dir.flatMap { $0.isEmpty ? nil : $0 }
        spec.user = source.user.flatMap { $0.isEmpty ? nil : $0 }
        spec.hostname = source.hostname.flatMap { $0.isEmpty ? nil : $0 }
        for mount in source.mounts ?? [] {
            switch mount.type {
            case "volume":
                let name = mount.source.flatMap { $0.isEmpty ? nil : $0 }
                spec.volumes = (spec.volumes ?? []) + [VolumeMount(name: name, target: mount.target, readOnly: mount.readOnly ?? false,
                                                                   noCopy: mount.volumeOptions?.noCopy ?? false)]
            case "tmpfs":
                spec.tmpfs = (spec.tmpfs ?? []) + [TmpfsMount(target: mount.target, sizeBytes: mount.tmpfsOptions?.sizeBytes,
                                                              mode: mount.tmpfsOptions?.mode)]
            default:
                spec.mounts.append(BindMount(source: mount.source ?? "", target: mount.target, readOnly: mount.readOnly ?? false))
            }
        }
        // Beyond Docker: the slot's anonymous volumes (its own and the
        // image's VOLUMEs) are named after the slot, so the task replacing
        // another on this node (a restart, an update) gets the data back.
        spec.anonymousVolumePrefix = "\(task.serviceName ?? "task").\(task.slot.map(String.init) ?? task.nodeID ?? "0").\(task.serviceID.prefix(12))"
        if task.spec.networks?.contains(where: { $0.target == "host" }) == true { spec.network = .host }
        if spec.network != .host, let networkNamespace {
            spec.networkNamespace = networkNamespace
            if let first = task.networksAttachments?.first?.addresses.first {
                spec.nameservers = [dnsServer]
                spec.hostAddress = OverlayAddress.withoutPrefix(first)
            }
        }
        spec.capAdd = source.capabilityAdd ?? []
        spec.capDrop = source.capabilityDrop ?? []
        spec.initProcess = source.`init` ?? false
        spec.readOnlyRootfs = source.readOnly ?? false
        spec.sysctls = source.sysctls.flatMap { $0.isEmpty ? nil : $0 }
        spec.ulimits = source.ulimits.flatMap { $0.isEmpty ? nil : $0 }
        spec.healthcheck = source.healthcheck.map {
            ImageConfig.Healthcheck(Test: $0.test, Interval: $0.interval, Timeout: $0.timeout, StartPeriod: $0.startPeriod, Retries: $0.retries)
        }
        if let signal = source.stopSignal, !signal.isEmpty { spec.stopSignal = try Signals.parse(signal) }
        spec.stopTimeout = Int((source.stopGracePeriod ?? 10_000_000_000) / 1_000_000_000)
        if let limits = task.spec.resources?.limits {
            spec.resources = Containers.Resources(memoryBytes: limits.memoryBytes.flatMap { $0 > 0 ? $0 : nil },
                                               nanoCPUs: limits.nanoCPUs.flatMap { $0 > 0 ? $0 : nil },
                                               pidsLimit: limits.pids.flatMap { $0 > 0 ? $0 : nil })
        }
        spec.labels = (source.labels ?? [:]).merging([
            taskLabel: task.id,
            "com.docker.swarm.service.id": task.serviceID,
            "com.docker.swarm.service.name": task.serviceName ?? "",
            "com.docker.swarm.node.id": task.nodeID ?? "",
            "com.docker.swarm.task.name": name(task),
        ]) { _, swarm in swarm }
        return spec
    }
}
