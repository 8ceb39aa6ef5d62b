import SwarmAPI
import Testing

/// `--ulimit` parsing with go-units' messages, and the namespaced sysctls runc allows.
struct KernelLimitsTests {
    @Test func ulimitForms() throws {
        #expect(try Ulimit.parse("nofile=1024:2048") == Ulimit(name: "nofile", soft: 1024, hard: 2048))
        #expect(try Ulimit.parse("nproc=300") == Ulimit(name: "nproc", soft: 300, hard: 300))
        #expect(try Ulimit.parse("core=-1") == Ulimit(name: "core", soft: -1, hard: -1))
        #expect(try Ulimit.parse("memlock=100:-1") == Ulimit(name: "memlock", soft: 100, hard: -1))
        func message(_ text: String) -> String? { do { _ = try Ulimit.parse(text); return nil } catch { return error.description } }
        #expect(message("files=1") == "invalid ulimit type: files")
        #expect(message("nofile") == "invalid ulimit argument: nofile")
        #expect(message("nofile=a:b") == "invalid ulimit argument: nofile=a:b")
        #expect(message("nofile=1:2:3") == "invalid ulimit argument: nofile=1:2:3")
        #expect(message("nofile=20:10") == "ulimit soft limit must be less than or equal to hard limit: 20 > 10")
        #expect(message("nofile=-1:10") == "ulimit soft limit must be less than or equal to hard limit: -1 > 10")
    }

    @Test func onlyNamespacedSysctls() {
        for allowed in ["net.core.somaxconn", "net/ipv4/ip_forward", "kernel.shmmax", "kernel.shm_rmid_forced", "kernel.msgmnb", "kernel.sem", "fs.mqueue.msg_max"] {
            #expect(NamespacedSysctls.refusal(allowed, ownNetwork: true) == nil, "\(allowed)")
        }
        #expect(NamespacedSysctls.refusal("kernel.pid_max", ownNetwork: true)
                == #"sysctl "kernel.pid_max" is not allowed: only namespaced ones are (net.* with its own network, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)"#)
        #expect(NamespacedSysctls.refusal("vm.swappiness", ownNetwork: true) != nil)
        #expect(NamespacedSysctls.refusal("kernel.shmall", ownNetwork: false) == nil)
        #expect(NamespacedSysctls.refusal("net.core.somaxconn", ownNetwork: false)
                == #"sysctl "net.core.somaxconn" is not allowed in the host's network namespace: net.* needs the container's own network"#)
        #expect(NamespacedSysctls.check(["net.a": "1", "fs.file-max": "9"], ownNetwork: true)?.contains("fs.file-max") == true)
    }

    @Test func placementPreferenceAndPullOptionsJSON() throws {
        var spec = ContainerSpec(image: "busybox")
        spec.ulimits = [Ulimit(name: "nofile", soft: 1, hard: 2)]
        spec.sysctls = ["net.core.somaxconn": "10"]
        let json = String(decoding: try APIJSON.encode(spec), as: UTF8.self)
        #expect(json.contains(#""Sysctls":{"net.core.somaxconn":"10"}"#) && json.contains(#""Ulimits":[{"Hard":2,"Name":"nofile","Soft":1}]"#), "\(json)")
        var task = TaskSpec(containerSpec: spec)
        task.containerSpec?.pullOptions = PullOptions(registryAuth: "secret")
        #expect(task.redactingRegistryAuth.containerSpec?.pullOptions == nil)
        #expect(task.redactingRegistryAuth.containerSpec?.ulimits == spec.ulimits)
    }
}
