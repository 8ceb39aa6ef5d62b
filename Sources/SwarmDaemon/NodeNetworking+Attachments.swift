import NodeAgent
import SwarmAPI

/// A container attached by hand to an overlay network is wired as a task
/// with no service: a namespace with its address on the network, the way
/// out through the gateway bridge, and the mesh's DNS server and VIP rules.
extension NodeNetworking {
    static func isAttachment(_ wired: WiredTask) -> Bool { wired.serviceID.isEmpty }

    /// The IDs of the attachments wired on this node (after a restart: those found wired).
    func wiredAttachmentIDs() async -> Set<String> {
        var ids: Set<String> = []
        for id in await overlay.wiredTaskIDs() where await overlay.wired(id).map(Self.isAttachment) == true { ids.insert(id) }
        return ids
    }

    /// The attachment's namespace, wired once the manager's view of the
    /// network holds its endpoint (so its DNS answers and peers are there
    /// from the container's first packet), or after `timeout` at worst.
    func prepare(_ grant: AttachmentGrant, timeout: Duration = .seconds(10)) async throws -> String {
        let address = OverlayAddress.withoutPrefix(grant.attachment.address)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline,
              views[grant.network.id]?.endpoints.contains(where: { $0.taskID == grant.attachment.id && $0.address == address }) != true {
            try await Task.sleep(for: .milliseconds(20))
        }
        let now = Timestamp.now()
        var task = SwarmTask(id: grant.attachment.id, version: ObjectVersion(index: 0), createdAt: now,
                             spec: TaskSpec(containerSpec: ContainerSpec(image: "")), serviceID: "", slot: nil, nodeID: nil,
                             status: TaskStatus(timestamp: now, state: .running, message: "attached"), desiredState: .running,
                             specIndex: 0, serviceName: nil)
        task.networksAttachments = [NetworkAttachment(network: views[grant.network.id]?.network ?? grant.network, addresses: [grant.attachment.address])]
        guard let namespace = try await prepare(task) else { throw NetworkingError.noDataPath }
        return namespace
    }
}
