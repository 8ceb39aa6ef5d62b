import ClusterStore
import Logging
import SwarmAPI
import SwarmClient

/// The cluster as a visualizer run as a service sees it (the seed's way:
/// the manager's socket mounted in its container): read through the Engine
/// API (`GET /nodes`, `/services`, `/tasks`), again after each line of
/// `GET /events`. It is the store the visualizer's board watches there: its
/// watch delivers each reading as a snapshot; it takes no commits.
public struct EngineMirror: ClusterStore {
    let readings: MirrorReadings

    public init() { readings = MirrorReadings() }

    public struct ReadOnly: Error, CustomStringConvertible {
        public var description: String { "the Engine API mirror is read-only" }
    }

    public func commit(_ batch: StoreBatch) async throws -> UInt64 { throw ReadOnly() }
    public func snapshot() async -> StoreSnapshot { await readings.current }
    public var index: UInt64 { get async { await readings.current.index } }

    public func all<T: StoredObject>(_ type: T.Type) async -> [T] {
        let snapshot = await readings.current
        let objects: [StoreObject] = snapshot.nodes.map(\.stored) + snapshot.services.map(\.stored)
            + snapshot.tasks.map(\.stored) + snapshot.networks.map(\.stored)
        return objects.compactMap { T($0) }
    }

    public func get<T: StoredObject>(_ type: T.Type, id: String) async -> T? {
        await all(type).first { $0.id == id }
    }

    public func watch(from index: UInt64) -> StoreWatch {
        let readings = self.readings
        return StoreWatch(from: index) { cursor in
            let snapshot = await readings.next(after: cursor)
            return (.snapshot(snapshot), snapshot.index)
        }
    }

    /// Reads the cluster through `engine` (`unix:///var/run/docker.sock`)
    /// after every line of its event stream, and every second: task states
    /// are in no event (Docker's API has none for them either), so a task
    /// that starts shows within a second. A lost stream is opened again
    /// after a second. Until the task is cancelled.
    public func follow(engine: String, logger: Logger) async {
        let readings = self.readings
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    do { try await Self.read(engine, into: readings) } catch { logger.warning("engine \(engine): \(error)") }
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    // The client's socket reads block: the event stream gets a
                    // thread of its own for as long as it lasts.
                    _ = try? await Task.detached {
                        try await APIClient.with(host: engine) { client in
                            try await client.stream("/events") { _ in Task { try? await Self.read(engine, into: readings) } }
                        }
                    }.value
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
    }
}

/// The mirror's readings, newest last: each one a snapshot with an index
/// one higher, handed to the watches waiting for it. The reads themselves
/// (blocking socket calls) happen outside, in `EngineMirror.read`.
actor MirrorReadings {
    private(set) var current = StoreSnapshot(index: 0, swarm: nil, nodes: [], services: [], tasks: [])
    private var waiting: [CheckedContinuation<StoreSnapshot, Never>] = []
    private var reading = false
    private var again = false

    /// Whether the caller is to read now; if a read is under way, it reads once more after.
    func begin() -> Bool {
        if reading { again = true; return false }
        reading = true
        return true
    }

    /// Whether the reader is to read again (events came in meanwhile).
    func end(failed: Bool = false) -> Bool {
        if again && !failed { again = false; return true }
        reading = false; again = false
        return false
    }

    func publish(nodes: [Node], services: [Service], tasks: [SwarmTask]) {
        // Unchanged: no new reading, so the board sends nothing.
        if current.index > 0 && nodes == current.nodes && services == current.services && tasks == current.tasks { return }
        current = StoreSnapshot(index: current.index + 1, swarm: nil, nodes: nodes, services: services, tasks: tasks)
        for waiter in waiting { waiter.resume(returning: current) }
        waiting = []
    }

    /// The first reading after `cursor`, waiting for it.
    func next(after cursor: UInt64) async -> StoreSnapshot {
        if current.index > cursor { return current }
        return await withCheckedContinuation { waiting.append($0) }
    }
}

extension EngineMirror {
    /// Reads nodes, services and tasks into `readings`; asked for while a
    /// read runs, it is done once after that one (events come in bursts).
    static func read(_ engine: String, into readings: MirrorReadings) async throws {
        guard await readings.begin() else { return }
        repeat {
            do {
                let (nodes, services, tasks) = try await APIClient.with(host: engine) { client in
                    (try await client.get([Node].self, "/nodes"), try await client.get([Service].self, "/services"),
                     try await client.get([SwarmTask].self, "/tasks"))
                }
                await readings.publish(nodes: nodes, services: services, tasks: tasks)
            } catch {
                _ = await readings.end(failed: true)
                throw error
            }
        } while await readings.end()
    }
}
