import FoundationEssentials
import HostNetwork
import SystemCalls

extension LabCluster {
    /// Cuts `nodes` ("node2", …) off the rest of lab `name`'s network: they
    /// keep running and reach each other, but no other node and not the
    /// client (see `LabNetwork.isolate`), until `heal`. A node already cut
    /// off moves to the new partition. Returns the nodes, in the order given.
    @discardableResult
    public static func partition(_ name: String, nodes: [String]) throws -> [String] {
        try LabRecord.update(name) { record in
            let indexes = try nodes.map { try record.index(of: $0) }
            let before = Set(record.nodes.compactMap(\.partition))
            let group = (before.max() ?? 0) + 1
            try LabNetwork.isolate(hub: hub(of: record), nodes: indexes.map { $0 + 1 }, group: group) { record.nodes[$0 - 1].partition = group }
            // A partition whose nodes all moved to this one goes.
            let emptied = before.subtracting(record.nodes.compactMap(\.partition)).sorted()
            try LabNetwork.rejoin(hub: hub(of: record), nodes: [], emptied: emptied) { _ in }
            return indexes.map { record.nodes[$0].name }
        }
    }

    /// Puts `nodes` (all partitioned ones if empty) back on lab `name`'s
    /// network. Returns the nodes healed.
    @discardableResult
    public static func heal(_ name: String, nodes: [String] = []) throws -> [String] {
        try LabRecord.update(name) { record in
            let indexes = nodes.isEmpty ? record.nodes.indices.filter { record.nodes[$0].partition != nil }
                : try nodes.map { try record.index(of: $0) }
            let before = Set(record.nodes.compactMap(\.partition))
            let after = Set(record.nodes.indices.filter { !indexes.contains($0) }.compactMap { record.nodes[$0].partition })
            try LabNetwork.rejoin(hub: hub(of: record), nodes: indexes.map { $0 + 1 }, emptied: before.subtracting(after).sorted()) {
                record.nodes[$0 - 1].partition = nil
            }
            return indexes.map { record.nodes[$0].name }
        }
    }

    private static func hub(of record: LabRecord) -> NetworkNamespace {
        NetworkNamespace(name: record.name + "-hub", directory: record.namespaceDirectory)
    }
}
