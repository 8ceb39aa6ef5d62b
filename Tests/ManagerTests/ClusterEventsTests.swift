import Foundation
import HTTPServer
import Testing
@testable import Manager
import SwarmAPI

/// Events from the store's watch, in Docker's shapes, through `GET /events`.
struct ClusterEventsTests {
    static func lines(_ response: HTTPResponse) async -> [String] {
        guard case .stream(let stream) = response.body else { return [] }
        var bytes: [UInt8] = []
        for await chunk in stream { bytes += chunk }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test func secretsAndConfigsCreatedAndRemoved() async throws {
        let cluster = try await ClusterFixture(nodes: 1)
        let router = APIRouterTests.router(cluster)
        let recording = Task { await router.events.record(cluster.store) }
        defer { recording.cancel() }
        let secret = try await cluster.manager.createSecretObject(SwarmSecret.self, SecretSpec(name: "db", data: "aHVudGVyMg=="))
        let config = try await cluster.manager.createSecretObject(SwarmConfig.self, SecretSpec(name: "app", data: "Y2ZnCg=="))
        try await cluster.manager.removeSecretObject(SwarmSecret.self, "db")
        try await cluster.manager.removeSecretObject(SwarmConfig.self, "app")
        var history: [ClusterEvent] = []
        for _ in 0..<500 {
            history = await router.events.history
            if history.count >= 4 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        // Docker's: the value is never in an event, the name is.
        #expect(history.map { "\($0.type) \($0.action) \($0.actorID) \($0.attributes)" } == [
            "secret create \(secret) [\"name\": \"db\"]", "config create \(config) [\"name\": \"app\"]",
            "secret remove \(secret) [\"name\": \"db\"]", "config remove \(config) [\"name\": \"app\"]",
        ])
    }

    @Test func servicesAndNodesCreatedUpdatedRemoved() async throws {
        let cluster = try await ClusterFixture(nodes: 1)
        let router = APIRouterTests.router(cluster)
        let recording = Task { await router.events.record(cluster.store) }
        defer { recording.cancel() }
        let service = try await cluster.manager.createService(ClusterFixture.spec("web", replicas: 1))
        var spec = service.spec
        spec.mode = .replicas(3)
        _ = try await cluster.manager.updateService(service.id, version: service.version.index, spec: spec)
        let node = try await cluster.manager.node("node1")
        var nodeSpec = node.spec
        nodeSpec.availability = .drain
        try await cluster.manager.updateNode("node1", version: node.version.index, spec: nodeSpec)
        try await cluster.manager.removeService(service.id)
        var history: [ClusterEvent] = []
        for _ in 0..<500 {
            history = await router.events.history
            if history.count >= 4 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(history.map { "\($0.type) \($0.action) \($0.actorID) \($0.attributes.sorted { $0.key < $1.key })" } == [
            "service create \(service.id) [(key: \"name\", value: \"web\")]",
            "service update \(service.id) [(key: \"name\", value: \"web\"), (key: \"replicas.new\", value: \"3\"), (key: \"replicas.old\", value: \"1\")]",
            "node update node1 [(key: \"availability.new\", value: \"drain\"), (key: \"availability.old\", value: \"active\"), (key: \"name\", value: \"host1\")]",
            "service remove \(service.id) [(key: \"name\", value: \"web\")]",
        ])

        let until = String(format: "%.9f", Date().timeIntervalSince1970 + 1)
        let all = await Self.lines(await router.handle(APIRouterTests.get("/v1.41/events", query: ["since": ["0"], "until": [until]])))
        #expect(all.count == 4)
        let first = try #require(all.first)
        #expect(first.hasPrefix(#"{"Type":"service","Action":"create","Actor":{"ID":"\#(service.id)","Attributes":{"name":"web"}},"scope":"swarm","time":"#), "\(first)")
        let nodes = await Self.lines(await router.handle(APIRouterTests.get("/events", query: [
            "since": ["0"], "until": [until], "filters": [#"{"type":{"node":true}}"#]])))
        #expect(nodes.count == 1 && nodes[0].contains(#""Action":"update""#))
        let byName = await Self.lines(await router.handle(APIRouterTests.get("/events", query: [
            "since": ["0"], "until": [until], "filters": [#"{"service":{"web":true},"event":{"remove":true}}"#]])))
        #expect(byName.count == 1 && byName[0].contains(#""Action":"remove""#))
        let bad = await router.handle(APIRouterTests.get("/events", query: ["filters": [#"{"colour":{"red":true}}"#]]))
        #expect(bad.status == 400)
    }

    @Test func networksCreatedAndRemoved() async throws {
        let cluster = try await ClusterFixture(nodes: 1)
        let router = APIRouterTests.router(cluster)
        let recording = Task { await router.events.record(cluster.store) }
        defer { recording.cancel() }
        try await cluster.settle()
        let app = try await cluster.manager.createNetwork(NetworkAllocationTests.network("app"))
        try await cluster.manager.removeNetwork("app")
        var history: [ClusterEvent] = []
        for _ in 0..<500 {
            history = await router.events.history
            if history.count >= 2 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(history.map { "\($0.type) \($0.action) \($0.actorID) \($0.attributes)" } == [
            "network create \(app.id) [\"name\": \"app\"]", "network remove \(app.id) [\"name\": \"app\"]"])
    }

    @Test func aReaderGetsNewEventsAsTheyHappen() async throws {
        let cluster = try await ClusterFixture(nodes: 1)
        let router = APIRouterTests.router(cluster)
        let recording = Task { await router.events.record(cluster.store) }
        defer { recording.cancel() }
        // Recording has started once the watch is in place: wait for the first event of a probe.
        _ = try await cluster.manager.createService(ClusterFixture.spec("probe"))
        for _ in 0..<500 where await router.events.history.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        let response = await router.handle(APIRouterTests.get("/events", query: ["filters": [#"{"service":{"live":true}}"#]]))
        guard case .stream(let stream) = response.body else { Issue.record("not a stream"); return }
        async let first: String? = {
            for await chunk in stream { return String(decoding: chunk, as: UTF8.self) }
            return nil
        }()
        try await Task.sleep(for: .milliseconds(50))
        _ = try await cluster.manager.createService(ClusterFixture.spec("live"))
        let line = await first
        #expect(line?.contains(#""Action":"create","Actor":{"ID":"#) == true && line?.contains(#""name":"live""#) == true, "\(line ?? "")")
    }
}
