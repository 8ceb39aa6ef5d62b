import SwarmAPI

extension NodeAgent {
    /// Follows a container's health check (the monitor runs it and records
    /// the verdict): each change is delivered to the task's machine, until
    /// the container stops running or turns unhealthy. A poll every half
    /// second: checks run every few seconds at most, and this costs one
    /// state-file read.
    nonisolated func followHealth(_ taskID: String, _ containerID: String) async {
        var last: TaskContainerState.Health? = .starting
        while !Task.isCancelled {
            guard (try? await Task.sleep(for: .milliseconds(500))) != nil,
                  let state = try? await engine.inspect(containerID), state.isRunning else { return }
            guard state.health != last else { continue }
            last = state.health
            await deliver(taskID, .healthChanged(state))
            if state.health == .unhealthy { return }
        }
    }
}
