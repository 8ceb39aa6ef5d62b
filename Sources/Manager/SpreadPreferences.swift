import SwarmAPI

/// A service's placement preferences (`spread=node.labels.zone`, nested in
/// order): the candidate nodes form a tree by the labels' values, a node
/// without the label in its own branch; each task goes down the branch
/// holding the fewest of the service's tasks at every level, as swarmkit
/// spreads them, and the usual least-loaded choice picks within the leaf.
struct SpreadPreferences {
    let descriptors: [String]

    init(_ placement: Placement?) {
        descriptors = (placement?.preferences ?? []).compactMap { $0.spread?.spreadDescriptor }
    }

    var isEmpty: Bool { descriptors.isEmpty }

    /// The node's value for a descriptor; nil (its own branch) when it has no such label.
    static func value(_ descriptor: String, of node: Node) -> String? {
        if descriptor.hasPrefix("node.labels.") {
            return node.spec.labels[String(descriptor.dropFirst("node.labels.".count))]
        }
        if descriptor.hasPrefix("engine.labels.") {
            return node.description.engine.labels?[String(descriptor.dropFirst("engine.labels.".count))]
        }
        return nil
    }

    /// The nodes of the leaf branch the next task of `service` goes to:
    /// at each level the branch with the fewest of its tasks (ties by value).
    func leaf(_ nodes: [Node], service: String, _ load: NodeLoad) -> [Node] {
        var group = nodes
        for descriptor in descriptors {
            var counts: [String?: Int] = [:]
            for node in group { counts[Self.value(descriptor, of: node), default: 0] += load.count(service, node.id) }
            // (Not `?.key`: optional chaining would flatten the label-less branch's nil key into "no branch".)
            guard let best = counts.min(by: { ($0.value, $0.key ?? "\u{10FFFF}") < ($1.value, $1.key ?? "\u{10FFFF}") }) else { return [] }
            group = group.filter { Self.value(descriptor, of: $0) == best.key }
        }
        return group
    }
}
