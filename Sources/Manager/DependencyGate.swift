import SwarmAPI

/// compose's `depends_on`, which Docker Swarm ignores: a service's tasks are
/// not placed until each service it depends on has a task started (or
/// running, which for a task with a health check means healthy: the agent
/// reports it running only then). Keeps, per service, the tasks that count.
struct DependencyGate {
    /// Service ID → its tasks in `starting` or `running` (desired to run).
    private var started: [String: Set<String>] = [:]
    /// Service ID → its tasks in `running`.
    private var running: [String: Set<String>] = [:]
    private var serviceOfTask: [String: String] = [:]

    /// Records a task's new state; true if a dependency may have changed.
    mutating func track(_ task: SwarmTask) -> Bool {
        let wasStarted = started[task.serviceID]?.contains(task.id) ?? false
        let wasRunning = running[task.serviceID]?.contains(task.id) ?? false
        let live = task.desiredState <= .running
        let isStarted = live && (task.status.state == .starting || task.status.state == .running)
        let isRunning = live && task.status.state == .running
        set(&started, task.serviceID, task.id, isStarted)
        set(&running, task.serviceID, task.id, isRunning)
        serviceOfTask[task.id] = isStarted ? task.serviceID : nil
        return wasStarted != isStarted || wasRunning != isRunning
    }

    /// Forgets a deleted task; true if a dependency may have changed.
    mutating func untrack(_ taskID: String) -> Bool {
        guard let service = serviceOfTask.removeValue(forKey: taskID) else { return false }
        started[service]?.remove(taskID)
        running[service]?.remove(taskID)
        return true
    }

    /// Why `spec`'s tasks must wait, or nil when every dependency is met.
    /// `services` finds a service by its name.
    func blocker(_ spec: ServiceSpec, _ serviceNamed: (String) -> Service?) -> String? {
        for dependency in spec.dependsOn ?? [] {
            guard let service = serviceNamed(dependency.service) else {
                return "waiting for service \(dependency.service), which does not exist (depends_on)"
            }
            switch dependency.condition {
            case .serviceStarted where started[service.id]?.isEmpty ?? true:
                return "waiting for service \(dependency.service) to start (depends_on)"
            case .serviceHealthy where running[service.id]?.isEmpty ?? true:
                return "waiting for service \(dependency.service) to be healthy (depends_on)"
            default: continue
            }
        }
        return nil
    }

    private func set(_ map: inout [String: Set<String>], _ service: String, _ task: String, _ member: Bool) {
        if member { map[service, default: []].insert(task) } else { map[service]?.remove(task) }
    }
}
