import AsyncHTTPClient
import ClusterTLS
import EtcdStore
import FoundationEssentials
import HTTPServer
import Logging
import Manager
import NIOCore
import NIOHTTP1
import SwarmAPI

/// Who acts for the swarm on this manager. The only manager (SQLite) always
/// leads. One of several (etcd) campaigns: while it leads it runs the
/// orchestrator, allocator, scheduler and dispatcher and answers everything;
/// while it follows it answers reads from its copy of the state, forwards
/// writes to the leader, and points agents to the leader.
actor ManagerHost {
    nonisolated let manager: ClusterManager
    nonisolated let router: APIRouter
    /// nil: the only manager.
    nonisolated let election: LeaderElection?
    private let material: NodeTLSMaterial
    /// This manager's cluster address, as the election names it.
    private let ownAddress: String
    private let logger = Logger(label: "swarm.manager.host")
    /// The leader as last read from etcd, and when: followers ask at most twice a second.
    private var leaderSeen: (addr: String?, at: ContinuousClock.Instant)?
    private var leaderClients: [String: ClusterHTTPClient] = [:]

    /// Run once this manager first leads (`init --force-new-cluster`).
    private var firstTerm: (@Sendable () async throws -> Void)?
    /// Run at the start of every term (the managers' etcd membership is checked).
    private var everyTerm: (@Sendable () async -> Void)?
    /// Run every few seconds while this manager leads.
    private var whileLeading: (period: Duration, body: @Sendable () async -> Void)?
    /// The components of the current term, while it runs.
    private var term: Task<Void, Never>?
    /// Set while the state moves between SQLite and etcd: nothing may be written.
    private var moving = false

    init(manager: ClusterManager, router: APIRouter, election: LeaderElection?, material: NodeTLSMaterial, ownAddress: String,
         firstTerm: (@Sendable () async throws -> Void)? = nil) {
        self.ownAddress = ownAddress
        self.firstTerm = firstTerm
        self.manager = manager
        self.router = router
        self.election = election
        self.material = material
    }

    /// The election's candidate name: the node ID and its cluster address,
    /// so followers know where to forward.
    static func candidate(nodeID: String, addr: String) -> String { nodeID + " " + addr }

    /// Leads, or campaigns until it does, until cancelled.
    nonisolated func run() async {
        guard let election else {
            await startTerm()
            await beginFirstTerm()
            await everyTermStarted()
            // Until cancelled: a move into etcd stops the term and then replaces the process.
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(1)) }
            await endTerm()
            return
        }
        while !Task.isCancelled {
            do {
                try await election.campaign()
            } catch {
                if Task.isCancelled { break }
                logger.warning("campaign: \(error)")
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            await lead(election)
        }
        await election.resign()
    }

    /// One term: the components run while the election says this manager still leads.
    private nonisolated func lead(_ election: LeaderElection) async {
        logger.info("this manager leads the swarm")
        await startTerm()
        do {
            try await manager.recordLeadership()
        } catch {
            logger.warning("recording the leadership: \(error)")
        }
        await beginFirstTerm()
        await everyTermStarted()
        let chore = await startChore()
        while !Task.isCancelled, await election.isLeader {
            try? await Task.sleep(for: .milliseconds(200))
        }
        chore?.cancel()
        await endTerm()
        if !Task.isCancelled { logger.warning("this manager lost the leadership: it follows again") }
    }

    /// Gives up leading at once (this node is demoted or leaves): another manager is elected without waiting for the lease.
    func stepDown() async {
        await election?.resign()
    }

    private func startTerm() {
        guard !moving else { return }
        let manager = self.manager
        term = Task { await manager.run() }
    }

    private func endTerm() async {
        term?.cancel()
        await term?.value
        term = nil
    }

    func onEveryTerm(_ body: @escaping @Sendable () async -> Void) { everyTerm = body }

    func onWhileLeading(every period: Duration, _ body: @escaping @Sendable () async -> Void) { whileLeading = (period, body) }

    private func startChore() -> Task<Void, Never>? {
        guard let (period, body) = whileLeading else { return nil }
        return Task {
            while !Task.isCancelled {
                await body()
                try? await Task.sleep(for: period)
            }
        }
    }

    private func everyTermStarted() async { await everyTerm?() }

    /// Before the state moves between stores: the components stop and the
    /// API takes no write (a restarted daemon opens the new store).
    func stopForMove() async {
        moving = true
        await endTerm()
    }

    /// The move failed: back to work on the store it was in.
    func resumeAfterFailedMove() {
        moving = false
        if term == nil { startTerm() }
    }

    private func beginFirstTerm() async {
        guard let firstTerm else { return }
        do {
            try await firstTerm()
            self.firstTerm = nil
        } catch {
            logger.error("starting the first term: \(error)")
        }
    }

    /// Whether this manager acts for the swarm now.
    var leads: Bool {
        get async { await election?.isLeader ?? true }
    }

    // MARK: - Requests

    nonisolated func handle(_ request: HTTPRequest) async -> HTTPResponse {
        let path = APIRouter.unversioned(request.path)
        if await moving, path.hasPrefix("/agent/") || !Self.servedLocally(request.method, path) {
            return APIRouter.errorResponse(503, "the managers are moving the swarm's state (a manager is joining or leaving): try again in a few seconds")
        }
        if await leads {
            var response = await router.handle(request)
            if election != nil, !Self.servedLocally(request.method, path) { response.headers.append((Self.indexHeader, String(await manager.store.index))) }
            return response
        }
        if path.hasPrefix("/agent/") {
            // The agent goes to the leader itself: its session lives there.
            var response = APIRouter.errorResponse(FollowerRefusal.status, FollowerRefusal.message)
            if let leader = await leaderAddress() { response.headers.append((FollowerRefusal.header, leader)) }
            return response
        }
        if Self.servedLocally(request.method, path) { return await router.handle(request) }
        // No leader, or the leader key still names this manager (before a restart): nowhere to forward to.
        guard let leader = await leaderAddress(), leader != ownAddress else { return APIRouter.errorResponse(503, Self.noLeader) }
        let response = await forward(request, to: leader)
        if let etcd = await manager.store as? EtcdStore, let index = response.header(Self.indexHeader).flatMap(UInt64.init) {
            await etcd.catchUp(to: index, timeout: .seconds(2))
        }
        return response
    }

    /// The leader's store index after a write it answered: a follower that
    /// forwarded the write waits for its copy to reach it before answering.
    static let indexHeader = "Swarm-Index"

    /// Docker's words when no manager leads (quorum lost, or an election under way).
    static let noLeader = "rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online."

    /// Reads answer from this manager's copy of the state; writes, and the
    /// service logs (the agents send them to the leader), go to the leader.
    static func servedLocally(_ method: String, _ path: String) -> Bool {
        guard method == "GET" || method == "HEAD" else { return false }
        let parts = path.split(separator: "/")
        return !(parts.count == 3 && (parts[0] == "services" || parts[0] == "tasks") && parts[2] == "logs")
    }

    /// The leader's cluster address, from the election key.
    func leaderAddress() async -> String? {
        if let seen = leaderSeen, ContinuousClock.now - seen.at < .milliseconds(500) { return seen.addr }
        let holder = try? await election?.leader()
        let addr = holder.flatMap { $0.split(separator: " ").dropFirst().first.map(String.init) }
        leaderSeen = (addr, .now)
        return addr
    }

    private func client(for leader: String) throws -> ClusterHTTPClient {
        if let client = leaderClients[leader] { return client }
        // Streams (logs, events) stay open as long as the caller keeps them.
        let client = try ClusterHTTPClient(manager: leader, trust: .member(material), connectTimeout: .seconds(3), readTimeout: .hours(24))
        leaderClients[leader] = client
        return client
    }

    /// The request as sent, over the cluster's TLS with this manager's
    /// certificate; the leader's answer as received (a stream stays one).
    private func forward(_ request: HTTPRequest, to leader: String) async -> HTTPResponse {
        let http: ClusterHTTPClient
        do { http = try client(for: leader) } catch { return APIRouter.errorResponse(500, "forwarding to the leader at \(leader): \(error)") }
        var outgoing = HTTPClientRequest(url: http.baseURL + request.uri)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers where !Self.hopByHop.contains(name.lowercased()) { outgoing.headers.add(name: name, value: value) }
        if !request.body.isEmpty { outgoing.body = .bytes(ByteBuffer(bytes: request.body)) }
        let response: HTTPClientResponse
        do {
            response = try await http.client.execute(outgoing, timeout: .hours(24))
        } catch {
            leaderSeen = nil
            return APIRouter.errorResponse(503, Self.noLeader)
        }
        let headers = response.headers.filter { !Self.hopByHop.contains($0.name.lowercased()) }.map { ($0.name, $0.value) }
        if response.headers["Content-Length"].first != nil {
            let bytes = (try? await response.body.collect(upTo: 512 << 20)).map { Array(buffer: $0) } ?? []
            return HTTPResponse(status: Int(response.status.code), headers: headers, body: .bytes(bytes))
        }
        let body = response.body
        let stream = AsyncStream<[UInt8]> { continuation in
            let pump = Task {
                do { for try await chunk in body { continuation.yield(Array(buffer: chunk)) } } catch {}
                continuation.finish()
            }
            continuation.onTermination = { _ in pump.cancel() }
        }
        return HTTPResponse(status: Int(response.status.code), headers: headers, body: .stream(stream))
    }

    static let hopByHop: Set<String> = ["connection", "keep-alive", "transfer-encoding", "content-length", "host", "upgrade", "te", "trailer"]
}

/// The manager part of this daemon once it has started (the agent, made
/// before, steps it down on a demotion).
actor ManagerHostSlot {
    private var host: ManagerHost?
    func set(_ host: ManagerHost) { self.host = host }
    func stepDown() async { await host?.stepDown() }
}
