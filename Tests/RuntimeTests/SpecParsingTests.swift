@testable import Containers
import Foundation
@testable import OCIImages
@testable import SystemCalls
import Testing

struct SpecParsingTests {
    static let sizeCases: [(String, Int64)] = [
        ("64m", 67_108_864), ("1g", 1_073_741_824), ("512k", 524_288), ("100b", 100), ("64mb", 67_108_864),
        ("1048576", 1_048_576), ("1.5g", 1_610_612_736), ("2T", 2_199_023_255_552),
    ]

    @Test(arguments: sizeCases)
    func sizes(text: String, bytes: Int64) throws {
        #expect(try Resources.parseBytes(text) == bytes)
    }

    @Test(arguments: ["", "lots", "-1m", "12q", "m"])
    func badSizes(text: String) {
        #expect(throws: RuntimeError.self) { try Resources.parseBytes(text) }
    }

    @Test func memoryHasDockersMinimum() throws {
        #expect(throws: RuntimeError.badInput("invalid --memory 4m: the minimum is 6m")) { try Resources.parseMemory("4m") }
        #expect(try Resources.parseMemory("6m") == 6 << 20)
    }

    @Test func cpusWithinTheHost() throws {
        #expect(try Resources.parseCPUs("0.5") == 500_000_000)
        #expect(throws: RuntimeError.self) { try Resources.parseCPUs("0") }
        #expect(throws: RuntimeError.self) { try Resources.parseCPUs("100000") }
    }

    static let signalCases: [(String, Int32)] = [
        ("SIGTERM", SIGTERM), ("TERM", SIGTERM), ("term", SIGTERM), ("9", SIGKILL), ("SIGUSR1", SIGUSR1), ("HUP", SIGHUP),
    ]

    @Test(arguments: signalCases)
    func signals(text: String, number: Int32) throws {
        #expect(try Signals.parse(text) == number)
    }

    @Test func signalNames() throws {
        #expect(Signals.name(SIGKILL) == "SIGKILL")
        #expect(throws: RuntimeError.self) { try Signals.parse("SIGNOPE") }
        #expect(throws: RuntimeError.self) { try Signals.parse("0") }
    }

    @Test func bindMounts() throws {
        #expect(try BindMount.parse("type=bind,source=/a,target=/b") == BindMount(source: "/a", target: "/b"))
        #expect(try BindMount.parse("type=bind,src=/a,dst=/b,readonly") == BindMount(source: "/a", target: "/b", readOnly: true))
        #expect(try BindMount.parse("type=bind,src=/a,destination=/b,ro=true") == BindMount(source: "/a", target: "/b", readOnly: true))
        #expect(try BindMount.parse("type=bind,src=/a,target=/b,readonly=false").readOnly == false)
        for bad in ["type=volume,src=a,dst=/b", "type=bind,dst=/b", "type=bind,src=/a,dst=relative", "type=bind,src=/a,dst=/b,color=red"] {
            #expect(throws: RuntimeError.self, "\(bad)") { try BindMount.parse(bad) }
        }
    }

    @Test func logOptions() throws {
        var options = LogOptions()
        try options.apply("max-size=1k")
        try options.apply("max-file=5")
        #expect(options == LogOptions(maxSize: 1024, maxFiles: 5))
        #expect(throws: RuntimeError.self) { try options.apply("max-file=0") }
        #expect(throws: RuntimeError.self) { try options.apply("compress=true") }
        #expect(throws: RuntimeError.self) { try options.apply("max-size") }
    }

    @Test func capabilities() throws {
        #expect(CapabilitySet.dockerDefault.mask == 0xa80425fb)
        let added = try CapabilitySet.dockerDefault.adding(["NET_ADMIN", "cap_sys_time"], dropping: ["CAP_CHOWN"])
        #expect(added.contains("NET_ADMIN") && added.contains("SYS_TIME") && !added.contains("CHOWN"))
        #expect(try CapabilitySet.dockerDefault.adding([], dropping: ["ALL"]).mask == 0)
        #expect(try CapabilitySet.dockerDefault.adding(["NET_RAW"], dropping: ["ALL"]).mask == 1 << 13)
        #expect(try CapabilitySet.dockerDefault.adding(["ALL"], dropping: ["MKNOD"]) == CapabilitySet(mask: CapabilitySet.all.mask & ~(1 << 27)))
        #expect(throws: RuntimeError.badInput("unknown capability NOT_A_CAP: use a name such as NET_ADMIN or CAP_SYS_TIME")) {
            try CapabilitySet.dockerDefault.adding(["NOT_A_CAP"], dropping: [])
        }
        #expect(throws: RuntimeError.self) { try CapabilitySet.number(of: "12") }
    }

    @Test func etcFiles() {
        let resolv = EtcFiles.resolvConf(network: .none, hostResolvConf: "search lan\nnameserver 127.0.0.53\nnameserver 10.0.0.1\noptions ndots:2\n")
        #expect(resolv == "search lan\nnameserver 10.0.0.1\noptions ndots:2\n")
        let fallback = EtcFiles.resolvConf(network: .none, hostResolvConf: "nameserver 127.0.0.1\n")
        #expect(fallback == "nameserver 8.8.8.8\nnameserver 8.8.4.4\n")
        #expect(EtcFiles.resolvConf(network: .host, hostResolvConf: "nameserver 127.0.0.1\n") == "nameserver 127.0.0.1\n")
        #expect(EtcFiles.hosts(hostname: "h", network: .none, hostHosts: "x").hasPrefix("127.0.0.1\tlocalhost\n"))
    }

    @Test func mountPlanHasDockersLayout() {
        var spec = ContainerSpec(rootfs: "/r", command: ["true"])
        spec.mounts = [BindMount(source: "/src", target: "/dst", readOnly: true)]
        let plan = MountPlan.plan(for: spec, workingDir: "/app", etcDir: "/state/c")
        let targets = plan.map(\.target)
        #expect(targets.firstIndex(of: "/dev")! < targets.firstIndex(of: "/dev/null")!, "devices go into the /dev tmpfs")
        #expect(plan.first { $0.target == "/dev/null" }?.device == crt_makedevForTests(1, 3))
        #expect(plan.first { $0.target == "/sys" }.map { $0.flags & UInt(MS_RDONLY) != 0 } == true)
        #expect(plan.first { $0.target == "/etc/hosts" }?.source == "/state/c/hosts")
        #expect(plan.first { $0.target == "/dst" } == PlannedMount(op: .bind, source: "/src", target: "/dst", flags: UInt(MS_RDONLY)))
        #expect(plan.last == PlannedMount(op: .mkdir, target: "/app", mode: 0o755))
    }
}

/// makedev for 1:3 is 0x103 on Linux.
func crt_makedevForTests(_ major: UInt64, _ minor: UInt64) -> UInt64 { (major << 8) | minor }

struct HealthSettingsTests {
    @Test func durations() throws {
        #expect(try Durations.parse("30s") == 30_000_000_000)
        #expect(try Durations.parse("1m30s") == 90_000_000_000)
        #expect(try Durations.parse("200ms") == 200_000_000)
        #expect(try Durations.parse("1h") == 3_600_000_000_000)
        #expect(try Durations.parse("1.5s") == 1_500_000_000)
        for bad in ["", "10", "soon", "5 s", "-1s"] {
            #expect(throws: RuntimeError.self, "\(bad)") { try Durations.parse(bad) }
        }
    }

    @Test func mergeLikeDocker() throws {
        let image = ImageConfig.Healthcheck(Test: ["CMD-SHELL", "curl -f localhost"], Interval: 5_000_000_000, Retries: 5)
        let merged = try #require(try HealthSettings.merge(image: image, user: nil))
        #expect(merged == HealthSettings(argv: ["/bin/sh", "-c", "curl -f localhost"], interval: 5_000_000_000,
                                         timeout: 30_000_000_000, startPeriod: 0, retries: 5))
        let user = ImageConfig.Healthcheck(Test: ["CMD", "true"], Timeout: 1_000_000_000)
        #expect(try HealthSettings.merge(image: image, user: user) ==
                HealthSettings(argv: ["true"], interval: 5_000_000_000, timeout: 1_000_000_000, startPeriod: 0, retries: 5))
        #expect(try HealthSettings.merge(image: image, user: .init(Test: ["NONE"])) == nil)
        #expect(try HealthSettings.merge(image: nil, user: nil) == nil)
        #expect(throws: RuntimeError.self) { try HealthSettings.merge(image: .init(Test: ["BOGUS", "x"]), user: nil) }
    }
}
