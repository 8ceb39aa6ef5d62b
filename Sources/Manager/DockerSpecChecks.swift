import Formatting

/// The values Docker's daemon checks when it converts a spec from the API
/// (moby's `daemon/cluster/convert`), with its messages: a word our model
/// would otherwise refuse as a JSON decoding error, or store as given,
/// is refused as Docker refuses it (400), nothing changed. Read on the raw
/// request body, before it is decoded; field names match in any case, as
/// Go's decoder does.
enum DockerSpecChecks {
    /// A service spec (create and update).
    static func service(_ fields: [(key: String, value: TemplateValue)]) throws {
        let spec = TemplateValue.object(fields)
        let template = field("TaskTemplate", spec)
        if case .array(let mounts)? = field("Mounts", field("ContainerSpec", template)) {
            for mount in mounts {
                try check(field("Type", mount), ["bind", "volume", "tmpfs", "npipe", "cluster"], caseInsensitive: true) { "invalid MountType: \(quoted($0))" }
            }
        }
        try check(field("Condition", field("RestartPolicy", template)), ["none", "on-failure", "any"]) { "invalid RestartCondition: \(quoted($0))" }
        for config in ["UpdateConfig", "RollbackConfig"] {
            let value = field(config, spec)
            try check(field("FailureAction", value), ["pause", "continue", "rollback"]) { "unrecognized update failure action \($0)" }
            try check(field("Order", value), ["stop-first", "start-first"]) { "unrecognized update order \($0)" }
        }
        try check(field("Mode", field("EndpointSpec", spec)), ["vip", "dnsrr"]) { "invalid resolution mode: \(quoted($0))" }
    }

    /// A node spec (`node update`).
    static func node(_ body: [UInt8]) throws {
        guard let spec = try? TemplateValue(json: String(decoding: body, as: UTF8.self)) else { return }
        try check(field("Role", spec), ["worker", "manager"], caseInsensitive: true) { "invalid Role: \(quoted($0))" }
        try check(field("Availability", spec), ["active", "pause", "drain"], caseInsensitive: true) { "invalid Availability: \(quoted($0))" }
    }

    /// A string that is set and not one of `allowed` is refused with `message`.
    static func check(_ value: TemplateValue?, _ allowed: Set<String>, caseInsensitive: Bool = false, _ message: (String) -> String) throws {
        guard case .string(let text)? = value, !text.isEmpty else { return }
        guard !allowed.contains(caseInsensitive ? text.lowercased() : text) else { return }
        throw APIError.badRequest(message(text))
    }

    static func field(_ name: String, _ object: TemplateValue?) -> TemplateValue? {
        StrictDecoding.field(named: name, in: object)
    }

    /// Go's %q for the plain words these are.
    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
