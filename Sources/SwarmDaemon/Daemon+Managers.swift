import ClusterTLS
import Logging
import NodeAgent
import SwarmCLI
import Synchronization

extension Daemon {
    /// The managers the agent knows (node.json's list, or the one address
    /// an older node.json has), each reached with a client of its own that
    /// checks it by the name only managers' certificates carry
    /// (`swarm-manager`): another node cannot pose as one. A refused
    /// connection is an answer here: the set moves to the next manager at
    /// once instead of retrying until the connect timeout.
    static func agentManagers(_ config: NodeConfig, _ material: NodeTLSMaterial) async throws -> (ManagerSet, ClusterManagerTransport) {
        let transport = ClusterManagerTransport { address in
            try ClusterHTTPClient(manager: address, trust: .member(material), connectTimeout: .seconds(5))
        }
        // Made now: certificates the TLS configuration refuses stop the daemon here, not at every request.
        _ = try await transport.client(config.knownManagers[0])
        return (ManagerSet(config.knownManagers, transport: transport), transport)
    }

    /// One save of node.json at a time (the link may learn two lists at once).
    private static let nodeConfigSaves = Mutex(())

    /// Keeps the managers' list a manager sent in node.json (atomically,
    /// only when it changed), for a restarted daemon to reach any of them.
    static func rememberManagers(_ list: [String], dataDir: String) {
        nodeConfigSaves.withLock { _ in
            do {
                guard var config = try NodeConfig.load(dataDir), config.remember(managers: list) else { return }
                try config.save(dataDir)
            } catch {
                Logger(label: "swarm.daemon").warning("cannot save the managers' list in node.json: \(error)")
            }
        }
    }
}
