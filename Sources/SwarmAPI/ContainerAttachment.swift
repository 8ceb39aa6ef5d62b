/// A container started on a node with `--network NAME` (an `--attachable`
/// overlay network), as the manager keeps it: Docker's network attachment
/// task, kept here on its node (`Node.attachments`). The node holds its
/// address until the attachment is released (the container ended) or the
/// node is removed; a restarted manager reads it back from the store.
public struct ContainerAttachment: Codable, Hashable, Sendable {
    /// The attachment's ID (Docker's attachment task ID).
    public var id: String
    public var networkID: String
    /// The container's address in the network, with its prefix ("10.0.1.5/24").
    public var address: String
    /// The container's name: other containers on the network resolve it.
    public var containerName: String?
    public init(id: String, networkID: String, address: String, containerName: String?) {
        self.id = id; self.networkID = networkID; self.address = address; self.containerName = containerName
    }
}

/// A node's request for an attachment (`POST /agent/attachments`).
public struct AttachmentRequest: Codable, Sendable {
    /// The network's name, ID or ID prefix.
    public var network: String
    public var containerName: String?
    public init(network: String, containerName: String?) { self.network = network; self.containerName = containerName }
}

/// The manager's answer: the attachment and its network (VNI, subnet), so
/// the node can wire the container at once.
public struct AttachmentGrant: Codable, Sendable {
    public var attachment: ContainerAttachment
    public var network: SwarmNetwork
    public init(attachment: ContainerAttachment, network: SwarmNetwork) { self.attachment = attachment; self.network = network }
}

/// The manager refused an attachment: Docker's status and one-line message,
/// passed on as they are to whoever asked the node.
public struct AttachmentRefused: Error, CustomStringConvertible, Sendable {
    public var status: Int
    public var message: String
    public init(status: Int, message: String) { self.status = status; self.message = message }
    public var description: String { message }
}

/// How a node asks its manager for attachments (Docker's
/// `ResourceAllocator.AttachNetwork`/`DetachNetwork`).
public protocol AttachmentLink: Sendable {
    func attachNetwork(_ request: AttachmentRequest) async throws -> AttachmentGrant
    /// Idempotent: an attachment already gone is not an error.
    func detachNetwork(attachmentID: String) async throws
}

/// What a node's daemon answers the `swarm` CLI for `container run
/// --network NAME` (`POST /attachments` on its unix socket): the
/// namespace the container joins and its address there.
public struct NodeAttachmentAnswer: Codable, Sendable {
    public var id: String
    public var address: String
    public var namespace: String
    public init(id: String, address: String, namespace: String) { self.id = id; self.address = address; self.namespace = namespace }
}

/// The container label that names its attachment: the node's daemon
/// finds the container by it, and releases the attachment when it ends.
public let attachmentLabel = "com.swarm.network.attachment"
