import Containers
import FoundationEssentials
import SwarmAPI
import SwarmClient
import SystemCalls

/// `container run --network NAME` with a swarm network (an `--attachable`
/// overlay): the node's daemon gets the address from the manager and wires
/// a namespace on the network (DNS at 127.0.0.11 there); the container
/// joins it. The daemon releases the attachment when the container ends;
/// a container run in the foreground releases it itself once it exited.
extension ContainerCommand.Run {
    /// Sets the spec up to join the attachment's namespace; returns the
    /// attachment and the container's name (the name other containers resolve).
    func attach(_ spec: inout Containers.ContainerSpec, runtime: ContainerRuntime) async throws -> (attachment: String, name: String) {
        let socket = DaemonPaths.socket(global.stateDir)
        guard FileManager.default.fileExists(atPath: socket) else {
            throw RuntimeError.badInput("unknown network \(network): use none or host (an overlay network needs this node in a swarm: no swarm daemon at \(socket))")
        }
        let chosen = name ?? NameGenerator.generate(taken: Set(runtime.list(all: true).map(\.name)))
        let answer = try await APIClient.with(host: "unix://" + socket) { client in
            let reply = try await client.post("/attachments", AttachmentRequest(network: network, containerName: chosen))
            return try APIJSON.decode(NodeAttachmentAnswer.self, from: reply.body)
        }
        spec.network = .none
        spec.networkNamespace = answer.namespace
        spec.nameservers = ["127.0.0.11"]
        spec.hostAddress = OverlayAddress.withoutPrefix(answer.address)
        spec.labels = (spec.labels ?? [:]).merging([attachmentLabel: answer.id]) { $1 }
        return (answer.id, chosen)
    }

    /// Best effort: the daemon's watch releases it anyway when the container is gone.
    func release(_ attachment: String) async {
        _ = try? await APIClient.with(host: "unix://" + DaemonPaths.socket(global.stateDir)) { client in
            try await client.send(.DELETE, "/attachments/\(attachment)")
        }
    }
}
