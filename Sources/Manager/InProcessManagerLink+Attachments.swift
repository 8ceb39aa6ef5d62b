import SwarmAPI

/// Attachments without HTTP: the manager's refusals come back as the node's
/// daemon passes them on (`AttachmentRefused`), as over the network.
extension InProcessManagerLink: AttachmentLink {
    public func attachNetwork(_ request: AttachmentRequest) async throws -> AttachmentGrant {
        do { return try await manager.attachContainer(nodeID: nodeID, request) } catch let error as APIError {
            throw AttachmentRefused(status: error.status, message: error.message)
        }
    }

    public func detachNetwork(attachmentID: String) async throws {
        try await manager.detachContainer(nodeID: nodeID, attachmentID: attachmentID)
    }
}
