import AsyncHTTPClient
import ClusterTLS
import NIOCore
import NIOHTTP1
import NIOSSL
import SwarmClient
import SystemCalls

/// The API of a manager at its cluster port, over the cluster's mutual TLS
/// (`-H tcp://MANAGER:2377`).
struct ClusterAPITransport: APITransport {
    let http: ClusterHTTPClient
    let host: String

    func send(method: APIClient.Method, target: String, body: [UInt8]?, headers: [(String, String)]) async throws -> APIClient.Reply {
        var request = HTTPClientRequest(url: http.baseURL + target)
        request.method = HTTPMethod(rawValue: method.rawValue)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        do {
            response = try await http.client.execute(request, timeout: .seconds(120))
        } catch let error as NIOSSLError {
            throw notAManager(error)
        } catch let error as NIOSSLExtraError {
            throw notAManager(error)
        } catch {
            throw RuntimeError.badInput("Cannot connect to the swarm daemon at \(host). Is the swarm daemon running? (start it with swarm init, swarm join or swarm daemon)")
        }
        return APIClient.Reply(status: Int(response.status.code), body: Array(buffer: try await response.body.collect(upTo: 256 << 20)))
    }

    func notAManager(_ error: Error) -> RuntimeError {
        RuntimeError.badInput("error during connect: \(host): the server's certificate is not a manager's of this swarm (\(error))")
    }

    func shutdown() async { await http.shutdown() }
}
