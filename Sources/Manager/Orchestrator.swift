import ClusterStore
import Logging
import SwarmAPI

/// The orchestrator: makes every service's tasks match its spec
/// (replicated slots, one task per eligible node for global services,
/// restart policy with delay, max attempts and window, rolling updates,
/// task history). It reads the store's watch and commits its decisions;
/// new tasks go to the allocator and the scheduler through the store.
actor Orchestrator: StoreFollower {
    let store: any ClusterStore
    let clock: @Sendable () -> Timestamp
    let logger = Logger(label: "swarm.manager.orchestrator")
    private var view = ClusterView()
    var progress = ProgressWaiters()

    // In memory, like swarmkit's restart supervisor: a restarted manager
    // starts waiting tasks at once.
    private var restartAt: [String: Timestamp] = [:]
    private var restartHistory: [String: [Timestamp]] = [:]
    /// Services to look at whole (their spec changed, an update runs)…
    private var dirtyServices: Set<String> = []
    /// …and replicated slots to look at alone (one of their tasks changed):
    /// a task failing among 1,000 replicas costs one slot, not 1,000.
    private var dirtySlots: [String: Set<Int>] = [:]
    private var everythingDirty = true
    /// Rolling updates in progress, and when a service's update should be
    /// looked at again (a delay or a monitor period running out).
    private var updates: [String: RollingUpdate] = [:]
    private var updateWake: [String: Timestamp] = [:]
    /// Stop-first replacements (desired `ready`) → the task each waits to
    /// see stopped before it may start: two tasks of one slot never run at
    /// once (they may share its volumes and ports).
    private var startAfterStop: [String: String] = [:]

    init(store: any ClusterStore, clock: @escaping @Sendable () -> Timestamp) {
        self.store = store
        self.clock = clock
    }

    func handle(_ event: StoreEvent) async {
        absorb(event)
        await reconcile()
    }

    private func absorb(_ event: StoreEvent) {
        switch event {
        case .snapshot(let snapshot):
            view = ClusterView(snapshot)
            everythingDirty = true
            let now = clock()
            for task in view.allTasks where task.desiredState == .ready && restartAt[task.id] == nil { restartAt[task.id] = now }
        case .changes(let changes):
            for change in changes {
                if case .task(let task) = change.object, needsLook(change.action, view.task(task.id), task) {
                    if let slot = task.slot { dirtySlots[task.serviceID, default: []].insert(slot) } else { dirtyServices.insert(task.serviceID) }
                }
                view.apply(change)
                switch change.object {
                case .task(let task):
                    if change.action == .deleted { restartAt[task.id] = nil }
                case .service(let service):
                    dirtyServices.insert(service.id)
                    if change.action == .deleted { updates[service.id] = nil; updateWake[service.id] = nil }
                case .node: everythingDirty = true
                case .swarm, .network, .secret, .config: break
                }
            }
        }
    }

    /// Whether a task's change can change a decision: an agent's progress
    /// between non-final states (pending → assigned → … → running) does not, unless
    /// its service is being updated (the update waits for it). Passes are
    /// O(tasks of the service): thousands of progress reports must not each
    /// cost one.
    private func needsLook(_ action: StoreChange.Action, _ old: SwarmTask?, _ new: SwarmTask) -> Bool {
        guard action == .updated, let old else { return true }
        if old.desiredState != new.desiredState || old.status.state.isTerminal != new.status.state.isTerminal {
            return true
        }
        // The scheduler's assignment matters only when the node can no
        // longer run the task (it went down meanwhile): one pass per
        // assignment commit would cost O(tasks of the service) each.
        if old.nodeID != new.nodeID && (old.nodeID != nil || !nodeUsable(new.nodeID)) { return true }
        let update = view.services[new.serviceID]?.updateStatus?.state
        return update == "updating" || update == "rollback_started"
    }

    /// Restart delays that ran out: those tasks may start now. Updates
    /// waiting for a delay or a monitor period get another pass.
    func tick() async {
        let now = clock()
        let due = updateWake.filter { $0.value <= now }.keys
        if !due.isEmpty {
            for id in due { updateWake[id] = nil; dirtyServices.insert(id) }
            await reconcile()
        }
        for (replacement, old) in startAfterStop {
            let task = view.task(old)
            guard task == nil || task!.status.state.isTerminal || (task!.nodeID != nil && !nodeUsable(task!.nodeID)) else { continue }
            startAfterStop[replacement] = nil
            restartAt[replacement] = now
        }
        var batch = StoreBatch(now: now)
        for (id, at) in restartAt where at <= now {
            restartAt[id] = nil
            batch.update(SwarmTask.self, id: id) { task, _ in
                guard task.desiredState == .ready else { return false }
                task.desiredState = .running
                return true
            }
        }
        guard !batch.isEmpty else { return }
        do { try await store.commit(batch) } catch is CancellationError {} catch { logger.error("restart: \(error)") }
    }

    /// For every service that changed (or all, after a node changed), make
    /// its tasks match its spec, and commit that as one batch.
    private func reconcile() async {
        let now = clock()
        let whole: Set<String> = everythingDirty ? Set(view.services.keys).union(view.tasksOfService.keys) : dirtyServices
        let slots = dirtySlots
        everythingDirty = false
        dirtyServices = []
        dirtySlots = [:]
        var changes = PendingChanges()
        for (id, numbers) in slots where !whole.contains(id) {
            if let service = view.services[id], orchestrateSlots(service, numbers, now, &changes) { continue }
            orchestrate(id, now, &changes)
        }
        for id in whole { orchestrate(id, now, &changes) }
        let batch = changes.batch(now: now)
        guard !batch.isEmpty else { return }
        do {
            try await store.commit(batch)
        } catch is CancellationError {
            // The manager is stopping.
        } catch {
            // The store refused: decide again on the next change.
            logger.error("reconcile: \(error)")
            everythingDirty = true
        }
    }

    /// Makes all of one service's tasks match its spec.
    private func orchestrate(_ id: String, _ now: Timestamp, _ changes: inout PendingChanges) {
        let current = view.tasks(ofService: id)
        guard let service = view.services[id] else { return retire(current, &changes) }
        if service.spec.mode.isGlobal {
            orchestrateGlobal(service, current, now, &changes)
        } else {
            orchestrateReplicated(service, current, now, &changes)
        }
    }

    /// Reconciles only the given slots of a replicated service; false, and
    /// nothing decided, when the service needs a whole pass instead: it is
    /// global or updating, or a slot holds a task of an older template (an
    /// update to make, which counts every slot).
    private func orchestrateSlots(_ service: Service, _ numbers: Set<Int>, _ now: Timestamp, _ changes: inout PendingChanges) -> Bool {
        guard !service.spec.mode.isGlobal else { return false }
        let state = service.updateStatus?.state
        if state == "updating" || state == "rollback_started" { return false }
        let slots = numbers.map { ($0, view.tasks(ofSlot: $0, service: service.id)) }
        let outdated = slots.contains { _, tasks in
            tasks.contains { $0.specIndex != service.specIndex && $0.desiredState <= .running && !$0.status.state.isTerminal }
        }
        if outdated { return false }
        let replicas = Int(service.spec.mode.replicated?.replicas ?? 1)
        for (number, tasks) in slots {
            if number > replicas || number < 1 {
                retire(tasks, &changes)
            } else {
                _ = reconcileSlot(service, slot: number, node: nil, tasks, now, &changes)
                trimHistory(service, [tasks], &changes)
            }
        }
        return true
    }

    /// Shorthands for the view, as the rules below read them.
    private var nodes: [String: Node] { view.nodes }
    private var swarm: SwarmInfo? { view.swarm }

    /// A node can run a task of a service when it is up and not drained.
    private func nodeUsable(_ nodeID: String?) -> Bool {
        guard let nodeID, let node = nodes[nodeID] else { return false }
        return node.status.state == .ready && node.spec.availability != .drain
    }

    /// A task that counts for its slot: meant to run, not ended, and on a
    /// node that is up (or not placed yet).
    private func isLive(_ task: SwarmTask) -> Bool {
        task.desiredState <= .running && !task.status.state.isTerminal && (task.nodeID == nil || nodeUsable(task.nodeID))
    }

    private func orchestrateReplicated(_ service: Service, _ current: [SwarmTask], _ now: Timestamp, _ changes: inout PendingChanges) {
        let replicas = Int(service.spec.mode.replicated?.replicas ?? 1)
        var slots: [Int: [SwarmTask]] = [:]
        for task in current { slots[task.slot ?? 0, default: []].append(task) }
        for (slot, slotTasks) in slots where slot > replicas || slot < 1 {
            retire(slotTasks, &changes)
        }
        var outdated: [SwarmTask] = []
        var updating = 0
        for slot in 1...max(replicas, 1) where slot <= replicas {
            let live = reconcileSlot(service, slot: slot, node: nil, slots[slot] ?? [], now, &changes)
            if let live {
                if live.specIndex != service.specIndex { outdated.append(live) }
                else if live.status.state < .running { updating += 1 }
            }
        }
        rollingUpdate(service, current, outdated: outdated, inFlight: updating, now, &changes)
        trimHistory(service, slots.values.map { $0 }, &changes)
    }

    private func orchestrateGlobal(_ service: Service, _ current: [SwarmTask], _ now: Timestamp, _ changes: inout PendingChanges) {
        var byNode: [String: [SwarmTask]] = [:]
        for task in current { byNode[task.nodeID ?? "", default: []].append(task) }
        let constraints = (service.spec.taskTemplate.placement?.constraints ?? []).compactMap { try? Constraint(parsing: $0) }
        var outdated: [SwarmTask] = []
        var updating = 0
        for node in nodes.values {
            let eligible = node.status.state == .ready && node.spec.availability == .active && constraints.allSatisfy { $0.matches(node) }
            let nodeTasks = byNode.removeValue(forKey: node.id) ?? []
            if eligible || (node.spec.availability == .pause && node.status.state == .ready) {
                if !eligible && !nodeTasks.contains(where: isLive) { continue }
                if let live = reconcileSlot(service, slot: nil, node: node.id, nodeTasks, now, &changes) {
                    if live.specIndex != service.specIndex { outdated.append(live) }
                    else if live.status.state < .running { updating += 1 }
                }
            } else {
                retire(nodeTasks, &changes)
            }
        }
        for (_, tasks) in byNode { retire(tasks, &changes) }
        rollingUpdate(service, current, outdated: outdated, inFlight: updating, now, &changes)
        trimHistory(service, Array(Dictionary(grouping: current, by: { $0.nodeID ?? "" }).values), &changes)
    }

    /// Makes one slot (or one node of a global service) have one live task.
    /// Returns that task.
    private func reconcileSlot(_ service: Service, slot: Int?, node: String?, _ slotTasks: [SwarmTask], _ now: Timestamp,
                       _ changes: inout PendingChanges) -> SwarmTask? {
        var live: [SwarmTask] = []
        var restart: (delay: Int64, exited: Bool)? = nil
        var lastEnded: SwarmTask? = nil
        for original in slotTasks {
            var task = changes.updated[original.id] ?? original
            guard task.desiredState <= .running else { continue }
            if task.status.state.isTerminal {
                // It ended on its own: shut it down for good and apply the restart policy.
                task.desiredState = .shutdown
                changes.update(task)
                lastEnded = task
                if shouldRestart(service, task, now) {
                    restart = (service.spec.taskTemplate.restartPolicy?.delay ?? RestartPolicy.defaultDelay, true)
                }
            } else if task.nodeID != nil && !nodeUsable(task.nodeID) {
                // Its node is down or drained: run it elsewhere now.
                task.desiredState = .shutdown
                changes.update(task)
                restart = (0, false)
            } else {
                live.append(task)
            }
        }
        // More than one live task: a start-first replacement still starting
        // beside the task it replaces (both stay; the slot counts as in
        // flight), or else (e.g. after a manager restart mid-update) keep
        // the most advanced; of two as advanced, the one on the current
        // template (a start-first replacement that caught up with the task it
        // replaces), then the newer.
        func current(_ task: SwarmTask) -> Int { task.specIndex == service.specIndex ? 1 : 0 }
        live.sort { ($0.status.state, current($0), $0.createdAt) > ($1.status.state, current($1), $1.createdAt) }
        if live.count > 1, let fresh = live.first(where: { $0.specIndex == service.specIndex && $0.status.state < .running }),
           let serving = live.first(where: { $0.specIndex != service.specIndex && $0.status.state == .running }) {
            for var extra in live where extra.id != fresh.id && extra.id != serving.id {
                extra.desiredState = .shutdown
                changes.update(extra)
            }
            return fresh
        }
        for var extra in live.dropFirst() {
            extra.desiredState = .shutdown
            changes.update(extra)
        }
        if let keep = live.first { return keep }
        if restart == nil {
            // Nothing live and nothing just ended: a new slot, or one whose
            // last task ended earlier and was not restarted.
            let newest = slotTasks.max { $0.createdAt < $1.createdAt }
            if let newest, lastEnded == nil, [.complete, .failed, .rejected].contains(newest.status.state),
               newest.specIndex == service.specIndex {
                return nil
            }
            if lastEnded != nil { return nil }
            restart = (0, false)
        }
        guard let restart else { return nil }
        if restart.exited {
            // Only the recent restarts matter (max attempts within a window): keep a bounded tail.
            let key = slotKey(service.id, slot, node)
            restartHistory[key, default: []].append(now)
            let keep = max(64, Int(service.spec.taskTemplate.restartPolicy?.maxAttempts ?? 0))
            if restartHistory[key]!.count > keep { restartHistory[key]!.removeFirst(restartHistory[key]!.count - keep) }
        }
        var task = newTask(service, slot: slot, node: node, now)
        if restart.delay > 0 {
            task.desiredState = .ready
            restartAt[task.id] = now.adding(nanoseconds: restart.delay)
        }
        changes.created.append(task)
        return task
    }

    private func slotKey(_ service: String, _ slot: Int?, _ node: String?) -> String {
        "\(service)/\(slot.map(String.init) ?? node ?? "")"
    }

    /// Docker's restart policy: condition, then max attempts within window.
    private func shouldRestart(_ service: Service, _ task: SwarmTask, _ now: Timestamp) -> Bool {
        let policy = service.spec.taskTemplate.restartPolicy
        switch policy?.condition ?? .any {
        case .none: return false
        case .onFailure: if task.status.state == .complete { return false }
        case .any: break
        }
        if let maxAttempts = policy?.maxAttempts, maxAttempts > 0 {
            let window = policy?.window ?? 0
            let key = slotKey(service.id, task.slot, task.slot == nil ? task.nodeID : nil)
            let recent = (restartHistory[key] ?? []).filter { window == 0 || now.nanoseconds - $0.nanoseconds <= window }
            restartHistory[key] = recent
            if recent.count >= Int(maxAttempts) { return false }
        }
        return true
    }

    private func newTask(_ service: Service, slot: Int?, node: String?, _ now: Timestamp) -> SwarmTask {
        SwarmTask(id: newObjectID(), version: ObjectVersion(index: 0), createdAt: now, spec: service.spec.taskTemplate,
                  serviceID: service.id, slot: slot, nodeID: node,
                  status: TaskStatus(timestamp: now, state: .new, message: "created"),
                  desiredState: .running, specIndex: service.specIndex, serviceName: service.spec.name)
    }

    /// Replaces tasks made from an older template as the service's update
    /// (or rollback) config says: `parallelism` at a time (0 = all), `delay`
    /// after each replacement runs, stop-first or start-first, and on
    /// failures within the monitor period beyond `maxFailureRatio` pause,
    /// continue or roll back; done once every slot has run the new template
    /// for one monitor period (Docker's UpdateStatus throughout).
    private func rollingUpdate(_ service: Service, _ tasks: [SwarmTask], outdated: [SwarmTask], inFlight: Int, _ now: Timestamp,
                               _ changes: inout PendingChanges) {
        let state = service.updateStatus?.state
        let rollingBack = state == "rollback_started"
        guard state == "updating" || rollingBack || !outdated.isEmpty else { return }
        // A paused update waits for the next `service update`.
        if state == "paused" || state == "rollback_paused" { return }
        if updates[service.id]?.specIndex != service.specIndex {
            updates[service.id] = RollingUpdate(specIndex: service.specIndex, slotsToUpdate: outdated.count + inFlight)
        }
        let config = (rollingBack ? service.spec.rollbackConfig : service.spec.updateConfig) ?? UpdateConfig()
        let decision = updates[service.id]!.decide(config: config, rollingBack: rollingBack, tasks: tasks,
                                                    outdated: outdated.count, pending: inFlight, now: now)
        switch decision {
        case .replace(let count):
            let startFirst = config.order == "start-first"
            for var old in outdated.sorted(by: { ($0.slot ?? 0) < ($1.slot ?? 0) }).prefix(count) {
                if !startFirst {
                    old.desiredState = .shutdown
                    changes.update(old)
                }
                var replacement = newTask(service, slot: old.slot, node: old.slot == nil ? old.nodeID : nil, now)
                if !startFirst && !old.status.state.isTerminal && old.nodeID != nil {
                    // Stop-first: it starts once the old task has stopped (`tick`).
                    replacement.desiredState = .ready
                    startAfterStop[replacement.id] = old.id
                }
                updates[service.id]!.made(replacement.id)
                changes.created.append(replacement)
            }
        case .wait(let until):
            if let until { updateWake[service.id] = until }
        case .complete:
            updates[service.id] = nil
            guard var status = service.updateStatus, state == "updating" || rollingBack else { return }
            status.state = rollingBack ? "rollback_completed" : "completed"
            status.completedAt = now
            status.message = rollingBack ? "rollback completed" : "update completed"
            var done = service
            done.updateStatus = status
            changes.services.append(done)
        case .pause(let message):
            updates[service.id] = nil
            var paused = service
            paused.updateStatus = UpdateStatus(state: rollingBack ? "rollback_paused" : "paused",
                                               startedAt: service.updateStatus?.startedAt ?? now, message: message)
            changes.services.append(paused)
        case .rollback(let message):
            updates[service.id] = nil
            changes.rollbacks.append((service.id, service.specIndex, message))
        }
    }

    /// Stops tasks that no longer belong (scaled away, node gone) and
    /// deletes them once they have ended.
    private func retire(_ retired: [SwarmTask], _ changes: inout PendingChanges) {
        for original in retired {
            var task = changes.updated[original.id] ?? original
            let ended = task.status.state.isTerminal || task.nodeID == nil || nodes[task.nodeID!]?.status.state != .ready
            if ended && task.desiredState >= .shutdown {
                changes.deleted.insert(task.id)
                changes.updated[task.id] = nil
            } else if task.desiredState <= .running {
                task.desiredState = .remove
                changes.update(task)
            }
        }
    }

    /// Keeps the last `TaskHistoryRetentionLimit` tasks per slot (Docker: 5).
    private func trimHistory(_ service: Service, _ groups: [[SwarmTask]], _ changes: inout PendingChanges) {
        let limit = Int(swarm?.spec.orchestration.taskHistoryRetentionLimit ?? 5)
        for group in groups where group.count > limit {
            let ended = group.filter { $0.status.state.isTerminal && $0.desiredState > .running }
                .sorted { $0.createdAt < $1.createdAt }
            for task in ended.prefix(group.count - limit) {
                changes.deleted.insert(task.id)
                changes.updated[task.id] = nil
            }
        }
    }
}
