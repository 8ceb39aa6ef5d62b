import Formatting
import SwarmAPI

/// The Engine API's `filters` query parameter (`{"name":{"web":true}}`),
/// read by the CLI's own filter code and matched against cluster objects as
/// Docker's daemon matches them: values of one key OR'ed, keys AND'ed.
extension Filters {
    init(query json: String?) throws {
        do { try self.init(queryJSON: json ?? "") } catch let error as FormattingError {
            throw APIError.badRequest(error.message)
        }
    }

    func allow(_ keys: Set<String>) throws {
        do { try validate(allowed: keys) } catch let error as FormattingError {
            throw APIError.badRequest(error.message)
        }
    }

    func matches(_ node: Node) -> Bool {
        prefixMatch("id", node.id)
            && matches("name") { node.description.hostname.hasPrefix($0) || (node.spec.name ?? "").hasPrefix($0) }
            && exactMatch("role", node.spec.role.rawValue)
            && exactMatch("membership", "accepted")
            && labelMatch("node.label", labels: node.spec.labels)
            && labelMatch("label", labels: node.description.engine.labels ?? [:])
    }

    func matches(_ service: Service) -> Bool {
        prefixMatch("id", service.id)
            && prefixMatch("name", service.spec.name)
            && exactMatch("mode", service.spec.mode.isGlobal ? "global" : "replicated")
            && labelMatch(labels: service.spec.labels ?? [:])
    }

    func matches(_ task: SwarmTask, serviceLabels: [String: String] = [:]) -> Bool {
        prefixMatch("id", task.id)
            && exactMatch("desired-state", task.desiredState.name)
            && prefixMatch("name", "\(task.serviceName ?? "").\(task.slot.map(String.init) ?? task.nodeID ?? "")")
            && labelMatch(labels: task.labels.merging(serviceLabels) { own, _ in own })
    }
}
