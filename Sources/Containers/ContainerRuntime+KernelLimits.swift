import CRuntime
import SwarmAPI
import SystemCalls

extension ContainerRuntime {
    /// Refuses, before anything is made, a sysctl outside the container's
    /// own namespaces and a ulimit the kernel has no name for.
    static func checkKernelLimits(_ spec: ContainerSpec) throws {
        let ownNetwork = spec.network != .host
        if let reason = NamespacedSysctls.check(spec.sysctls, ownNetwork: ownNetwork) { throw RuntimeError.badInput(reason) }
        for limit in spec.ulimits ?? [] {
            do { _ = try Ulimit.make(limit.name, soft: limit.soft, hard: limit.hard) } catch { throw RuntimeError.badInput("\(error)") }
            guard crt_rlimit_from_name(limit.name) >= 0 else { throw RuntimeError.badInput("invalid ulimit type: \(limit.name)") }
        }
    }

    /// The C runtime's form: -1 (unlimited) is RLIM_INFINITY.
    static func rlimit(_ limit: Ulimit) -> crt_rlimit {
        func value(_ number: Int64) -> UInt64 { number < 0 ? UInt64.max : UInt64(number) }
        return crt_rlimit(resource: crt_rlimit_from_name(limit.name), soft: value(limit.soft), hard: value(limit.hard))
    }
}
