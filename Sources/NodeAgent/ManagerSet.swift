import NIOCore
import NIOHTTP1
import SwarmAPI

/// One request to "the manager", whichever manager that turns out to be.
public struct ManagerRequest: Sendable {
    public var method: HTTPMethod
    public var path: String
    public var body: [UInt8]?
    public var timeout: TimeAmount
    /// The most the answer's body may hold.
    public var maxBody: Int

    public init(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, timeout: TimeAmount = .seconds(30), maxBody: Int = 512 << 20) {
        self.method = method; self.path = path; self.body = body; self.timeout = timeout; self.maxBody = maxBody
    }
}

/// A manager's answer, and which manager gave it.
public struct ManagerAnswer: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]
    public var address: String

    public init(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = [], address: String) {
        self.status = status; self.headers = headers; self.body = body; self.address = address
    }

    public var isSuccess: Bool { (200..<300).contains(status) }
}

/// How a request reaches one manager (`ClusterManagerTransport` over the
/// cluster's TLS; fakes in tests). Throws when the manager gave no answer.
public protocol ManagerTransport: Sendable {
    func exchange(_ request: ManagerRequest, with address: String) async throws -> ManagerAnswer
    func shutdown() async
}

/// Every manager an agent knows, and the one it talks to: requests go to
/// the current manager; one that does not answer sends them to the next,
/// a follower's refusal naming the leader sends them to the leader at once
/// (see `ManagerRotation` for the order and the backoff). A request still
/// waiting on a manager the set has left (a long poll on a manager that
/// went silent) is moved to the new one.
public actor ManagerSet {
    /// A follower's refusal (503, the leader's address in `Swarm-Leader`
    /// when it knows one): nothing was done, the request may go elsewhere.
    public struct NotLeader: Error, CustomStringConvertible {
        public var address: String
        public var leader: String?
        public var description: String {
            "manager \(address) is not the leader" + (leader.map { " (the leader is \($0))" } ?? " and knows no leader")
        }

        init?(_ answer: ManagerAnswer) {
            guard answer.status == FollowerRefusal.status else { return nil }
            let leader = answer.headers.first(name: FollowerRefusal.header).flatMap { $0.isEmpty ? nil : $0 }
            let body = String(decoding: answer.body, as: UTF8.self)
            guard leader != nil || body.contains(FollowerRefusal.message) else { return nil }
            address = answer.address
            self.leader = leader
        }
    }

    /// No answer from `address` (refused, reset, timed out, TLS failed).
    public struct Unreachable: Error, CustomStringConvertible {
        public var address: String
        public var reason: String
        public var description: String { "cannot reach manager \(address): \(reason)" }
    }

    let transport: any ManagerTransport
    let pause: @Sendable (Duration) async throws -> Void
    public private(set) var rotation: ManagerRotation
    /// Requests waiting for the set to leave their manager.
    private var departures: [UInt64: (address: String, continuation: CheckedContinuation<Void, Never>)] = [:]
    private var nextDeparture: UInt64 = 0

    /// `addresses`: at least one (ip:port). `pause` waits out a backoff (tests record it instead).
    public init(_ addresses: [String], transport: any ManagerTransport,
                pause: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) {
        rotation = ManagerRotation(addresses)
        self.transport = transport
        self.pause = pause
    }

    public var current: String { rotation.current }
    public var addresses: [String] { rotation.addresses }

    /// Sends `request` to the current manager, moving on as the rotation
    /// says until one answers as the leader, for at most about two rounds
    /// of the list (then the last failure is thrown: callers retry in their
    /// own loops). `arriving` runs before each try with the address about
    /// to be used (the agent re-opens its session there); what it throws
    /// counts as that manager's failure when it is `NotLeader` or
    /// `Unreachable`, and ends the request otherwise.
    public func send(_ request: ManagerRequest,
                     arriving: (@Sendable (String) async throws -> Void)? = nil) async throws -> ManagerAnswer {
        var tries = 0
        let limit = 2 * rotation.addresses.count + 1
        while true {
            let address = rotation.current
            let failure: any Error
            let delay: Duration
            do {
                try await arriving?(address)
                if let answer = try await exchangeWhileCurrent(request, with: address) {
                    rotation.answered(address)
                    return answer
                }
                // The set moved on while this waited: try the new one at once.
                failure = Unreachable(address: address, reason: "left for \(rotation.current)")
                delay = .zero
            } catch let refusal as NotLeader {
                failure = refusal
                delay = move { $0.notLeader(refusal.address, leader: refusal.leader) }
            } catch let lost as Unreachable {
                failure = lost
                delay = move { $0.unreachable(lost.address) }
            }
            tries += 1
            guard tries < limit else { throw failure }
            if delay > .zero { try await pause(delay) }
        }
    }

    /// One try at `address`, with no failover: `NotLeader` for a
    /// follower's refusal, `Unreachable` when it gave no answer.
    public func exchange(_ request: ManagerRequest, with address: String) async throws -> ManagerAnswer {
        let answer: ManagerAnswer
        do {
            answer = try await transport.exchange(request, with: address)
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw Unreachable(address: address, reason: "\(error)")
        }
        if let refusal = NotLeader(answer) { throw refusal }
        return answer
    }

    /// Keeps the managers' list a manager sent; true when it changed.
    public func learn(_ managers: [String]) -> Bool {
        rotation.learn(managers)
    }

    public func shutdown() async { await transport.shutdown() }

    // MARK: - Leaving a manager

    /// Applies a rotation step; wakes the requests waiting on the manager it left.
    private func move(_ step: (inout ManagerRotation) -> Duration) -> Duration {
        let before = rotation.current
        let delay = step(&rotation)
        if rotation.current != before {
            for (id, waiting) in departures where waiting.address != rotation.current {
                departures[id] = nil
                waiting.continuation.resume()
            }
        }
        return delay
    }

    /// The answer, or nil when the set left `address` first (the request is then cancelled).
    private func exchangeWhileCurrent(_ request: ManagerRequest, with address: String) async throws -> ManagerAnswer? {
        try await withThrowingTaskGroup(of: ManagerAnswer?.self) { group in
            group.addTask { try await self.exchange(request, with: address) }
            group.addTask { await self.left(address); return nil }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    /// Returns once the current manager is not `address` (or when cancelled).
    private func left(_ address: String) async {
        guard rotation.current == address, !Task.isCancelled else { return }
        nextDeparture += 1
        let id = nextDeparture
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                departures[id] = (address, continuation)
            }
        } onCancel: {
            Task { await self.depart(id) }
        }
    }

    private func depart(_ id: UInt64) {
        departures.removeValue(forKey: id)?.continuation.resume()
    }
}
