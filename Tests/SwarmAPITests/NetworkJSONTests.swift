import Foundation
import Testing
@testable import SwarmAPI

/// The network types through APIJSON: Go's field names as Docker's swarm
/// types write them (swarm.Network, swarm.Endpoint, swarm.NetworkAttachment).
struct NetworkJSONTests {
    /// `docker network inspect` of a swarm network as swarmkit stores it, and a task's attachment, in Docker's keys.
    static let dockerTask = """
    {"NetworksAttachments":[{"Network":{"ID":"n1","Version":{"Index":7},"CreatedAt":"2026-11-25T15:46:00Z","UpdatedAt":"2026-11-25T15:46:00Z",
      "Spec":{"Name":"app","Labels":{},"DriverConfiguration":{"Name":"overlay"},"IPv6Enabled":false,"Attachable":true,"Scope":"swarm",
              "IPAMOptions":{"Driver":{"Name":"default"},"Configs":[{"Subnet":"10.0.1.0/24","Gateway":"10.0.1.1"}]}},
      "DriverState":{"Name":"overlay","Options":{"com.docker.network.driver.overlay.vxlanid_list":"4097"}},
      "IPAMOptions":{"Driver":{"Name":"default"},"Configs":[{"Subnet":"10.0.1.0/24","Gateway":"10.0.1.1"}]}},
      "Addresses":["10.0.1.5/24"]}]}
    """

    struct TaskPart: Codable { var networksAttachments: [NetworkAttachment] }

    @Test func readsAndWritesDockersKeys() throws {
        let task = try APIJSON.decode(TaskPart.self, from: Array(Self.dockerTask.utf8))
        let network = try #require(task.networksAttachments.first?.network)
        #expect(network.vni == 4097 && network.subnet == "10.0.1.0/24" && network.gateway == "10.0.1.1")
        #expect(network.spec.ipv6Enabled == false && network.spec.attachable == true && network.spec.driverConfiguration?.name == "overlay")
        let again = try #require(try JSONSerialization.jsonObject(with: Data(try APIJSON.encode(task))) as? [String: Any])
        let attachment = try #require((again["NetworksAttachments"] as? [[String: Any]])?.first)
        let written = try #require(attachment["Network"] as? [String: Any])
        #expect(Set(written.keys) == ["ID", "Version", "CreatedAt", "UpdatedAt", "Spec", "DriverState", "IPAMOptions"])
        let spec = try #require(written["Spec"] as? [String: Any])
        #expect(Set(spec.keys) == ["Name", "Labels", "DriverConfiguration", "IPv6Enabled", "Attachable", "Scope", "IPAMOptions"])
        #expect(attachment["Addresses"] as? [String] == ["10.0.1.5/24"])
    }

    @Test func endpointsAndSwarmPoolsInDockersKeys() throws {
        let endpoint = Endpoint(spec: EndpointSpec(mode: "vip", ports: [PortConfig(targetPort: 80, publishedPort: 5000)]),
                                ports: [PortConfig(targetPort: 80, publishedPort: 5000)], virtualIPs: [EndpointVirtualIP(networkID: "n1", addr: "10.0.0.2/24")])
        let text = String(decoding: try APIJSON.encode(endpoint), as: UTF8.self)
        #expect(text == #"{"Ports":[{"Protocol":"tcp","PublishMode":"ingress","PublishedPort":5000,"TargetPort":80}],"Spec":{"Mode":"vip","Ports":[{"Protocol":"tcp","PublishMode":"ingress","PublishedPort":5000,"TargetPort":80}]},"VirtualIPs":[{"Addr":"10.0.0.2\/24","NetworkID":"n1"}]}"#
                || text == #"{"Ports":[{"Protocol":"tcp","PublishMode":"ingress","PublishedPort":5000,"TargetPort":80}],"Spec":{"Mode":"vip","Ports":[{"Protocol":"tcp","PublishMode":"ingress","PublishedPort":5000,"TargetPort":80}]},"VirtualIPs":[{"Addr":"10.0.0.2/24","NetworkID":"n1"}]}"#, "\(text)")
        let swarm = #"{"DefaultAddrPool":["10.20.0.0/16"],"SubnetSize":26}"#
        struct Pools: Codable { var defaultAddrPool: [String]?; var subnetSize: UInt32? }
        let pools = try APIJSON.decode(Pools.self, from: Array(swarm.utf8))
        #expect(pools.defaultAddrPool == ["10.20.0.0/16"] && pools.subnetSize == 26)
        #expect(String(decoding: try APIJSON.encode(pools), as: UTF8.self) == swarm)
    }
}
