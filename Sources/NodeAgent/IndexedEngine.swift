import SwarmAPI

/// An engine with an in-memory index of the node's task containers. The
/// agent asks for the task containers on every assignment pass, and the
/// manager sends a new assignment set on every change of the node's tasks:
/// listing them from the runtime (every container's record and state read
/// from disk) made n tasks cost O(n²). Here the wrapped engine is listed
/// once, at the first `taskContainers()` — how an agent restarted after a
/// kill -9 re-adopts what runs — and the index then follows what goes
/// through it: a start adds, an exit, a stop or an inspection updates, a
/// removal drops. A container removed behind the agent's back stays in the
/// index until its removal fails to find it.
public actor IndexedEngine: ContainerEngine {
    let engine: any ContainerEngine
    /// Container id → its last known state and when it joined the index.
    private var entries: [String: (state: TaskContainerState, order: UInt64)] = [:]
    private var nextOrder: UInt64 = 0
    private var loaded = false
    /// Removed while the first listing was under way: it must not bring
    /// them back.
    private var removedBeforeLoad: Set<String> = []

    public init(_ engine: any ContainerEngine) {
        self.engine = engine
    }

    /// In the order they joined the index (the listing's order first).
    public func taskContainers() async -> [TaskContainerState] {
        if !loaded {
            let listed = await engine.taskContainers()
            if !loaded {
                loaded = true
                // What went through the index meanwhile is newer than the listing.
                for container in listed where entries[container.id] == nil && !removedBeforeLoad.contains(container.id) {
                    add(container)
                }
                removedBeforeLoad = []
            }
        }
        return entries.values.sorted { $0.order < $1.order }.map(\.state)
    }

    public func ensureImage(_ reference: String) async throws {
        try await engine.ensureImage(reference)
    }

    public func run(_ task: SwarmTask) async throws -> TaskContainerState {
        try await run(task, networkNamespace: nil)
    }

    public func run(_ task: SwarmTask, networkNamespace: String?) async throws -> TaskContainerState {
        let container = try await engine.run(task, networkNamespace: networkNamespace)
        add(container)
        return container
    }

    public func inspect(_ containerID: String) async throws -> TaskContainerState {
        let container = try await engine.inspect(containerID)
        update(container)
        return container
    }

    public func stop(_ containerID: String, grace: Duration) async throws -> TaskContainerState {
        let container = try await engine.stop(containerID, grace: grace)
        update(container)
        return container
    }

    public func remove(_ containerID: String) async throws {
        do {
            try await engine.remove(containerID)
            drop(containerID)
        } catch {
            // Still there (a removal that failed half-way): kept, so the
            // next pass tries again; gone already: dropped.
            if let container = try? await engine.inspect(containerID) {
                update(container)
            } else {
                drop(containerID)
            }
            throw error
        }
    }

    public func waitForExit(_ containerID: String) async -> TaskContainerState? {
        let container = await engine.waitForExit(containerID)
        if let container { update(container) }
        return container
    }

    // MARK: - The index

    /// A newer state of a container in the index; one removed meanwhile
    /// (a late exit) is not brought back.
    private func update(_ container: TaskContainerState) {
        guard let entry = entries[container.id] else { return }
        entries[container.id] = (container, entry.order)
    }

    private func add(_ container: TaskContainerState) {
        nextOrder += 1
        entries[container.id] = (container, nextOrder)
    }

    private func drop(_ containerID: String) {
        entries[containerID] = nil
        if !loaded { removedBeforeLoad.insert(containerID) }
    }
}
