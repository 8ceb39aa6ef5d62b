import FoundationEssentials
import Glibc
import SwarmAPI
import SystemCalls

/// Secrets and configs in a task's container: fetched from the manager when
/// the task starts (the manager hands them only to a node running a task
/// granted them), written under the node's state directory (/run: tmpfs,
/// never the disk) with the reference's owner and mode, and bound
/// read-only at /run/secrets/NAME (secrets) or at their path (configs).
/// Removed with the task's containers. Values are never logged.
extension NodeAgent {
    nonisolated func withSecretFiles(_ task: SwarmTask) async throws -> SwarmTask {
        guard var container = task.spec.containerSpec, !(container.secrets ?? []).isEmpty || !(container.configs ?? []).isEmpty else { return task }
        guard let root = secretsDirectory else {
            throw RuntimeError.badInput("this agent has no directory for secrets and configs")
        }
        let directory = root + "/" + task.id
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var mounts = container.mounts ?? []
        for reference in container.secrets ?? [] {
            let file = directory + "/secret-" + reference.secretID
            try write(try await link.secretValue(.secrets, id: reference.secretID), to: file, target: reference.file)
            let name = reference.file?.name ?? reference.secretName
            mounts.append(Mount(type: "bind", source: file, target: name.hasPrefix("/") ? name : "/run/secrets/" + name, readOnly: true))
        }
        for reference in container.configs ?? [] {
            let file = directory + "/config-" + reference.configID
            try write(try await link.secretValue(.configs, id: reference.configID), to: file, target: reference.file)
            let name = reference.file?.name ?? reference.configName
            mounts.append(Mount(type: "bind", source: file, target: name.hasPrefix("/") ? name : "/" + name, readOnly: true))
        }
        container.mounts = mounts
        var ready = task
        ready.spec.containerSpec = container
        return ready
    }

    private nonisolated func write(_ base64: String, to path: String, target: FileTarget?) throws {
        guard let value = Data(base64Encoded: base64) else { throw RuntimeError.badInput("the manager sent a value that is not base64") }
        try writeFileAtomically(Array(value), to: path, mode: mode_t(target?.mode ?? 0o444))
        let uid = target?.uid.flatMap { uid_t($0) } ?? 0, gid = target?.gid.flatMap { gid_t($0) } ?? 0
        try SystemCalls.syscall("chown", path) { chown(path, uid, gid) }
    }

    nonisolated func removeSecretFiles(of taskID: String) {
        guard let root = secretsDirectory else { return }
        try? FileManager.default.removeItem(atPath: root + "/" + taskID)
    }
}
