/// The forwarded registry login stays between the manager and the agents:
/// what clients read has none, as Docker's API never shows PullOptions.
extension TaskSpec {
    public var redactingRegistryAuth: TaskSpec {
        guard containerSpec?.pullOptions != nil else { return self }
        var copy = self
        copy.containerSpec?.pullOptions = nil
        return copy
    }
}

extension ServiceSpec {
    public var redactingRegistryAuth: ServiceSpec {
        var copy = self
        copy.taskTemplate = taskTemplate.redactingRegistryAuth
        return copy
    }
}

extension Service {
    public var redactingRegistryAuth: Service {
        var copy = self
        copy.spec = spec.redactingRegistryAuth
        copy.previousSpec = previousSpec?.redactingRegistryAuth
        return copy
    }
}

extension SwarmTask {
    public var redactingRegistryAuth: SwarmTask {
        var copy = self
        copy.spec = spec.redactingRegistryAuth
        return copy
    }
}
