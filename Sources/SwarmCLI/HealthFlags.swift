import ArgumentParser
import SwarmAPI
import SystemCalls

/// `--health-*` and `--no-healthcheck` on services: override the image's
/// HEALTHCHECK field by field, as Docker's flags do.
struct HealthOptions: ParsableArguments {
    @Option(name: .customLong("health-cmd"), help: "Command to run to check health") var healthCmd: String?
    @Option(name: .customLong("health-interval"), help: "Time between running the check (ms|s|m|h)") var healthInterval: String?
    @Option(name: .customLong("health-retries"), help: "Consecutive failures needed to report unhealthy") var healthRetries: Int?
    @Option(name: .customLong("health-start-period"), help: "Start period for the container to initialize before counting retries towards unstable (ms|s|m|h)") var healthStartPeriod: String?
    @Option(name: .customLong("health-timeout"), help: "Maximum time to allow one check to run (ms|s|m|h)") var healthTimeout: String?
    @Flag(name: .customLong("no-healthcheck"), help: "Disable any container-specified HEALTHCHECK") var noHealthcheck = false

    func apply(to container: inout SwarmAPI.ContainerSpec) throws {
        let fields = healthCmd != nil || healthInterval != nil || healthRetries != nil || healthStartPeriod != nil || healthTimeout != nil
        if noHealthcheck {
            guard !fields else { throw RuntimeError.badInput("--no-healthcheck conflicts with --health-* options") }
            container.healthcheck = HealthConfig(test: ["NONE"])
            return
        }
        guard fields else { return }
        var health = container.healthcheck ?? HealthConfig()
        if health.test == ["NONE"] { health.test = nil }
        if let healthCmd { health.test = ["CMD-SHELL", healthCmd] }
        if let healthInterval { health.interval = try ServiceSpecOptions.duration(healthInterval, "health-interval") }
        if let healthTimeout { health.timeout = try ServiceSpecOptions.duration(healthTimeout, "health-timeout") }
        if let healthStartPeriod { health.startPeriod = try ServiceSpecOptions.duration(healthStartPeriod, "health-start-period") }
        if let healthRetries {
            guard healthRetries >= 0 else { throw RuntimeError.badInput("--health-retries cannot be negative") }
            health.retries = healthRetries
        }
        container.healthcheck = health
    }
}
