@testable import Containers
import Foundation
import Testing

/// What a container on an overlay network finds in /etc, and specs stored
/// before a container could join a namespace.
struct OverlayEtcFilesTests {
    @Test func anOverlayTaskResolvesThroughTheMeshDNS() {
        let host = "# from the host\nsearch lan example.com\nnameserver 10.0.0.1\nnameserver 127.0.0.53\noptions ndots:2 timeout:1\n"
        let resolv = EtcFiles.resolvConf(network: .none, hostResolvConf: host, nameservers: ["127.0.0.11"])
        #expect(resolv == "nameserver 127.0.0.11\n# from the host\nsearch lan example.com\noptions ndots:2 timeout:1\n")
    }

    @Test func theHostnameHasTheTaskAddress() {
        let hosts = EtcFiles.hosts(hostname: "web1", network: .none, hostHosts: nil, address: "10.0.1.5")
        #expect(hosts.hasPrefix("127.0.0.1\tlocalhost\n") && hosts.hasSuffix("\n10.0.1.5\tweb1\n"))
        #expect(!EtcFiles.hosts(hostname: "web1", network: .none, hostHosts: nil).contains("web1"))
    }

    @Test func aSpecStoredBeforeNamespacesDecodes() throws {
        var spec = ContainerSpec(rootfs: "/r", command: ["true"])
        var object = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(spec)) as! [String: Any]
        #expect(object["networkNamespace"] == nil)
        object.removeValue(forKey: "nameservers")
        let decoded = try JSONDecoder().decode(ContainerSpec.self, from: try JSONSerialization.data(withJSONObject: object))
        #expect(decoded.networkNamespace == nil && decoded == spec)
        spec.networkNamespace = "/run/swarm/overlay/netns/task-x"
        #expect(try JSONDecoder().decode(ContainerSpec.self, from: try JSONEncoder().encode(spec)).networkNamespace == spec.networkNamespace)
    }
}
