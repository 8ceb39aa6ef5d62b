import Glibc
import Synchronization
import SystemCalls

/// A named network namespace that outlives any process: its nsfs file is
/// bind-mounted onto DIRECTORY/NAME, as `ip netns add` does under /run/netns,
/// but in a directory of ours so lab namespaces never mix with the host's.
public struct NetworkNamespace: Equatable, Sendable {
    public static let defaultDirectory = "/run/swarm-lab/netns"

    public let name: String
    public let directory: String
    /// The bind-mounted file; `nsenter --net=PATH` enters it too.
    public var path: String { directory + "/" + name }

    /// Refers to a namespace made earlier by `create`; nothing is checked.
    public init(name: String, directory: String = NetworkNamespace.defaultDirectory) {
        self.name = name
        self.directory = directory
    }

    /// Makes a new, empty network namespace (only a down `lo`) named `name`.
    /// The calling thread and the rest of the process stay where they are.
    public static func create(_ name: String, in directory: String = NetworkNamespace.defaultDirectory) throws -> NetworkNamespace {
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/") else {
            throw HostNetworkError.badInput("bad network namespace name: \"\(name)\"")
        }
        let namespace = NetworkNamespace(name: name, directory: directory)
        let path = namespace.path
        try makeSharedMountPoint(directory)
        // The bind mount needs a file to cover; O_EXCL makes a second create of one name fail with EEXIST.
        close(try syscall("create network namespace", path) { open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0) })
        do {
            // A thread of its own unshares, so no thread of ours ever has to switch back.
            try onNewThread {
                try syscall("unshare", "CLONE_NEWNET") { unshareCall(cloneNewNet) }
                try syscall("mount", path) { mount("/proc/thread-self/ns/net", path, "none", UInt(MS_BIND), nil) }
            }
        } catch {
            unlink(path)
            throw error
        }
        return namespace
    }

    /// An open descriptor (O_CLOEXEC) for setns or IFLA_NET_NS_FD; the caller closes it.
    public func openFileDescriptor() throws -> Int32 {
        try syscall("open network namespace", path) { open(path, O_RDONLY | O_CLOEXEC) }
    }

    public func withFileDescriptor<T>(_ body: (Int32) throws -> T) throws -> T {
        let fd = try openFileDescriptor()
        defer { close(fd) }
        return try body(fd)
    }

    /// Runs `body` with the calling thread in this namespace (sockets it opens
    /// stay in it), then switches the thread back. Other threads are unaffected.
    public func run<T>(_ body: () throws -> T) throws -> T {
        let original = try syscall("open", "/proc/thread-self/ns/net") { open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC) }
        defer { close(original) }
        try withFileDescriptor { fd in _ = try syscall("setns", path) { setnsCall(fd, cloneNewNet) } }
        defer {
            // A thread left here would run whatever it does next (other tasks too) in the wrong namespace.
            if setnsCall(original, cloneNewNet) != 0 {
                fatalError("setns back to the original network namespace failed: \(errnoName(errno))")
            }
        }
        return try body()
    }

    /// Brings `lo` up, which a new namespace has down.
    public func bringUpLoopback() throws {
        try Netlink(namespace: self).setLinkUp("lo")
    }

    /// Removes the name. The namespace itself goes when nothing else holds it
    /// (a process inside, an open descriptor), and its links with it.
    public func delete() throws {
        // MNT_DETACH: an open descriptor must not make this fail. EINVAL: not
        // mounted (a create that failed halfway), just the file to remove.
        if umount2(path, Int32(MNT_DETACH)) != 0 && errno != EINVAL {
            throw HostNetworkError.system(errno: errno, call: "umount2", detail: path)
        }
        try syscall("unlink", path) { unlink(path) }
    }

    /// Undoes `create`'s mount of `directory` on itself and removes it; EBUSY
    /// while a namespace in it remains.
    public static func removeDirectory(_ directory: String = NetworkNamespace.defaultDirectory) throws {
        try directoryLock.withLock { _ in
            // Not MNT_DETACH: with namespaces mounted below, this must fail rather than hide them.
            if umount2(directory, 0) != 0 && errno != EINVAL {
                throw HostNetworkError.system(errno: errno, call: "umount2", detail: directory)
            }
            try syscall("rmdir", directory) { rmdir(directory) }
        }
    }

    /// As iproute2 does for /run/netns: the directory becomes a mount point
    /// (bound onto itself) with shared propagation, so that deleting a
    /// namespace here also unmounts the copies that mount namespaces made
    /// since hold, and the namespace can really go.
    private static func makeSharedMountPoint(_ directory: String) throws {
        var prefix = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw HostNetworkError.system(errno: errno, call: "mkdir", detail: prefix) }
        }
        // Locked so that two creates cannot both bind the directory onto itself.
        try directoryLock.withLock { _ in
            if mount("", directory, "none", UInt(MS_SHARED | MS_REC), nil) == 0 { return }
            // EINVAL: not a mount point yet.
            guard errno == EINVAL else { throw HostNetworkError.system(errno: errno, call: "mount", detail: "--make-rshared \(directory)") }
            try syscall("mount", "--rbind \(directory) \(directory)") { mount(directory, directory, "none", UInt(MS_BIND | MS_REC), nil) }
            try syscall("mount", "--make-rshared \(directory)") { mount("", directory, "none", UInt(MS_SHARED | MS_REC), nil) }
        }
    }
}

private let directoryLock = Mutex(())

/// sched.h's CLONE_NEWNET; Swift's Glibc module exports neither it nor
/// unshare/setns (they need _GNU_SOURCE), so those two come from libc by name.
private let cloneNewNet: Int32 = 0x4000_0000
private let unshareCall = unsafeBitCast(dlsym(nil, "unshare"), to: (@convention(c) (Int32) -> Int32).self)
private let setnsCall = unsafeBitCast(dlsym(nil, "setns"), to: (@convention(c) (Int32, Int32) -> Int32).self)

/// Runs `body` on a new thread and waits for it, so that namespace changes
/// it makes to its thread end with it.
private func onNewThread(_ body: @escaping () throws -> Void) throws {
    final class Job {
        let body: () throws -> Void
        var error: (any Error)?
        init(_ body: @escaping () throws -> Void) { self.body = body }
    }
    let job = Job(body)
    let context = Unmanaged.passRetained(job).toOpaque()
    var thread = pthread_t()
    let code = pthread_create(&thread, nil, { context in
        let job = Unmanaged<Job>.fromOpaque(context!).takeRetainedValue()
        do { try job.body() } catch { job.error = error }
        return nil
    }, context)
    guard code == 0 else {
        Unmanaged<Job>.fromOpaque(context).release()
        throw HostNetworkError.system(errno: code, call: "pthread_create", detail: "")
    }
    pthread_join(thread, nil)
    if let error = job.error { throw error }
}
