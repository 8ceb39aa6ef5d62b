import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One member of the etcd cluster, as `member list` shows it.
public struct EtcdMemberInfo: Sendable, Equatable {
    public var id: UInt64
    /// Empty until the member has started and published its name.
    public var name: String
    public var peerURLs: [String]
    /// Empty until the member has started.
    public var clientURLs: [String]
    public var isLearner: Bool

    /// `name=peerURL` for each peer URL: an entry of `--initial-cluster`.
    /// A member added but not started has no name yet: pass the name it
    /// will start with.
    public func initialClusterEntries(name: String? = nil) -> [String] {
        peerURLs.map { "\(name ?? self.name)=\($0)" }
    }
}

/// What one endpoint says of itself (`/v3/maintenance/status`).
public struct EtcdStatus: Sendable, Equatable {
    public var memberID: UInt64
    public var clusterID: UInt64
    /// The member the endpoint knows as raft leader (0: none).
    public var leader: UInt64
    public var version: String
    public var dbSize: Int64
    public var raftTerm: UInt64
    public var raftIndex: UInt64
    /// Alarms and errors the member reports (e.g. "NOSPACE").
    public var errors: [String]
}

struct MemberMessage: Decodable, Sendable {
    var ID: EtcdUInt?
    var name: String?
    var peerURLs: [String]?
    var clientURLs: [String]?
    var isLearner: Bool?
    var info: EtcdMemberInfo {
        EtcdMemberInfo(id: ID?.value ?? 0, name: name ?? "", peerURLs: peerURLs ?? [], clientURLs: clientURLs ?? [],
                       isLearner: isLearner ?? false)
    }
}

struct MembersResponse: Decodable, Sendable {
    var member: MemberMessage?
    var members: [MemberMessage]?
}

struct StatusHeader: Decodable, Sendable {
    var clusterId: EtcdUInt?
    var memberId: EtcdUInt?
}

struct StatusResponse: Decodable, Sendable {
    var header: StatusHeader?
    var version: String?
    var dbSize: EtcdInt?
    var leader: EtcdUInt?
    var raftIndex: EtcdUInt?
    var raftTerm: EtcdUInt?
    var errors: [String]?
}

/// etcd's cluster membership (`/v3/cluster/member/…`) and one endpoint's
/// state, for the managers that run the members.
extension EtcdClient {
    /// Every member, started or not.
    public func members() async throws -> [EtcdMemberInfo] {
        let response: MembersResponse = try await call("/v3/cluster/member/list", [String: String]())
        return (response.members ?? []).map(\.info)
    }

    /// Adds a member that will listen on `peerURLs`; it has to start (with
    /// `--initial-cluster-state existing` and an initial cluster made of
    /// `members`, itself included) before the cluster counts on it: with two
    /// members, quorum needs both. Returns the new member and every member.
    ///
    /// etcd refuses a change of members ("unhealthy cluster") unless every
    /// member has been connected to the one asked for 5 s (its strict
    /// reconfiguration check): right after a member started, that refusal
    /// is retried for up to `patience`.
    public func addMember(peerURLs: [String], patience: Duration = .seconds(15)) async throws -> (added: EtcdMemberInfo, members: [EtcdMemberInfo]) {
        struct Request: Encodable { var peerURLs: [String] }
        let response: MembersResponse = try await retryingWhileUnhealthy(patience) {
            try await call("/v3/cluster/member/add", Request(peerURLs: peerURLs), snakeCase: false)
        }
        guard let added = response.member?.info, added.id != 0 else {
            throw EtcdError.server(code: 0, message: "member add returned no member")
        }
        return (added, (response.members ?? []).map(\.info))
    }

    /// Removes the member; its process stops being part of the cluster (etcd
    /// makes a removed member exit). Refused when it would lose quorum;
    /// "unhealthy cluster" is retried as in `addMember`.
    public func removeMember(id: UInt64, patience: Duration = .seconds(15)) async throws {
        struct Request: Encodable { var ID: EtcdUInt }
        let _: ResponseHeaderOnly = try await retryingWhileUnhealthy(patience) {
            try await call("/v3/cluster/member/remove", Request(ID: EtcdUInt(id)), snakeCase: false)
        }
    }

    private func retryingWhileUnhealthy<T>(_ patience: Duration, _ body: () async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + patience
        while true {
            do {
                return try await body()
            } catch EtcdError.server(_, let message) where message.contains("unhealthy cluster") && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    /// Hands raft leadership from the member at `endpoint` (the raft
    /// leader) to member `target`. While the transfer runs (at most one
    /// election timeout) the leader takes no proposals: pick a target that answers.
    public func moveLeader(to target: UInt64, endpoint: String) async throws {
        struct Request: Encodable { var targetID: EtcdUInt }
        let _: ResponseHeaderOnly = try await call("/v3/maintenance/transfer-leadership", Request(targetID: EtcdUInt(target)),
                                                   snakeCase: false, only: [endpoint])
    }

    /// What the member at `endpoint` (one of its client URLs) says of itself.
    /// It answers without quorum: a member cut off from the others still does.
    public func status(endpoint: String) async throws -> EtcdStatus {
        let response: StatusResponse = try await call("/v3/maintenance/status", [String: String](), only: [endpoint])
        return EtcdStatus(memberID: response.header?.memberId?.value ?? 0, clusterID: response.header?.clusterId?.value ?? 0,
                          leader: response.leader?.value ?? 0, version: response.version ?? "",
                          dbSize: response.dbSize?.value ?? 0, raftTerm: response.raftTerm?.value ?? 0,
                          raftIndex: response.raftIndex?.value ?? 0, errors: response.errors ?? [])
    }

    /// Whether the member at `endpoint` serves requests: its `/health`,
    /// true when the cluster has a leader and a read through raft succeeds
    /// (so false without quorum). False when it cannot be reached.
    public func isHealthy(endpoint: String, timeout: TimeAmount = .seconds(3)) async -> Bool {
        struct Health: Decodable { var health: String? }
        do {
            let response = try await http.execute(HTTPClientRequest(url: endpoint + "/health"), timeout: timeout)
            let body = try await response.body.collect(upTo: 1 << 16)
            guard response.status == .ok else { return false }
            return (try? JSONDecoder().decode(Health.self, from: Data(body.readableBytesView)))?.health == "true"
        } catch {
            return false
        }
    }
}
