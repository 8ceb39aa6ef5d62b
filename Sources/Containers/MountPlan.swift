import CRuntime
import Glibc

/// One step of the container's file-system setup, executed in order by the
/// child (CRuntime's crt_mount); targets are paths inside the container.
public struct PlannedMount: Equatable, Sendable {
    public enum Operation: Int32, Sendable {
        case mount = 1, bind, mknod, symlink, mkdir
    }
    public var op: Operation
    public var source: String?
    public var target: String
    public var fstype: String?
    public var data: String?
    public var flags: UInt = 0
    public var mode: UInt32 = 0
    public var device: UInt64 = 0
}

/// Docker's file-system layout for a container, as a plan.
public enum MountPlan {
    static let nosuidNodevNoexec = UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC)

    /// Paths hidden from the container (Docker's defaults): files get
    /// /dev/null bound over them, directories an empty read-only tmpfs.
    public static let maskedPaths = [
        "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
        "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
        "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    ]

    /// Paths made read-only (Docker's defaults).
    public static let readonlyPaths = [
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
    ]

    /// The character devices Docker creates in /dev: name, major, minor.
    static let devices: [(String, UInt32, UInt32)] = [
        ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0),
    ]

    /// The plan for `spec`, with /etc/hostname, /etc/hosts and
    /// /etc/resolv.conf bound from `etcDir` on the host.
    public static func plan(for spec: ContainerSpec, workingDir: String, etcDir: String) -> [PlannedMount] {
        var plan: [PlannedMount] = [
            PlannedMount(op: .mount, source: "proc", target: "/proc", fstype: "proc", flags: nosuidNodevNoexec),
            PlannedMount(op: .mount, source: "tmpfs", target: "/dev", fstype: "tmpfs",
                         data: "mode=755,size=65536k", flags: UInt(MS_NOSUID | MS_STRICTATIME)),
        ]
        for (name, major, minor) in devices {
            plan.append(PlannedMount(op: .mknod, target: "/dev/" + name, mode: UInt32(S_IFCHR) | 0o666,
                                     device: crt_makedev(major, minor)))
        }
        plan += [
            PlannedMount(op: .mount, source: "devpts", target: "/dev/pts", fstype: "devpts",
                         data: "newinstance,ptmxmode=0666,mode=0620,gid=5", flags: UInt(MS_NOSUID | MS_NOEXEC)),
            PlannedMount(op: .symlink, source: "pts/ptmx", target: "/dev/ptmx"),
            PlannedMount(op: .mount, source: "shm", target: "/dev/shm", fstype: "tmpfs",
                         data: "mode=1777,size=65536k", flags: nosuidNodevNoexec),
            PlannedMount(op: .mount, source: "mqueue", target: "/dev/mqueue", fstype: "mqueue", flags: nosuidNodevNoexec),
            PlannedMount(op: .symlink, source: "/proc/self/fd", target: "/dev/fd"),
            PlannedMount(op: .symlink, source: "/proc/self/fd/0", target: "/dev/stdin"),
            PlannedMount(op: .symlink, source: "/proc/self/fd/1", target: "/dev/stdout"),
            PlannedMount(op: .symlink, source: "/proc/self/fd/2", target: "/dev/stderr"),
            PlannedMount(op: .symlink, source: "/proc/kcore", target: "/dev/core"),
            PlannedMount(op: .mount, source: "sysfs", target: "/sys", fstype: "sysfs",
                         flags: nosuidNodevNoexec | UInt(MS_RDONLY)),
            PlannedMount(op: .mount, source: "cgroup", target: "/sys/fs/cgroup", fstype: "cgroup2",
                         flags: nosuidNodevNoexec | UInt(MS_RDONLY | MS_RELATIME)),
        ]
        for name in ["hostname", "hosts", "resolv.conf"] {
            plan.append(PlannedMount(op: .bind, source: etcDir + "/" + name, target: "/etc/" + name))
        }
        for mount in spec.mounts {
            plan.append(PlannedMount(op: .bind, source: mount.source, target: mount.target,
                                     flags: mount.readOnly ? UInt(MS_RDONLY) : 0))
        }
        for mount in spec.tmpfs ?? [] {
            plan.append(PlannedMount(op: .mount, source: "tmpfs", target: mount.target, fstype: "tmpfs",
                                     data: mount.options, flags: UInt(MS_NOSUID | MS_NODEV)))
        }
        // Docker creates the working directory; it must exist before a
        // read-only root is remounted.
        if workingDir != "/" {
            plan.append(PlannedMount(op: .mkdir, target: workingDir, mode: 0o755))
        }
        return plan
    }
}
