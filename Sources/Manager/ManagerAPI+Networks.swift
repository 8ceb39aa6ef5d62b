import ClusterStore
import SwarmAPI

/// The API's operations on overlay networks, and what services need of
/// them: their networks named by ID, their endpoint (VIPs, published
/// ports) from the allocator. As the other operations: everything is
/// checked first, then one batch is committed.
extension ClusterManager {
    /// The node-local networks Docker lists beside the swarm's: not stored, not removable.
    static let predefinedNetworks = ["host", "none"]

    static func networkNameConflict(_ name: String) -> APIError {
        APIError.conflict("network with name \(name) already exists")
    }

    public func allNetworks() async -> [SwarmNetwork] { await store.all(SwarmNetwork.self) }

    /// By full ID, name, or unique ID prefix, as Docker looks networks up.
    public func network(_ ref: String) async throws -> SwarmNetwork {
        if let network = await store.get(SwarmNetwork.self, id: ref) { return network }
        let networks = await store.all(SwarmNetwork.self)
        if let network = networks.first(where: { $0.spec.name == ref }) { return network }
        let matches = networks.filter { $0.id.hasPrefix(ref) }
        if matches.count == 1, !ref.isEmpty { return matches[0] }
        if matches.count > 1 {
            throw APIError.badRequest("network \(ref) is ambiguous (\(matches.count) matches found based on ID prefix)")
        }
        throw APIError.notFound("network \(ref) not found")
    }

    public func createNetwork(_ spec: NetworkSpec) async throws -> SwarmNetwork {
        var spec = spec
        let name = spec.name
        guard !name.isEmpty else { throw APIError.badRequest("rpc error: code = InvalidArgument desc = meta: name must be provided") }
        if Self.predefinedNetworks.contains(name) || name == "bridge" {
            throw APIError.forbidden("\(name) is a pre-defined network and cannot be created")
        }
        let driver = spec.driverConfiguration?.name ?? "overlay"
        guard driver == "overlay" else {
            throw APIError.badRequest("network driver \(driver) is not supported: a swarm's networks are overlay networks (use --driver overlay)")
        }
        spec.driverConfiguration = NetworkDriver(name: "overlay", options: spec.driverConfiguration?.options)
        if let options = spec.driverConfiguration?.options, options.keys.contains("encrypted") {
            throw APIError(501, "encrypted overlay networks (--opt encrypted) are not supported yet")
        }
        if spec.ipv6Enabled == true { throw APIError(501, "IPv6 overlay networks (--ipv6) are not supported yet") }
        if (spec.ipamOptions?.configs?.count ?? 0) > 1 {
            throw APIError(501, "more than one subnet per network is not supported yet: give one --subnet")
        }
        if let range = spec.ipamOptions?.configs?.first?.range, !range.isEmpty {
            throw APIError(501, "address ranges (--ip-range) are not supported yet: give the --subnet only")
        }
        if spec.ingress == true {
            if spec.attachable == true { throw Allocator.invalid("ingress network cannot be attachable") }
            if let ingress = await store.all(SwarmNetwork.self).first(where: { $0.spec.ingress == true }) {
                throw APIError.conflict("rpc error: code = AlreadyExists desc = ingress network (\(ingress.id)) is already present")
            }
        }
        spec.scope = "swarm"
        if await store.all(SwarmNetwork.self).contains(where: { $0.spec.name == name }) { throw Self.networkNameConflict(name) }
        let now = clock()
        await waitForAllocator()
        let (network, token) = try await allocator.number(SwarmNetwork(id: newObjectID(), version: ObjectVersion(index: 0), createdAt: now, spec: spec))
        var batch = StoreBatch(now: now)
        batch.requireNone(SwarmNetwork.self, failing: Self.networkNameConflict(name)) { $0.spec.name == name }
        batch.put(network)
        do {
            await allocator.committed(token, at: try await commit(batch))
        } catch {
            await allocator.cancel(token)
            throw error
        }
        return try await self.network(network.id)
    }

    /// Refused while a service or a live task uses it (the ingress network: while a service publishes an ingress port).
    public func removeNetwork(_ ref: String) async throws {
        if Self.predefinedNetworks.contains(ref) { throw APIError.forbidden("\(ref) is a pre-defined network and cannot be removed") }
        let network = try await self.network(ref)
        let id = network.id
        var batch = StoreBatch(now: clock())
        if network.spec.ingress == true {
            if let user = await store.all(Service.self).first(where: { Allocator.publishesIngress($0.endpoint) }) {
                throw Self.ingressInUse(user.id)
            }
            // Checked again in the commit: a service created meanwhile keeps it.
            batch.requireNone(Service.self, failing: Self.ingressInUse("")) { Allocator.publishesIngress($0.endpoint) }
            // The nodes' load-balancer addresses go with it (a new ingress network gives new ones).
            for node in await store.all(Node.self) where node.ingressAddress != nil {
                batch.update(Node.self, id: node.id) { node, _ in
                    guard node.ingressAddress != nil else { return false }
                    node.ingressAddress = nil
                    return true
                }
            }
        } else {
            if let user = await store.all(Service.self).first(where: { Self.uses($0, id) }) { throw Self.networkInUse(id, service: user.id) }
            if let task = await store.all(SwarmTask.self).first(where: { Self.uses($0, id) }) { throw Self.networkInUse(id, task: task.id) }
            batch.requireNone(Service.self, failing: Self.networkInUse(id, service: "")) { Self.uses($0, id) }
            batch.requireNone(SwarmTask.self, failing: Self.networkInUse(id, task: "")) { Self.uses($0, id) }
            // A container attached by hand (Docker's attachment task).
            if let attachment = Self.attachment(to: id, in: await store.all(Node.self)) { throw Self.networkInUse(id, task: attachment.id) }
            batch.requireNone(Node.self, failing: Self.networkInUse(id, task: "")) { Self.attachment(to: id, in: [$0]) != nil }
        }
        batch.delete(SwarmNetwork.self, id: id)
        try await commit(batch)
    }

    /// Every network no service or task uses (not the ingress network); their names.
    public func pruneNetworks() async throws -> [String] {
        let services = await store.all(Service.self), tasks = await store.all(SwarmTask.self), nodes = await store.all(Node.self)
        var removed: [String] = []
        for network in await store.all(SwarmNetwork.self) where network.spec.ingress != true {
            guard !services.contains(where: { Self.uses($0, network.id) }), !tasks.contains(where: { Self.uses($0, network.id) }),
                  Self.attachment(to: network.id, in: nodes) == nil else { continue }
            do {
                try await removeNetwork(network.id)
                removed.append(network.spec.name)
            } catch let error as APIError where error.status == 400 || error.status == 404 {
                continue
            }
        }
        return removed.sorted()
    }

    static func networkInUse(_ id: String, service: String) -> APIError {
        APIError.badRequest("rpc error: code = FailedPrecondition desc = network \(id) is in use by service \(service)")
    }

    static func networkInUse(_ id: String, task: String) -> APIError {
        APIError.badRequest("rpc error: code = FailedPrecondition desc = network \(id) is in use by task \(task)")
    }

    static func ingressInUse(_ service: String) -> APIError {
        APIError.badRequest("rpc error: code = FailedPrecondition desc = ingress network cannot be removed because service \(service) depends on it")
    }

    static func uses(_ service: Service, _ network: String) -> Bool {
        (service.spec.taskTemplate.networks ?? []).contains { $0.target == network }
    }

    /// A task that is or may still be running, attached to the network or naming it.
    static func uses(_ task: SwarmTask, _ network: String) -> Bool {
        guard task.desiredState <= .running, task.status.state <= .running else { return false }
        return (task.spec.networks ?? []).contains { $0.target == network }
            || (task.networksAttachments ?? []).contains { $0.network.id == network }
    }

    // MARK: - Services on networks

    /// The spec with its networks named by ID (Docker resolves names in the daemon too).
    func resolvingNetworks(_ spec: ServiceSpec) async throws -> ServiceSpec {
        guard let attachments = spec.taskTemplate.networks, !attachments.isEmpty else { return spec }
        var spec = spec
        var resolved: [NetworkAttachmentConfig] = []
        for var attachment in attachments {
            if attachment.target != "host" {
                let network = try await self.network(attachment.target)
                if network.spec.ingress == true {
                    throw Allocator.invalid("Service cannot be explicitly attached to the ingress network \"\(network.spec.name)\"")
                }
                attachment.target = network.id
            }
            guard !resolved.contains(where: { $0.target == attachment.target }) else {
                throw Allocator.invalid("service cannot be attached to network \(attachment.target) more than once")
            }
            resolved.append(attachment)
        }
        if resolved.count > 1, resolved.contains(where: { $0.target == "host" }) {
            throw APIError.badRequest("a service on the host network cannot join other networks: use --network host alone")
        }
        spec.taskTemplate.networks = resolved
        return spec
    }

    /// The endpoint the spec needs and the reservation of its numbers: the
    /// allocator is asked only when the service has overlay networks or
    /// published ports (or had them).
    func allocateEndpoint(serviceID: String, _ spec: ServiceSpec, current: Endpoint?) async throws -> (Endpoint?, UInt64?) {
        let overlays = (spec.taskTemplate.networks ?? []).contains { $0.target != "host" }
        let ports = !(spec.endpointSpec?.ports ?? []).isEmpty
        let had = current?.virtualIPs != nil || current?.ports != nil
        guard overlays || ports || had else { return (spec.endpointSpec.map { Endpoint(spec: $0) }, nil) }
        if (spec.taskTemplate.networks ?? []).contains(where: { $0.target == "host" }),
           (spec.endpointSpec?.ports ?? []).contains(where: { ($0.publishMode ?? "ingress") == "ingress" }) {
            throw APIError.badRequest("a service on the host network cannot publish ingress-mode ports: its tasks listen on the host's ports (use mode=host, or an overlay network)")
        }
        await waitForAllocator()
        return try await allocator.endpoint(serviceID: serviceID, spec: spec, current: current)
    }

    /// The allocator has taken in the store at least once (after a start, before it hands out numbers).
    func waitForAllocator() async {
        await allocator.processed(through: 1)
    }
}
