import ClusterStore
import ClusterTLS
import EtcdMember
import EtcdStore
import FoundationEssentials
import Glibc
import Logging
import Manager
import SwarmAPI
import SwarmCLI
import SystemCalls

/// Where the managers keep the swarm's state as managers come and go. One
/// manager keeps it in SQLite; when a second arrives (join with the manager
/// token, or promotion) the state moves into an etcd run by the managers
/// themselves, each with a member; members are added and removed with the
/// managers; when one manager is left it moves back into SQLite. A move
/// stops the components, copies every object, and starts the daemon again
/// on the new store: running tasks are not touched. With an external etcd
/// (`init --store`) nothing moves.
actor ManagerMembership {
    let dataDir: String
    let config: NodeConfig
    let ca: RootCA
    let store: any ClusterStore
    /// This manager's member while the state is in the managers' etcd.
    let member: EtcdMember?
    /// Set once the host exists (it is made after the API that calls this).
    private var host: ManagerHost?
    private let logger = Logger(label: "swarm.manager.membership")
    /// One change of membership at a time (two promotions at once ask together).
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []
    /// Once the state moved, this process only waits for its restart.
    private var moved = false

    init(dataDir: String, config: NodeConfig, ca: RootCA, store: any ClusterStore, member: EtcdMember?) {
        self.dataDir = dataDir
        self.config = config
        self.ca = ca
        self.store = store
        self.member = member
    }

    func attach(_ host: ManagerHost) { self.host = host }

    /// Whether another manager can be added here.
    static func canAddManagers(_ config: NodeConfig) -> Bool { config.store != nil || config.etcdMember != nil || LocalEtcd.installed }

    /// A manager listening at `addr` arrives: its etcd member is added (the
    /// only manager first moves the state into etcd). Returns what the new
    /// member starts with: `name=peerURL` of every member; nil with an external etcd.
    func admitManager(nodeID: String, addr: String) async throws -> [String]? {
        if config.store != nil { return nil }
        return try await exclusively { try await self.add(nodeID: nodeID, addr: addr) }
    }

    private func add(nodeID: String, addr: String) async throws -> [String] {
        let peerURL = LocalEtcd.peerURL(ofManagerAt: addr)
        if let etcd = store as? EtcdStore {
            // Asked again (the node's first answer was lost): the member added then stands.
            var members = try await etcd.client.members()
            var added = members.first { $0.peerURLs.contains(peerURL) }
            if added == nil {
                let result = try await etcd.client.addMember(peerURLs: [peerURL])
                (added, members) = (result.added, result.members)
                logger.info("etcd member for manager \(nodeID) added at \(peerURL)")
            }
            return members.flatMap { $0.initialClusterEntries(name: $0.id == added?.id ? nodeID : nil) }
        }
        guard LocalEtcd.installed else {
            throw APIError.badRequest("a second manager needs etcd on the managers (apt-get install -y etcd-server), or the state in an external etcd (swarm init --store)")
        }
        return try await moveIntoEtcd(adding: nodeID, at: peerURL)
    }

    /// A manager is demoted: its etcd member goes. Left alone, this manager moves the state back into SQLite.
    func dismissManager(nodeID: String) async throws {
        guard config.store == nil, store is EtcdStore else { return }
        try await exclusively { try await self.remove(nodeID: nodeID) }
    }

    private func remove(nodeID: String) async throws {
        guard let etcd = store as? EtcdStore else { return }
        if let gone = try await etcd.client.members().first(where: { $0.name == nodeID }) {
            try await etcd.client.removeMember(id: gone.id)
            logger.info("etcd member of manager \(nodeID) removed")
        }
        await settleAlone()
    }

    /// Runs `body` alone among the membership changes; refused once the state moved (the daemon is about to start again).
    private func exclusively<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        while busy { await withCheckedContinuation { waiting.append($0) } }
        guard !moved else {
            throw APIError.unavailable("the managers are moving the swarm's state (a manager is joining or leaving): try again in a few seconds")
        }
        busy = true
        defer {
            busy = false
            if !waiting.isEmpty { waiting.removeFirst().resume() }
        }
        return try await body()
    }

    /// At each term's start and after a removal: the only member left moves the state back into SQLite.
    func settle() async {
        guard config.store == nil, store is EtcdStore else { return }
        try? await exclusively { await self.settleAlone() }
    }

    private func settleAlone() async {
        guard let etcd = store as? EtcdStore, let member, !moved else { return }
        guard let members = try? await etcd.client.members(), members.count == 1, members[0].name == config.nodeID else { return }
        let managers = await store.all(Node.self).filter { $0.spec.role == .manager }
        guard managers.count <= 1 else { return }
        do {
            try await moveIntoSQLite(from: etcd, member: member)
        } catch {
            logger.error("moving the state back into SQLite: \(error)")
            await host?.resumeAfterFailedMove()
        }
    }

    // MARK: - Moves

    private var statePath: String { NodeConfig.directory(dataDir) + "/state.db" }

    private func moveIntoEtcd(adding nodeID: String, at peerURL: String) async throws -> [String] {
        logger.notice("a second manager: moving the swarm's state into the managers' etcd")
        await host?.stopForMove()
        let first = LocalEtcdMember(initialCluster: [], state: "new")
        var process: EtcdMember?
        do {
            try LocalEtcd.writeTLS(ca: ca, nodeID: config.nodeID, advertiseAddr: config.advertiseAddr, dataDir: dataDir)
            var member = first
            member.initialCluster = [LocalEtcd.configuration(config, dataDir: dataDir, member: first).initialClusterEntry]
            let (started, etcd) = try await LocalEtcd.open(config, dataDir: dataDir, member: member)
            process = started
            let report = try await StoreMigration.copy(from: store, to: etcd)
            logger.notice("\(report.objects) objects moved into etcd")
            let (added, members) = try await etcd.client.addMember(peerURLs: [peerURL])
            await etcd.close()
            await etcd.client.shutdown()
            var updated = (try NodeConfig.load(dataDir)) ?? config
            updated.etcdMember = member
            try updated.save(dataDir)
            // SQLite's file stays beside, renamed: nothing reads it any more.
            _ = rename(statePath, statePath + ".before-etcd")
            await started.stop()
            await started.client.shutdown()
            scheduleRestart()
            return members.flatMap { $0.initialClusterEntries(name: $0.id == added.id ? nodeID : nil) }
        } catch {
            await process?.shutdown()
            try? FileManager.default.removeItem(atPath: LocalEtcd.directory(dataDir))
            await host?.resumeAfterFailedMove()
            throw APIError(500, "moving the swarm's state into etcd failed: \(error); the swarm stays on its only manager")
        }
    }

    private func moveIntoSQLite(from etcd: EtcdStore, member: EtcdMember) async throws {
        logger.notice("one manager left: moving the swarm's state back into SQLite")
        await host?.stopForMove()
        let fresh = statePath + ".new"
        unlink(fresh)
        let sqlite = try SQLiteStore(path: fresh)
        let report = try await StoreMigration.copy(from: etcd, to: sqlite)
        logger.notice("\(report.objects) objects moved into SQLite")
        unlink(statePath + ".before-etcd")
        guard rename(fresh, statePath) == 0 else { throw RuntimeError.badInput("cannot rename \(fresh): errno \(errno)") }
        var updated = (try NodeConfig.load(dataDir)) ?? config
        updated.etcdMember = nil
        try updated.save(dataDir)
        await member.stop()
        try? FileManager.default.removeItem(atPath: LocalEtcd.directory(dataDir))
        scheduleRestart()
    }

    /// The daemon starts again on the new store once the answer that caused the move has gone out.
    private func scheduleRestart() {
        moved = true
        Task.detached {
            try? await Task.sleep(for: .milliseconds(300))
            RoleChange.restartDaemon()
        }
    }
}
