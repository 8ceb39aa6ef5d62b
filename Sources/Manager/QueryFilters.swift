import Foundation
import SwarmAPI

/// The Engine API's `filters` query parameter: `{"name":{"web":true}}`
/// (or the older `{"name":["web"]}`). Values of one key are OR'ed, keys AND'ed.
struct QueryFilters {
    private var fields: [String: [String]] = [:]

    init(_ json: String?) throws {
        guard let json, !json.isEmpty else { return }
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            throw APIError.badRequest("invalid filter: the filters parameter must be a JSON object")
        }
        for (key, value) in object {
            if let map = value as? [String: Any] {
                fields[key] = map.filter { ($0.value as? Bool) ?? true }.map(\.key)
            } else if let list = value as? [String] {
                fields[key] = list
            } else {
                throw APIError.badRequest("invalid filter '\(key)'")
            }
        }
    }

    func allow(_ keys: Set<String>) throws {
        for key in fields.keys.sorted() where !keys.contains(key) {
            throw APIError.badRequest("invalid filter '\(key)'")
        }
    }

    func has(_ key: String) -> Bool { fields[key] != nil }
    func values(_ key: String) -> [String] { fields[key] ?? [] }

    /// True when `key` is absent, or one of its values passes `test`.
    func any(_ key: String, _ test: (String) -> Bool) -> Bool {
        guard let values = fields[key] else { return true }
        return values.contains(where: test)
    }

    /// `label=key` or `label=key=value` against a label set.
    func labels(_ key: String, _ labels: [String: String]) -> Bool {
        any(key) { filter in
            let parts = filter.split(separator: "=", maxSplits: 1).map(String.init)
            guard let value = labels[parts[0]] else { return false }
            return parts.count == 1 || parts[1] == value
        }
    }

    func matches(_ node: Node) -> Bool {
        any("id") { node.id.hasPrefix($0) }
            && any("name") { node.description.hostname.hasPrefix($0) || (node.spec.name ?? "").hasPrefix($0) }
            && any("role") { $0 == node.spec.role.rawValue }
            && any("membership") { $0 == "accepted" }
            && labels("node.label", node.spec.labels)
            && labels("label", node.description.engine.labels ?? [:])
    }

    func matches(_ service: Service) -> Bool {
        any("id") { service.id.hasPrefix($0) }
            && any("name") { service.spec.name.hasPrefix($0) }
            && any("mode") { $0 == (service.spec.mode.isGlobal ? "global" : "replicated") }
            && labels("label", service.spec.labels ?? [:])
    }

    func matches(_ task: SwarmTask) -> Bool {
        any("id") { task.id.hasPrefix($0) }
            && any("desired-state") { $0 == task.desiredState.name || ($0 == "accepted" && task.desiredState == .accepted) }
            && any("name") { "\(task.serviceName ?? "").\(task.slot.map(String.init) ?? task.nodeID ?? "")".hasPrefix($0) }
            && labels("label", task.labels)
    }
}
