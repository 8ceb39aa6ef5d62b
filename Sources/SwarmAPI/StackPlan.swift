/// What one or more compose files ask of the cluster for the stack
/// `namespace`: everything already named and labelled as `docker stack
/// deploy` names and labels it, so that `stack deploy` only has to compare
/// it with what exists and create, update or remove.
///
/// Names: services, and networks, secrets, configs and volumes the stack
/// owns, are `NAMESPACE_KEY` (or the file's `name:`); each carries the label
/// `com.docker.stack.namespace=NAMESPACE`; services also carry
/// `com.docker.stack.image=IMAGE` and the same namespace label on their
/// container spec. External objects are referenced by their own name and
/// are not created. The Compose target (in swarmd, which reads the YAML)
/// makes it; the CLI's `stack deploy` applies it.
public struct StackPlan: Sendable {
    public var namespace: String
    /// In the files' order of keys (sorted by name, as Docker's CLI does).
    public var services: [ServiceSpec]
    /// Networks the stack creates (not the external ones). A service with no
    /// `networks:` is on `NAMESPACE_default`, which is then in this list.
    public var networks: [NetworkSpec]
    /// External networks the services use: they must exist already.
    public var externalNetworks: [String]
    /// Secrets and configs the stack creates, with their data (from `file:`,
    /// or `environment:` in the Compose Specification).
    public var secrets: [SecretSpec]
    public var configs: [SecretSpec]
    /// External secrets and configs the services reference: they must exist.
    public var externalSecrets: [String]
    public var externalConfigs: [String]
    /// Keys swarm does not honour, named once as Docker does:
    /// "Ignoring unsupported options: build, links", and the unknown service
    /// keys ("…: unknown key 'foo' (ignored)"), with file and line.
    public var warnings: [String]

    public init(namespace: String, services: [ServiceSpec] = [], networks: [NetworkSpec] = [], externalNetworks: [String] = [],
                secrets: [SecretSpec] = [], configs: [SecretSpec] = [], externalSecrets: [String] = [], externalConfigs: [String] = [],
                warnings: [String] = []) {
        self.namespace = namespace; self.services = services; self.networks = networks; self.externalNetworks = externalNetworks
        self.secrets = secrets; self.configs = configs; self.externalSecrets = externalSecrets; self.externalConfigs = externalConfigs
        self.warnings = warnings
    }

    /// The label every object of a stack carries, as Docker's.
    public static let namespaceLabel = "com.docker.stack.namespace"
    public static let imageLabel = "com.docker.stack.image"
}

/// A compose file that cannot be deployed: `file:line:column: what was expected`.
public struct ComposeError: Error, Equatable, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int?
    public var column: Int?
    public var message: String
    public init(file: String, line: Int? = nil, column: Int? = nil, message: String) {
        self.file = file; self.line = line; self.column = column; self.message = message
    }
    /// `stack.yml:14:7: deploy.replicas must be an integer, got "three"`
    public var description: String {
        var text = file
        if let line { text += ":\(line)" + (column.map { ":\($0)" } ?? "") }
        return text + ": " + message
    }
}
