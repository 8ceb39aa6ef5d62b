import SwarmAPI

/// Addresses for containers attached to `--attachable` networks by hand
/// (`container run --network NAME` on a node). The node holds them
/// (`Node.attachments`, owner `node:ID` in the ledger, beside its ingress
/// load-balancer address), so removing the attachment, or the node, frees
/// the address, and a restarted manager reads them back from the store.
extension Allocator {
    /// The next address of `network` for an attachment of `nodeID`,
    /// reserved until the caller's commit is seen (`committed`/`cancel`).
    func attachment(id: String, nodeID: String, network: SwarmNetwork, containerName: String?) throws -> (ContainerAttachment, UInt64) {
        guard let subnet = (networks[network.id] ?? network).subnet.flatMap(IPv4Subnet.init) else {
            throw APIError.unavailable("network \(network.spec.name) has no subnet yet: try again")
        }
        guard let address = nextAddress(in: network.id, subnet) else {
            throw APIError.unavailable("network \(network.spec.name) has no address left")
        }
        let token = ledger.reserve(Self.owner(node: nodeID), [.address(network: network.id, address)])
        let attachment = ContainerAttachment(id: id, networkID: network.id, address: "\(IPv4Subnet.text(address))/\(subnet.prefix)",
                                             containerName: containerName)
        return (attachment, token)
    }

    static func claims(of attachments: [ContainerAttachment]?) -> Set<ClaimLedger.Claim> {
        var claims: Set<ClaimLedger.Claim> = []
        for attachment in attachments ?? [] {
            if let address = IPv4Subnet.address(OverlayAddress.withoutPrefix(attachment.address)) {
                claims.insert(.address(network: attachment.networkID, address))
            }
        }
        return claims
    }
}

extension Allocator {
    /// Whether the node holds an address in the network (its ingress
    /// load-balancer address; its attachments are in other networks).
    func holdsAddress(node: String, in network: String) -> Bool {
        ledger.holds(Self.owner(node: node)).contains {
            if case .address(let id, _) = $0 { return id == network }
            return false
        }
    }
}
