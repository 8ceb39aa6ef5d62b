import SwarmAPI
import SystemCalls

extension APIClient {
    /// `GET path` whose answer is a stream: `deliver` gets its bytes as
    /// they arrive. Errors are Docker's, as for `send`.
    public func stream(_ path: String, query: [String: String] = [:], _ deliver: @escaping @Sendable ([UInt8]) -> Void) async throws {
        _ = try await exchange(path, query) { try await self.transport.stream(target: $0, deliver) }
    }
}
