import Foundation
import Testing
@testable import SwarmAPI

struct APIJSONTests {
    /// `docker node inspect self` from Docker 20.10 (trimmed plugins), as the oracle printed it.
    static let dockerNode = """
    {"ID":"sogukokp4s5gmm7hu8gmf6tsj","Version":{"Index":9},"CreatedAt":"2026-11-25T15:46:00.00576347Z",
     "UpdatedAt":"2026-11-25T15:46:00.113266047Z","Spec":{"Labels":{"zone":"z1"},"Role":"manager","Availability":"active"},
     "Description":{"Hostname":"vm","Platform":{"Architecture":"x86_64","OS":"linux"},
     "Resources":{"NanoCPUs":2000000000,"MemoryBytes":25276510208},"Engine":{"EngineVersion":"20.10.24+dfsg1"},
     "TLSInfo":{"TrustRoot":"-----BEGIN CERTIFICATE-----"}},
     "Status":{"State":"ready","Addr":"127.0.0.1"},
     "ManagerStatus":{"Leader":true,"Reachability":"reachable","Addr":"127.0.0.1:2377"}}
    """

    @Test func readsDockersNodeJSON() throws {
        let node = try APIJSON.decode(Node.self, from: Array(Self.dockerNode.utf8))
        #expect(node.id == "sogukokp4s5gmm7hu8gmf6tsj")
        #expect(node.version.index == 9)
        #expect(node.spec.role == .manager && node.spec.availability == .active && node.spec.labels == ["zone": "z1"])
        #expect(node.description.platform.os == "linux" && node.description.resources.nanoCPUs == 2_000_000_000)
        #expect(node.status.state == .ready && node.managerStatus?.leader == true)
        #expect(node.createdAt.rfc3339 == "2026-11-25T15:46:00.00576347Z")
    }

    @Test func writesGoFieldNames() throws {
        let node = try APIJSON.decode(Node.self, from: Array(Self.dockerNode.utf8))
        let object = try JSONSerialization.jsonObject(with: Data(try APIJSON.encode(node))) as! [String: Any]
        #expect(Set(object.keys) == ["ID", "Version", "CreatedAt", "UpdatedAt", "Spec", "Description", "Status", "ManagerStatus"])
        let description = object["Description"] as! [String: Any]
        #expect((description["Platform"] as! [String: Any]).keys.sorted() == ["Architecture", "OS"])
        #expect((description["Resources"] as! [String: Any]).keys.sorted() == ["MemoryBytes", "NanoCPUs"])
        // Labels are data, not field names: kept as written.
        #expect(((object["Spec"] as! [String: Any])["Labels"] as! [String: String]) == ["zone": "z1"])
    }

    @Test func serviceSpecAsTheDockerCLISendsIt() throws {
        let json = """
        {"Name":"web","Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"busybox:latest@sha256:abc","Args":["sleep","1000"],
         "Init":false,"StopGracePeriod":1000000000},"Resources":{"Limits":{},"Reservations":{"NanoCPUs":500000000}},
         "RestartPolicy":{"Condition":"on-failure","Delay":0,"MaxAttempts":3},"Placement":{"Constraints":["node.role==worker"],"MaxReplicas":2},
         "ForceUpdate":0,"Runtime":"container"},"Mode":{"Replicated":{"Replicas":3}},"UpdateConfig":{"Parallelism":1,"FailureAction":"pause",
         "Monitor":5000000000,"MaxFailureRatio":0,"Order":"stop-first"},"EndpointSpec":{"Mode":"vip"}}
        """
        let spec = try APIJSON.decode(ServiceSpec.self, from: Array(json.utf8))
        #expect(spec.mode.replicated?.replicas == 3 && !spec.mode.isGlobal)
        #expect(spec.taskTemplate.containerSpec?.stopGracePeriod == 1_000_000_000)
        #expect(spec.taskTemplate.restartPolicy?.condition == .onFailure && spec.taskTemplate.restartPolicy?.maxAttempts == 3)
        #expect(spec.taskTemplate.placement?.maxReplicas == 2)
        #expect(spec.taskTemplate.resources?.reservations?.nanoCPUs == 500_000_000)
        let again = try APIJSON.decode(ServiceSpec.self, from: try APIJSON.encode(spec))
        #expect(again == spec)
        let global = try APIJSON.decode(ServiceMode.self, from: Array(#"{"Global":{}}"#.utf8))
        #expect(global.isGlobal)
    }

    @Test func taskStatesAreNamesAndErrorsAreLowerCase() throws {
        let status = TaskStatus(timestamp: Timestamp(nanoseconds: 1_500_000_000), state: .running, message: "started")
        let text = String(decoding: try APIJSON.encode(status), as: UTF8.self)
        #expect(text.contains(#""State":"running""#) && text.contains(#""Timestamp":"1970-01-01T00:00:01.5Z""#))
        #expect(String(decoding: try APIJSON.encode(APIErrorBody(message: "x")), as: UTF8.self) == #"{"message":"x"}"#)
        #expect(throws: DecodingError.self) { try APIJSON.decode(TaskStatus.self, from: Array(#"{"Timestamp":"1970-01-01T00:00:00Z","State":"bogus","Message":""}"#.utf8)) }
    }

    @Test(arguments: [
        ("2026-11-25T15:46:00.00576347Z", "2026-11-25T15:46:00.00576347Z"),
        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"),
        ("2000-02-29T23:59:59.999999999Z", "2000-02-29T23:59:59.999999999Z"),
        ("2026-11-25T17:46:00+02:00", "2026-11-25T15:46:00Z"),
        ("1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.5Z"),
    ])
    func timestampsRoundTrip(input: String, output: String) throws {
        #expect(try #require(Timestamp(rfc3339: input)).rfc3339 == output)
    }

    @Test func goNamesBothWays() {
        for (swift, go) in [("id", "ID"), ("nodeID", "NodeID"), ("tlsInfo", "TLSInfo"), ("caConfig", "CAConfig"), ("os", "OS"),
                            ("nanoCPUs", "NanoCPUs"), ("containerStatus", "ContainerStatus"), ("pid", "PID"), ("capacity", "Capacity")] {
            #expect(APIJSON.goName(swift) == go)
            #expect(APIJSON.swiftName(go) == swift)
        }
    }
}

struct ConstraintTests {
    static func node(labels: [String: String] = ["zone": "east"]) -> Node {
        Node(id: "abc123", version: ObjectVersion(index: 1), createdAt: .zero, updatedAt: .zero,
             spec: NodeSpec(labels: labels, role: .worker),
             description: NodeDescription(hostname: "Node-2", platform: Platform(architecture: "x86_64", os: "linux"),
                                          resources: Resources(), engine: EngineDescription(engineVersion: "1", labels: ["disk": "ssd"])),
             status: NodeStatus(state: .ready, addr: "10.0.0.2"))
    }

    @Test(arguments: [
        ("node.id==abc123", true), ("node.id!=abc123", false), ("node.hostname==node-2", true), ("node.role==worker", true),
        ("node.role == manager", false), ("node.platform.os==linux", true), ("node.platform.arch==x86_64", true),
        ("node.labels.zone==east", true), ("node.labels.zone!=east", false), ("node.labels.missing==x", false),
        ("node.labels.missing!=x", true), ("engine.labels.disk==ssd", true),
    ])
    func matches(expression: String, expected: Bool) throws {
        #expect(try Constraint(parsing: expression).matches(Self.node()) == expected)
    }

    @Test(arguments: ["node.labels.zone~~x", "nonsense", "node.labels.==x", "node.colour==red", "node.role==", "a==b==c"])
    func refuses(expression: String) {
        #expect(throws: Constraint.ParseError.self) { try Constraint(parsing: expression) }
    }
}
