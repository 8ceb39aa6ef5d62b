import Foundation
import Logging

/// Leader election on etcd: a candidate holds a lease (TTL seconds, kept
/// alive every third of it) and becomes leader by creating the leader key
/// with that lease in a transaction that requires the key not to exist.
/// The key goes when the lease is revoked or expires (the leader died, was
/// paused or cut off), and the next candidate creates it.
///
/// Fencing: the leader key's create_revision names one term. A leader's
/// commits require it (`fence`), so once the key is gone or another's, its
/// writes fail in etcd itself. And a leader whose keepalives go unanswered
/// stops calling itself leader when its lease could have expired (counted
/// from the last keepalive it sent), before another can be elected.
public actor LeaderElection {
    public nonisolated let client: EtcdClient
    public nonisolated let key: Data
    public nonisolated let candidate: String
    public nonisolated let ttl: Int64

    /// The lease this candidate campaigns with.
    public private(set) var lease: Int64?
    /// The leader key's create_revision while this candidate holds it: the term.
    public private(set) var term: Int64?
    /// Until when the lease is surely alive (the last answered keepalive's send time + its TTL).
    private var validUntil: ContinuousClock.Instant = .now
    private var renewing: Task<Void, Never>?
    private let logger = Logger(label: "swarm.election")

    public init(client: EtcdClient, cluster: String, candidate: String, ttl: Int64 = 5) {
        self.client = client
        self.key = Data("/swarm/\(cluster)/election/leader".utf8)
        self.candidate = candidate
        self.ttl = ttl
    }

    /// Holds the leader key now and, as far as this process can tell, still will when a write it starts lands.
    public var isLeader: Bool { term != nil && ContinuousClock.now < validUntil }

    /// The condition a leader's commits carry (nil when not leader).
    public func fence() -> Compare? {
        guard isLeader, let term else { return nil }
        return .created(key, at: term)
    }

    /// The candidate holding the leader key, if any.
    public func leader() async throws -> String? {
        let response = try await client.range(RangeRequest(key: key))
        return response.kvs?.first?.value.map { String(decoding: $0, as: UTF8.self) }
    }

    /// Returns once this candidate is leader; waits for the current leader's key to go.
    public func campaign() async throws {
        while true {
            try Task.checkCancellation()
            let lease = try await currentLease()
            let value = Data(candidate.utf8)
            let response = try await client.txn(TxnRequest(
                compare: [Compare.created(key, at: 0)],
                success: [RequestOp(requestPut: PutRequest(key: key, value: value, lease: EtcdInt(lease)))],
                failure: [RequestOp(requestRange: RangeRequest(key: key))]))
            let revision = response.header?.rev ?? 0
            if response.succeeded == true {
                term = revision
                logger.info("\(candidate) is leader (term \(revision))")
                return
            }
            let holder = response.responses?.first?.responseRange?.kvs?.first
            if let holder, holder.lease?.value == lease {
                term = holder.created
                return
            }
            // The key is this candidate's own from before a restart (the
            // process that held it is gone): its lease goes now rather than
            // at its expiry, and the campaign goes on at once.
            if let holder, holder.value.map({ String(decoding: $0, as: UTF8.self) }) == candidate, let old = holder.lease?.value, old != lease {
                logger.info("\(candidate): the leader key is this candidate's from before a restart; revoking its lease")
                try? await client.revokeLease(old)
                continue
            }
            // Someone else leads: wait for the key's deletion, then try again.
            try await waitForDeletion(after: revision)
        }
    }

    /// Gives up leadership at once (the lease is revoked, the key goes with it).
    public func resign() async {
        renewing?.cancel()
        renewing = nil
        term = nil
        if let lease { try? await client.revokeLease(lease) }
        lease = nil
    }

    /// Stops renewing the lease without telling etcd: what a paused or cut-off leader looks like.
    public func stopRenewing() {
        renewing?.cancel()
        renewing = nil
    }

    private func currentLease() async throws -> Int64 {
        if let lease, ContinuousClock.now < validUntil { return lease }
        let sent = ContinuousClock.now
        let granted = try await client.grantLease(ttl: ttl)
        lease = granted
        validUntil = sent + .seconds(ttl)
        renewing?.cancel()
        renewing = Task { await self.renew(granted) }
        return granted
    }

    private func renew(_ lease: Int64) async {
        let period = Duration.milliseconds(ttl * 1000 / 3)
        while !Task.isCancelled {
            try? await Task.sleep(for: period)
            if Task.isCancelled { return }
            let sent = ContinuousClock.now
            do {
                let left = try await client.keepAlive(lease: lease)
                guard self.lease == lease else { return }
                if left <= 0 {
                    logger.warning("\(candidate): lease \(lease) expired")
                    lost(lease)
                    return
                }
                validUntil = sent + .seconds(left)
            } catch {
                logger.warning("\(candidate): keepalive failed: \(error)")
            }
        }
    }

    private func lost(_ lease: Int64) {
        guard self.lease == lease else { return }
        self.lease = nil
        term = nil
    }

    private struct Deleted: Error {}

    private func waitForDeletion(after revision: Int64) async throws {
        do {
            try await client.watch(key: key, rangeEnd: key + Data([0]), from: revision + 1) { response in
                if response.events?.contains(where: \.isDelete) == true { throw Deleted() }
            }
        } catch is Deleted {
        } catch EtcdError.compacted {
        }
    }
}
