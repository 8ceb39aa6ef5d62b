import ArgumentParser
import SwarmAPI
import SystemCalls

/// `--update-*` and `--rollback-*`: how a service's tasks are replaced
/// when its template changes, and when it rolls back (Docker's flags).
struct UpdateConfigOptions: ParsableArguments {
    @Option(name: .customLong("update-parallelism"), help: "Maximum number of tasks updated simultaneously (0 to update all at once)") var updateParallelism: UInt64?
    @Option(name: .customLong("update-delay"), help: "Delay between updates (ns|us|ms|s|m|h) (default 0s)") var updateDelay: String?
    @Option(name: .customLong("update-failure-action"), help: "Action on update failure (\"pause\", \"continue\", \"rollback\") (default \"pause\")") var updateFailureAction: String?
    @Option(name: .customLong("update-monitor"), help: "Duration after each task update to monitor for failure (ns|us|ms|s|m|h) (default 5s)") var updateMonitor: String?
    @Option(name: .customLong("update-max-failure-ratio"), help: "Failure rate to tolerate during an update (default 0)") var updateMaxFailureRatio: Double?
    @Option(name: .customLong("update-order"), help: "Update order (\"start-first\", \"stop-first\") (default \"stop-first\")") var updateOrder: String?
    @Option(name: .customLong("rollback-parallelism"), help: "Maximum number of tasks rolled back simultaneously (0 to roll back all at once)") var rollbackParallelism: UInt64?
    @Option(name: .customLong("rollback-delay"), help: "Delay between task rollbacks (ns|us|ms|s|m|h) (default 0s)") var rollbackDelay: String?
    @Option(name: .customLong("rollback-failure-action"), help: "Action on rollback failure (\"pause\", \"continue\") (default \"pause\")") var rollbackFailureAction: String?
    @Option(name: .customLong("rollback-monitor"), help: "Duration after each task rollback to monitor for failure (ns|us|ms|s|m|h) (default 5s)") var rollbackMonitor: String?
    @Option(name: .customLong("rollback-max-failure-ratio"), help: "Failure rate to tolerate during a rollback (default 0)") var rollbackMaxFailureRatio: Double?
    @Option(name: .customLong("rollback-order"), help: "Rollback order (\"start-first\", \"stop-first\") (default \"stop-first\")") var rollbackOrder: String?

    /// Applies the flags that were given onto `spec`; a bad value changes nothing.
    func apply(to spec: inout ServiceSpec) throws {
        let update = try Self.merged(spec.updateConfig, prefix: "update", parallelism: updateParallelism, delay: updateDelay,
                                     failureAction: updateFailureAction, actions: ["pause", "continue", "rollback"],
                                     monitor: updateMonitor, ratio: updateMaxFailureRatio, order: updateOrder)
        let rollback = try Self.merged(spec.rollbackConfig, prefix: "rollback", parallelism: rollbackParallelism, delay: rollbackDelay,
                                       failureAction: rollbackFailureAction, actions: ["pause", "continue"],
                                       monitor: rollbackMonitor, ratio: rollbackMaxFailureRatio, order: rollbackOrder)
        if let update { spec.updateConfig = update }
        if let rollback { spec.rollbackConfig = rollback }
    }

    /// `config` with the given flags applied; nil if no flag was given.
    static func merged(_ config: UpdateConfig?, prefix: String, parallelism: UInt64?, delay: String?, failureAction: String?,
                       actions: [String], monitor: String?, ratio: Double?, order: String?) throws -> UpdateConfig? {
        guard parallelism != nil || delay != nil || failureAction != nil || monitor != nil || ratio != nil || order != nil else { return nil }
        var config = config ?? UpdateConfig()
        if let parallelism { config.parallelism = parallelism }
        if let delay { config.delay = try ServiceSpecOptions.duration(delay, "\(prefix)-delay") }
        if let monitor { config.monitor = try ServiceSpecOptions.duration(monitor, "\(prefix)-monitor") }
        if let failureAction {
            guard actions.contains(failureAction) else {
                throw RuntimeError.badInput("invalid argument \"\(failureAction)\" for \"--\(prefix)-failure-action\" flag: use one of \(actions.map { "\"\($0)\"" }.joined(separator: ", "))")
            }
            config.failureAction = failureAction
        }
        if let ratio {
            guard ratio >= 0, ratio <= 1 else {
                throw RuntimeError.badInput("invalid argument \"\(ratio)\" for \"--\(prefix)-max-failure-ratio\" flag: use a number from 0 to 1")
            }
            config.maxFailureRatio = ratio
        }
        if let order {
            guard ["start-first", "stop-first"].contains(order) else {
                throw RuntimeError.badInput("invalid argument \"\(order)\" for \"--\(prefix)-order\" flag: use \"start-first\" or \"stop-first\"")
            }
            config.order = order
        }
        return config
    }
}
