import Testing
@testable import Manager
import SwarmAPI

/// swarmkit's rule for secrets and configs: only labels change. The same
/// data sent again (as `stack deploy` sends it on every deploy) is no change.
@Suite struct SecretUpdateTests {
    @Test(arguments: [true, false])
    func theSameDataAgainIsNoChangeOtherDataIsRefused(sealed: Bool) async throws {
        let cluster = try await ClusterFixture(nodes: 1)
        let manager = cluster.manager
        func update(_ data: String?, labels: [String: String]) async throws {
            if sealed {
                let version = try await manager.secretObject(SwarmSecret.self, "token").version.index
                try await manager.updateSecretObject(SwarmSecret.self, "token", version: version, spec: SecretSpec(name: "token", labels: labels, data: data))
            } else {
                let version = try await manager.secretObject(SwarmConfig.self, "token").version.index
                try await manager.updateSecretObject(SwarmConfig.self, "token", version: version, spec: SecretSpec(name: "token", labels: labels, data: data))
            }
        }
        if sealed { _ = try await manager.createSecretObject(SwarmSecret.self, SecretSpec(name: "token", data: "aHVudGVyMg==")) }
        else { _ = try await manager.createSecretObject(SwarmConfig.self, SecretSpec(name: "token", data: "aHVudGVyMg==")) }
        try await update("aHVudGVyMg==", labels: ["a": "1"])
        try await update(nil, labels: ["a": "2"])
        await #expect(throws: APIError.self) { try await update("b3RoZXI=", labels: ["a": "3"]) }
        let labels = sealed ? try await manager.secretObject(SwarmSecret.self, "token").spec.labels
                            : try await manager.secretObject(SwarmConfig.self, "token").spec.labels
        #expect(labels == ["a": "2"])
    }
}
