import ClusterStore
import EtcdStore
import SwarmCLI
import SystemCalls

/// Where a manager keeps the swarm's state: SQLite in its data dir, or the
/// external etcd `swarm init --store` named (under `/swarm/<cluster ID>/`).
enum ManagerStore {
    static func open(store: String?, clusterID: String, directory: String) async throws -> any ClusterStore {
        guard let store else { return try SQLiteStore(path: directory + "/state.db") }
        let address = try StoreAddress(store)
        let client = EtcdClient(endpoints: address.urls)
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
