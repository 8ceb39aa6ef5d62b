import FoundationEssentials
import Lab
import SystemCalls
import Testing

// lab.json as `up` writes it, and what `ls --name` and `exec` read from it.

private let labJSON = """
    {
      "client" : { "address" : "10.77.9.2", "namespace" : "/run/swarm-lab/netns/t-client" },
      "createdAt" : 1700000000,
      "name" : "t",
      "namespaceDirectory" : "/run/swarm-lab/netns",
      "nodes" : [
        { "address" : "10.77.9.11", "cgroupParent" : "swarm-lab-t-node1.slice", "dataDir" : "/var/lib/swarm-lab/t/node1",
          "name" : "node1", "namespace" : "/run/swarm-lab/netns/t-node1", "pid" : 4242, "role" : "manager",
          "socket" : "unix:///run/swarm-lab/t/node1/swarm.sock", "stateDir" : "/run/swarm-lab/t/node1" },
        { "address" : "10.77.9.12", "cgroupParent" : "swarm-lab-t-node2.slice", "dataDir" : "/var/lib/swarm-lab/t/node2",
          "name" : "node2", "namespace" : "/run/swarm-lab/netns/t-node2", "role" : "worker",
          "socket" : "unix:///run/swarm-lab/t/node2/swarm.sock", "stateDir" : "/run/swarm-lab/t/node2" }
      ],
      "state" : "up",
      "subnet" : "10.77.9.0/24"
    }
    """

@Test func recordRowsListNodesThenTheClient() throws {
    let record = try JSONDecoder().decode(LabRecord.self, from: Data(labJSON.utf8))
    #expect(record.tableRows(isAlive: { $0 == 4242 }) == [
        ["NODE", "ROLE", "ADDRESS", "SOCKET", "STATUS"],
        ["node1", "manager", "10.77.9.11", "unix:///run/swarm-lab/t/node1/swarm.sock", "running"],
        ["node2", "worker", "10.77.9.12", "unix:///run/swarm-lab/t/node2/swarm.sock", "exited"],
        ["client", "client", "10.77.9.2", "unix:///run/swarm-lab/t/node1/swarm.sock", "-"],
    ])
    #expect(record.nodes.map(\.pid) == [4242, nil])
    #expect(record.nodes.map(\.paused) == [nil, nil] && record.nodes.map(\.partition) == [nil, nil] && record.nodes[0].inCgroup == nil,
            "a record of a lab made before pause and partition reads as neither")
}

@Test func statusShowsPausedAndPartitionedNodes() throws {
    var record = try JSONDecoder().decode(LabRecord.self, from: Data(labJSON.utf8))
    record.nodes[0].partition = 2
    record.nodes[1].paused = []
    record.nodes[1].partition = 2
    let status = record.tableRows(isAlive: { _ in true }).map { $0[4] }
    #expect(status == ["STATUS", "running, partitioned 2", "paused, partitioned 2", "-"])
    // Both survive lab.json.
    let again = try JSONDecoder().decode(LabRecord.self, from: JSONEncoder().encode(record))
    #expect(again.nodes.map(\.partition) == [2, 2] && again.nodes.map(\.paused) == [nil, []])
}

@Test func aMissingNodeIsNamedWithTheOnesThereAre() throws {
    let record = try JSONDecoder().decode(LabRecord.self, from: Data(labJSON.utf8))
    #expect(try record.index(of: "node2") == 1)
    #expect(throws: RuntimeError.badInput("no node node7 in lab t: use one of node1, node2")) { try record.index(of: "node7") }
}

@Test func aNodesEnvironmentPointsAtItsSocketAndDirectories() throws {
    let node = try JSONDecoder().decode(LabRecord.self, from: Data(labJSON.utf8)).nodes[1]
    let environment = node.environment(hostname: true)
    #expect(environment["SWARM_HOST"] == "unix:///run/swarm-lab/t/node2/swarm.sock")
    #expect(environment["DOCKER_HOST"] == environment["SWARM_HOST"])
    #expect(environment["SWARM_DATA_DIR"] == "/var/lib/swarm-lab/t/node2")
    #expect(environment["SWARM_STATE_DIR"] == "/run/swarm-lab/t/node2")
    #expect(environment["SWARM_CGROUP_PARENT"] == "swarm-lab-t-node2.slice")
    #expect(environment["SWARM_HOSTNAME"] == "node2")
    #expect(node.environment(hostname: false)["SWARM_HOSTNAME"] == ProcessInfo.processInfo.environment["SWARM_HOSTNAME"])
    #expect(node.globalOptions == ["--data-dir", "/var/lib/swarm-lab/t/node2", "--state-dir", "/run/swarm-lab/t/node2",
                                   "--cgroup-parent", "swarm-lab-t-node2.slice"])
}

@Test func labPathsFollowTheName() {
    let paths = LabPaths("t")
    #expect(paths.record == "/run/swarm-lab/t/lab.json")
    #expect(paths.log("node1-init") == "/run/swarm-lab/t/logs/node1-init")
    let node = paths.node(3)
    #expect([node.name, node.dataDir, node.stateDir, node.cgroupParent, node.socket]
        == ["node3", "/var/lib/swarm-lab/t/node3", "/run/swarm-lab/t/node3", "swarm-lab-t-node3.slice", "/run/swarm-lab/t/node3/swarm.sock"])
    #expect(LabPaths.nodeIndex("node12") == 12)
    for other in ["node", "node+1", "node1a", "client", "hub"] { #expect(LabPaths.nodeIndex(other) == nil, "\(other)") }
}

@Test func theWorkerTokenComesFromInitsJoinLine() {
    let output = """
        Swarm initialized: current node (abc) is now a manager.

        To add a worker to this swarm, run the following command:

            swarm join --token SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx 10.77.9.11:2377

        """
    #expect(LabCluster.workerToken(in: output) == "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx")
    #expect(LabCluster.workerToken(in: "Swarm initialized.\n") == nil)
    #expect(LabCluster.workerToken(in: "swarm join --token\n") == nil)
}
