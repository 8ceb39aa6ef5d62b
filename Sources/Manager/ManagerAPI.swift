import SwarmAPI

/// The API's operations on services, tasks, nodes and the swarm. Each one
/// validates everything first, so a rejected request changes nothing.
extension ClusterManager {
    // MARK: - Lookups (full ID, name, or unique ID prefix, as Docker)

    public func service(_ ref: String) throws -> Service {
        if let service = services[ref] { return service }
        if let service = services.values.first(where: { $0.spec.name == ref }) { return service }
        let matches = services.values.filter { $0.id.hasPrefix(ref) }
        if matches.count == 1, !ref.isEmpty { return matches[0] }
        throw APIError.notFound("service \(ref) not found")
    }

    public func node(_ ref: String) throws -> Node {
        let ref = ref == "self" ? nodeID : ref
        if let node = nodes[ref] { return node }
        let byName = nodes.values.filter { $0.description.hostname == ref || $0.spec.name == ref }
        if byName.count == 1 { return byName[0] }
        let matches = nodes.values.filter { $0.id.hasPrefix(ref) }
        if matches.count == 1, !ref.isEmpty { return matches[0] }
        if byName.count + matches.count > 1 {
            throw APIError.badRequest("node \(ref) is ambiguous (\(byName.count + matches.count) matches found)")
        }
        throw APIError.notFound("node \(ref) not found")
    }

    public func task(_ ref: String) throws -> SwarmTask {
        if let task = tasks[ref] { return task }
        let matches = tasks.values.filter { $0.id.hasPrefix(ref) }
        if matches.count == 1, !ref.isEmpty { return matches[0] }
        throw APIError.notFound("task \(ref) not found")
    }

    public func allServices() -> [Service] { Array(services.values) }
    public func allNodes() -> [Node] { Array(nodes.values) }
    public func allTasks() -> [SwarmTask] { Array(tasks.values) }
    public func swarmInfo() -> SwarmInfo { swarm }

    // MARK: - Services

    public func createService(_ spec: ServiceSpec) throws -> Service {
        try validate(spec)
        if services.values.contains(where: { $0.spec.name == spec.name }) {
            throw APIError.conflict("rpc error: code = AlreadyExists desc = name conflicts with an existing object: service \(spec.name) already exists")
        }
        let now = clock()
        var service = Service(id: newObjectID(), version: ObjectVersion(index: 0), createdAt: now, spec: spec,
                              specIndex: store.index + 1)
        try store.commit(now: now) { batch in try batch.put(&service) }
        services[service.id] = service
        dirtyServices.insert(service.id)
        requestReconcile()
        return service
    }

    /// Docker's optimistic concurrency: the caller names the version it read.
    public func updateService(_ ref: String, version: UInt64, spec: ServiceSpec, rollback: Bool = false) throws -> Service {
        var service = try self.service(ref)
        guard version == service.version.index else {
            throw APIError(500, "rpc error: code = Unknown desc = update out of sequence")
        }
        var spec = spec
        if rollback {
            guard let previous = service.previousSpec else {
                throw APIError.badRequest("rpc error: code = FailedPrecondition desc = service \(service.id) does not have a previous spec")
            }
            spec = previous
        }
        try validate(spec)
        if spec.name != service.spec.name {
            throw APIError.badRequest("rpc error: code = Unimplemented desc = renaming services is not supported")
        }
        if spec.mode.isGlobal != service.spec.mode.isGlobal {
            throw APIError.badRequest("rpc error: code = Unimplemented desc = service mode change is not allowed")
        }
        let templateChanged = spec.taskTemplate != service.spec.taskTemplate
        service.previousSpec = service.spec
        service.spec = spec
        try store.commit(now: clock()) { batch in
            if templateChanged { service.specIndex = batch.upcomingIndex }
            if templateChanged {
                service.updateStatus = UpdateStatus(state: rollback ? "rollback_started" : "updating", startedAt: clock(),
                                                    message: rollback ? "manually requested rollback" : "update in progress")
            }
            try batch.put(&service)
        }
        services[service.id] = service
        dirtyServices.insert(service.id)
        requestReconcile()
        return service
    }

    public func removeService(_ ref: String) throws {
        let service = try self.service(ref)
        try store.commit(now: clock()) { batch in batch.delete(Service.self, id: service.id) }
        services[service.id] = nil
        dirtyServices.insert(service.id)
        requestReconcile()
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
        for expression in spec.taskTemplate.placement?.constraints ?? [] {
            do { _ = try Constraint(parsing: expression) } catch {
                throw APIError.badRequest("rpc error: code = InvalidArgument desc = \(error)")
            }
        }
        for network in spec.taskTemplate.networks ?? [] where network.target != "host" {
            throw APIError.notFound("network \(network.target) not found: only the host network exists yet")
        }
        for mount in container.mounts ?? [] {
            guard mount.target.hasPrefix("/") else {
                throw APIError.badRequest("rpc error: code = InvalidArgument desc = ContainerSpec: invalid mount target, must be an absolute path: \(mount.target)")
            }
            if mount.type == "bind", !(mount.source ?? "").hasPrefix("/") {
                throw APIError.badRequest("rpc error: code = InvalidArgument desc = ContainerSpec: invalid bind mount source, must be an absolute path: \(mount.source ?? "")")
            }
            guard ["bind", "tmpfs"].contains(mount.type) else {
                throw APIError.badRequest("mount type \(mount.type) is not supported yet: use type=bind or type=tmpfs")
            }
        }
    }

    // MARK: - Nodes

    public func updateNode(_ ref: String, version: UInt64, spec: NodeSpec) throws {
        var node = try self.node(ref)
        guard version == node.version.index else {
            throw APIError(500, "rpc error: code = Unknown desc = update out of sequence")
        }
        if node.spec.role == .manager, spec.role == .worker, nodes.values.filter({ $0.spec.role == .manager }).count == 1 {
            throw APIError.badRequest("rpc error: code = FailedPrecondition desc = attempting to demote the last manager of the swarm")
        }
        if spec.role == .manager && node.spec.role == .worker {
            // More than one manager needs a replicated store (etcd): not built yet.
            throw APIError.badRequest("promoting a worker needs a replicated store, which this swarm does not have yet: keep one manager")
        }
        node.spec = spec
        try commit(tasks: [], nodes: [node])
        requestReconcile()
    }

    public func removeNode(_ ref: String, force: Bool) throws {
        let node = try self.node(ref)
        if node.status.state != .down && !force {
            throw APIError.badRequest("rpc error: code = FailedPrecondition desc = node \(node.id) is not down and can't be removed")
        }
        if node.spec.role == .manager {
            throw APIError.badRequest("rpc error: code = FailedPrecondition desc = node \(node.id) is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal")
        }
        let orphaned = (tasksOfNode[node.id] ?? []).compactMap { tasks[$0] }
        try store.commit(now: clock()) { batch in
            batch.delete(Node.self, id: node.id)
            for task in orphaned { batch.delete(SwarmTask.self, id: task.id) }
        }
        for task in orphaned { unindex(task.id) }
        nodes[node.id] = nil
        lastHeartbeat[node.id] = nil
        everythingDirty = true
        requestReconcile()
    }

    // MARK: - The swarm

    public func rotateJoinToken(worker: Bool, manager: Bool, version: UInt64, newToken: (NodeRole) -> String) throws -> SwarmInfo {
        guard version == swarm.version.index else {
            throw APIError(500, "rpc error: code = Unknown desc = update out of sequence")
        }
        var updated = swarm
        if worker { updated.joinTokens.worker = newToken(.worker) }
        if manager { updated.joinTokens.manager = newToken(.manager) }
        try store.commit(now: clock()) { batch in try batch.put(&updated) }
        swarm = updated
        return updated
    }

    public func updateSwarmSpec(version: UInt64, spec: SwarmSpec) throws {
        guard version == swarm.version.index else {
            throw APIError(500, "rpc error: code = Unknown desc = update out of sequence")
        }
        var updated = swarm
        updated.spec = spec
        try store.commit(now: clock()) { batch in try batch.put(&updated) }
        swarm = updated
    }
}
