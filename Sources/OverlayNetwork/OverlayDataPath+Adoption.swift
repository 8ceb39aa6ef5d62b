import FoundationEssentials
import Glibc
import HostNetwork
import NodeAgent

extension OverlayDataPath {
    /// Reads what an earlier instance (an agent killed and restarted)
    /// recorded and keeps what still exists: a sandbox or a task whose
    /// namespace is still mounted is adopted as it is (containers keep
    /// their addresses, connections their path); a record whose namespace
    /// is gone is dropped.
    func loadIfNeeded() {
        guard !loaded else { return }
        loaded = true
        if let saved = records.loadNode() {
            node = saved
        } else {
            node = NodeRecord(gatewaySubnet: chooseGatewaySubnet().description)
            do { try records.save(node) } catch { logger.warning("overlay: cannot record the node's wiring: \(error)") }
        }
        for sandbox in records.loadSandboxes() {
            if isMounted(namespace(OverlayNames.sandboxNamespace(sandbox.networkID))) {
                sandboxes[sandbox.networkID] = sandbox
            } else {
                records.removeSandbox(sandbox.networkID)
            }
        }
        for task in records.loadTasks() {
            if isMounted(namespace(OverlayNames.taskNamespace(task.taskID))) {
                tasks[task.taskID] = task
                adopted.append(task)
            } else {
                // The namespace went (and the veths in it with their peers); the gateway port may remain.
                if task.gatewayAddress != nil { _ = try? nodeLinks().deleteLinkIfPresent(OverlayNames.gatewayPort(task.taskID)) }
                records.removeTask(task.taskID)
            }
        }
        if !adopted.isEmpty || !sandboxes.isEmpty {
            logger.debug("overlay: re-adopted \(sandboxes.count) sandbox(es) and \(adopted.count) task namespace(s)")
        }
    }

    /// Whether something is mounted on the namespace's name (an unmounted
    /// name is a plain file on the directory's own file system).
    func isMounted(_ namespace: NetworkNamespace) -> Bool {
        var file = stat(), parent = stat()
        guard stat(namespace.path, &file) == 0, stat(namespace.directory, &parent) == 0 else { return false }
        return file.st_dev != parent.st_dev
    }

    /// Namespaces under the directory that no record names (a crash between
    /// making one and recording it), removed on `removeAll`.
    func removeLeftoverNamespaces() {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: namespaceDirectory)) ?? [] {
            try? namespace(name).delete()
        }
        if access(namespaceDirectory, F_OK) == 0 {
            do { try NetworkNamespace.removeDirectory(namespaceDirectory) } catch {
                logger.warning("overlay: cannot remove \(namespaceDirectory): \(error)")
            }
        }
    }
}
