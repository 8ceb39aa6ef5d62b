import HTTPServer
import Manager
import NodeAgent
import SwarmAPI
import SwarmCLI

extension Daemon {
    /// A worker's socket: enough for `info` and a clear refusal, as Docker's.
    /// `info` lists every manager the agent knows, as Docker's
    /// `Swarm.RemoteManagers` (a worker does not know their node IDs).
    static func workerAPI(_ config: NodeConfig, description: NodeDescription, managers: ManagerSet) -> HTTPServer.Handler {
        // The address without the port, as a manager's dispatcher records it.
        let host = String(config.advertiseAddr.split(separator: ":").first ?? "")
        return { request in
            let path = APIRouter.unversioned(request.path)
            if path == "/_ping" { return HTTPResponse(status: 200, headers: [("Api-Version", APIRouter.apiVersion), ("Swarm", "active/worker")], body: .bytes(Array("OK".utf8))) }
            if path == "/info" {
                let info = SystemInfo(
                    id: config.nodeID, name: description.hostname, serverVersion: engineVersion, operatingSystem: "linux", osType: "linux",
                    architecture: description.platform.architecture, ncpu: Int((description.resources.nanoCPUs ?? 0) / 1_000_000_000),
                    memTotal: description.resources.memoryBytes ?? 0,
                    swarm: SystemInfo.SwarmPart(
                        nodeID: config.nodeID, nodeAddr: host, localNodeState: "active", controlAvailable: false, error: "",
                        remoteManagers: await managers.addresses.map { SystemInfo.RemoteManager(nodeID: "", addr: $0) },
                        nodes: 0, managers: 0, cluster: nil))
                return HTTPResponse.json(200, (try? APIJSON.encode(info)) ?? [])
            }
            return HTTPResponse.json(503, Array("{\"message\":\"This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.\"}".utf8))
        }
    }
}
