@testable import Containers
import Foundation
@testable import SystemCalls
import Testing

/// cgroup code against a fake tree in a temp dir: the files a real cgroup2
/// directory has, read back after the limits are written.
struct CgroupTests {
    let root: String

    init() throws {
        root = NSTemporaryDirectory() + "fake-cgroup-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root + "/swarm.slice", withIntermediateDirectories: true)
    }

    /// A fake cgroup2 directory: the kernel creates controller files when
    /// the directory is made; the fake needs them made by hand.
    func fixture(_ relative: String, _ files: [String: String]) throws {
        let dir = root + "/" + relative
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (name, content) in files { try content.write(toFile: dir + "/" + name, atomically: false, encoding: .utf8) }
    }

    func read(_ relative: String) throws -> String {
        try String(contentsOfFile: root + "/" + relative, encoding: .utf8)
    }

    @Test func writesMemoryCPUAndPidsLimits() throws {
        try fixture("swarm.slice/c1", ["memory.max": "max", "memory.swap.max": "max", "cpu.max": "max 100000", "pids.max": "max"])
        let manager = CgroupManager(root: root)
        try manager.apply(Resources(memoryBytes: 64 << 20, nanoCPUs: 500_000_000, pidsLimit: 50), to: manager.path(of: "c1"))
        #expect(try read("swarm.slice/c1/memory.max") == "67108864")
        #expect(try read("swarm.slice/c1/memory.swap.max") == "67108864")
        #expect(try read("swarm.slice/c1/cpu.max") == "50000 100000")
        #expect(try read("swarm.slice/c1/pids.max") == "50")
    }

    @Test func unlimitedPidsAndTinyCPUShares() throws {
        try fixture("swarm.slice/c2", ["cpu.max": "max 100000", "pids.max": "10"])
        let manager = CgroupManager(root: root)
        try manager.apply(Resources(nanoCPUs: 1_000_000, pidsLimit: -1), to: manager.path(of: "c2"))
        #expect(try read("swarm.slice/c2/pids.max") == "max")
        #expect(try read("swarm.slice/c2/cpu.max") == "1000 100000", "the kernel's minimum quota is 1000us")
    }

    @Test func missingControllerFileIsAnError() throws {
        try fixture("swarm.slice/c3", [:])
        let manager = CgroupManager(root: root)
        #expect(throws: RuntimeError.self) { try manager.apply(Resources(memoryBytes: 64 << 20), to: manager.path(of: "c3")) }
    }

    @Test func checkExplainsAControllerBoundToV1() throws {
        try fixture("swarm.slice", ["cgroup.controllers": "hugetlb\n"])
        let layout = CgroupLayout(unifiedMount: root, v1Controllers: ["memory": "/sys/fs/cgroup/memory", "cpu": "/sys/fs/cgroup/cpu"])
        let manager = CgroupManager(root: root, layout: layout)
        #expect(throws: RuntimeError.badInput("--memory needs the cgroup v2 memory controller, which this host binds to cgroup v1 (/sys/fs/cgroup/memory), so it cannot be enforced here")) {
            try manager.check(Resources(memoryBytes: 64 << 20))
        }
        #expect(throws: RuntimeError.badInput("--pids-limit needs the cgroup v2 pids controller, which is not enabled under \(root)/swarm.slice")) {
            try manager.check(Resources(pidsLimit: 5))
        }
        try manager.check(Resources())
    }

    @Test func prepareParentDelegatesOnlyMissingControllers() throws {
        try fixture("swarm.slice", ["cgroup.controllers": "cpu memory pids", "cgroup.subtree_control": "memory"])
        let manager = CgroupManager(root: root)
        try manager.check(Resources(memoryBytes: 64 << 20, nanoCPUs: 1_000_000_000, pidsLimit: 5))
        try manager.prepareParent(for: Resources(memoryBytes: 64 << 20, pidsLimit: 5))
        // A real cgroup.subtree_control takes "+pids" and lists it; the fake keeps what was written.
        #expect(try read("swarm.slice/cgroup.subtree_control") == "+pids")
    }

    @Test func layoutOfAHybridAndAPureV2Host() {
        let hybrid = """
            31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
            35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
            36 31 0:33 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
            40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
            """
        let layout = CgroupLayout.parse(mountinfo: hybrid)
        #expect(layout.unifiedMount == "/sys/fs/cgroup/unified")
        #expect(layout.v1Controllers == ["memory": "/sys/fs/cgroup/memory", "cpu": "/sys/fs/cgroup/cpu,cpuacct",
                                         "cpuacct": "/sys/fs/cgroup/cpu,cpuacct"])
        #expect(layout.isHybrid)
        let pure = "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot"
        let v2 = CgroupLayout.parse(mountinfo: pure)
        #expect(v2.unifiedMount == "/sys/fs/cgroup" && v2.v1Controllers.isEmpty && !v2.isHybrid)
    }
}
