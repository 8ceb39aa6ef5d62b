import ClusterStore
import SwarmAPI

/// The API's operations on services, tasks, nodes and the swarm. Each one
/// reads the store, validates everything first, then commits one batch:
/// a rejected request changes nothing. Versions the caller names are
/// checked again in the commit (Docker's optimistic concurrency).
extension ClusterManager {
    static let outOfSequence = APIError(500, "rpc error: code = Unknown desc = update out of sequence")

    static func nameConflict(_ name: String) -> APIError {
        APIError.conflict("rpc error: code = AlreadyExists desc = name conflicts with an existing object: service \(name) already exists")
    }

    /// Commits `batch`; a version that went stale meanwhile is Docker's "update out of sequence".
    @discardableResult
    func commit(_ batch: StoreBatch) async throws -> UInt64 {
        do { return try await store.commit(batch) } catch StoreError.outOfSequence { throw Self.outOfSequence }
    }

    // MARK: - Lookups (full ID, name, or unique ID prefix, as Docker)

    public func service(_ ref: String) async throws -> Service {
        if let service = await store.get(Service.self, id: ref) { return service }
        let services = await store.all(Service.self)
        if let service = services.first(where: { $0.spec.name == ref }) { return service }
        let matches = services.filter { $0.id.hasPrefix(ref) }
        if matches.count == 1, !ref.isEmpty { return matches[0] }
        throw APIError.notFound("service \(ref) not found")
    }

    public func node(_ ref: String) async throws -> Node {
        let ref = ref == "self" ? nodeID : ref
        if let node = await store.get(Node.self, id: ref) { return node }
        let nodes = await store.all(Node.self)
        let byName = nodes.filter { $0.description.hostname == ref || $0.spec.name == ref }
        if byName.count == 1 { return byName[0] }
        let matches = nodes.filter { $0.id.hasPrefix(ref) }
        if matches.count == 1, !ref.isEmpty { return matches[0] }
        if byName.count + matches.count > 1 {
            throw APIError.badRequest("node \(ref) is ambiguous (\(byName.count + matches.count) matches found)")
        }
        throw APIError.notFound("node \(ref) not found")
    }

    public func task(_ ref: String) async throws -> SwarmTask {
        if let task = await store.get(SwarmTask.self, id: ref) { return task }
        let matches = await store.all(SwarmTask.self).filter { $0.id.hasPrefix(ref) }
        if matches.count == 1, !ref.isEmpty { return matches[0] }
        throw APIError.notFound("task \(ref) not found")
    }

    public func allServices() async -> [Service] { await store.all(Service.self) }
    public func allNodes() async -> [Node] { await store.all(Node.self) }
    public func allTasks() async -> [SwarmTask] { await store.all(SwarmTask.self) }
    public func swarmInfo() async throws -> SwarmInfo {
        guard let swarm = await store.all(SwarmInfo.self).first else {
            throw APIError.unavailable("This node is not a swarm manager: the store has no swarm. Use \"swarm init\" or \"swarm join\".")
        }
        return swarm
    }

    // MARK: - Services

    public func createService(_ spec: ServiceSpec) async throws -> Service {
        try validate(spec)
        let spec = try await resolveReferences(try await resolvingNetworks(spec))
        if await store.all(Service.self).contains(where: { $0.spec.name == spec.name }) { throw Self.nameConflict(spec.name) }
        let now = clock()
        var service = Service(id: newObjectID(), version: ObjectVersion(index: 0), createdAt: now, spec: spec, specIndex: 0)
        let (endpoint, token) = try await allocateEndpoint(serviceID: service.id, spec, current: nil)
        service.endpoint = endpoint
        var batch = StoreBatch(now: now)
        // Checked again in the commit: two creates of one name at once make one service.
        let name = spec.name
        batch.requireNone(Service.self, failing: Self.nameConflict(name)) { $0.spec.name == name }
        // The template's index is the index of this change.
        batch.put(service) { service, index in service.specIndex = index }
        try await commit(batch, reserved: token)
        return try await self.service(service.id)
    }

    /// Commits `batch`; the allocator's reservation `token` lasts until it has seen the commit, or ends with a failed one.
    func commit(_ batch: StoreBatch, reserved token: UInt64?) async throws {
        guard let token else { try await commit(batch); return }
        do {
            await allocator.committed(token, at: try await commit(batch))
        } catch {
            await allocator.cancel(token)
            throw error
        }
    }

    /// Docker's optimistic concurrency: the caller names the version it read.
    public func updateService(_ ref: String, version: UInt64, spec: ServiceSpec, rollback: Bool = false) async throws -> Service {
        let service = try await self.service(ref)
        guard version == service.version.index else { throw Self.outOfSequence }
        var spec = spec
        if rollback {
            guard let previous = service.previousSpec else {
                throw APIError.badRequest("rpc error: code = FailedPrecondition desc = service \(service.id) does not have a previous spec")
            }
            spec = previous
        }
        try validate(spec)
        spec = try await resolveReferences(spec)
        if spec.name != service.spec.name {
            throw APIError.badRequest("rpc error: code = Unimplemented desc = renaming services is not supported")
        }
        if spec.mode.isGlobal != service.spec.mode.isGlobal {
            throw APIError.badRequest("rpc error: code = Unimplemented desc = service mode change is not allowed")
        }
        spec = try await resolvingNetworks(spec)
        // New ports or networks reach the tasks by replacing them, as Docker's.
        let templateChanged = spec.taskTemplate != service.spec.taskTemplate || spec.endpointSpec != service.spec.endpointSpec
        let now = clock()
        let newSpec = spec
        let (endpoint, token) = try await allocateEndpoint(serviceID: service.id, spec, current: service.endpoint)
        var batch = StoreBatch(now: now)
        batch.update(Service.self, id: service.id, expecting: version) { service, index in
            if rollback {
                guard service.rollBack(at: now, index: index, message: "manually requested rollback", swap: true) else { return false }
                service.endpoint = endpoint
                return true
            }
            service.previousSpec = service.spec
            service.previousSpecIndex = service.specIndex
            service.spec = newSpec
            service.endpoint = endpoint
            if templateChanged {
                service.specIndex = index
                service.updateStatus = UpdateStatus(state: "updating", startedAt: now, message: "update in progress")
            }
            return true
        }
        try await commit(batch, reserved: token)
        return try await self.service(service.id)
    }

    public func removeService(_ ref: String) async throws {
        let service = try await self.service(ref)
        var batch = StoreBatch(now: clock())
        batch.delete(Service.self, id: service.id)
        // Its tasks are to go in the same commit (the orchestrator stops and
        // deletes them later): a `network rm` right after (`stack rm`) finds
        // no task that still counts as using the network.
        for task in await store.all(SwarmTask.self) where task.serviceID == service.id && task.desiredState <= .running {
            batch.update(SwarmTask.self, id: task.id) { task, _ in
                guard task.desiredState <= .running else { return false }
                task.desiredState = .remove
                return true
            }
        }
        try await commit(batch)
    }

    func validate(_ spec: ServiceSpec) throws {
        let name = spec.name
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
        guard !name.isEmpty, name.count <= 63, name.allSatisfy(allowed.contains), name.first != "-", name.last != "-" else {
            throw APIError.badRequest("rpc error: code = InvalidArgument desc = name must be valid as a DNS name component")
        }
        guard let container = spec.taskTemplate.containerSpec, !container.image.isEmpty else {
            throw APIError.badRequest("rpc error: code = InvalidArgument desc = ContainerSpec: image reference must be provided")
        }
        // Docker expands {{.Task.Slot}}, {{.Node.Hostname}}, … in these; taken literally they would be silently wrong.
        let templatable = (container.env ?? []) + [container.hostname ?? ""] + (container.mounts ?? []).compactMap(\.source)
        if templatable.contains(where: { $0.contains("{{") }) {
            throw APIError(501, "service templates ({{.Task.Slot}}, {{.Node.Hostname}}, … in --env, --hostname or a mount source) are not supported yet: give the value itself")
        }
        for expression in spec.taskTemplate.placement?.constraints ?? [] {
            do { _ = try Constraint(parsing: expression) } catch {
                // swarmkit's constraint parser answers a plain error: gRPC's code Unknown.
                throw APIError.badRequest("rpc error: code = Unknown desc = \(error)")
            }
        }
        try Self.validateKernelSettings(spec)
        for mount in container.mounts ?? [] {
            guard mount.target.hasPrefix("/") else {
                throw APIError.badRequest("rpc error: code = InvalidArgument desc = ContainerSpec: invalid mount target, must be an absolute path: \(mount.target)")
            }
            if mount.type == "bind", !(mount.source ?? "").hasPrefix("/") {
                throw APIError.badRequest("rpc error: code = InvalidArgument desc = ContainerSpec: invalid bind mount source, must be an absolute path: \(mount.source ?? "")")
            }
            guard ["bind", "volume", "tmpfs"].contains(mount.type) else {
                throw APIError(501, "mount type \(mount.type) is not supported yet: use type=bind, volume or tmpfs")
            }
            if mount.type == "volume", let driver = mount.volumeOptions?.driverConfig?.name, !driver.isEmpty, driver != "local" {
                throw APIError(501, "volume driver \(driver) is not supported yet: only local volumes")
            }
        }
    }

    // MARK: - Nodes

    public func updateNode(_ ref: String, version: UInt64, spec: NodeSpec) async throws {
        let node = try await self.node(ref)
        guard version == node.version.index else { throw Self.outOfSequence }
        let managers = await store.all(Node.self).filter { $0.spec.role == .manager }
        if node.spec.role == .manager, spec.role == .worker {
            if managers.count == 1 {
                throw APIError.badRequest("rpc error: code = FailedPrecondition desc = attempting to demote the last manager of the swarm")
            }
            try Self.requireQuorum(without: node, managers: managers)
        }
        if spec.role == .manager && node.spec.role == .worker && !sharedStore {
            throw APIError.badRequest("promoting a worker needs the swarm's state in etcd (swarm init --store etcd://...); this swarm keeps it in its only manager")
        }
        var batch = StoreBatch(now: clock())
        batch.update(Node.self, id: node.id, expecting: version) { node, _ in
            // A demoted manager stops counting as one at once; a promoted
            // node is listed as a manager once it has its certificate (`changeRole`).
            if spec.role == .worker { node.managerStatus = nil }
            node.spec = spec
            return true
        }
        try await commit(batch)
    }

    /// swarmkit's safeguard: the managers left after taking `node` away must
    /// still have a majority of their number reachable.
    static func requireQuorum(without node: Node, managers: [Node]) throws {
        let remaining = managers.filter { $0.id != node.id }
        let reachable = remaining.filter { $0.managerStatus?.reachability == "reachable" }.count
        guard reachable >= remaining.count / 2 + 1 else {
            throw APIError.badRequest("rpc error: code = FailedPrecondition desc = can't remove member from the raft: this would result in a loss of quorum")
        }
    }

    /// A node took the role its spec names (`POST /agent/role`): a new
    /// manager is listed with the address it listens at.
    public func roleTaken(nodeID: String, role: NodeRole, addr: String) async throws {
        var batch = StoreBatch(now: clock())
        batch.update(Node.self, id: nodeID) { node, _ in
            guard node.spec.role == role else { return false }
            node.managerStatus = role == .manager ? ManagerStatus(leader: false, reachability: "reachable", addr: addr) : nil
            return true
        }
        try await commit(batch)
    }

    public func removeNode(_ ref: String, force: Bool) async throws {
        let node = try await self.node(ref)
        // swarmkit's order: a manager is refused first, even with --force.
        if node.spec.role == .manager {
            throw APIError.badRequest("rpc error: code = FailedPrecondition desc = node \(node.id) is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal")
        }
        if node.status.state != .down && !force {
            throw APIError.badRequest("rpc error: code = FailedPrecondition desc = node \(node.id) is not down and can't be removed")
        }
        let orphaned = await store.all(SwarmTask.self).filter { $0.nodeID == node.id }
        var batch = StoreBatch(now: clock())
        batch.delete(Node.self, id: node.id)
        for task in orphaned { batch.delete(SwarmTask.self, id: task.id) }
        try await commit(batch)
    }

    // MARK: - The swarm

    public func rotateJoinToken(worker: Bool, manager: Bool, version: UInt64, newToken: (NodeRole) -> String) async throws -> SwarmInfo {
        let swarm = try await swarmInfo()
        guard version == swarm.version.index else { throw Self.outOfSequence }
        let workerToken = worker ? newToken(.worker) : nil, managerToken = manager ? newToken(.manager) : nil
        var batch = StoreBatch(now: clock())
        batch.update(SwarmInfo.self, id: swarm.id, expecting: version) { swarm, _ in
            if let workerToken { swarm.joinTokens.worker = workerToken }
            if let managerToken { swarm.joinTokens.manager = managerToken }
            return true
        }
        try await commit(batch)
        return try await swarmInfo()
    }

    public func updateSwarmSpec(version: UInt64, spec: SwarmSpec) async throws {
        let swarm = try await swarmInfo()
        guard version == swarm.version.index else { throw Self.outOfSequence }
        var batch = StoreBatch(now: clock())
        batch.update(SwarmInfo.self, id: swarm.id, expecting: version) { swarm, _ in swarm.spec = spec; return true }
        try await commit(batch)
    }
}
