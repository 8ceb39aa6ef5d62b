/// The kernel parameters a container may set for itself: the ones in its
/// own namespaces, as runc allows them (IPC: kernel.shm*, kernel.msg*,
/// kernel.sem, fs.mqueue.*; network: net.* when the container has its own
/// network namespace). Any other would change the host for everyone.
public enum NamespacedSysctls {
    static let ipc: Set<String> = ["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                   "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"]

    /// nil when `key` may be set; else the one-line reason. `ownNetwork`:
    /// false for a container in the host's network namespace.
    public static func refusal(_ key: String, ownNetwork: Bool) -> String? {
        let name = String(key.map { $0 == "/" ? "." : $0 })
        if ipc.contains(name) || name.hasPrefix("fs.mqueue.") { return nil }
        if name.hasPrefix("net.") {
            return ownNetwork ? nil : "sysctl \"\(key)\" is not allowed in the host's network namespace: net.* needs the container's own network"
        }
        return "sysctl \"\(key)\" is not allowed: only namespaced ones are (net.* with its own network, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)"
    }

    /// The first refusal among `sysctls`, in key order.
    public static func check(_ sysctls: [String: String]?, ownNetwork: Bool) -> String? {
        for key in (sysctls ?? [:]).keys.sorted() {
            if let reason = refusal(key, ownNetwork: ownNetwork) { return reason }
        }
        return nil
    }
}
