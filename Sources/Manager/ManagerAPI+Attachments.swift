import ClusterStore
import SwarmAPI

/// Containers attached by hand to `--attachable` overlay networks
/// (`container run --network NAME` on a node; Docker's network attachment
/// tasks). The node asks (`/agent/attachments`); the allocator gives the
/// address; the attachment is kept on the node's object until the node
/// releases it (its container ended) or the node is removed.
extension ClusterManager {
    public func attachContainer(nodeID: String, _ request: AttachmentRequest) async throws -> AttachmentGrant {
        let ref = request.network
        let network: SwarmNetwork
        do { network = try await self.network(ref) } catch let error as APIError where error.status == 404 {
            throw APIError.notFound("network \(ref) not found")
        }
        guard network.spec.ingress != true, network.spec.attachable == true else {
            throw APIError.forbidden("Could not attach to network \(ref): rpc error: code = PermissionDenied desc = network \(ref) not manually attachable")
        }
        guard await store.get(Node.self, id: nodeID) != nil else { throw APIError.notFound("node \(nodeID) not found") }
        await waitForAllocator()
        let (attachment, token) = try await allocator.attachment(id: newObjectID(), nodeID: nodeID, network: network,
                                                                 containerName: request.containerName)
        var batch = StoreBatch(now: clock())
        batch.update(Node.self, id: nodeID) { node, _ in
            node.attachments = (node.attachments ?? []) + [attachment]
            return true
        }
        try await commit(batch, reserved: token)
        guard await store.get(Node.self, id: nodeID)?.attachments?.contains(attachment) == true else {
            throw APIError.notFound("node \(nodeID) not found")
        }
        return AttachmentGrant(attachment: attachment, network: network)
    }

    /// Idempotent: an attachment already gone changes nothing.
    public func detachContainer(nodeID: String, attachmentID: String) async throws {
        guard await store.get(Node.self, id: nodeID)?.attachments?.contains(where: { $0.id == attachmentID }) == true else { return }
        var batch = StoreBatch(now: clock())
        batch.update(Node.self, id: nodeID) { node, _ in
            guard let attachments = node.attachments, attachments.contains(where: { $0.id == attachmentID }) else { return false }
            let kept = attachments.filter { $0.id != attachmentID }
            node.attachments = kept.isEmpty ? nil : kept
            return true
        }
        try await commit(batch)
    }

    /// The first attachment to `network` on any node (`network rm` is refused while there is one).
    static func attachment(to network: String, in nodes: [Node]) -> ContainerAttachment? {
        for node in nodes {
            if let attachment = node.attachments?.first(where: { $0.networkID == network }) { return attachment }
        }
        return nil
    }
}
