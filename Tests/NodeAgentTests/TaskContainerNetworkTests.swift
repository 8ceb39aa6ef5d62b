@testable import NodeAgent
import SwarmAPI
import Testing

/// How a task's networks shape its container spec.
struct TaskContainerNetworkTests {
    static func task(networks: [NetworkAttachmentConfig]? = nil, attachments: [NetworkAttachment]? = nil) -> SwarmTask {
        var spec = TaskSpec(containerSpec: SwarmAPI.ContainerSpec(image: "busybox"))
        spec.networks = networks
        var task = SwarmTask(id: "t1", version: ObjectVersion(index: 1), createdAt: Timestamp(nanoseconds: 0), spec: spec,
                             serviceID: "s1", slot: 1, nodeID: "n1",
                             status: TaskStatus(timestamp: Timestamp(nanoseconds: 0), state: .new, message: ""),
                             desiredState: .running, specIndex: 1, serviceName: "web")
        task.networksAttachments = attachments
        return task
    }

    @Test func anOverlayTaskJoinsItsNamespaceAndTheMeshDNS() throws {
        let network = SwarmNetwork(id: "net1", version: ObjectVersion(index: 1), createdAt: Timestamp(nanoseconds: 0), spec: NetworkSpec(name: "app"))
        let spec = try TaskContainer.spec(Self.task(attachments: [NetworkAttachment(network: network, addresses: ["10.0.1.5/24"])]),
                                          networkNamespace: "/ns/task-t1")
        #expect(spec.network == .none && spec.networkNamespace == "/ns/task-t1")
        #expect(spec.nameservers == ["127.0.0.11"] && spec.hostAddress == "10.0.1.5")
    }

    @Test func aTaskWithoutOverlayKeepsTheHostsResolvers() throws {
        let spec = try TaskContainer.spec(Self.task(), networkNamespace: "/ns/task-t1")
        #expect(spec.networkNamespace == "/ns/task-t1" && spec.nameservers == nil && spec.hostAddress == nil)
    }

    @Test func theHostNetworkIsNeverANamespace() throws {
        let spec = try TaskContainer.spec(Self.task(networks: [NetworkAttachmentConfig(target: "host")]), networkNamespace: "/ns/x")
        #expect(spec.network == .host && spec.networkNamespace == nil)
    }

    @Test func anEngineWithoutNamespacesRefusesOne() async throws {
        let engine = FakeEngine()
        await #expect(throws: EngineError.self) { try await engine.run(Self.task(), networkNamespace: "/ns/x") }
    }
}
