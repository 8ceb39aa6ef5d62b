import ClusterTLS
import FoundationEssentials
import Glibc
import SwarmAPI
import SystemCalls

/// What makes a node a manager beside its certificate, in `<data-dir>/swarm/`:
/// the CA key (managers sign nodes' certificates) and the key secrets are
/// sealed with (every manager opens the same store).
enum ManagerMaterialFiles {
    static func material(ca: RootCA, clusterID: String, store: String?, directory: String) throws -> JoinResponse.ManagerMaterial {
        guard let secretsKey = FileManager.default.contents(atPath: directory + "/secrets.key") else {
            throw RuntimeError.badInput("the secrets key is missing in \(directory): this manager cannot add another")
        }
        return JoinResponse.ManagerMaterial(clusterID: clusterID, caKeyPEM: try ca.keyPEM() ?? "", store: store,
                                            secretsKey: secretsKey.base64EncodedString())
    }

    static func write(_ material: JoinResponse.ManagerMaterial, to directory: String) throws {
        guard let secretsKey = Data(base64Encoded: material.secretsKey), secretsKey.count == 32 else {
            throw RuntimeError.badInput("the manager sent a damaged secrets key")
        }
        try writeFileAtomically(Array(material.caKeyPEM.utf8), to: directory + "/ca.key", mode: 0o600)
        try writeFileAtomically(Array(secretsKey), to: directory + "/secrets.key", mode: 0o600)
    }

    /// A demoted manager keeps neither key.
    static func remove(from directory: String) {
        unlink(directory + "/ca.key")
        unlink(directory + "/secrets.key")
    }
}
