import ClusterStore
import Foundation
import Testing
@testable import Manager
import SwarmAPI

/// Session answers tell agents every manager, the leader first.
struct DispatcherManagersTests {
    @Test func sessionAndHeartbeatAnswersListTheManagersLeaderFirst() async throws {
        let fixture = try await StoreFixture()
        try await fixture.commit { batch in
            batch.put(ClusterManager.newNode(id: "node2", role: .worker, hostname: "host2", addr: "10.0.0.2:0", now: fixture.now))
            for (id, addr) in [("node3", "10.0.0.3:2377"), ("node4", "10.0.0.4:2377")] {
                var manager = ClusterManager.newNode(id: id, role: .manager, hostname: id, addr: addr, now: fixture.now)
                manager.managerStatus = ManagerStatus(leader: false, reachability: "reachable", addr: addr)
                batch.put(manager)
            }
            // Demoted, its status not cleared yet: not a manager to turn to.
            var demoted = ClusterManager.newNode(id: "node5", role: .worker, hostname: "host5", addr: "10.0.0.5:2377", now: fixture.now)
            demoted.managerStatus = ManagerStatus(leader: false, reachability: "reachable", addr: "10.0.0.5:2377")
            batch.put(demoted)
        }
        let dispatcher = Dispatcher(store: fixture.store, clock: { fixture.now })
        fixture.start { await dispatcher.run() }
        let expected = ["10.0.0.1:2377", "10.0.0.3:2377", "10.0.0.4:2377"]
        var managers: [String]? = nil
        for _ in 0..<5000 {
            managers = try await dispatcher.heartbeat(nodeID: "node2").managers
            if managers == expected { break }
            try await Task.sleep(for: .milliseconds(2))
        }
        #expect(managers == expected)
        let session = try await dispatcher.openSession(nodeID: "node2", SessionRequest(description: ClusterFixture.description("host2"), addr: "10.0.0.2"))
        #expect(session.managers == expected)

        // Leadership moves: the new leader comes first.
        try await fixture.commit { batch in
            batch.update(Node.self, id: "node1") { node, _ in node.managerStatus?.leader = false; return true }
            batch.update(Node.self, id: "node4") { node, _ in node.managerStatus?.leader = true; return true }
        }
        let moved = ["10.0.0.4:2377", "10.0.0.1:2377", "10.0.0.3:2377"]
        for _ in 0..<5000 {
            managers = try await dispatcher.heartbeat(nodeID: "node2").managers
            if managers == moved { break }
            try await Task.sleep(for: .milliseconds(2))
        }
        #expect(managers == moved)
    }
}
