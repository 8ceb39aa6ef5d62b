import ClusterStore
import FoundationEssentials
import SwarmAPI

/// Secrets and configs share a shape; what differs is whether the value is
/// sealed in the store and whether the API shows it.
protocol SecretObject: StoredObject {
    static var noun: String { get }
    /// Secrets are sealed at rest and never shown; configs are neither.
    static var sealed: Bool { get }
    var spec: SecretSpec { get set }
    init(id: String, version: ObjectVersion, createdAt: Timestamp, spec: SecretSpec)
    static func references(in container: SwarmAPI.ContainerSpec) -> [(id: String, name: String)]
}

extension SwarmSecret: SecretObject {
    static let noun = "secret"
    static let sealed = true
    static func references(in container: SwarmAPI.ContainerSpec) -> [(id: String, name: String)] {
        (container.secrets ?? []).map { ($0.secretID, $0.secretName) }
    }
}

extension SwarmConfig: SecretObject {
    static let noun = "config"
    static let sealed = false
    static func references(in container: SwarmAPI.ContainerSpec) -> [(id: String, name: String)] {
        (container.configs ?? []).map { ($0.configID, $0.configName) }
    }
}

/// The API's operations on secrets and configs, as swarmkit's control API:
/// names as Docker allows them, at most 500 KB, only labels change, and
/// one in use by a service cannot be removed.
extension ClusterManager {
    static let maxSecretSize = 500 * 1024

    func createSecretObject<T: SecretObject>(_ type: T.Type, _ spec: SecretSpec) async throws -> String {
        try Self.validateSecretName(spec.name, T.noun)
        guard let data = spec.data, let value = Data(base64Encoded: data) else {
            throw APIError.badRequest("rpc error: code = InvalidArgument desc = \(T.noun) data must be given, base64-encoded")
        }
        guard value.count <= Self.maxSecretSize else {
            throw APIError.badRequest("rpc error: code = InvalidArgument desc = \(T.noun) data must be larger than 0 and less than 500KB")
        }
        var stored = spec
        if T.sealed { stored.data = try vault.seal(data) }
        let object = T(id: newObjectID(), version: ObjectVersion(index: 0), createdAt: clock(), spec: stored)
        var batch = StoreBatch(now: clock())
        let name = spec.name
        batch.requireNone(T.self, failing: APIError.conflict("rpc error: code = AlreadyExists desc = \(T.noun) \(name) already exists")) {
            $0.spec.name == name
        }
        batch.put(object)
        try await commit(batch)
        return object.id
    }

    /// Docker's rule: letters and digits, with `-`, `_` or `.` inside, at most 64.
    static func validateSecretName(_ name: String, _ noun: String) throws {
        let inner = name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)) }
        let ends = [name.unicodeScalars.first, name.unicodeScalars.last].allSatisfy { scalar in
            scalar.map { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) } ?? false
        }
        guard inner, ends, name.count <= 64 else {
            throw APIError.badRequest("rpc error: code = InvalidArgument desc = invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must be [a-zA-Z0-9]")
        }
    }

    /// By full ID, name or unique ID prefix; the value left out (secrets) as the API shows them.
    func secretObject<T: SecretObject>(_ type: T.Type, _ ref: String) async throws -> T {
        let all = await store.all(T.self)
        let found = all.first { $0.id == ref } ?? all.first { $0.spec.name == ref }
            ?? { let matches = all.filter { !ref.isEmpty && $0.id.hasPrefix(ref) }; return matches.count == 1 ? matches[0] : nil }()
        guard var object = found else { throw APIError.notFound("\(T.noun) \(ref) not found") }
        if T.sealed { object.spec.data = nil }
        return object
    }

    func secretObjects<T: SecretObject>(_ type: T.Type) async -> [T] {
        await store.all(T.self).map { object in
            var shown = object
            if T.sealed { shown.spec.data = nil }
            return shown
        }
    }

    func removeSecretObject<T: SecretObject>(_ type: T.Type, _ ref: String) async throws {
        let object = try await secretObject(T.self, ref)
        let users = await store.all(Service.self).filter { service in
            service.spec.taskTemplate.containerSpec.map { T.references(in: $0).contains { $0.id == object.id } } ?? false
        }.map(\.spec.name).sorted()
        guard users.isEmpty else {
            throw APIError.badRequest("rpc error: code = InvalidArgument desc = \(T.noun) '\(object.spec.name)' is in use by the following service\(users.count > 1 ? "s" : ""): \(users.joined(separator: ", "))")
        }
        var batch = StoreBatch(now: clock())
        batch.delete(T.self, id: object.id)
        try await commit(batch)
    }

    /// Only labels may change (swarmkit's rule).
    func updateSecretObject<T: SecretObject>(_ type: T.Type, _ ref: String, version: UInt64, spec: SecretSpec) async throws {
        let object = try await secretObject(T.self, ref)
        // Docker's CLI sends the spec back whole: a config's unchanged data is no change.
        // (`stack deploy` sends a secret's data again: the same value is no change either.)
        let stored = await store.get(T.self, id: object.id)?.spec.data
        let storedData = T.sealed ? stored.flatMap { try? vault.open($0) } : stored
        guard spec.name == object.spec.name, spec.data == nil || spec.data == storedData else {
            throw APIError.badRequest("rpc error: code = InvalidArgument desc = only updates to Labels are allowed")
        }
        var batch = StoreBatch(now: clock())
        let labels = spec.labels
        batch.update(T.self, id: object.id, expecting: version) { stored, _ in
            stored.spec.labels = labels
            return true
        }
        try await commit(batch)
    }

    /// The value, base64, for an agent: only if one of its node's tasks that
    /// should run is granted it.
    func secretValue<T: SecretObject>(_ type: T.Type, _ id: String, forNode nodeID: String) async throws -> String {
        let granted = await store.all(SwarmTask.self).contains { task in
            task.nodeID == nodeID && task.desiredState <= .running && (task.spec.containerSpec.map { T.references(in: $0).contains { $0.id == id } } ?? false)
        }
        guard granted, let object = await store.get(T.self, id: id), let data = object.spec.data else {
            throw APIError.forbidden("\(T.noun) \(id) is not granted to a task of this node")
        }
        return T.sealed ? try vault.open(data) : data
    }

    /// A service's references named by ID or name, checked and completed.
    func resolveReferences(_ spec: ServiceSpec) async throws -> ServiceSpec {
        guard var container = spec.taskTemplate.containerSpec else { return spec }
        container.secrets = try Self.resolved(container.secrets, in: await store.all(SwarmSecret.self))
        container.configs = try Self.resolved(container.configs, in: await store.all(SwarmConfig.self))
        var resolved = spec
        resolved.taskTemplate.containerSpec = container
        return resolved
    }

    private static func resolved<Reference: ObjectReference, T: SecretObject>(_ references: [Reference]?, in objects: [T]) throws -> [Reference]? {
        try references.map { references in
            try references.map { reference in
                guard let found = objects.first(where: { $0.id == reference.objectID }) ?? objects.first(where: { $0.spec.name == reference.objectName }) else {
                    let named = reference.objectName.isEmpty ? reference.objectID : reference.objectName
                    throw APIError.badRequest("rpc error: code = InvalidArgument desc = \(T.noun) reference is invalid: \(T.noun) \(named) not found")
                }
                var resolved = reference
                resolved.objectID = found.id
                resolved.objectName = found.spec.name
                return resolved
            }
        }
    }
}

/// A secret's or config's reference in a container spec.
protocol ObjectReference {
    var objectID: String { get set }
    var objectName: String { get set }
}

extension SecretReference: ObjectReference {
    var objectID: String { get { secretID } set { secretID = newValue } }
    var objectName: String { get { secretName } set { secretName = newValue } }
}

extension ConfigReference: ObjectReference {
    var objectID: String { get { configID } set { configID = newValue } }
    var objectName: String { get { configName } set { configName = newValue } }
}
