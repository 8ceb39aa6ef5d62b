import SwarmAPI

/// `sysctls`, `ulimits` and `deploy.placement.preferences`.
extension ComposeReader {
    /// A mapping or a list of `KEY=VALUE`; only the container's namespaced parameters.
    func sysctls(_ entry: YAMLValue.Entry) throws(ComposeError) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in try entry.value.listOrDict("sysctls", at: entry.keyPosition) {
            // Whether the task has its own network is the manager's to check (a host-network service).
            if let reason = NamespacedSysctls.refusal(key, ownNetwork: true) { throw entry.keyPosition.error("sysctls: \(reason)") }
            result[key] = value ?? ""
        }
        return result
    }

    /// `nproc: 65535` (soft and hard alike) or `nofile: {soft: 20000, hard: 40000}`.
    func ulimits(_ entry: YAMLValue.Entry) throws(ComposeError) -> [String: Ulimit] {
        var result: [String: Ulimit] = [:]
        for item in try entry.value.mapping("ulimits", at: entry.keyPosition) {
            let soft: Int, hard: Int
            if case .mapping = item.value.kind {
                let fields = try Fields(item.value, path: "ulimits.\(item.key)", at: item.keyPosition)
                for unknown in fields.unknown(["soft", "hard"]) {
                    throw unknown.keyPosition.error("unknown key '\(unknown.key)' in ulimits.\(item.key) (expected soft and hard)")
                }
                guard let low = try fields.int("soft"), let high = try fields.int("hard") else {
                    throw item.keyPosition.error("ulimits.\(item.key) needs both soft and hard")
                }
                (soft, hard) = (low, high)
            } else {
                soft = try item.value.int("ulimits.\(item.key)", at: item.keyPosition)
                hard = soft
            }
            do { result[item.key] = try Ulimit.make(item.key, soft: Int64(soft), hard: Int64(hard)) } catch {
                throw item.keyPosition.error("ulimits.\(item.key): \(error)")
            }
        }
        return result
    }

    /// `- spread: node.labels.zone`, the only kind Docker has.
    func preferences(_ entry: YAMLValue.Entry) throws(ComposeError) -> [String] {
        var result: [String] = []
        for item in try entry.value.sequence("deploy.placement.preferences", at: entry.keyPosition) {
            let fields = try Fields(item, path: "deploy.placement.preferences", at: item.position)
            for unknown in fields.unknown(["spread"]) {
                throw unknown.keyPosition.error("unknown key '\(unknown.key)' in deploy.placement.preferences (expected spread)")
            }
            guard let spread = try fields.string("spread") else { throw item.position.error("deploy.placement.preferences items need spread") }
            guard ["node.labels.", "engine.labels."].contains(where: { spread.hasPrefix($0) && spread.count > $0.count }) else {
                throw fields["spread"]!.keyPosition.error("deploy.placement.preferences: spread over \"\(spread)\" is not supported (like node.labels.zone)")
            }
            result.append(spread)
        }
        return result
    }
}
