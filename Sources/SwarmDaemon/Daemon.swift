import ClusterStore
import EtcdMember
import EtcdStore
import CRuntime
import ClusterTLS
import Containers
import Dispatch
import FoundationEssentials
import Glibc
import HTTPServer
import Logging
import Manager
import NodeAgent
import OverlayNetwork
import OCIImages
import OCIRegistry
import SwarmAPI
import SwarmCLI
import SwarmClient
import SystemCalls

/// The daemon: on a manager the store, orchestrator, scheduler, dispatcher
/// and API (unix socket + the cluster's mutual-TLS port); on every node the
/// agent, which reaches the manager over TLS like any other node.
enum Daemon {
    static let engineVersion = "0.4.0"

    static func run(dataDir: String, stateDir: String, cgroupParent: String, listeners: DaemonListenOptions) async throws -> Never {
        // One line per event on stderr: the daemon's log file when init or
        // join started it, the journal under systemd. SWARM_LOG_LEVEL=debug
        // shows every task state an agent reports.
        // Two malloc arenas, not eight per core: the daemon's threads are few
        // and short on work, and every arena keeps its own free memory (RSS).
        _ = crt_limit_malloc_arenas(2)
        let level = ProcessInfo.processInfo.environment["SWARM_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        guard let config = try NodeConfig.load(dataDir) else {
            throw RuntimeError.badInput("this node is not part of a swarm: run swarm init or swarm join first")
        }
        guard let material = try NodeTLSFiles.read(from: NodeConfig.certificates(dataDir)) else {
            throw RuntimeError.badInput("the node's certificates are missing in \(NodeConfig.certificates(dataDir)): leave and join again")
        }
        try FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true)
        try writeFileAtomically(Array("\(getpid())\n".utf8), to: DaemonPaths.pidFile(stateDir), mode: 0o644)
        let runtime = try ContainerRuntime(stateRoot: stateDir, dataRoot: dataDir, cgroups: CgroupManager.host(parent: cgroupParent))

        // Every manager the node knows, reached as its session reaches them.
        let (managers, managerClients) = try await agentManagers(config, material)
        let description = nodeDescription(runtime)

        var servers: [HTTPServer] = []
        var manager: ManagerHost?
        var etcdMember: EtcdMember?
        var board: ClusterBoard?
        var clusterMetrics: ClusterMetrics?
        // Recorded always (a few counters), served with --metrics-addr.
        let metrics = DaemonMetrics()
        let attachments = NodeAttachments(runtime: runtime)
        let containers = ContainerAPI(runtime: runtime, attachments: attachments)
        let hostSlot = ManagerHostSlot()
        let link = HTTPManagerLink(managers) { list in rememberManagers(list, dataDir: dataDir) }
        let registry = RegistryClient(insecureRegistries: Set((ProcessInfo.processInfo.environment["SWARM_INSECURE_REGISTRIES"] ?? "")
            .split(separator: ",").map(String.init)))
        let puller = ImagePuller(store: runtime.images, client: registry)
        let images = ImageProvider(store: runtime.images, sources: [
            metrics.counted("registry") { reference in _ = try await puller.pull(reference) },
            // Images a registry cannot give come from the store of the manager the agent talks to.
            metrics.counted("manager") { reference in
                let mirror = try await managerClients.client(await managers.current)
                _ = try await ImagePuller(store: runtime.images, client: RegistryClient(mirror: mirror.client, baseURL: mirror.baseURL)).pull(reference)
            },
        ])
        // The index spares a listing of every container on disk per assignment change.
        let engine = IndexedEngine(MeteredEngine(engine: RuntimeEngine(runtime: runtime, images: images), factory: metrics.factory))
        // The overlay data path keeps its namespaces in the state directory
        // (each lab node has its own) and re-adopts them after a restart.
        let networking = OverlayDataPath.serves(advertiseAddr: config.advertiseAddr)
            ? NodeNetworking(overlay: OverlayDataPath(nodeAddr: config.advertiseAddr, stateDirectory: stateDir)) : nil
        // `node promote|demote` reaches this node in its session's answers.
        let roleChange = RoleChange(dataDir: dataDir, config: config, link: link, stepDown: { await hostSlot.stepDown() })
        let watchedLink = RoleWatchingLink(link: link, observe: { await roleChange.observe($0) })
        let agent = NodeAgent(engine: engine, link: watchedLink, networking: networking, secretsDirectory: stateDir + "/secrets") {
            SessionRequest(description: description, addr: config.advertiseAddr)
        }
        // A manager on the managers' etcd may wait a while for its member to
        // join the others: its agent keeps the node's session (heartbeats to
        // the leader) meanwhile, so the node is not marked down.
        let agentRun: Task<Void, Never>? = config.etcdMember != nil ? Task { await agent.run() } : nil

        if config.role == .manager {
            (servers, manager, etcdMember) = try await startManager(config, material, images: runtime.images, dataDir: dataDir, stateDir: stateDir,
                                                        containers: containers, metrics: metrics)
            if let manager { await hostSlot.set(manager) }
            if listeners.metricsAddr != nil, let manager {
                clusterMetrics = ClusterMetrics(store: await manager.manager.store, factory: metrics.factory)
            }
            if let address = listeners.visualizerAddr, let manager {
                let visualizer: HTTPServer
                (visualizer, board) = try await startVisualizer(address, store: await manager.manager.store)
                servers.append(visualizer)
            }
        } else {
            if listeners.visualizerAddr != nil { Logger(label: "swarm.daemon").warning("--visualizer-addr ignored: the visualizer runs on managers only") }
            let worker = workerAPI(config, description: description, managers: managers)
            let server = HTTPServer(handler: { request in
                if let response = await containers.handle(request) { return response }
                return await worker(request)
            })
            try await server.listen(unixSocket: DaemonPaths.socket(stateDir))
            servers = [server]
        }

        if let address = listeners.metricsAddr { servers.append(try await metrics.serve(address, refresh: networking.map { metrics.meshConnections($0.mesh) })) }
        // Everything the daemon runs is a child of this group, and the first
        // SIGTERM or SIGINT cancels it all. Containers keep running (their
        // monitors own them) and the next daemon re-adopts them.
        await attachments.connect(link: link, networking: networking, engine: engine)
        let signals = terminationSignals()
        await withTaskGroup(of: Void.self) { group in
            if let agentRun {
                group.addTask { await withTaskCancellationHandler { await agentRun.value } onCancel: { agentRun.cancel() } }
            } else {
                group.addTask { await agent.run() }
            }
            group.addTask { await LogPublisher(link: link, runtime: runtime).run() }
            if let manager { group.addTask { await manager.run() } }
            if let etcdMember {
                group.addTask {
                    // A member stopped for a move, or removed by a demotion, does not end the daemon: a restart follows.
                    await etcdMember.run()
                    while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
                }
            }
            if let board { group.addTask { await board.run() } }
            if let clusterMetrics { group.addTask { await clusterMetrics.run() } }
            group.addTask { for await _ in signals { return } }
            await group.next()
            // A child that does not end within 5 s does not keep the daemon.
            Task.detached {
                try? await Task.sleep(for: .seconds(5))
                unlink(DaemonPaths.pidFile(stateDir))
                exit(0)
            }
            group.cancelAll()
        }
        // The process ends here: its listeners and connections close with it
        // (a graceful server shutdown would wait out agents' long polls).
        withExtendedLifetime((servers, link, registry)) {}
        unlink(DaemonPaths.pidFile(stateDir))
        exit(0)
    }

    static func startManager(_ config: NodeConfig, _ material: NodeTLSMaterial, images: ImageStore, dataDir: String,
                             stateDir: String, containers: ContainerAPI, metrics: DaemonMetrics) async throws -> (servers: [HTTPServer], host: ManagerHost, member: EtcdMember?) {
        let directory = NodeConfig.directory(dataDir)
        guard let keyData = FileManager.default.contents(atPath: directory + "/ca.key") else {
            throw RuntimeError.badInput("the CA key is missing in \(directory): this manager cannot sign certificates")
        }
        let ca = try RootCA(certificatePEM: material.caCertificatePEM, keyPEM: String(decoding: keyData, as: UTF8.self))
        // The state: in SQLite (one manager), in this manager's member of the
        // managers' etcd, or in an external etcd (`init --store`).
        let store: any ClusterStore
        var member: EtcdMember?
        if let local = config.etcdMember {
            let etcd: EtcdStore
            (member, etcd) = try await LocalEtcd.open(config, dataDir: dataDir, member: local)
            store = etcd
        } else {
            store = try await ManagerStore.open(store: config.store, tls: config.storeTLS, clusterID: config.clusterID, directory: directory)
        }
        // On etcd, several managers share the state and one of them leads:
        // only the leader's commits are accepted (fenced by its term).
        var election: LeaderElection?
        if let etcd = store as? EtcdStore {
            // A 3 s lease: a dead leader is replaced about 3 s after. etcd
            // gives every lease a fresh TTL when its own raft leader changes,
            // so the leader keeps raft leadership on another member (RaftLeaderHandoff).
            let candidate = LeaderElection(client: etcd.client, cluster: config.clusterID,
                                           candidate: ManagerHost.candidate(nodeID: config.nodeID, addr: config.advertiseAddr), ttl: 3)
            await etcd.fence { await candidate.fence() }
            election = candidate
        }
        let membership = ManagerMembership(dataDir: dataDir, config: config, ca: ca, store: store, member: member)
        let manager = try await ClusterManager(store: store, nodeID: config.nodeID,
                                               vault: try SecretVault.loadOrCreate(at: directory + "/secrets.key"),
                                               sharedStore: ManagerMembership.canAddManagers(config))
        let router = APIRouter(
            manager: manager, caCertificatePEM: material.caCertificatePEM, engineVersion: engineVersion,
            images: ImageStoreBlobSource(store: images),
            identify: { der in
                guard let identity = try? ca.validate(nodeCertificateDER: der) else { return nil }
                return (identity.nodeID, identity.role == .manager)
            },
            join: { request in
                try await join(request, ca: ca, manager: manager, membership: membership, clusterID: config.clusterID, store: config.store,
                               directory: directory)
            },
            newJoinToken: { _ in JoinToken.generate(rootCA: ca) },
            changeRole: { nodeID, request in
                try await changeRole(nodeID, request, ca: ca, manager: manager, membership: membership, clusterID: config.clusterID,
                                     store: config.store, directory: directory)
            })
        let host = ManagerHost(manager: manager, router: router, election: election, material: material, ownAddress: config.advertiseAddr,
                               firstTerm: config.forceNewCluster == true ? leadAlone(manager, dataDir: dataDir) : nil)
        await membership.attach(host)
        await host.onEveryTerm { await membership.settle() }
        if let member, let etcd = store as? EtcdStore {
            let handoff = RaftLeaderHandoff(client: etcd.client, localEndpoint: member.configuration.localClientURL)
            await host.onWhileLeading(every: .seconds(2)) { await handoff.check() }
        }
        Task { await router.events.record(store) }
        // The cluster's port first: `swarm init` returns once the unix socket
        // answers, and joins may follow at once (a lab's do).
        let tcp = HTTPServer(handler: { await metrics.metered($0, host.handle) })
        let listen = config.listenAddr ?? withPort("0.0.0.0")
        let host_ = String(listen[..<(listen.lastIndex(of: ":") ?? listen.endIndex)])
        let port = Int(listen[listen.index(after: listen.lastIndex(of: ":") ?? listen.startIndex)...]) ?? 2377
        try await tcp.listen(host: host_, port: port, tls: try ClusterTLSConfiguration.server(material))
        // This node's containers first (the unix socket only), then the cluster's API.
        let unix = HTTPServer(handler: { request in
            if let response = await containers.handle(request) { return response }
            return await metrics.metered(request, host.handle)
        })
        try await unix.listen(unixSocket: DaemonPaths.socket(stateDir))
        return ([unix, tcp], host, member)
    }

    /// `init --force-new-cluster`, once this manager leads: the others are
    /// demoted, then the mark in node.json goes (the CLI waits for that).
    static func leadAlone(_ manager: ClusterManager, dataDir: String) -> @Sendable () async throws -> Void {
        {
            try await manager.demoteOtherManagers()
            guard var current = try NodeConfig.load(dataDir) else { return }
            current.forceNewCluster = nil
            try current.save(dataDir)
            Logger(label: "swarm.manager").warning("--force-new-cluster: this manager now leads alone; the other managers are workers")
        }
    }

    /// `POST /swarm/join`: the token decides the role; the CA signs the
    /// node's own key for a new node ID.
    /// `store`: where the managers keep the state when it is replicated
    /// (nil: this is the only manager, on SQLite).
    static func join(_ request: JoinRequest, ca: RootCA, manager: ClusterManager, membership: ManagerMembership, clusterID: String,
                     store: String?, directory: String) async throws -> JoinResponse {
        let tokens = try await manager.swarmInfo().joinTokens
        guard let role = JoinToken.role(forPresented: request.token, worker: tokens.worker, manager: tokens.manager) else {
            throw APIError.badRequest("rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster")
        }
        if role == .manager && !manager.sharedStore {
            throw APIError.badRequest("joining as a manager needs etcd on the managers (apt-get install -y etcd-server) or the swarm's state in an external etcd (swarm init --store): join as a worker")
        }
        let nodeRole: SwarmAPI.NodeRole = role == .manager ? .manager : .worker
        let nodeID = newObjectID()
        let certificate: String
        do {
            certificate = try ca.issueJoiningNode(csrPEM: request.csrPEM, nodeID: nodeID, role: role, clusterID: clusterID,
                                                  advertiseAddr: request.advertiseAddr)
        } catch {
            throw APIError.badRequest("invalid certificate signing request: \(error)")
        }
        _ = try await manager.admit(nodeID: nodeID, role: nodeRole, hostname: request.hostname, addr: request.advertiseAddr)
        var response = JoinResponse(nodeID: nodeID, role: nodeRole, certificatePEM: certificate, caCertificatePEM: ca.certificatePEM)
        if nodeRole == .manager {
            response.manager = try ManagerMaterialFiles.material(ca: ca, clusterID: clusterID, store: store, directory: directory)
            do {
                response.manager?.etcdInitialCluster = try await membership.admitManager(nodeID: nodeID, addr: request.advertiseAddr)
            } catch {
                try? await manager.undoAdmission(nodeID: nodeID)
                throw error
            }
        }
        return response
    }

    /// `POST /agent/role`: the certificate of the role the node's spec now
    /// names; a new manager also gets what a manager joining gets.
    static func changeRole(_ nodeID: String, _ request: RoleChangeRequest, ca: RootCA, manager: ClusterManager,
                           membership: ManagerMembership, clusterID: String, store: String?, directory: String) async throws -> JoinResponse {
        let node = try await manager.node(nodeID)
        let role = node.spec.role
        let certificate: String
        do {
            certificate = try ca.issueJoiningNode(csrPEM: request.csrPEM, nodeID: nodeID, role: role == .manager ? .manager : .worker,
                                                  clusterID: clusterID, advertiseAddr: request.advertiseAddr)
        } catch {
            throw APIError.badRequest("invalid certificate signing request: \(error)")
        }
        try await manager.roleTaken(nodeID: nodeID, role: role, addr: request.advertiseAddr)
        var response = JoinResponse(nodeID: nodeID, role: role, certificatePEM: certificate, caCertificatePEM: ca.certificatePEM)
        if role == .manager {
            response.manager = try ManagerMaterialFiles.material(ca: ca, clusterID: clusterID, store: store, directory: directory)
            response.manager?.etcdInitialCluster = try await membership.admitManager(nodeID: nodeID, addr: request.advertiseAddr)
        } else {
            try await membership.dismissManager(nodeID: nodeID)
        }
        return response
    }

    static func nodeDescription(_ runtime: ContainerRuntime) -> NodeDescription {
        var name = utsname()
        uname(&name)
        let machine = withUnsafeBytes(of: name.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let hostname: String = ProcessInfo.processInfo.environment["SWARM_HOSTNAME"]
            ?? withUnsafeBytes(of: name.nodename) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let memory = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
            .flatMap { line in line.split(separator: " ").dropFirst().first.flatMap { Int64($0) } }.map { $0 * 1024 } ?? 0
        let cpus = Int64(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return NodeDescription(hostname: hostname, platform: Platform(architecture: machine, os: "linux"),
                               resources: SwarmAPI.Resources(nanoCPUs: cpus * 1_000_000_000, memoryBytes: memory),
                               engine: EngineDescription(engineVersion: engineVersion),
                               cgroupControllers: runtime.cgroups.availableControllers().sorted())
    }

    /// SIGTERM and SIGINT as they arrive (their default action, ending the
    /// process at once, is turned off while the stream lives).
    static func terminationSignals() -> AsyncStream<Int32> {
        AsyncStream { continuation in
            let sources = SignalSources(all: [SIGTERM, SIGINT].map { number in
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { continuation.yield(number) }
                source.resume()
                return source
            })
            continuation.onTermination = { _ in sources.all.forEach { $0.cancel() } }
        }
    }
}

/// Dispatch's signal sources, which are safe to cancel from any thread;
/// immutable once made.
struct SignalSources: @unchecked Sendable {
    let all: [any DispatchSourceSignal]
}
