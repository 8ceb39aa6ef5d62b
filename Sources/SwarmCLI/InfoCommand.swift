import ArgumentParser
import Formatting
import FoundationEssentials
import SwarmAPI
import SwarmClient
import SystemCalls

/// `swarm info` (Docker's `docker info`): the node, and its swarm as
/// Docker's CLI prints it. On a worker the managers are every one its
/// agent knows (`Swarm.RemoteManagers`); Raft settings are not printed:
/// the managers agree through etcd, not Raft.
struct InfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Display system-wide information")
    @Option(name: [.customShort("f"), .customLong("format")], help: "Format output using a custom template") var format: String?
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await APIClient.with(host: cluster.host) { client in
            let body = try await client.send(.GET, "/info").body
            if let format, !format.isEmpty {
                return try printObjects([body], format: format == "json" ? "{{json .}}" : format)
            }
            writeStdout(Self.text(try APIJSON.decode(SystemInfo.self, from: body)))
        }
    }

    static func text(_ info: SystemInfo) -> String {
        var lines = ["Server:", " Server Version: \(info.serverVersion)", " Swarm: \(info.swarm.localNodeState)"]
        let swarm = info.swarm
        lines.append("  NodeID: \(swarm.nodeID)")
        if !swarm.error.isEmpty { lines.append("  Error: \(swarm.error)") }
        lines.append("  Is Manager: \(swarm.controlAvailable)")
        if swarm.controlAvailable, swarm.error.isEmpty, let cluster = swarm.cluster {
            lines += ["  ClusterID: \(cluster.id)", "  Managers: \(swarm.managers)", "  Nodes: \(swarm.nodes)",
                      "  Default Address Pool: " + (cluster.defaultAddrPool ?? ["10.0.0.0/8"]).map { $0 + "  " }.joined(),
                      "  SubnetSize: \(cluster.subnetSize ?? 24)",
                      "  Orchestration:", "   Task History Retention Limit: \(cluster.spec.orchestration.taskHistoryRetentionLimit ?? 0)",
                      "  Dispatcher:", "   Heartbeat Period: " + Render.humanDuration(Double(cluster.spec.dispatcher.heartbeatPeriod ?? 0) / 1e9),
                      "  CA Configuration:", "   Expiry Duration: " + Render.humanDuration(Double(cluster.spec.caConfig.nodeCertExpiry ?? 0) / 1e9),
                      "   Force Rotate: 0", "  Autolock Managers: false", "  Root Rotation In Progress: \(cluster.rootRotationInProgress)"]
        }
        lines.append("  Node Address: \(swarm.nodeAddr)")
        if !swarm.remoteManagers.isEmpty {
            // Sorted, as Docker's CLI prints them (the API lists the leader first).
            lines.append("  Manager Addresses:")
            lines += swarm.remoteManagers.map(\.addr).sorted().map { "   " + $0 }
        }
        lines += [" Operating System: \(info.operatingSystem)", " OSType: \(info.osType)", " Architecture: \(info.architecture)",
                  " CPUs: \(info.ncpu)", " Total Memory: " + Render.binarySize(info.memTotal), " Name: \(info.name)", " ID: \(info.id)"]
        return lines.joined(separator: "\n") + "\n"
    }
}
