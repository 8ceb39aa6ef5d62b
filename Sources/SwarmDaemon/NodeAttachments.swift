import Containers
import FoundationEssentials
import HTTPServer
import Logging
import Manager
import NodeAgent
import SwarmAPI

/// This node's containers attached by hand to overlay networks (`swarm
/// container run --network NAME`, Docker's `AttachNetwork`): the `swarm`
/// CLI asks on the node's unix socket (`POST /attachments`, `DELETE
/// /attachments/ID`); the daemon asks the manager for the address, wires
/// the namespace (as a task's: `NodeNetworking.prepare(grant)`), and
/// releases both when the container labelled with the attachment ends or
/// is removed, or never shows up.
actor NodeAttachments {
    let runtime: ContainerRuntime
    private var link: (any AttachmentLink)?
    private var networking: NodeNetworking?
    private var engine: (any ContainerEngine)?
    private var watched: Set<String> = []
    let logger = Logger(label: "swarm.attachments")
    /// How long the CLI has to start the container once its attachment is wired.
    static let startWithin: Duration = .seconds(60)

    init(runtime: ContainerRuntime) {
        self.runtime = runtime
    }

    /// Once the daemon has its link and data path; then the attachments a
    /// previous daemon wired are watched again (or released, their container gone).
    func connect(link: any AttachmentLink, networking: NodeNetworking?, engine: any ContainerEngine) async {
        self.link = link
        self.networking = networking
        self.engine = engine
        for id in await networking?.wiredAttachmentIDs() ?? [] { watch(id) }
    }

    nonisolated func handle(_ request: HTTPRequest) async -> HTTPResponse? {
        guard request.isUnixSocket else { return nil }
        let parts = APIRouter.unversioned(request.path).split(separator: "/").map(String.init)
        guard parts.first == "attachments" else { return nil }
        do {
            switch (request.method, parts.count) {
            case ("POST", 1):
                let asked = try APIJSON.decode(AttachmentRequest.self, from: request.body)
                return HTTPResponse.json(201, try APIJSON.encode(try await attach(asked)))
            case ("DELETE", 2):
                await release(parts[1])
                return HTTPResponse.empty(204)
            default:
                return nil
            }
        } catch let refused as AttachmentRefused {
            return Self.message(refused.status, refused.message)
        } catch {
            return Self.message(500, "\(error)")
        }
    }

    static func message(_ status: Int, _ text: String) -> HTTPResponse {
        APIRouter.errorResponse(status, text)
    }

    func attach(_ request: AttachmentRequest) async throws -> NodeAttachmentAnswer {
        guard let link else { throw AttachmentRefused(status: 503, message: "this node's daemon is still starting: try again") }
        guard let networking else { throw AttachmentRefused(status: 400, message: NetworkingError.noDataPath.description) }
        let grant = try await link.attachNetwork(request)
        let id = grant.attachment.id
        do {
            let namespace = try await networking.prepare(grant)
            watch(id)
            return NodeAttachmentAnswer(id: id, address: grant.attachment.address, namespace: namespace)
        } catch {
            await networking.release(taskID: id)
            try? await link.detachNetwork(attachmentID: id)
            throw error
        }
    }

    /// Idempotent: the namespace and links go, then the manager frees the address.
    func release(_ id: String) async {
        guard let link else { return }
        await networking?.release(taskID: id)
        for attempt in 1...5 {
            do {
                try await link.detachNetwork(attachmentID: id)
                break
            } catch {
                logger.warning("attachment \(id): the manager did not take the release (attempt \(attempt)): \(error)")
                try? await Task.sleep(for: .seconds(1))
            }
        }
        watched.remove(id)
    }

    /// Waits for the container labelled with the attachment, then for its
    /// end (by pidfd), and releases the attachment.
    private func watch(_ id: String) {
        guard !watched.contains(id), let engine else { return }
        watched.insert(id)
        let runtime = self.runtime
        // Off the actor: listing containers reads their state files.
        Task.detached {
            let deadline = ContinuousClock.now + Self.startWithin
            var container: String?
            while container == nil {
                container = runtime.list(all: true).first { $0.record.spec.labels?[attachmentLabel] == id }?.id
                if container != nil || ContinuousClock.now >= deadline { break }
                try? await Task.sleep(for: .milliseconds(200))
            }
            if let container { _ = await engine.waitForExit(container) }
            await self.release(id)
        }
    }
}
