@testable import Containers
import Foundation
import Testing

/// Stats parsing against a fake cgroup directory and a fake /proc: what is
/// there is read exactly, what is missing stays nil (shown as --).
struct ContainerStatsTests {
    let root: String

    init() throws {
        root = NSTemporaryDirectory() + "fake-stats-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root + "/cg/sub", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/proc/42/net", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/proc/42/ns", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/proc/1/ns", withIntermediateDirectories: true)
    }

    func write(_ relative: String, _ text: String) throws {
        try text.write(toFile: root + "/" + relative, atomically: false, encoding: .utf8)
    }

    func clean() { try? FileManager.default.removeItem(atPath: root) }

    /// The files a pure cgroup v2 host has with cpu, memory, pids and io delegated.
    func fullTree() throws {
        try write("cg/cpu.stat", "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n")
        try write("cg/memory.current", "10485760\n")
        try write("cg/memory.stat", "anon 4096\nfile 8192\ninactive_file 2097152\nactive_file 1\n")
        try write("cg/memory.max", "67108864\n")
        try write("cg/pids.current", "3\n")
        try write("cg/io.stat", "8:0 rbytes=4096 wbytes=1000 rios=1 wios=2 dbytes=0 dios=0\n8:16 rbytes=100 wbytes=24 rios=1 wios=1\n")
        try write("cg/cgroup.threads", "42\n43\n")
        try write("proc/stat", "cpu  100 0 50 800 10 0 5 0 0 0\ncpu0 50 0 25 400 5 0 2 0 0 0\ncpu1 50 0 25 400 5 0 3 0 0 0\nintr 1\n")
        try write("proc/meminfo", "MemTotal:        8000000 kB\nMemFree: 1 kB\n")
        try write("proc/42/net/dev", """
            Inter-|   Receive                                                |  Transmit
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
                lo:  999999      10    0    0    0     0          0         0   999999      10    0    0    0     0       0          0
              eth0:    1500      12    0    0    0     0          0         0      700       7    0    0    0     0       0          0
              eth1:     500       2    0    0    0     0          0         0      300       1    0    0    0     0       0          0

            """)
        try FileManager.default.createSymbolicLink(atPath: root + "/proc/42/ns/net", withDestinationPath: "net:[4026532001]")
        try FileManager.default.createSymbolicLink(atPath: root + "/proc/1/ns/net", withDestinationPath: "net:[4026531840]")
    }

    @Test func readsEveryValueOfAFullTree() throws {
        defer { clean() }
        try fullTree()
        let stats = StatsReader.read(cgroupDir: root + "/cg", pid: 42, proc: root + "/proc")
        #expect(stats.cpuUsec == 2_500_000)
        #expect(stats.systemUsec == (100 + 50 + 800 + 10 + 5) * 10_000)
        #expect(stats.onlineCPUs == 2)
        #expect(stats.memoryUsage == 10_485_760 - 2_097_152)
        #expect(stats.memoryLimit == 67_108_864)
        #expect(stats.memoryPercent == Double(10_485_760 - 2_097_152) / 67_108_864 * 100)
        #expect(stats.pids == 3)
        #expect(stats.blockRead == 4196 && stats.blockWrite == 1024)
        #expect(stats.netRx == 2000 && stats.netTx == 1000, "lo is not counted")
    }

    @Test func unlimitedMemoryIsTheHostsAndThreadsCountWithoutPidsController() throws {
        defer { clean() }
        try fullTree()
        try write("cg/memory.max", "max\n")
        try FileManager.default.removeItem(atPath: root + "/cg/pids.current")
        try write("cg/sub/cgroup.threads", "44\n")
        let stats = StatsReader.read(cgroupDir: root + "/cg", pid: 42, proc: root + "/proc")
        #expect(stats.memoryLimit == 8_000_000 * 1024)
        #expect(stats.pids == 3, "two tasks in the cgroup, one in its child")
    }

    /// A hybrid host: the container's cgroup2 directory has only core files.
    @Test func onlyCoreFilesLeaveTheRestUnknown() throws {
        defer { clean() }
        try write("cg/cpu.stat", "usage_usec 77\nuser_usec 70\nsystem_usec 7\n")
        try write("cg/cgroup.threads", "42\n")
        let stats = StatsReader.read(cgroupDir: root + "/cg", pid: 0, proc: root + "/proc")
        #expect(stats.cpuUsec == 77)
        #expect(stats.memoryUsage == nil && stats.memoryLimit == nil && stats.memoryPercent == nil)
        #expect(stats.blockRead == nil && stats.blockWrite == nil)
        #expect(stats.netRx == nil && stats.netTx == nil)
        #expect(stats.pids == 1)
    }

    @Test func hostNetworkCountsNothingAsDocker() throws {
        defer { clean() }
        try fullTree()
        try FileManager.default.removeItem(atPath: root + "/proc/42/ns/net")
        try FileManager.default.createSymbolicLink(atPath: root + "/proc/42/ns/net", withDestinationPath: "net:[4026531840]")
        let stats = StatsReader.read(cgroupDir: root + "/cg", pid: 42, proc: root + "/proc")
        #expect(stats.netRx == 0 && stats.netTx == 0)
    }

    @Test func cpuPercentAsDocker() {
        var before = ContainerStats(), after = ContainerStats()
        before.cpuUsec = 1_000_000
        before.systemUsec = 10_000_000
        after.cpuUsec = 1_500_000
        after.systemUsec = 12_000_000
        after.onlineCPUs = 2
        // 0.5 s of 2 s of all CPUs' time, times 2 CPUs.
        #expect(ContainerStats.cpuPercent(previous: before, current: after) == 50)
        after.cpuUsec = nil
        #expect(ContainerStats.cpuPercent(previous: before, current: after) == nil)
    }

    @Test func processTableKeepsTheContainersRowsAndTheWholeCommand() throws {
        let output = """
            UID          PID    PPID  C STIME TTY          TIME CMD
            root           1       0  0 10:00 ?        00:00:01 /sbin/init splash
            root        4242    4200  0 10:01 ?        00:00:00 sleep 1000
            1000        4300    4242  3 10:02 pts/0    00:00:00 sh -c echo a  b
            """
        let table = try ProcessTable.parse(psOutput: output, pids: [4242, 4300])
        #expect(table.titles == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"])
        #expect(table.processes == [["root", "4242", "4200", "0", "10:01", "?", "00:00:00", "sleep 1000"],
                                    ["1000", "4300", "4242", "3", "10:02", "pts/0", "00:00:00", "sh -c echo a b"]])
        #expect(throws: (any Error).self) { try ProcessTable.parse(psOutput: "UID CMD\nroot x\n", pids: [1]) }
    }
}
