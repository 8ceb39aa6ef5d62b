import HTTPServer
import SwarmAPI

/// `/swarm`, `/info`, `/version`, `/_ping`, and joining.
extension APIRouter {
    static let swarmOpenRoutes: [String: Route] = [
        "POST swarm/join": { router, call in
            try ok(try await router.join(try APIJSON.decode(JoinRequest.self, from: call.request.body)))
        },
        "GET swarm/ca": { router, _ in HTTPResponse.text(200, router.caCertificatePEM) },
        "GET _ping": { _, _ in HTTPResponse(status: 200, headers: pingHeaders, body: .bytes(Array("OK".utf8))) },
    ]

    static let swarmRoutes: [String: Route] = [
        "GET version": { router, _ in try ok(VersionInfo(version: router.engineVersion)) },
        "GET info": { router, _ in try ok(try await router.info()) },
        "GET swarm": { router, _ in try ok(try await router.manager.swarmInfo()) },
        "POST swarm/update": { router, call in
            let version = try requireVersion(call)
            let spec = try StrictDecoding.decode(SwarmSpec.self, from: call.request.body, explain: { path in
                path.hasPrefix("EncryptionConfig") ? APIError(501, "autolock (--autolock) is not supported yet (\(path))") : nil
            })
            try await router.manager.updateSwarmSpec(version: version, spec: spec)
            if call.query("rotateWorkerToken") == "true" || call.query("rotateManagerToken") == "true" {
                let current = try await router.manager.swarmInfo()
                _ = try await router.manager.rotateJoinToken(worker: call.query("rotateWorkerToken") == "true",
                                                             manager: call.query("rotateManagerToken") == "true",
                                                             version: current.version.index, newToken: router.newJoinToken)
            }
            return HTTPResponse.empty(200)
        },
        "POST swarm/init": { _, _ in alreadyInSwarm },
        "POST swarm/join": { _, _ in alreadyInSwarm },
    ]

    static var alreadyInSwarm: HTTPResponse {
        error(503, "This node is already part of a swarm. Use \"swarm leave\" to leave this swarm and join another one.")
    }

    static var pingHeaders: [(String, String)] {
        [("Api-Version", apiVersion), ("Builder-Version", "1"), ("Docker-Experimental", "false"), ("Ostype", "linux"),
         ("Swarm", "active/manager"), ("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-cache, no-store, must-revalidate"),
         ("Pragma", "no-cache")]
    }

    func info() async throws -> SystemInfo {
        let swarm = try await manager.swarmInfo()
        let nodes = await manager.allNodes()
        let me = nodes.first { $0.id == manager.nodeID }
        let managers = nodes.filter { $0.spec.role == .manager }
        return SystemInfo(
            id: manager.nodeID, name: me?.description.hostname ?? "", serverVersion: engineVersion,
            operatingSystem: "linux", osType: "linux", architecture: me?.description.platform.architecture ?? "",
            ncpu: Int((me?.description.resources.nanoCPUs ?? 0) / 1_000_000_000), memTotal: me?.description.resources.memoryBytes ?? 0,
            swarm: SystemInfo.SwarmPart(
                nodeID: manager.nodeID, nodeAddr: me?.status.addr ?? "", localNodeState: "active", controlAvailable: true, error: "",
                remoteManagers: managers.map { .init(nodeID: $0.id, addr: $0.managerStatus?.addr ?? $0.status.addr) },
                nodes: nodes.count, managers: managers.count, cluster: swarm))
    }
}
