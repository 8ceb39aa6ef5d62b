import ClusterStore
import Compose
import ClusterTLS
import FoundationEssentials
import Manager
import OCIImages
import OCIRegistry
import OverlayNetwork
import SwarmAPI
import SwarmCLI
import SwarmClient
import SystemCalls

/// What the `swarm` CLI leaves to `swarmd`: the cluster's PKI and store at
/// `init`, the join handshake, registries, and `tcp://` hosts.
public struct DaemonBinaryOperations: DaemonOperations, RemoteTransportMaker {
    public init() {}

    public func loadCompose(files: [String], environment: [String: String], namespace: String) throws -> StackPlan {
        do { return try ComposeLoader.load(files: files, environment: environment, namespace: namespace) } catch {
            throw RuntimeError.badInput(error.description)
        }
    }

    public func removeNodeNetworking(_ options: RuntimeOptions, advertiseAddr: String) async {
        guard OverlayDataPath.serves(advertiseAddr: advertiseAddr) else { return }
        await NodeNetworking(overlay: OverlayDataPath(nodeAddr: advertiseAddr, stateDirectory: options.stateDir)).removeAll()
    }

    public func runDaemon(_ options: RuntimeOptions, listeners: DaemonListenOptions) async throws -> Never {
        var listeners = listeners
        if var config = try NodeConfig.load(options.dataDir) {
            listeners.remember(in: &config)
            try config.save(options.dataDir)
        }
        try await Daemon.run(dataDir: options.dataDir, stateDir: options.stateDir, cgroupParent: options.cgroupParent, listeners: listeners)
    }

    /// A new CA, this node's manager certificate, the store with the swarm,
    /// then the daemon. A failed init leaves no swarm behind.
    public func initSwarm(_ command: InitCommand) async throws {
        let options = command.options
        let period = try command.heartbeatPeriod()
        let advertise = command.advertiseAddress
        do { try ClusterManager.validatePools(command.defaultAddrPool, subnetSize: command.defaultAddrPoolMaskLength) } catch let error as APIError {
            throw RuntimeError.badInput(error.message)
        }
        let directory = NodeConfig.directory(options.dataDir)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        do {
            let ca = try RootCA.create()
            let nodeID = newObjectID(), clusterID = newObjectID()
            let key = try NodeKeyAndCSR.generate()
            let certificate = try ca.issueJoiningNode(csrPEM: key.csrPEM, nodeID: nodeID, role: .manager, clusterID: clusterID,
                                                      advertiseAddr: advertise)
            try writeFileAtomically(Array((try ca.keyPEM() ?? "").utf8), to: directory + "/ca.key", mode: 0o600)
            try NodeTLSFiles.write(NodeTLSMaterial(caCertificatePEM: ca.certificatePEM, certificatePEM: certificate, keyPEM: key.keyPEM),
                                   to: NodeConfig.certificates(options.dataDir))
            let store = try await ManagerStore.open(store: command.store, tls: try command.storeTLS(), clusterID: clusterID, directory: directory)
            do {
                try await ClusterManager.bootstrap(store: store, clusterID: clusterID, nodeID: nodeID, hostname: Daemon.nodeDescription(try options.runtime()).hostname,
                                             addr: advertise, tokens: JoinTokens(worker: JoinToken.generate(rootCA: ca), manager: JoinToken.generate(rootCA: ca)),
                                             heartbeatPeriod: period, addressPools: command.defaultAddrPool,
                                             subnetSize: command.defaultAddrPoolMaskLength)
                await ManagerStore.close(store)
            } catch {
                await ManagerStore.close(store)
                throw error
            }
            var config = NodeConfig(nodeID: nodeID, clusterID: clusterID, role: .manager, managerAddr: advertise, advertiseAddr: advertise,
                                    listenAddr: command.listenAddr)
            config.store = command.store
            config.storeTLS = try command.storeTLS()
            try config.save(options.dataDir)
            try await startDaemon(options, listeners: command.listeners)
            let tokens = try await APIClient.with(host: "unix://" + DaemonPaths.socket(options.stateDir)) {
                try await $0.get(SwarmInfo.self, "/swarm").joinTokens
            }
            writeStdout(InitCommand.initialized(nodeID: nodeID, workerToken: tokens.worker, advertise: advertise))
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// The join handshake (CA checked against the token, then a CSR), the
    /// node's files, then the daemon.
    public func join(_ command: JoinCommand) async throws {
        let options = command.options
        let manager = withPort(command.remote)
        // Whether the token makes this node a manager is the manager's to
        // say: the address it is given carries the cluster port a manager would listen on.
        let listenPort = Int(command.listenAddr.split(separator: ":").last ?? "2377") ?? 2377
        let ip = String((command.advertiseAddr ?? defaultAdvertiseAddress()).split(separator: ":").first ?? "")
        let hostname = Daemon.nodeDescription(try options.runtime()).hostname
        let joined: JoinClient.Joined
        do {
            joined = try await JoinClient.join(manager: manager, token: command.token ?? "", hostname: hostname, advertiseAddr: "\(ip):\(listenPort)")
        } catch let refused as JoinClient.Refused {
            throw RuntimeError.badInput(refused.description)
        }
        let reply = joined.response
        let directory = NodeConfig.directory(options.dataDir)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        do {
            try NodeTLSFiles.write(joined.material, to: NodeConfig.certificates(options.dataDir))
            var config = NodeConfig(nodeID: reply.nodeID, clusterID: "", role: reply.role, managerAddr: manager,
                                    advertiseAddr: withPort(command.advertiseAddr ?? ip, 0), listenAddr: command.listenAddr)
            if let material = reply.manager {
                try ManagerMaterialFiles.write(material, to: directory)
                config.clusterID = material.clusterID
                config.store = material.store
                config.listenAddr = command.listenAddr
                config.advertiseAddr = "\(ip):\(listenPort)"
                if let initialCluster = material.etcdInitialCluster {
                    let ca = try RootCA(certificatePEM: reply.caCertificatePEM, keyPEM: material.caKeyPEM)
                    try LocalEtcd.prepareMember(&config, initialCluster: initialCluster, ca: ca, dataDir: options.dataDir)
                }
            }
            try config.save(options.dataDir)
            try await startDaemon(options, listeners: command.listeners)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        writeStdout("This node joined a swarm as a \(reply.role.rawValue).\n")
    }

    // MARK: - Registries

    static func registry(_ insecure: [String]) -> RegistryClient {
        let fromEnvironment = (ProcessInfo.processInfo.environment["SWARM_INSECURE_REGISTRIES"] ?? "").split(separator: ",").map(String.init)
        return RegistryClient(insecureRegistries: Set(insecure + fromEnvironment))
    }

    /// Runs `body` with a registry client and shuts the client down after.
    static func withRegistry<T>(_ insecure: [String], _ body: (RegistryClient) async throws -> T) async throws -> T {
        try await using(registry(insecure), release: { await $0.shutdown() }, body)
    }

    public func pull(_ reference: ImageReference, store: ImageStore, insecureRegistries: [String], quiet: Bool, output: Int32) async throws {
        let renderer = ProgressRenderer(quiet: quiet, output: output)
        _ = try await Self.withRegistry(insecureRegistries) { client in
            try await ImagePuller(store: store, client: client).pull(reference) { renderer.handle($0) }
        }
    }

    public func push(_ reference: ImageReference, store: ImageStore, insecureRegistries: [String], quiet: Bool) async throws -> (digest: String, size: Int) {
        let renderer = ProgressRenderer(quiet: quiet)
        let pushed = try await Self.withRegistry(insecureRegistries) { client in
            try await ImagePusher(store: store, client: client).push(reference) { renderer.handle($0) }
        }
        return ("\(pushed.digest)", pushed.size)
    }

    public func checkLogin(domain: String, _ login: CredentialStore.Login, insecureRegistries: [String]) async throws {
        try await Self.withRegistry(insecureRegistries) { client in try await client.checkLogin(domain: domain, login) }
    }

    /// Docker's CLI pins the image to the digest its registry reports for the
    /// tag, so every node runs the same bits; nil when no registry answers.
    public func resolveImageDigest(_ image: String) async -> String? {
        guard !image.contains("@"), let reference = try? ImageReference.parse(image) else { return nil }
        let client = Self.registry([])
        defer { Task { await client.shutdown() } }
        guard let manifest = try? await client.manifest(reference, reference.tag ?? "latest") else { return nil }
        return "\(image)@\(manifest.digest)"
    }

    // MARK: - tcp:// hosts

    public func transport(manager: String, host: String) throws -> any APITransport {
        // A manager's cluster port, with this node's certificate (a
        // manager's: workers may not use the API) from the data dir.
        let dataDir = ProcessInfo.processInfo.environment["SWARM_DATA_DIR"] ?? "/var/lib/swarm"
        guard let material = try NodeTLSFiles.read(from: NodeConfig.certificates(dataDir)) else {
            throw RuntimeError.badInput("\(host) needs this node's swarm certificate (in \(NodeConfig.certificates(dataDir))): run the command on a node of that swarm, or use its unix socket")
        }
        return ClusterAPITransport(http: try ClusterHTTPClient(manager: manager, trust: .member(material)), host: host)
    }
}
