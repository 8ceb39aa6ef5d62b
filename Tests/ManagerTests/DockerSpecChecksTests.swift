import Testing
@testable import Manager
import SwarmAPI

/// Values Docker's daemon refuses when it converts a spec: the same
/// refusal (400, its words), nothing made or changed.
struct DockerSpecChecksTests {
    @Test func wrongWordsInAServiceSpecGetDockersMessages() async throws {
        let cluster = try await ClusterFixture(nodes: 1)
        let router = APIRouterTests.router(cluster)
        let create = CompatibilityTests.dockerCreate
        func refusal(_ json: String) async -> (Int, String) {
            let response = await router.handle(CompatibilityTests.post("/services/create", json))
            return (response.status, APIRouterTests.message(response) ?? "")
        }
        func with(_ field: String) -> String { create.replacingOccurrences(of: #""Labels":{}"#, with: #""Labels":{},"# + field) }
        #expect(await refusal(with(#""UpdateConfig":{"FailureAction":"bogus"}"#)) == (400, "unrecognized update failure action bogus"))
        #expect(await refusal(with(#""RollbackConfig":{"Order":"sideways"}"#)) == (400, "unrecognized update order sideways"))
        #expect(await refusal(create.replacingOccurrences(of: #""EndpointSpec":{"Mode":"vip"}"#, with: #""EndpointSpec":{"Mode":"rr"}"#))
                == (400, #"invalid resolution mode: "rr""#))
        #expect(await refusal(create.replacingOccurrences(of: #""Init":false"#, with: #""Init":false,"Mounts":[{"Type":"bogus","Target":"/x"}]"#))
                == (400, #"invalid MountType: "bogus""#))
        #expect(await refusal(create.replacingOccurrences(of: #""ForceUpdate":0"#, with: #""ForceUpdate":0,"RestartPolicy":{"Condition":"sometimes"}"#))
                == (400, #"invalid RestartCondition: "sometimes""#))
        #expect(await refusal(create.replacingOccurrences(of: #""Placement":{}"#, with: #""Placement":{"Constraints":["node.role"]}"#))
                == (400, "rpc error: code = Unknown desc = constraint expected one operator from ==, !="))
        #expect(await cluster.manager.allServices().isEmpty)
        // Docker's words pass.
        #expect(await refusal(with(#""UpdateConfig":{"FailureAction":"rollback","Order":"start-first"}"#)).0 == 201)
    }

    @Test func wrongWordsInANodeSpecGetDockersMessages() async throws {
        let cluster = try await ClusterFixture(nodes: 1)
        let router = APIRouterTests.router(cluster)
        let node = try await cluster.manager.node("node1")
        func update(_ json: String) async -> (Int, String) {
            let response = await router.handle(CompatibilityTests.post("/nodes/node1/update", json, query: ["version": ["\(node.version.index)"]]))
            return (response.status, APIRouterTests.message(response) ?? "")
        }
        #expect(await update(#"{"Role":"manager","Availability":"bogus"}"#) == (400, #"invalid Availability: "bogus""#))
        #expect(await update(#"{"Role":"boss","Availability":"active"}"#) == (400, #"invalid Role: "boss""#))
        #expect(try await cluster.manager.node("node1").version == node.version)
    }
}
