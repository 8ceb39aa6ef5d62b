import SwarmAPI

extension HTTPManagerLink {
    /// `POST /agent/role`: the certificate (and for a manager, the CA key
    /// and store) of the role the node was given by `node promote|demote`.
    public func changeRole(_ request: RoleChangeRequest) async throws -> JoinResponse {
        try await call(.POST, "/agent/role", body: try APIJSON.encode(request), as: JoinResponse.self)!
    }
}
