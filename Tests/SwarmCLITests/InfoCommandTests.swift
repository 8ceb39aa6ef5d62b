import SwarmAPI
import Testing

@testable import SwarmCLI

/// `swarm info`'s text, as docker info's Server part prints a swarm.
struct InfoCommandTests {
    func info(controlAvailable: Bool, managers: [String], cluster: SwarmInfo?) -> SystemInfo {
        SystemInfo(id: "node1", name: "host1", serverVersion: "0.4.0", operatingSystem: "linux", osType: "linux", architecture: "x86_64",
                   ncpu: 2, memTotal: 2_095_128_576,
                   swarm: .init(nodeID: "node1", nodeAddr: "10.0.0.2", localNodeState: "active", controlAvailable: controlAvailable, error: "",
                                remoteManagers: managers.map { .init(nodeID: "", addr: $0) }, nodes: controlAvailable ? 4 : 0,
                                managers: controlAvailable ? 3 : 0, cluster: cluster))
    }

    @Test func aWorkerListsEveryManagerSorted() {
        let text = InfoCommand.text(info(controlAvailable: false, managers: ["10.0.0.9:2377", "10.0.0.10:2377", "10.0.0.1:2377"], cluster: nil))
        #expect(text == """
            Server:
             Server Version: 0.4.0
             Swarm: active
              NodeID: node1
              Is Manager: false
              Node Address: 10.0.0.2
              Manager Addresses:
               10.0.0.10:2377
               10.0.0.1:2377
               10.0.0.9:2377
             Operating System: linux
             OSType: linux
             Architecture: x86_64
             CPUs: 2
             Total Memory: 1.951GiB
             Name: host1
             ID: node1

            """)
    }

    @Test func aManagerPrintsTheClusterPart() {
        let cluster = SwarmInfo(id: "cluster1", version: ObjectVersion(index: 1), createdAt: .zero, spec: SwarmSpec(heartbeatPeriod: 5_000_000_000),
                                joinTokens: JoinTokens(worker: "w", manager: "m"))
        let text = InfoCommand.text(info(controlAvailable: true, managers: ["10.0.0.1:2377"], cluster: cluster))
        #expect(text.contains("""
              Is Manager: true
              ClusterID: cluster1
              Managers: 3
              Nodes: 4
              Default Address Pool: 10.0.0.0/8  
              SubnetSize: 24
              Orchestration:
               Task History Retention Limit: 5
              Dispatcher:
               Heartbeat Period: 5 seconds
              CA Configuration:
               Expiry Duration: 3 months
               Force Rotate: 0
              Autolock Managers: false
              Root Rotation In Progress: false
              Node Address: 10.0.0.2
              Manager Addresses:
               10.0.0.1:2377

            """), "\(text)")
    }
}
