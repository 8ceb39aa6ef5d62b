@testable import NodeAgent
import SwarmAPI
import Testing

/// An in-process manager for one agent: holds the node's task set, takes
/// status batches as the dispatcher does (forward moves only, each change
/// a new assignments version), and answers the long poll when the set
/// changes. Tests change the set and wait for reports.
actor FakeManagerLink: ManagerLink {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private var tasks: [SwarmTask] = []
    private var version: UInt64 = 1
    private var networks: [NetworkView]?
    private(set) var batches: [StatusBatch] = []
    private(set) var sessions = 0
    /// The version the agent last polled with: it applied that set.
    private var polledVersion: UInt64?
    /// The next this-many status batches fail.
    private var failingReports = 0
    private var pollers: [UInt64: CheckedContinuation<Void, Never>] = [:]
    private var cancelledPollers: Set<UInt64> = []
    private var nextToken: UInt64 = 0

    init(tasks: [SwarmTask] = []) { self.tasks = tasks }

    // MARK: - ManagerLink

    func openSession(_ request: SessionRequest) -> SessionResponse {
        sessions += 1
        return SessionResponse(nodeID: "node-1", heartbeatPeriod: 5_000_000_000)
    }

    func heartbeat() -> SessionResponse {
        SessionResponse(nodeID: "node-1", heartbeatPeriod: 5_000_000_000)
    }

    func report(_ batch: StatusBatch) throws {
        if failingReports > 0 {
            failingReports -= 1
            throw Failure(description: "manager: unavailable")
        }
        batches.append(batch)
        for update in batch.updates {
            guard let index = tasks.firstIndex(where: { $0.id == update.taskID }),
                  tasks[index].status.state < update.status.state else { continue }
            tasks[index].status = update.status
        }
        changed()
    }

    func assignments(since: UInt64?) async -> Assignments {
        polledVersion = since
        if since == version {
            nextToken += 1
            let token = nextToken
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    if cancelledPollers.remove(token) != nil { continuation.resume() } else { pollers[token] = continuation }
                }
            } onCancel: {
                Task { await self.cancelPoller(token) }
            }
        }
        var answer = Assignments(version: version, tasks: tasks)
        answer.networks = networks
        return answer
    }

    /// The network views sent with every answer from now on.
    func setNetworks(_ views: [NetworkView]?) {
        networks = views
        changed()
    }

    // MARK: - The test's side

    /// Values by "secrets/ID" or "configs/ID".
    var values: [String: String] = [:]

    func secretValue(_ kind: SecretKind, id: String) throws -> String {
        guard let value = values["\(kind.rawValue)/\(id)"] else { throw Failure(description: "\(kind.rawValue) \(id) is not granted") }
        return value
    }

    func assign(_ task: SwarmTask) {
        tasks.removeAll { $0.id == task.id }
        tasks.append(task)
        changed()
    }

    func setDesiredState(_ taskID: String, _ state: TaskState) {
        guard let index = tasks.firstIndex(where: { $0.id == taskID }) else { return }
        tasks[index].desiredState = state
        changed()
    }

    func unassign(_ taskID: String) {
        tasks.removeAll { $0.id == taskID }
        changed()
    }

    /// The agent applied the current set and waits for the next.
    var isUpToDate: Bool { polledVersion == version }

    func failNextReports(_ count: Int) { failingReports = count }

    func task(_ taskID: String) -> SwarmTask? { tasks.first { $0.id == taskID } }

    /// Every status the agent sent for the task, in order.
    func statuses(of taskID: String) -> [TaskStatus] {
        batches.flatMap(\.updates).filter { $0.taskID == taskID }.map(\.status)
    }

    // MARK: - Helpers

    private func changed() {
        version += 1
        for poller in pollers.values { poller.resume() }
        pollers = [:]
    }

    private func cancelPoller(_ token: UInt64) {
        guard let poller = pollers.removeValue(forKey: token) else {
            cancelledPollers.insert(token)
            return
        }
        poller.resume()
    }
}
