import FoundationEssentials
import Logging
import NIOCore
import NIOHTTP1
import SwarmAPI
import Synchronization

/// The agent's session with the managers: JSON over HTTPS with the node's
/// certificate (mutual TLS; a manager knows the node by its certificate),
/// sent through the `ManagerSet` to whichever manager leads. A manager it
/// has not opened its session with gets the session again before anything
/// else (a new leader's dispatcher does not know the old one's sessions);
/// the list of managers each session answer carries is kept in the set and
/// handed to `learned` when it changed (the daemon saves it in node.json).
public final class HTTPManagerLink: ManagerLink {
    public let managers: ManagerSet
    let learned: @Sendable ([String]) -> Void
    /// The session as last opened, and the manager it was opened with.
    private let session = Mutex<(request: SessionRequest?, address: String?)>((nil, nil))
    /// The list last handed to `learned`.
    private let handed = Mutex<[String]?>(nil)
    let logger = Logger(label: "swarm.agent.link")

    public init(_ managers: ManagerSet, learned: @escaping @Sendable ([String]) -> Void = { _ in }) {
        self.managers = managers
        self.learned = learned
    }

    public func shutdown() async { await managers.shutdown() }

    struct LinkError: Error, CustomStringConvertible {
        var description: String
    }

    static let sessionPath = "/agent/session"

    /// Sends through the set; every request but the session's own first
    /// makes sure the manager it lands on has the session.
    func exchange(_ request: ManagerRequest) async throws -> ManagerAnswer {
        if request.path == Self.sessionPath { return try await managers.send(request) }
        return try await managers.send(request) { [self] address in try await reopenSession(at: address) }
    }

    func call<Response: Decodable>(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, timeout: TimeAmount = .seconds(30),
                                   as type: Response.Type) async throws -> Response? {
        let answer = try await exchange(ManagerRequest(method, path, body: body, timeout: timeout))
        guard answer.isSuccess else { throw LinkError(description: "manager: \(Self.message(answer))") }
        if answer.status == 204 || Response.self == Empty.self { return nil }
        return try APIJSON.decode(Response.self, from: answer.body)
    }

    static func message(_ answer: ManagerAnswer) -> String {
        (try? APIJSON.decode(APIErrorBody.self, from: answer.body).message) ?? "HTTP \(answer.status)"
    }

    struct Empty: Decodable {}

    public func openSession(_ request: SessionRequest) async throws -> SessionResponse {
        let answer = try await exchange(ManagerRequest(.POST, Self.sessionPath, body: try APIJSON.encode(request), timeout: .seconds(10)))
        let response = try sessionResponse(answer)
        session.withLock { $0 = (request, answer.address) }
        await learn(response)
        return response
    }

    /// Opens the session again at `address` when it was opened elsewhere.
    func reopenSession(at address: String) async throws {
        let (opened, at) = session.withLock { $0 }
        guard let opened, at != address else { return }
        let request = ManagerRequest(.POST, Self.sessionPath, body: try APIJSON.encode(opened), timeout: .seconds(10))
        let response = try sessionResponse(try await managers.exchange(request, with: address))
        session.withLock { $0 = (opened, address) }
        logger.info("session moved to manager \(address)")
        await learn(response)
    }

    private func sessionResponse(_ answer: ManagerAnswer) throws -> SessionResponse {
        guard answer.isSuccess else { throw LinkError(description: "manager: \(Self.message(answer))") }
        return try APIJSON.decode(SessionResponse.self, from: answer.body)
    }

    /// Keeps the list in the set, and hands it on when it differs from
    /// what was handed last (the first time always: node.json may not have it).
    private func learn(_ response: SessionResponse) async {
        guard let list = response.managers else { return }
        _ = await managers.learn(list)
        let addresses = await managers.addresses
        let changed = handed.withLock { last in
            defer { last = addresses }
            return last != addresses
        }
        if changed { learned(addresses) }
    }

    public func heartbeat() async throws -> SessionResponse {
        // Short: a manager slow to answer is given up before the node would be marked down.
        let response = try await call(.POST, "/agent/heartbeat", body: [], timeout: .seconds(5), as: SessionResponse.self)!
        await learn(response)
        return response
    }

    public func report(_ batch: StatusBatch) async throws {
        _ = try await call(.POST, "/agent/status", body: try APIJSON.encode(batch), as: Empty.self)
    }

    public func assignments(since: UInt64?) async throws -> Assignments {
        let query = since.map { "?since=\($0)" } ?? ""
        return try await call(.GET, "/agent/assignments" + query, timeout: .seconds(60), as: Assignments.self)!
    }

    public func secretValue(_ kind: SecretKind, id: String) async throws -> String {
        try await call(.GET, "/agent/\(kind.rawValue)/\(id)", as: SecretPayload.self)!.data
    }
}
