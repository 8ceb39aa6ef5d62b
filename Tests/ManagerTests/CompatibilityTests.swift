import Foundation
import HTTPServer
import Testing
@testable import Manager
import SwarmAPI

/// What the stock docker CLI and SDKs meet: bodies as they send them,
/// version negotiation, the endpoints swarm lacks.
struct CompatibilityTests {
    static func post(_ path: String, _ json: String, query: [String: [String]] = [:]) -> HTTPRequest {
        HTTPRequest(method: "POST", path: path, query: query, body: Array(json.utf8), isUnixSocket: true)
    }

    /// `docker service create busybox sleep 1000`, byte for byte as CLI 28 sends it.
    static let dockerCreate = #"{"Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"busybox:latest","Args":["sleep","1000"],"Init":false,"DNSConfig":{},"Isolation":"default"},"Resources":{"Limits":{},"Reservations":{}},"Placement":{},"ForceUpdate":0},"Mode":{"Replicated":{}},"EndpointSpec":{"Mode":"vip"}}"#

    @Test func aServiceWithoutNameOrReplicasGetsDockersNameAndDefaults() async throws {
        let cluster = try await ClusterFixture(nodes: 1)
        let router = APIRouterTests.router(cluster)
        let created = await router.handle(Self.post("/v1.41/services/create", Self.dockerCreate))
        #expect(created.status == 201, "\(APIRouterTests.message(created) ?? "")")
        let id = try APIJSON.decode(CreateResponse.self, from: APIRouterTests.body(created)).id
        let service = try await cluster.manager.service(id)
        #expect(service.spec.name.range(of: #"^[a-z]+_[a-z]+\d*$"#, options: .regularExpression) != nil, "\(service.spec.name)")
        #expect(service.spec.mode.replicated?.replicas == 1)
        #expect(service.spec.taskTemplate.restartPolicy == RestartPolicy(condition: .any, delay: 5_000_000_000, maxAttempts: 0))
        #expect(service.spec.taskTemplate.containerSpec?.stopGracePeriod == 10_000_000_000)
        #expect(service.spec.updateConfig?.order == "stop-first" && service.spec.updateConfig?.failureAction == "pause"
                && service.spec.updateConfig?.monitor == 5_000_000_000 && service.spec.rollbackConfig?.parallelism == 1)
        #expect(service.spec.endpointSpec?.mode == "vip")
        // Read back and sent again unchanged (what `docker service update` does), nothing is refused.
        let json = String(decoding: try APIJSON.encode(service.spec), as: UTF8.self)
        let updated = await router.handle(Self.post("/services/\(id)/update", json, query: ["version": ["\(service.version.index)"]]))
        #expect(updated.status == 200, "\(APIRouterTests.message(updated) ?? "")")
        #expect(try await cluster.manager.service(id).spec == service.spec)
    }

    @Test func fieldsSwarmCannotHonourAreRefusedNotDropped() async throws {
        let cluster = try await ClusterFixture(nodes: 1)
        let router = APIRouterTests.router(cluster)
        func refusal(_ json: String) async -> (Int, String) {
            let response = await router.handle(Self.post("/services/create", json))
            return (response.status, APIRouterTests.message(response) ?? "")
        }
        let published = Self.dockerCreate.replacingOccurrences(of: #""EndpointSpec":{"Mode":"vip"}"#,
            with: #""EndpointSpec":{"Mode":"vip","Ports":[{"Protocol":"tcp","TargetPort":80,"PublishedPort":8080,"PublishMode":"ingress"}]}"#)
        // Published ports are taken now: the endpoint says what was allocated.
        let (status, message) = await refusal(published)
        #expect(status == 201, "\(message)")
        let publishing = try #require(await cluster.manager.allServices().first)
        #expect(publishing.endpoint?.ports == [PortConfig(protocol: "tcp", targetPort: 80, publishedPort: 8080, publishMode: "ingress")])
        try await cluster.manager.removeService(publishing.id)
        let secret = Self.dockerCreate.replacingOccurrences(of: #""Init":false"#, with: #""Init":false,"Secrets":[{"SecretName":"db"}]"#)
        #expect(await refusal(secret) == (400, "rpc error: code = InvalidArgument desc = secret reference is invalid: secret db not found"))
        let unknown = Self.dockerCreate.replacingOccurrences(of: #""Labels":{}"#, with: #""Labels":{},"Colour":"red""#)
        #expect(await refusal(unknown) == (501, "Colour is not supported yet by swarm: leave it unset"))
        let job = Self.dockerCreate.replacingOccurrences(of: #""Mode":{"Replicated":{}}"#, with: #""Mode":{"ReplicatedJob":{}}"#)
        #expect(await refusal(job).0 == 501)
        let network = Self.dockerCreate.replacingOccurrences(of: #""ForceUpdate":0"#, with: #""ForceUpdate":0,"Networks":[{"Target":"app"}]"#)
        #expect(await refusal(network) == (404, "network app not found"))
        let volume = Self.dockerCreate.replacingOccurrences(of: #""Init":false"#, with: #""Init":false,"Mounts":[{"Type":"npipe","Source":"v","Target":"/data"}]"#)
        #expect(await refusal(volume) == (501, "mount type npipe is not supported yet: use type=bind, volume or tmpfs"))
        #expect(await cluster.manager.allServices().isEmpty)
        // What the Python SDK sends for services.create("busybox"): no mode means one replica.
        let sdk = await router.handle(Self.post("/services/create", #"{"TaskTemplate":{"ContainerSpec":{"Image":"busybox"}},"Name":"sdk"}"#))
        let sdkService = try await cluster.manager.service("sdk")
        #expect(sdk.status == 201 && sdkService.spec.mode.replicated?.replicas == 1)
        // Its scale: Go's decoder, and so Docker, takes field names in another case.
        let scale = #"{"Name":"sdk","TaskTemplate":{"ContainerSpec":{"Image":"busybox"}},"Mode":{"replicated":{"Replicas":2}}}"#
        let scaled = await router.handle(Self.post("/services/sdk/update", scale, query: ["version": ["\(sdkService.version.index)"]]))
        #expect(scaled.status == 200, "\(APIRouterTests.message(scaled) ?? "")")
        #expect(try await cluster.manager.service("sdk").spec.mode.replicated?.replicas == 2)
        let empty = await router.handle(Self.post("/services/create", "{}"))
        #expect(empty.status == 400 && APIRouterTests.message(empty) == "rpc error: code = InvalidArgument desc = ContainerSpec: image reference must be provided")
        _ = try await cluster.manager.removeService("sdk")
        // A zero value is unset: Go's encoder writes it, nothing is lost.
        let zeros = Self.dockerCreate.replacingOccurrences(of: #""Labels":{}"#, with: #""Labels":{},"Colour":"","Size":0,"On":false,"List":[]"#)
        #expect(await router.handle(Self.post("/services/create", zeros)).status == 201)
    }

    @Test func versionsAreNegotiatedAsDockersAre() async throws {
        let cluster = try await ClusterFixture(nodes: 1)
        let router = APIRouterTests.router(cluster)
        let tooNew = await router.handle(APIRouterTests.get("/v1.50/version"))
        #expect(tooNew.status == 400 && APIRouterTests.message(tooNew) == "client version 1.50 is too new. Maximum supported API version is 1.41")
        let tooOld = await router.handle(APIRouterTests.get("/v1.12/version"))
        #expect(tooOld.status == 400 && APIRouterTests.message(tooOld)?.hasPrefix("client version 1.12 is too old. Minimum supported API version is 1.24") == true)
        let version = await router.handle(APIRouterTests.get("/v1.24/version"))
        #expect(version.status == 200 && version.header("Api-Version") == "1.41" && version.header("Server") == "Docker/0.4.0 (linux)")
        let info = try JSONSerialization.jsonObject(with: Data(APIRouterTests.body(version))) as? [String: Any]
        #expect(info?["ApiVersion"] as? String == "1.41" && info?["MinAPIVersion"] as? String == "1.24")
        let components = info?["Components"] as? [[String: Any]]
        #expect(components?.first?["Name"] as? String == "Engine" && (components?.first?["Details"] as? [String: String])?["ApiVersion"] == "1.41")
        let ping = await router.handle(HTTPRequest(method: "HEAD", path: "/_ping", isUnixSocket: true))
        #expect(ping.status == 200 && ping.header("Api-Version") == "1.41" && ping.header("Ostype") == "linux" && ping.header("Swarm") == "active/manager")
        #expect(ping.headers.filter { $0.0 == "Api-Version" }.count == 1)
    }

    @Test func endpointsSwarmLacksSayWhatIsMissing() async throws {
        let cluster = try await ClusterFixture(nodes: 1)
        let router = APIRouterTests.router(cluster)
        let plugins = await router.handle(APIRouterTests.get("/v1.41/plugins"))
        #expect(plugins.status == 501 && APIRouterTests.message(plugins) == "plugins are not supported (GET /plugins)")
        let host = await router.handle(APIRouterTests.get("/v1.41/networks/host", query: ["scope": ["swarm"]]))
        #expect(host.status == 200 && String(decoding: APIRouterTests.body(host), as: UTF8.self).contains(#""Id":"host""#))
        let app = await router.handle(APIRouterTests.get("/networks/app"))
        #expect(app.status == 404 && APIRouterTests.message(app) == "network app not found")
        let create = await router.handle(Self.post("/networks/create", "{}"))
        #expect(create.status == 400)
        let connect = await router.handle(Self.post("/networks/ingress/connect", "{}"))
        #expect(connect.status == 501)
    }

    /// What the docker CLI 28 sends for `network create -d overlay --subnet … --label … app`, and Docker's answers.
    @Test func networksInDockersShapes() async throws {
        let cluster = try await ClusterFixture(nodes: 1)
        let router = APIRouterTests.router(cluster)
        let request = #"{"Name":"app","CheckDuplicate":true,"Driver":"overlay","Scope":"","EnableIPv6":false,"IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"10.88.0.0/24","Gateway":"10.88.0.1"}]},"Internal":false,"Attachable":true,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":{},"Labels":{"team":"a"}}"#
        let created = await router.handle(Self.post("/v1.41/networks/create", request))
        #expect(created.status == 201)
        let reply = try #require(try JSONSerialization.jsonObject(with: Data(APIRouterTests.body(created))) as? [String: Any])
        let id = try #require(reply["Id"] as? String)
        #expect(reply["Warning"] as? String == "")
        let inspected = await router.handle(APIRouterTests.get("/networks/app"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(APIRouterTests.body(inspected))) as? [String: Any])
        #expect(object["Id"] as? String == id && object["Name"] as? String == "app" && object["Driver"] as? String == "overlay")
        #expect(object["Scope"] as? String == "swarm" && object["Attachable"] as? Bool == true && object["Ingress"] as? Bool == false)
        #expect(object["EnableIPv6"] as? Bool == false && object["Internal"] as? Bool == false && (object["Labels"] as? [String: String]) == ["team": "a"])
        let ipam = try #require(object["IPAM"] as? [String: Any])
        #expect(ipam["Driver"] as? String == "default" && (ipam["Config"] as? [[String: String]]) == [["Subnet": "10.88.0.0/24", "Gateway": "10.88.0.1"]])
        #expect((object["Options"] as? [String: String])?["com.docker.network.driver.overlay.vxlanid_list"] == "4097")
        let list = await router.handle(APIRouterTests.get("/networks", query: ["filters": [#"{"driver":{"overlay":true}}"#]]))
        let names = try #require(try JSONSerialization.jsonObject(with: Data(APIRouterTests.body(list))) as? [[String: Any]]).compactMap { $0["Name"] as? String }
        #expect(names == ["app", "ingress"])
        let builtin = await router.handle(APIRouterTests.get("/networks", query: ["filters": [#"{"type":{"builtin":true}}"#]]))
        let builtinNames = try #require(try JSONSerialization.jsonObject(with: Data(APIRouterTests.body(builtin))) as? [[String: Any]]).compactMap { $0["Name"] as? String }
        #expect(builtinNames == ["host", "ingress", "none"])
        // A service on it, through Docker's JSON: the task template names the network by ID, the endpoint has Docker's keys.
        let service = Self.dockerCreate
            .replacingOccurrences(of: #""ForceUpdate":0"#, with: #""ForceUpdate":0,"Networks":[{"Target":"app","Aliases":["site"]}]"#)
            .replacingOccurrences(of: #""EndpointSpec":{"Mode":"vip"}"#, with: #""EndpointSpec":{"Mode":"vip","Ports":[{"Protocol":"tcp","TargetPort":80,"PublishedPort":5000,"PublishMode":"ingress"}]}"#)
        #expect(await router.handle(Self.post("/services/create", service)).status == 201)
        let services = await router.handle(APIRouterTests.get("/services"))
        let first = try #require(try JSONSerialization.jsonObject(with: Data(APIRouterTests.body(services))) as? [[String: Any]]).first
        let endpoint = try #require(first?["Endpoint"] as? [String: Any])
        #expect((endpoint["Ports"] as? [[String: Any]])?.first?["PublishedPort"] as? Int == 5000)
        let vips = try #require(endpoint["VirtualIPs"] as? [[String: String]])
        #expect(vips.count == 2 && vips.contains { $0["NetworkID"] == id && $0["Addr"]?.hasPrefix("10.88.0.") == true })
        let networks = ((first?["Spec"] as? [String: Any])?["TaskTemplate"] as? [String: Any])?["Networks"] as? [[String: Any]]
        #expect(networks?.first?["Target"] as? String == id && networks?.first?["Aliases"] as? [String] == ["site"])
        // In use: Docker's refusal; unused: removed with 204.
        let refused = await router.handle(HTTPRequest(method: "DELETE", path: "/networks/app", query: [:], isUnixSocket: true))
        #expect(refused.status == 400 && APIRouterTests.message(refused)?.contains("is in use by service") == true)
    }
}
