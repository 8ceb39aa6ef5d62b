import Containers
import Foundation
import HostNetwork
import SystemCalls
import Testing

/// A container joins a network namespace made beforehand (as the overlay
/// data path makes one per task) and sees its interface; its resolv.conf
/// and hosts are an overlay task's.
struct OverlayContainerTests {
    @Test(.enabled(if: isRoot, rootReason))
    func aContainerJoinsAGivenNetworkNamespace() throws {
        let sandbox = try Sandbox()
        let directory = NSTemporaryDirectory() + "swarm-test-joinns-\(getpid())"
        let output = directory + "/out"
        defer {
            sandbox.cleanUp()
            try? NetworkNamespace(name: "task", directory: directory + "/netns").delete()
            try? NetworkNamespace.removeDirectory(directory + "/netns")
            try? FileManager.default.removeItem(atPath: directory)
        }
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let namespace = try NetworkNamespace.create("task", in: directory + "/netns")
        try namespace.bringUpLoopback()
        let links = try Netlink(namespace: namespace)
        try links.createBridge("probe0")
        try links.addAddress("10.232.0.5", prefix: 24, link: "probe0")
        try links.setLinkUp("probe0")

        var spec = ContainerSpec(rootfs: busyboxRootfs, command: ["sh", "-c", "cat /proc/net/dev /etc/resolv.conf /etc/hosts > /out/probe"])
        spec.networkNamespace = namespace.path
        spec.nameservers = ["127.0.0.11"]
        spec.hostAddress = "10.232.0.5"
        spec.hostname = "web1"
        spec.mounts = [BindMount(source: output, target: "/out")]
        spec.autoRemove = true
        let container = try sandbox.runtime.run(spec)
        #expect(container.wait()?.exitCode == 0)
        let probe = (try? String(contentsOfFile: output + "/probe", encoding: .utf8)) ?? ""
        #expect(probe.contains("probe0:"), "\(probe)")
        #expect(probe.contains("nameserver 127.0.0.11\n") && !probe.contains("nameserver 8.8.8.8"), "\(probe)")
        #expect(probe.contains("10.232.0.5\tweb1\n"), "\(probe)")

        // A path that is no namespace: one line, nothing made.
        spec.networkNamespace = directory + "/netns/missing"
        #expect(throws: RuntimeError.self) { try sandbox.runtime.run(spec) }
        #expect(sandbox.leftovers().isEmpty || eventually { sandbox.leftovers().isEmpty })
    }
}
