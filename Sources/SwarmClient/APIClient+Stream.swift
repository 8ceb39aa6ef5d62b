import SwarmAPI
import SystemCalls

extension APIClient {
    /// `GET path` whose answer is a stream: `deliver` gets its bytes as
    /// they arrive. Errors are Docker's, as for `send`.
    public func stream(_ path: String, query: [String: String] = [:], _ deliver: @escaping @Sendable ([UInt8]) -> Void) async throws {
        var target = "/v1.41" + path
        if !query.isEmpty {
            target += "?" + query.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.percentEncode($0.value))" }.joined(separator: "&")
        }
        let reply: Reply
        do {
            reply = try await transport.stream(target: target, deliver)
        } catch is UnixSocketHTTP.ConnectFailed {
            throw RuntimeError.badInput("Cannot connect to the swarm daemon at \(host). Is the swarm daemon running? (start it with swarm init, swarm join or swarm daemon)")
        } catch let error as UnixSocketHTTP.MalformedResponse {
            throw RuntimeError.badInput("error during connect: \(host): \(error)")
        }
        guard (200..<300).contains(reply.status) else {
            let message = (try? APIJSON.decode(APIErrorBody.self, from: reply.body).message) ?? String(decoding: reply.body, as: UTF8.self)
            throw RuntimeError.badInput("Error response from daemon: " + message)
        }
    }
}
