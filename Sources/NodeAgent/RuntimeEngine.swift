import CRuntime
import Containers
import FoundationEssentials
import Glibc
import NIOPosix
import SwarmAPI

/// The container runtime as the agent's engine. Runtime calls block (a
/// start sets up mounts and namespaces, a removal waits for the kill), so
/// they run on a small pool of threads of their own, never on an actor or
/// on the concurrency pool. Exits are waited for on pidfds by the one
/// poller thread, and a stop's grace period is a wait on the poller, so
/// a hundred stops in their grace period hold no thread at all.
public struct RuntimeEngine: ContainerEngine {
    let runtime: ContainerRuntime
    let images: ImageProvider
    let pool: NIOThreadPool
    let poller: PidfdPoller

    /// `threads`: how many runtime calls may block at once.
    public init(runtime: ContainerRuntime, images: ImageProvider, threads: Int = 4) {
        self.runtime = runtime
        self.images = images
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        poller = PidfdPoller()
    }

    /// Ends the pool's and the poller's threads (pending waits return).
    public func shutdown() async {
        poller.close()
        try? await pool.shutdownGracefully()
    }

    public func taskContainers() async -> [TaskContainerState] {
        let runtime = self.runtime
        let all = (try? await pool.runIfActive { runtime.list(all: true) }) ?? []
        return all.compactMap { info in
            info.record.spec.labels?[TaskContainer.taskLabel].map { Self.state(info, taskID: $0) }
        }
    }

    public func ensureImage(_ reference: String) async throws {
        try await images.ensure(reference)
    }

    public func run(_ task: SwarmTask) async throws -> TaskContainerState {
        try await run(task, networkNamespace: nil)
    }

    public func run(_ task: SwarmTask, networkNamespace: String?) async throws -> TaskContainerState {
        let spec = try TaskContainer.spec(task, networkNamespace: networkNamespace)
        let name = TaskContainer.name(task)
        let runtime = self.runtime
        return try await pool.runIfActive {
            let started = try runtime.run(spec, name: name)
            // The monitor owns the container; the agent watches it by pidfd.
            started.detach()
            // It runs: never an error from here on, or the container
            // would run with no task knowing its id.
            guard let info = try? runtime.inspect(started.id) else {
                return TaskContainerState(id: started.id, taskID: task.id, status: .running, pid: started.pid)
            }
            return Self.state(info, taskID: task.id)
        }
    }

    public func inspect(_ containerID: String) async throws -> TaskContainerState {
        let runtime = self.runtime
        return try await pool.runIfActive { Self.state(try runtime.inspect(containerID)) }
    }

    /// The runtime's stop, with its waits on the poller: the stop signal, up
    /// to `grace` for the exit, then every process of the container killed.
    public func stop(_ containerID: String, grace: Duration) async throws -> TaskContainerState {
        let (info, process) = try await open(containerID)
        guard info.state.status == .running else { return Self.state(info) }
        let runtime = self.runtime
        guard case let .opened(pidfd) = process else {
            try await pool.runIfActive { runtime.cgroups.killAll(id: info.id) }
            return try await final(containerID)
        }
        defer { Glibc.close(pidfd) }
        if grace > .zero, crt_pidfd_send_signal(pidfd, info.record.stopSignal) == 0,
           await poller.wait(pidfd, timeout: grace) {
            return try await final(containerID)
        }
        // A daemon shutting down leaves its containers running.
        try Task.checkCancellation()
        try await pool.runIfActive { runtime.cgroups.killAll(id: info.id) }
        _ = await poller.wait(pidfd, timeout: .seconds(10))
        return try await final(containerID)
    }

    public func remove(_ containerID: String) async throws {
        let runtime = self.runtime
        try await pool.runIfActive { try runtime.remove(containerID, force: true) }
    }

    public func waitForExit(_ containerID: String) async -> TaskContainerState? {
        while !Task.isCancelled {
            guard let opened = try? await open(containerID) else { return nil }
            let (info, process) = opened
            guard info.state.status == .running else { return Self.state(info) }
            switch process {
            case let .opened(pidfd):
                let exited = await poller.wait(pidfd)
                Glibc.close(pidfd)
                guard exited else { return nil }
                return try? await final(containerID)
            case .gone:
                return try? await final(containerID)
            case .failed:
                // Out of descriptors, say: the container still runs, so
                // its exit must not be reported; try again shortly.
                try? await Task.sleep(for: .seconds(1))
            }
        }
        return nil
    }

    // MARK: - Helpers

    enum Process {
        case opened(Int32)
        /// Exited, or its pid no longer names a process of the container.
        case gone
        case failed(Int32)
    }

    /// The container and a pidfd for its first process.
    func open(_ containerID: String) async throws -> (ContainerInfo, Process) {
        let runtime = self.runtime
        return try await pool.runIfActive {
            let info = try runtime.inspect(containerID)
            return (info, info.state.status == .running ? Self.pidfd(of: info) : .gone)
        }
    }

    /// The state once the first process is gone: the monitor drains the
    /// logs and writes the exit file; the runtime waits (bounded) for that.
    func final(_ containerID: String) async throws -> TaskContainerState {
        let runtime = self.runtime
        return try await pool.runIfActive {
            var info = try runtime.inspect(containerID)
            info.state = try runtime.wait(containerID, timeout: 0)
            return Self.state(info)
        }
    }

    /// A pidfd checked to still be a process of the container's cgroup
    /// after opening it, so a recycled pid is never waited for or signalled.
    static func pidfd(of info: ContainerInfo) -> Process {
        let pid = info.state.pid
        guard pid > 0 else { return .gone }
        let fd = crt_pidfd_open(pid)
        guard fd >= 0 else { return errno == ESRCH ? .gone : .failed(errno) }
        let cgroups = (try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)) ?? ""
        guard cgroups.split(separator: "\n").contains(where: { $0.hasPrefix("0::") && $0.hasSuffix("/" + info.id) }) else {
            Glibc.close(fd)
            return .gone
        }
        return .opened(fd)
    }

    static func state(_ info: ContainerInfo, taskID: String? = nil) -> TaskContainerState {
        let status: TaskContainerState.Status = switch info.state.status {
        case .created: .created
        case .running: .running
        case .exited: .exited
        case .dead: .dead
        }
        return TaskContainerState(id: info.id, taskID: taskID ?? info.record.spec.labels?[TaskContainer.taskLabel] ?? "",
                                  status: status, pid: info.state.pid, exitCode: info.state.exitCode,
                                  health: info.record.health == nil ? nil : .init(rawValue: info.state.health?.Status ?? "starting") ?? .starting)
    }
}
