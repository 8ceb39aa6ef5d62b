@testable import ClusterStore
import Foundation
import SwarmAPI
import Testing

/// The hand-written task body must be the JSON `JSONEncoder` writes: the
/// same object (keys, values, nil fields left out) and it must decode to
/// the same task, so state.db files of either kind load.
struct TaskBodyEncoderTests {
    static func task(_ change: (inout SwarmTask) -> Void = { _ in }) -> SwarmTask {
        var spec = TaskSpec(containerSpec: ContainerSpec(image: "busybox"))
        spec.runtime = "crun"
        var task = SwarmTask(id: "t1", version: ObjectVersion(index: 42), createdAt: Timestamp(nanoseconds: 1_700_000_000_123_000_000),
                             spec: spec, serviceID: "s1", slot: 3, nodeID: "n1",
                             status: TaskStatus(timestamp: Timestamp(nanoseconds: 1_700_000_001_000_000_000), state: .running, message: "started"),
                             desiredState: .running, specIndex: 7, serviceName: "web")
        change(&task)
        return task
    }

    static let tasks: [SwarmTask] = [
        task(),
        task { $0.slot = nil; $0.nodeID = nil; $0.serviceName = nil },
        task { $0.labels = ["com.example/a \"b\"": "line\nbreak\ttab\\ \u{01}\u{1F} é ✓ 🐳"] },
        task { $0.status = TaskStatus(timestamp: .zero, state: .failed, message: "", err: "exit 1 \"boom\"",
                                      containerStatus: ContainerStatus(containerID: "c1", pid: -1, exitCode: 137)) },
        task { $0.status.containerStatus = ContainerStatus() },
        task { $0.status.containerStatus = ContainerStatus(exitCode: 0) },
        task { $0.createdAt = Timestamp(nanoseconds: -1); $0.updatedAt = Timestamp(nanoseconds: -86_400_000_000_001) },
        task { $0.version = ObjectVersion(index: .max); $0.specIndex = 0; $0.slot = Int.min; $0.desiredState = .shutdown },
        task {
            var network = SwarmNetwork(id: "net1", version: ObjectVersion(index: 3), createdAt: .zero, spec: NetworkSpec(name: "app"))
            network.ipamOptions = IPAMOptions(configs: [IPAMConfig(subnet: "10.0.1.0/24", gateway: "10.0.1.1")])
            $0.networksAttachments = [NetworkAttachment(network: network, addresses: ["10.0.1.5/24"])]
        },
    ]

    @Test func theBodyIsJSONEncodersObjectAndDecodesToTheTask() throws {
        var encoder = TaskBodyEncoder()
        for task in Self.tasks {
            let body = try encoder.encode(task)
            #expect(try JSONDecoder().decode(SwarmTask.self, from: body) == task)
            let mine = try #require(try JSONSerialization.jsonObject(with: body) as? NSDictionary)
            let theirs = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(task)) as? NSDictionary)
            #expect(mine.isEqual(theirs), "\(String(decoding: body, as: UTF8.self))")
        }
    }

    @Test func aChangedSpecOfTheSameServiceIsEncodedAgain() throws {
        var encoder = TaskBodyEncoder()
        let first = Self.task()
        _ = try encoder.encode(first)
        let second = Self.task { $0.spec.containerSpec?.image = "nginx" }
        #expect(try JSONDecoder().decode(SwarmTask.self, from: encoder.encode(second)) == second)
        #expect(try JSONDecoder().decode(SwarmTask.self, from: encoder.encode(first)) == first)
    }

    @Test func timestampsAreWrittenAsTimestampWritesThem() {
        let values: [Int64] = [0, 1, -1, 999_999_999, 1_000_000_000, 1_700_000_000_123_456_789, 1_700_000_000_100_000_000,
                               951_782_400_000_000_000, -9_000_000_000_000_000_000, 4_102_444_799_999_999_999, .max, -86_400_000_000_001]
        for nanoseconds in values {
            var out: [UInt8] = []
            TaskBodyEncoder.timestamp(Timestamp(nanoseconds: nanoseconds), &out)
            #expect(String(decoding: out, as: UTF8.self) == "\"\(Timestamp(nanoseconds: nanoseconds).rfc3339)\"")
        }
    }

    @Test func stateNamesAreTheCodedNames() throws {
        for state in TaskState.allCases {
            var out: [UInt8] = []
            TaskBodyEncoder.state(state, &out)
            #expect(out == Array(try JSONEncoder().encode(state)))
        }
    }
}
