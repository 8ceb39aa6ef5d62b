import ClusterStore
import ClusterTLS
import EtcdStore
import SwarmCLI
import SystemCalls

/// Where a manager keeps the swarm's state: SQLite in its data dir, or the
/// external etcd `swarm init --store` named (under `/swarm/<cluster ID>/`).
enum ManagerStore {
    /// - tls: the files to reach an external etcd over https with; nil: plain HTTP.
    static func open(store: String?, tls: StoreTLSPaths? = nil, clusterID: String, directory: String) async throws -> any ClusterStore {
        guard let store else { return try SQLiteStore(path: directory + "/state.db") }
        let address = try StoreAddress(store)
        let configuration = try tls.map { tls in
            do {
                return try EtcdTLSFiles.clientConfiguration(caFile: tls.caCertificate, certificateFile: tls.certificate, keyFile: tls.key)
            } catch {
                throw RuntimeError.badInput("cannot use the TLS files for \(store): \(error)")
            }
        }
        let client = EtcdClient(endpoints: address.urls(tls: tls != nil), tls: configuration)
        do {
            return try await EtcdStore.open(client: client, cluster: clusterID)
        } catch {
            await client.shutdown()
            throw RuntimeError.badInput("cannot open the swarm's state in \(store): \(error); check that etcd runs there")
        }
    }

    /// Lets go of a store opened for one job (`init` writes the new swarm, then the daemon opens it again).
    static func close(_ store: any ClusterStore) async {
        guard let etcd = store as? EtcdStore else { return }
        await etcd.close()
        await etcd.client.shutdown()
    }
}
