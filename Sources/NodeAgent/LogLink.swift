import NIOCore
import SwarmAPI

/// How the agent's log publisher reaches the manager's log broker.
public protocol LogLink: Sendable {
    /// This node's log subscriptions, once they differ from version `since` (a long poll).
    func logSubscriptions(since: UInt64?) async throws -> LogSubscriptions
    /// Sends lines; false when the subscription is gone (stop reading).
    func publishLogs(_ publication: LogPublication) async throws -> Bool
}

extension HTTPManagerLink: LogLink {
    public func logSubscriptions(since: UInt64?) async throws -> LogSubscriptions {
        let query = since.map { "?since=\($0)" } ?? ""
        return try await call(.GET, "/agent/logs" + query, timeout: .seconds(60), as: LogSubscriptions.self)!
    }

    public func publishLogs(_ publication: LogPublication) async throws -> Bool {
        let answer = try await call(.POST, "/agent/logs/publish", body: try APIJSON.encode(publication), as: LogPublishResponse.self)
        return !(answer?.cancelled ?? true)
    }
}
