/// Secrets and configs, in the shapes of the Docker Engine API
/// (swarm.Secret, swarm.Config and the references in a ContainerSpec).
/// `data` is the value, base64-encoded as Go encodes []byte; the API never
/// returns a secret's.

public struct SecretSpec: Codable, Hashable, Sendable {
    public var name: String
    public var labels: [String: String]?
    public var data: String?
    public init(name: String, labels: [String: String]? = nil, data: String? = nil) {
        self.name = name; self.labels = labels; self.data = data
    }
}

public struct SwarmSecret: Codable, Hashable, Sendable {
    public var id: String
    public var version: ObjectVersion
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var spec: SecretSpec
    public init(id: String, version: ObjectVersion, createdAt: Timestamp, spec: SecretSpec) {
        self.id = id; self.version = version; self.createdAt = createdAt; self.updatedAt = createdAt; self.spec = spec
    }
}

public struct SwarmConfig: Codable, Hashable, Sendable {
    public var id: String
    public var version: ObjectVersion
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var spec: SecretSpec
    public init(id: String, version: ObjectVersion, createdAt: Timestamp, spec: SecretSpec) {
        self.id = id; self.version = version; self.createdAt = createdAt; self.updatedAt = createdAt; self.spec = spec
    }
}

/// Where a secret or config appears in the task's container: a file.
public struct FileTarget: Codable, Hashable, Sendable {
    /// Secrets: a name under /run/secrets/ or an absolute path; configs: a path (default /NAME).
    public var name: String
    public var uid: String?
    public var gid: String?
    /// Permission bits (Docker's default 0444).
    public var mode: UInt32?
    public init(name: String, uid: String? = "0", gid: String? = "0", mode: UInt32? = 0o444) {
        self.name = name; self.uid = uid; self.gid = gid; self.mode = mode
    }
}

public struct SecretReference: Codable, Hashable, Sendable {
    public var file: FileTarget?
    public var secretID: String
    public var secretName: String
    public init(file: FileTarget?, secretID: String, secretName: String) {
        self.file = file; self.secretID = secretID; self.secretName = secretName
    }
    enum CodingKeys: String, CodingKey { case file, secretID, secretName }
    /// Either may be missing (a client naming the secret only): the manager resolves the other.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        file = try container.decodeIfPresent(FileTarget.self, forKey: .file)
        secretID = try container.decodeIfPresent(String.self, forKey: .secretID) ?? ""
        secretName = try container.decodeIfPresent(String.self, forKey: .secretName) ?? ""
    }
}

public struct ConfigReference: Codable, Hashable, Sendable {
    public var file: FileTarget?
    public var configID: String
    public var configName: String
    public init(file: FileTarget?, configID: String, configName: String) {
        self.file = file; self.configID = configID; self.configName = configName
    }
    enum CodingKeys: String, CodingKey { case file, configID, configName }
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        file = try container.decodeIfPresent(FileTarget.self, forKey: .file)
        configID = try container.decodeIfPresent(String.self, forKey: .configID) ?? ""
        configName = try container.decodeIfPresent(String.self, forKey: .configName) ?? ""
    }
}

/// `GET /agent/secrets/{id}` and `/agent/configs/{id}`: the value for a task
/// of the asking node that is granted it.
public struct SecretPayload: Codable, Sendable {
    public var id: String
    /// Base64.
    public var data: String
    public init(id: String, data: String) { self.id = id; self.data = data }
}
