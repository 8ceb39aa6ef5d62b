import ArgumentParser
import SwarmAPI
import SystemCalls

/// `--sysctl`, `--ulimit` and `--placement-pref` on `service create`, as Docker's.
struct KernelCreateFlags: ParsableArguments {
    @Option(name: .customLong("sysctl"), help: "Sysctl options (namespaced ones: net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)") var sysctl: [String] = []
    @Option(name: .customLong("ulimit"), help: "Ulimit options (e.g. nofile=1024:2048)") var ulimit: [String] = []
    @Option(name: .customLong("placement-pref"), help: "Add a placement preference (spread=node.labels.<name>)") var placementPref: [String] = []

    func apply(to spec: inout ServiceSpec) throws {
        try KernelFlags.apply(to: &spec, sysctlAdd: sysctl, sysctlRemove: [], ulimitAdd: ulimit, ulimitRemove: [],
                              prefAdd: placementPref, prefRemove: [], flags: ("sysctl", "ulimit", "placement-pref"))
    }
}

/// Their `-add`/`-rm` forms on `service update`.
struct KernelUpdateFlags: ParsableArguments {
    @Option(name: .customLong("sysctl-add"), help: "Add or update a Sysctl option") var sysctlAdd: [String] = []
    @Option(name: .customLong("sysctl-rm"), help: "Remove a Sysctl option") var sysctlRemove: [String] = []
    @Option(name: .customLong("ulimit-add"), help: "Add or update a ulimit option") var ulimitAdd: [String] = []
    @Option(name: .customLong("ulimit-rm"), help: "Remove a ulimit option") var ulimitRemove: [String] = []
    @Option(name: .customLong("placement-pref-add"), help: "Add a placement preference") var prefAdd: [String] = []
    @Option(name: .customLong("placement-pref-rm"), help: "Remove a placement preference") var prefRemove: [String] = []

    func apply(to spec: inout ServiceSpec) throws {
        try KernelFlags.apply(to: &spec, sysctlAdd: sysctlAdd, sysctlRemove: sysctlRemove, ulimitAdd: ulimitAdd, ulimitRemove: ulimitRemove,
                              prefAdd: prefAdd, prefRemove: prefRemove, flags: ("sysctl-add", "ulimit-add", "placement-pref-add"))
    }
}

enum KernelFlags {
    static func apply(to spec: inout ServiceSpec, sysctlAdd: [String], sysctlRemove: [String], ulimitAdd: [String], ulimitRemove: [String],
                      prefAdd: [String], prefRemove: [String], flags: (sysctl: String, ulimit: String, pref: String)) throws {
        guard var container = spec.taskTemplate.containerSpec else { return }
        if !sysctlAdd.isEmpty || !sysctlRemove.isEmpty {
            var sysctls = container.sysctls ?? [:]
            for key in sysctlRemove { sysctls[key] = nil }
            for text in sysctlAdd {
                let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty else {
                    throw RuntimeError.badInput("invalid argument \"\(text)\" for \"--\(flags.sysctl)\" flag: use KEY=VALUE, e.g. net.core.somaxconn=1024")
                }
                sysctls[parts[0]] = parts[1]
            }
            container.sysctls = sysctls.isEmpty ? nil : sysctls
        }
        if !ulimitAdd.isEmpty || !ulimitRemove.isEmpty {
            var ulimits = (container.ulimits ?? []).filter { !ulimitRemove.contains($0.name) }
            for text in ulimitAdd {
                let limit: Ulimit
                do { limit = try Ulimit.parse(text) } catch {
                    throw RuntimeError.badInput("invalid argument \"\(text)\" for \"--\(flags.ulimit)\" flag: \(error)")
                }
                ulimits.removeAll { $0.name == limit.name }
                ulimits.append(limit)
            }
            container.ulimits = ulimits.isEmpty ? nil : ulimits.sorted { $0.name < $1.name }
        }
        spec.taskTemplate.containerSpec = container
        if !prefAdd.isEmpty || !prefRemove.isEmpty {
            var placement = spec.taskTemplate.placement ?? Placement()
            let removed = try prefRemove.map { try parsePreference($0, flag: "placement-pref-rm") }
            var preferences = (placement.preferences ?? []).filter { !removed.contains($0) }
            preferences += try prefAdd.map { try parsePreference($0, flag: flags.pref) }
            placement.preferences = preferences.isEmpty ? nil : preferences
            spec.taskTemplate.placement = placement
        }
    }

    /// `spread=node.labels.zone`, the only strategy Docker has.
    static func parsePreference(_ text: String, flag: String) throws -> PlacementPreference {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[1].isEmpty else {
            throw RuntimeError.badInput("invalid argument \"\(text)\" for \"--\(flag)\" flag: placement preference must be of the format \"<strategy>=<arg>\"")
        }
        guard parts[0] == "spread" else {
            throw RuntimeError.badInput("invalid argument \"\(text)\" for \"--\(flag)\" flag: unsupported placement preference \(parts[0]) (only spread is supported)")
        }
        return PlacementPreference(spread: parts[1])
    }
}
