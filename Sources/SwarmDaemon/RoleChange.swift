import ClusterTLS
import FoundationEssentials
import Glibc
import Logging
import NodeAgent
import SwarmAPI
import SwarmCLI
import SystemCalls

/// A node's side of `node promote` and `node demote`: once the manager says
/// the node's role changed, it asks for the certificate of the new role (a
/// manager's also brings the CA key and where the state is), keeps them in
/// its data dir, and starts its daemon again as the new role. The task
/// containers run on meanwhile (their monitors own them) and the new daemon
/// adopts them, as after any restart.
actor RoleChange {
    let dataDir: String
    let config: NodeConfig
    let link: HTTPManagerLink
    /// Called before the daemon is replaced (a manager gives up its leadership at once).
    let stepDown: @Sendable () async -> Void
    private var changing = false
    private let logger = Logger(label: "swarm.daemon.role")

    init(dataDir: String, config: NodeConfig, link: HTTPManagerLink, stepDown: @escaping @Sendable () async -> Void) {
        self.dataDir = dataDir
        self.config = config
        self.link = link
        self.stepDown = stepDown
    }

    /// Starts the change and returns at once: the answer came with a
    /// heartbeat, and the manager may take seconds to add or remove this
    /// node's etcd member. Heartbeats must go on meanwhile, or the node is
    /// marked down and its tasks are moved.
    func observe(_ response: SessionResponse) {
        guard let role = response.role, role != config.role, !changing else { return }
        changing = true
        logger.info("this node is now to be a \(role.rawValue)")
        Task { await change(to: role) }
    }

    private func change(to role: NodeRole) async {
        do {
            try await become(role)
        } catch {
            logger.error("changing the role to \(role.rawValue): \(error); trying again at the next heartbeat")
            changing = false
        }
    }

    private func become(_ role: NodeRole) async throws {
        let key = try NodeKeyAndCSR.generate()
        let port = config.listenAddr.flatMap { $0.split(separator: ":").last.flatMap { Int($0) } } ?? 2377
        let ip = String(config.advertiseAddr.split(separator: ":").first ?? "")
        let reply = try await link.changeRole(RoleChangeRequest(csrPEM: key.csrPEM, advertiseAddr: "\(ip):\(port)"))
        guard reply.role == role else { throw RuntimeError.badInput("the manager answered with the role \(reply.role.rawValue)") }
        let directory = NodeConfig.directory(dataDir)
        // node.json as it is now (the managers' list may have changed since the start).
        var updated = (try NodeConfig.load(dataDir)) ?? config
        updated.role = role
        if let material = reply.manager {
            try ManagerMaterialFiles.write(material, to: directory)
            updated.clusterID = material.clusterID
            updated.store = material.store
            updated.listenAddr = config.listenAddr ?? "0.0.0.0:\(port)"
            updated.advertiseAddr = "\(ip):\(port)"
            if let initialCluster = material.etcdInitialCluster {
                let ca = try RootCA(certificatePEM: reply.caCertificatePEM, keyPEM: material.caKeyPEM)
                try LocalEtcd.prepareMember(&updated, initialCluster: initialCluster, ca: ca, dataDir: dataDir)
            }
        } else {
            ManagerMaterialFiles.remove(from: directory)
            updated.store = nil
            updated.etcdMember = nil
            // The member was removed from the managers' etcd: its data is of no use.
            try? FileManager.default.removeItem(atPath: LocalEtcd.directory(dataDir))
        }
        try NodeTLSFiles.write(NodeTLSMaterial(caCertificatePEM: reply.caCertificatePEM, certificatePEM: reply.certificatePEM, keyPEM: key.keyPEM),
                               to: NodeConfig.certificates(dataDir))
        try updated.save(dataDir)
        await stepDown()
        logger.info("starting again as a \(role.rawValue)")
        Self.restartDaemon()
    }

    /// Replaces this process by a new daemon with the same arguments (the
    /// same PID: the pid file and whoever supervises it stay right). No
    /// descriptor survives into it: the listeners must be free for the new one.
    static func restartDaemon() -> Never {
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            for entry in entries { if let fd = Int32(entry), fd > 2 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) } }
        }
        let arguments = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", arguments)
        Logger(label: "swarm.daemon.role").critical("cannot start the daemon again: errno \(errno)")
        exit(1)
    }
}
