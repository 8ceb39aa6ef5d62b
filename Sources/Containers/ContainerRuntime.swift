import CRuntime
import Dispatch
import FoundationEssentials
import Glibc
import OCIImages
import enum SwarmAPI.NameGenerator
import Synchronization
import SystemCalls

/// Runs containers on this host: spec → checks → state dir, cgroup → monitor
/// and container (CRuntime) → exit status and logs on disk. Knows nothing of
/// clusters. Every operation works from any process, through the state on disk.
public struct ContainerRuntime: Sendable {
    public let store: ContainerStore
    public let cgroups: CgroupManager
    public let images: ImageStore
    /// Containers' writable layers: <dataRoot>/containers/<id>.
    public let dataRoot: String

    /// `stateRoot`: /run/swarm by default (runtime state, tmpfs); `dataRoot`:
    /// /var/lib/swarm (images, containers' writable layers); `cgroups`: the
    /// host's cgroup2 mount with the parent `swarm.slice`.
    public init(stateRoot: String = "/run/swarm", dataRoot: String = "/var/lib/swarm", cgroups: CgroupManager? = nil) throws {
        self.store = ContainerStore(root: stateRoot)
        self.dataRoot = dataRoot
        self.images = ImageStore(root: dataRoot + "/images")
        self.cgroups = try cgroups ?? CgroupManager.host()
    }

    /// Where the container's output goes besides its log, while the caller runs.
    public struct Attach: Sendable {
        public var stdout: Int32
        public var stderr: Int32
        /// A connected unix socket the monitor serves as an attach client
        /// from the start (frames: see AttachConnection); -1: none.
        public var client: Int32
        /// The terminal's initial size with `spec.tty`.
        public var size: TerminalSize?
        public init(stdout: Int32 = 1, stderr: Int32 = 2, client: Int32 = -1, size: TerminalSize? = nil) {
            self.stdout = stdout
            self.stderr = stderr
            self.client = client
            self.size = size
        }
    }

    // MARK: - Run

    /// Checks the spec, creates the container and starts it. Returns once the
    /// command has been exec'd; a failure leaves nothing behind.
    public func run(_ spec: ContainerSpec, name: String? = nil, attach: Attach? = nil) throws -> StartedContainer {
        let prepared = try prepare(spec, name: name)
        let record = prepared.record
        var committed = false
        try store.reserve(name: record.name, for: record.id)
        defer {
            if !committed {
                try? cgroups.remove(id: record.id)
                try? store.delete(record)
            }
        }
        let dir = store.directory(of: record.id)
        try FileManager.default.createDirectory(atPath: store.containersDir, withIntermediateDirectories: true)
        try syscall("mkdir", dir) { mkdir(dir, 0o700) }
        try store.save(record)
        try EtcFiles.write(to: dir, hostname: record.hostname, network: spec.network,
                           nameservers: spec.nameservers, address: spec.hostAddress)
        if let image = record.image {
            for sub in ["upper", "work", "merged"] {
                try FileManager.default.createDirectory(atPath: image.dataDir + "/" + sub, withIntermediateDirectories: true)
            }
        }
        try makeVolumes(prepared.volumes, layers: record.image?.layers ?? [])
        try cgroups.create(id: record.id, resources: spec.resources)

        let started = try launch(record, capabilities: prepared.capabilities, seccomp: prepared.seccomp, attach: attach)
        committed = true
        return started
    }

    /// Everything that can be checked or computed before touching the host.
    private func prepare(_ spec: ContainerSpec, name: String?) throws
        -> (record: ContainerRecord, capabilities: CapabilitySet, seccomp: SeccompProgram?, volumes: [VolumeUse]) {
        let id = Self.newID()
        var image: (use: ImageUse, config: ImageConfig.ContainerConfig)?
        if let reference = spec.image {
            guard let stored = try images.lookup(reference) else {
                throw RuntimeError.badInput("No such image: \(reference): pull, load or import it first")
            }
            var layers: [String] = []
            for layer in stored.manifest.layers {
                try images.unpackLayer(layer.digest)
                layers.append(images.layerPath(layer.digest))
            }
            let config = stored.config.config ?? ImageConfig.ContainerConfig()
            image = (ImageUse(reference: reference, id: stored.id, manifest: stored.manifestDigest, layers: layers,
                              dataDir: dataRoot + "/containers/" + id,
                              exposedPorts: (config.ExposedPorts ?? [:]).keys.sorted(), healthcheck: config.Healthcheck),
                     config)
        } else {
            var info = stat()
            guard stat(spec.rootfs, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                throw RuntimeError.badInput("rootfs \(spec.rootfs) does not exist or is not a directory: give a directory holding the container's files")
            }
        }
        // Docker's rules: --entrypoint replaces Entrypoint and drops Cmd;
        // arguments replace Cmd.
        let argv: [String]
        if let entrypoint = spec.entrypoint {
            argv = entrypoint + spec.command
        } else {
            argv = (image?.config.Entrypoint ?? []) + (spec.command.isEmpty ? image?.config.Cmd ?? [] : spec.command)
        }
        guard let program = argv.first, !program.isEmpty else {
            throw RuntimeError.badInput(image == nil ? "no command given: add the command to run after the options (e.g. /bin/sh)"
                                                     : "no command specified: the image has no Cmd or Entrypoint, give one after the image")
        }
        let rootfs = image.map { $0.use.dataDir + "/merged" } ?? spec.rootfs
        let workingDir = spec.workingDir ?? image?.config.WorkingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/"
        let stopSignal = try spec.stopSignal ?? image?.config.StopSignal.map(Signals.parse) ?? SIGTERM
        let health = try HealthSettings.merge(image: image?.config.Healthcheck, user: spec.healthcheck)
        for mount in spec.mounts where !FileManager.default.fileExists(atPath: mount.source) {
            throw RuntimeError.badInput("invalid mount config for type \"bind\": bind source path does not exist: \(mount.source)")
        }
        // Volumes become binds of their directories (made in `run`).
        let volumeUses = try volumeUses(spec, imageVolumes: Array((image?.config.Volumes ?? [:]).keys))
        var spec = spec
        spec.mounts += volumeUses.map { BindMount(source: volumes.mountpoint(of: $0.name), target: $0.target, readOnly: $0.readOnly) }
        let capabilities = try CapabilitySet.dockerDefault.adding(spec.capAdd, dropping: spec.capDrop)
        try cgroups.check(spec.resources)
        let user = try ResolvedUser.resolve(spec.user ?? image?.config.User, roots: image?.use.layers.reversed() ?? [spec.rootfs])
        if let name { try Self.validate(name: name) }
        if let path = spec.networkNamespace {
            var info = stat()
            guard spec.network == .none, stat(path, &info) == 0 else {
                throw RuntimeError.badInput("network namespace \(path) does not exist: give the path of a bind-mounted network namespace (and no host network)")
            }
        }
        try Self.checkKernelLimits(spec)
        if let hostname = spec.hostname, hostname.isEmpty || hostname.utf8.count > 64 || hostname.contains("/") {
            throw RuntimeError.badInput("invalid hostname \(hostname): use 1 to 64 characters without '/'")
        }
        guard workingDir.hasPrefix("/") else {
            throw RuntimeError.badInput("the working directory '\(workingDir)' is invalid, it needs to be an absolute path")
        }

        let hostname = spec.hostname ?? (spec.network == .host ? ProcessInfo.processInfo.hostName : String(id.prefix(12)))
        var env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=\(hostname)"]
        for entry in (image?.config.Env ?? []) + spec.env {
            let key = entry.split(separator: "=", maxSplits: 1).first.map(String.init) ?? entry
            env.removeAll { $0.hasPrefix(key + "=") }
            env.append(entry)
        }
        if !env.contains(where: { $0.hasPrefix("HOME=") }) { env.append("HOME=\(user.home)") }

        let record = ContainerRecord(
            id: id, name: name ?? NameGenerator.generate(taken: Set((try? FileManager.default.contentsOfDirectory(atPath: store.namesDir)) ?? [])), created: Date(), spec: spec,
            argv: argv, workingDir: workingDir, stopSignal: stopSignal, rootfs: rootfs, image: image?.use, health: health,
            hostname: hostname, user: user, env: env, cgroupPath: cgroups.path(of: id),
            logPath: store.directory(of: id) + "/\(id)-json.log", volumes: volumeUses.isEmpty ? nil : volumeUses.map(\.name))
        let seccomp = spec.seccomp ? try SeccompCache.shared.program(for: capabilities, cacheDir: store.root + "/seccomp") : nil
        return (record, capabilities, seccomp, volumeUses)
    }

    /// Hands the prepared container to the monitor (CRuntime) and waits for
    /// the exec or the failed step.
    private func launch(_ record: ContainerRecord, capabilities: CapabilitySet, seccomp: SeccompProgram?,
                        attach: Attach?) throws -> StartedContainer {
        let spec = record.spec
        let arena = CArena()
        let plan = MountPlan.plan(for: spec, workingDir: record.workingDir, etcDir: store.directory(of: record.id))
        let mounts = plan.map { step in
            crt_mount(op: step.op.rawValue, source: arena.optionalString(step.source), target: arena.string(step.target),
                      fstype: arena.optionalString(step.fstype), data: arena.optionalString(step.data),
                      flags: step.flags, mode: step.mode, dev: step.device)
        }
        var flags = CRT_CLONE_NEWNS | CRT_CLONE_NEWPID | CRT_CLONE_NEWUTS | CRT_CLONE_NEWIPC | CRT_CLONE_NEWCGROUP
        // Joining a namespace (setns before clone) replaces making one.
        if spec.network == .none && spec.networkNamespace == nil { flags |= CRT_CLONE_NEWNET }

        var config = crt_config()
        config.argv = arena.stringArray(record.argv)
        config.envp = arena.stringArray(record.env)
        config.cwd = arena.string(record.workingDir)
        config.uid = record.user.uid
        config.gid = record.user.gid
        config.groups = arena.array(record.user.groups)
        config.ngroups = record.user.groups.count
        config.`init` = spec.initProcess ? 1 : 0
        config.clone_flags = Int32(flags)
        config.rootfs = arena.string(URL(fileURLWithPath: record.rootfs).standardizedFileURL.path)
        if let image = record.image {
            // Upper layer first, as overlayfs lists them; mounted by the child
            // in the container's own mount namespace, so it goes with it.
            let options = "lowerdir=\(image.layers.reversed().joined(separator: ":")),upperdir=\(image.dataDir)/upper,workdir=\(image.dataDir)/work"
            guard options.utf8.count < 4000 else {
                throw RuntimeError.badInput("image \(image.reference) has too many layers for one overlay mount (\(image.layers.count))")
            }
            config.overlay = arena.string(options)
            config.data_dir = arena.string(image.dataDir)
        }
        config.readonly_rootfs = spec.readOnlyRootfs ? 1 : 0
        config.hostname = arena.string(record.hostname)
        config.setup_loopback = spec.network == .none && spec.networkNamespace == nil ? 1 : 0
        config.netns_path = arena.optionalString(spec.networkNamespace)
        config.mounts = arena.array(mounts)
        config.nmounts = mounts.count
        config.masked_paths = arena.stringArray(MountPlan.maskedPaths)
        config.readonly_paths = arena.stringArray(MountPlan.readonlyPaths)
        config.capabilities = capabilities.mask
        if let sysctls = spec.sysctls, !sysctls.isEmpty {
            config.sysctls = arena.stringArray(sysctls.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        }
        let rlimits = (spec.ulimits ?? []).map { Self.rlimit($0) }
        config.rlimits = arena.array(rlimits)
        config.nrlimits = rlimits.count
        if let seccomp {
            config.seccomp_filter = UnsafeRawPointer(arena.array(seccomp.bytes))
            config.seccomp_len = seccomp.instructionCount
        }
        config.cgroup_path = arena.string(record.cgroupPath)
        config.state_dir = arena.string(store.directory(of: record.id))
        config.log_path = arena.string(record.logPath)
        config.log_max_size = UInt64(max(0, spec.log.maxSize))
        config.log_max_files = Int32(spec.log.maxFiles)
        config.attach_stdout = attach?.stdout ?? -1
        config.attach_stderr = attach?.stderr ?? -1
        config.attach_fd = attach?.client ?? -1
        config.tty = spec.tty == true ? 1 : 0
        config.open_stdin = spec.openStdin == true ? 1 : 0
        config.tty_rows = attach?.size?.rows ?? 0
        config.tty_cols = attach?.size?.columns ?? 0
        config.remove_on_exit = spec.autoRemove ? 1 : 0
        config.name_link = arena.string(store.nameLink(record.name))

        if let health = record.health {
            config.health_argv = arena.stringArray(health.argv)
            config.health_interval_ns = UInt64(health.interval)
            config.health_timeout_ns = UInt64(health.timeout)
            config.health_start_period_ns = UInt64(health.startPeriod)
            config.health_retries = Int32(health.retries)
        }
        var started = crt_started()
        if crt_run(&config, &started) != 0 {
            let step = String(cString: crt_step_name(started.step))
            throw RuntimeError.setupFailed(errno: started.error, step: step, hint: Self.hint(step: step, errno: started.error, command: record.argv[0]))
        }
        return StartedContainer(id: record.id, name: record.name, pid: started.container_pid, eventFD: started.event_fd)
    }

    /// What a failed exec means in words, as Docker says it.
    static func hint(step: String, errno code: Int32, command: String) -> String? {
        if step == "setrlimit" && code == EPERM { return "a ulimit above this node's hard limit needs CAP_SYS_RESOURCE, which the node lacks" }
        guard step == "exec" else { return nil }
        switch code {
        case ENOENT: return command.contains("/") ? "\"\(command)\": no such file or directory" : "\"\(command)\": executable file not found in $PATH"
        case EACCES: return "\"\(command)\": permission denied"
        default: return nil
        }
    }

    // MARK: - Lifecycle of existing containers

    public func list(all: Bool) -> [ContainerInfo] {
        store.list().filter { all || $0.state.status == .running }
    }

    public func inspect(_ ref: String) throws -> ContainerInfo {
        store.info(try store.resolve(ref))
    }

    /// Sends `signal` to the container's first process. Docker's error if
    /// the container is not running.
    public func kill(_ ref: String, signal: Int32 = SIGKILL) throws {
        let info = try inspect(ref)
        guard info.state.status == .running, let pidfd = Self.pidfd(of: info) else {
            throw RuntimeError.conflict("Cannot kill container: \(ref): Container \(info.id) is not running")
        }
        defer { close(pidfd) }
        try syscall("pidfd_send_signal", "\(Signals.name(signal)) to \(info.state.pid)") { crt_pidfd_send_signal(pidfd, signal) }
    }

    /// Sends the stop signal (the spec's, or `signal`), waits up to `timeout`
    /// seconds (the spec's stop timeout by default), then kills every process
    /// of the container. Returns the exit status; stopping a stopped
    /// container is not an error.
    @discardableResult
    public func stop(_ ref: String, timeout: Int? = nil, signal: Int32? = nil) throws -> ContainerState {
        let info = try inspect(ref)
        guard info.state.status == .running else { return info.state }
        let grace = timeout ?? info.record.spec.stopTimeout
        if let pidfd = Self.pidfd(of: info) {
            defer { close(pidfd) }
            if grace > 0, crt_pidfd_send_signal(pidfd, signal ?? info.record.stopSignal) == 0,
               Self.poll(pidfd, milliseconds: grace * 1000) {
                return waitForRecord(info.record)
            }
            cgroups.killAll(id: info.id)
            _ = Self.poll(pidfd, milliseconds: 10_000)
        } else {
            cgroups.killAll(id: info.id)
        }
        return waitForRecord(info.record)
    }

    /// Removes a container and all it left: state, logs, cgroup, name. A
    /// running container needs `force`, which kills it first.
    /// `volumes`: its anonymous volumes go too (`rm -v`, `--rm`).
    public func remove(_ ref: String, force: Bool = false, volumes: Bool = false) throws {
        let info = try inspect(ref)
        if info.state.status == .running {
            guard force else {
                throw RuntimeError.conflict("You cannot remove a running container \(info.id). Stop the container before attempting removal or force remove")
            }
            cgroups.killAll(id: info.id)
            if let pidfd = Self.pidfd(of: info) {
                _ = Self.poll(pidfd, milliseconds: 10_000)
                close(pidfd)
            }
            _ = waitForRecord(info.record)
        }
        if FileManager.default.fileExists(atPath: info.record.cgroupPath) {
            cgroups.killAll(id: info.id)
            try cgroups.remove(id: info.id)
        }
        try store.delete(info.record)
        if volumes { removeAnonymousVolumes(of: info.record) }
    }

    /// Waits until the container has exited (or `timeout` seconds pass) and
    /// returns its state. Works from any process.
    public func wait(_ ref: String, timeout: Double? = nil) throws -> ContainerState {
        let info = try inspect(ref)
        guard info.state.status == .running else { return info.state }
        if let pidfd = Self.pidfd(of: info) {
            _ = Self.poll(pidfd, milliseconds: timeout.map { Int($0 * 1000) } ?? -1)
            close(pidfd)
        }
        return waitForRecord(info.record)
    }

    /// After the container's first process is gone, the monitor still drains
    /// the logs and writes the exit file; wait (bounded) for that.
    private func waitForRecord(_ record: ContainerRecord) -> ContainerState {
        var state = store.state(of: record)
        if state.status == .running, state.monitorPid > 0 {
            let fd = crt_pidfd_open(state.monitorPid)
            if fd >= 0 {
                _ = Self.poll(fd, milliseconds: 10_000)
                close(fd)
            }
            state = store.state(of: record)
        }
        return state
    }

    /// A pidfd for the container's first process, checked to still be in the
    /// container's cgroup after opening it (so a recycled pid is never signalled).
    static func pidfd(of info: ContainerInfo) -> Int32? {
        pidfd(pid: info.state.pid, id: info.id)
    }

    static func pidfd(pid: pid_t, id: String) -> Int32? {
        guard pid > 0 else { return nil }
        let fd = crt_pidfd_open(pid)
        guard fd >= 0 else { return nil }
        guard ContainerStore.isAlive(pid, inCgroup: id) else {
            close(fd)
            return nil
        }
        return fd
    }

    /// Polls a pidfd until the process exits; false on timeout.
    static func poll(_ fd: Int32, milliseconds: Int) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let deadline = milliseconds < 0 ? nil : DispatchTime.now().uptimeNanoseconds + UInt64(milliseconds) * 1_000_000
        while true {
            var remaining: Int32 = -1
            if let deadline {
                let now = DispatchTime.now().uptimeNanoseconds
                if now >= deadline { return false }
                remaining = Int32(min(UInt64(Int32.max), (deadline - now) / 1_000_000 + 1))
            }
            let result = Glibc.poll(&entry, 1, remaining)
            if result > 0 { return true }
            if result == 0 { return false }
            if errno != EINTR { return false }
        }
    }

    // MARK: - Names and ids

    public static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in
            let value = generator.next() as UInt64
            let hex = String(value, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    /// Docker's rule for container names: [a-zA-Z0-9][a-zA-Z0-9_.-]+
    static func validate(name: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
        guard name.count >= 2, let first = name.first, first.isLetter || first.isNumber,
              first.isASCII, name.allSatisfy({ allowed.contains($0) }) else {
            throw RuntimeError.badInput("Invalid container name (\(name)), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        }
    }
}

/// A container this process started: its exit arrives on the event pipe.
public final class StartedContainer: Sendable {
    public let id: String
    public let name: String
    /// The first process, as seen from the host.
    public let pid: pid_t
    /// The event pipe; -1 once detached.
    private let eventFD: Atomic<Int32>

    init(id: String, name: String, pid: pid_t, eventFD: Int32) {
        self.id = id
        self.name = name
        self.pid = pid
        self.eventFD = Atomic(eventFD)
    }

    deinit { detach() }

    /// Stops listening; the container goes on.
    public func detach() {
        let fd = eventFD.exchange(-1, ordering: .acquiringAndReleasing)
        if fd >= 0 { close(fd) }
    }

    /// Blocks until the container exits and returns (exit code, signal).
    /// The exit code is 128+signal when a signal ended it, as in Docker.
    public func wait() -> (exitCode: Int32, signal: Int32?)? {
        let fd = eventFD.load(ordering: .acquiring)
        guard fd >= 0 else { return nil }
        var event = crt_event()
        while crt_read_event(fd, &event) == 1 {
            if event.kind == 3 { return (event.exit_code, event.signal == 0 ? nil : event.signal) }
        }
        return nil
    }
}
