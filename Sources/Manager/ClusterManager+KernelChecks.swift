import SwarmAPI

extension ClusterManager {
    /// Sysctls, ulimits and placement preferences a task could not honour
    /// are refused when the service is created or updated, not when its
    /// tasks fail on their nodes.
    static func validateKernelSettings(_ spec: ServiceSpec) throws {
        let container = spec.taskTemplate.containerSpec
        let hostNetwork = spec.taskTemplate.networks?.contains { $0.target == "host" } ?? false
        if let reason = NamespacedSysctls.check(container?.sysctls, ownNetwork: !hostNetwork) {
            throw APIError.badRequest("rpc error: code = InvalidArgument desc = ContainerSpec: \(reason)")
        }
        for limit in container?.ulimits ?? [] {
            do { _ = try Ulimit.make(limit.name, soft: limit.soft, hard: limit.hard) } catch {
                throw APIError.badRequest("rpc error: code = InvalidArgument desc = ContainerSpec: \(error)")
            }
        }
        for preference in spec.taskTemplate.placement?.preferences ?? [] {
            guard let descriptor = preference.spread?.spreadDescriptor else {
                throw APIError.badRequest("rpc error: code = InvalidArgument desc = placement preference has no spread descriptor: only spread is supported")
            }
            guard ["node.labels.", "engine.labels."].contains(where: { descriptor.hasPrefix($0) && descriptor.count > $0.count }) else {
                throw APIError.badRequest("rpc error: code = InvalidArgument desc = spread descriptor \(descriptor) is not supported: use node.labels.<name> or engine.labels.<name>")
            }
        }
    }
}
