@testable import SwarmCLI
import SwarmAPI
import SystemCalls
import Testing

/// `--sysctl`, `--ulimit`, `--placement-pref` and their `-add`/`-rm` forms onto a spec.
struct KernelFlagsTests {
    func apply(_ spec: inout ServiceSpec, sysctlAdd: [String] = [], sysctlRemove: [String] = [], ulimitAdd: [String] = [],
               ulimitRemove: [String] = [], prefAdd: [String] = [], prefRemove: [String] = []) throws {
        try KernelFlags.apply(to: &spec, sysctlAdd: sysctlAdd, sysctlRemove: sysctlRemove, ulimitAdd: ulimitAdd, ulimitRemove: ulimitRemove,
                              prefAdd: prefAdd, prefRemove: prefRemove, flags: ("sysctl", "ulimit", "placement-pref"))
    }

    @Test func addThenRemove() throws {
        var spec = ServiceSpec(name: "s", taskTemplate: TaskSpec(containerSpec: ContainerSpec(image: "busybox")), mode: .replicas(1))
        try apply(&spec, sysctlAdd: ["net.core.somaxconn=1024", "kernel.sem=250 32000 100 128"], ulimitAdd: ["nproc=10", "nofile=1:2"],
                  prefAdd: ["spread=node.labels.zone"])
        #expect(spec.taskTemplate.containerSpec?.sysctls == ["net.core.somaxconn": "1024", "kernel.sem": "250 32000 100 128"])
        #expect(spec.taskTemplate.containerSpec?.ulimits == [Ulimit(name: "nofile", soft: 1, hard: 2), Ulimit(name: "nproc", soft: 10, hard: 10)])
        #expect(spec.taskTemplate.placement?.preferences == [PlacementPreference(spread: "node.labels.zone")])
        try apply(&spec, sysctlRemove: ["kernel.sem"], ulimitAdd: ["nofile=5"], ulimitRemove: ["nproc"],
                  prefAdd: ["spread=node.labels.rack"], prefRemove: ["spread=node.labels.zone"])
        #expect(spec.taskTemplate.containerSpec?.sysctls == ["net.core.somaxconn": "1024"])
        #expect(spec.taskTemplate.containerSpec?.ulimits == [Ulimit(name: "nofile", soft: 5, hard: 5)])
        #expect(spec.taskTemplate.placement?.preferences == [PlacementPreference(spread: "node.labels.rack")])
        try apply(&spec, sysctlRemove: ["net.core.somaxconn"], ulimitRemove: ["nofile"], prefRemove: ["spread=node.labels.rack"])
        #expect(spec.taskTemplate.containerSpec?.sysctls == nil && spec.taskTemplate.containerSpec?.ulimits == nil)
        #expect(spec.taskTemplate.placement?.preferences == nil)
    }

    @Test func badValuesSayWhatToDo() {
        var spec = ServiceSpec(name: "s", taskTemplate: TaskSpec(containerSpec: ContainerSpec(image: "busybox")), mode: .replicas(1))
        func message(_ change: (inout ServiceSpec) throws -> Void) -> String {
            do { try change(&spec); return "" } catch { return "\(error)" }
        }
        #expect(message { try apply(&$0, sysctlAdd: ["net.core.somaxconn"]) }.contains(#"invalid argument "net.core.somaxconn" for "--sysctl" flag: use KEY=VALUE"#))
        #expect(message { try apply(&$0, ulimitAdd: ["nofile=9:1"]) }.contains(#"invalid argument "nofile=9:1" for "--ulimit" flag: ulimit soft limit must be less than or equal to hard limit: 9 > 1"#))
        #expect(message { try apply(&$0, prefAdd: ["node.labels.zone"]) }.contains(#"placement preference must be of the format "<strategy>=<arg>""#))
        #expect(message { try apply(&$0, prefAdd: ["pack=node.labels.zone"]) }.contains("unsupported placement preference pack (only spread is supported)"))
        #expect(spec.taskTemplate.containerSpec?.sysctls == nil && spec.taskTemplate.placement == nil)
    }
}
