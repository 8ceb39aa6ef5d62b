@testable import NodeAgent
import Testing
import SwarmAPI

/// A deterministic in-memory engine: containers start and stop at once,
/// exit when a test says so, and image pulls or starts fail when told to.
actor FakeEngine: ContainerEngine {
    enum Call: Equatable, Sendable {
        case ensureImage(String)
        case run(taskID: String)
        case stop(containerID: String, grace: Duration)
        case remove(containerID: String)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// In creation order, as the runtime lists them (ids are c1, c2, …).
    private(set) var containers: [TaskContainerState] = []
    private(set) var calls: [Call] = []
    /// How many times the containers were listed.
    private(set) var listings = 0
    /// Container id → the error its removal fails with (it stays).
    var failingRemovals: [String: String] = [:]
    /// Image → the error its pull fails with.
    var failingImages: [String: String] = [:]
    /// Task id → the error its start fails with.
    var failingStarts: [String: String] = [:]
    /// While set, starts wait for `releaseStarts()`.
    enum Hold: Sendable { case start, listing }
    private var holding: Set<Hold> = []
    private var held: [UInt64: (hold: Hold, continuation: CheckedContinuation<Void, Never>)] = [:]
    private var exitWaiters: [UInt64: (containerID: String, continuation: CheckedContinuation<TaskContainerState?, Never>)] = [:]
    private var cancelledWaiters: Set<UInt64> = []
    private var nextToken: UInt64 = 0
    private var nextPid: Int32 = 100

    init(containers: [TaskContainerState] = []) {
        self.containers = containers
    }

    func failImage(_ image: String, with error: String) { failingImages[image] = error }
    func failStart(of taskID: String, with error: String) { failingStarts[taskID] = error }
    func holdStarts() { holding.insert(.start) }
    func failRemoval(of containerID: String, with error: String) { failingRemovals[containerID] = error }

    /// Removed by someone else (`swarm container rm`), not through the engine.
    func removeBehindTheBack(_ containerID: String) {
        containers.removeAll { $0.id == containerID }
        resumeWaiters(of: containerID, with: nil)
    }

    func releaseStarts() {
        release(.start)
    }

    var heldStartCount: Int { held.values.filter { $0.hold == .start }.count }

    func holdListings() { holding.insert(.listing) }

    func releaseListings() {
        release(.listing)
    }

    var heldListingCount: Int { held.values.filter { $0.hold == .listing }.count }
    var watcherCount: Int { exitWaiters.count }

    func container(ofTask taskID: String) -> TaskContainerState? {
        containers.last { $0.taskID == taskID }
    }

    /// The container's process ends with `code`.
    func exit(task taskID: String, code: Int32) {
        guard let index = containers.lastIndex(where: { $0.taskID == taskID && $0.isRunning }) else {
            Issue.record("task \(taskID) has no running container")
            return
        }
        end(index, code: code)
    }

    // MARK: - ContainerEngine

    /// While listings are held, the snapshot is taken at once and handed
    /// out on release: a listing that is stale by the time it arrives.
    func taskContainers() async -> [TaskContainerState] {
        listings += 1
        let snapshot = containers
        if holding.contains(.listing) { await wait(.listing) }
        return snapshot
    }

    func ensureImage(_ reference: String) throws {
        calls.append(.ensureImage(reference))
        if let error = failingImages[reference] { throw Failure(description: error) }
    }

    func run(_ task: SwarmTask) async throws -> TaskContainerState {
        calls.append(.run(taskID: task.id))
        if holding.contains(.start) { await wait(.start) }
        if let error = failingStarts[task.id] { throw Failure(description: error) }
        nextPid += 1
        let container = TaskContainerState(id: "c\(containers.count + 1)", taskID: task.id, status: .running, pid: nextPid)
        containers.append(container)
        return container
    }

    func inspect(_ containerID: String) throws -> TaskContainerState {
        guard let container = containers.first(where: { $0.id == containerID }) else {
            throw Failure(description: "No such container: \(containerID)")
        }
        return container
    }

    /// Ends the container as its stop signal would (SIGTERM: 143).
    func stop(_ containerID: String, grace: Duration) throws -> TaskContainerState {
        calls.append(.stop(containerID: containerID, grace: grace))
        guard let index = containers.firstIndex(where: { $0.id == containerID }) else {
            throw Failure(description: "No such container: \(containerID)")
        }
        if containers[index].isRunning { end(index, code: 143) }
        return containers[index]
    }

    func remove(_ containerID: String) throws {
        calls.append(.remove(containerID: containerID))
        if let error = failingRemovals[containerID] { throw Failure(description: error) }
        guard let index = containers.firstIndex(where: { $0.id == containerID }) else {
            throw Failure(description: "No such container: \(containerID)")
        }
        containers.remove(at: index)
        resumeWaiters(of: containerID, with: nil)
    }

    func waitForExit(_ containerID: String) async -> TaskContainerState? {
        guard let container = containers.first(where: { $0.id == containerID }) else { return nil }
        guard container.isRunning else { return container }
        nextToken += 1
        let token = nextToken
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if cancelledWaiters.remove(token) != nil {
                    continuation.resume(returning: nil)
                } else {
                    exitWaiters[token] = (containerID, continuation)
                }
            }
        } onCancel: {
            Task { await self.cancelWaiter(token) }
        }
    }

    // MARK: - Helpers

    /// Waits until released, or until the waiting task is cancelled: a
    /// test that failed while holding must not hang the agent.
    private func wait(_ hold: Hold) async {
        nextToken += 1
        let token = nextToken
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if cancelledWaiters.remove(token) != nil { continuation.resume() } else { held[token] = (hold, continuation) }
            }
        } onCancel: {
            Task { await self.cancelWait(token) }
        }
    }

    private func cancelWait(_ token: UInt64) {
        guard let waiter = held.removeValue(forKey: token) else {
            cancelledWaiters.insert(token)
            return
        }
        waiter.continuation.resume()
    }

    private func release(_ hold: Hold) {
        holding.remove(hold)
        for (token, waiter) in held where waiter.hold == hold {
            held[token] = nil
            waiter.continuation.resume()
        }
    }

    private func end(_ index: Int, code: Int32) {
        containers[index].status = .exited
        containers[index].exitCode = code
        containers[index].pid = 0
        resumeWaiters(of: containers[index].id, with: containers[index])
    }

    private func resumeWaiters(of containerID: String, with state: TaskContainerState?) {
        for (token, waiter) in exitWaiters where waiter.containerID == containerID {
            exitWaiters[token] = nil
            waiter.continuation.resume(returning: state)
        }
    }

    private func cancelWaiter(_ token: UInt64) {
        guard let waiter = exitWaiters.removeValue(forKey: token) else {
            cancelledWaiters.insert(token)
            return
        }
        waiter.continuation.resume(returning: nil)
    }
}
