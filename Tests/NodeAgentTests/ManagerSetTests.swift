import FoundationEssentials
import NIOHTTP1
@testable import NodeAgent
import SwarmAPI
import Synchronization
import Testing

/// Managers as a test scripts them: each address answers through the
/// handler, which sees every request (address, path) in order.
final class FakeManagers: ManagerTransport {
    struct Refused: Error {}
    typealias Handler = @Sendable (String, ManagerRequest) async throws -> ManagerAnswer
    let handler: Handler
    let log = Mutex<[String]>([])

    init(_ handler: @escaping Handler) { self.handler = handler }

    func exchange(_ request: ManagerRequest, with address: String) async throws -> ManagerAnswer {
        log.withLock { $0.append("\(address) \(request.path)") }
        return try await handler(address, request)
    }

    func shutdown() async {}

    var requests: [String] { log.withLock { $0 } }

    /// The lead's follower: 503, the leader in `Swarm-Leader` when known.
    static func follower(_ address: String, leader: String?) -> ManagerAnswer {
        var headers = HTTPHeaders([("Content-Type", "application/json")])
        if let leader { headers.add(name: "Swarm-Leader", value: leader) }
        return ManagerAnswer(status: 503, headers: headers, body: Array("{\"message\":\"this manager is not the leader\"}".utf8), address: address)
    }

    static func ok(_ address: String, _ body: String = "{}") -> ManagerAnswer {
        ManagerAnswer(status: 200, body: Array(body.utf8), address: address)
    }
}

/// Records the backoffs instead of waiting them out.
final class Pauses: Sendable {
    let taken = Mutex<[Duration]>([])
    var all: [Duration] { taken.withLock { $0 } }
    var pause: @Sendable (Duration) async throws -> Void { { duration in self.taken.withLock { $0.append(duration) } } }
}

struct ManagerSetTests {
    let request = ManagerRequest(.POST, "/agent/heartbeat")

    @Test func aClosedManagerAndAFollowerLeadToTheLeader() async throws {
        let managers = FakeManagers { address, _ in
            switch address {
            case "a:1": throw FakeManagers.Refused()
            case "b:1": return FakeManagers.follower(address, leader: "c:1")
            default: return FakeManagers.ok(address)
            }
        }
        let pauses = Pauses()
        let set = ManagerSet(["a:1", "b:1", "c:1"], transport: managers, pause: pauses.pause)
        let answer = try await set.send(request)
        #expect(answer.address == "c:1")
        #expect(managers.requests == ["a:1 /agent/heartbeat", "b:1 /agent/heartbeat", "c:1 /agent/heartbeat"])
        #expect(pauses.all.isEmpty)
        // The leader stays the one asked.
        _ = try await set.send(request)
        #expect(managers.requests.last == "c:1 /agent/heartbeat")
        #expect(await set.current == "c:1")
    }

    @Test func aLeaderHintGoesStraightToTheLeaderEvenPastOthers() async throws {
        let managers = FakeManagers { address, _ in
            address == "a:1" ? FakeManagers.follower(address, leader: "d:1") : FakeManagers.ok(address)
        }
        let set = ManagerSet(["a:1", "b:1", "c:1"], transport: managers)
        #expect(try await set.send(request).address == "d:1")
        #expect(managers.requests == ["a:1 /agent/heartbeat", "d:1 /agent/heartbeat"])
        #expect(await set.addresses == ["a:1", "b:1", "c:1", "d:1"])
    }

    @Test func withNoLeaderTheOthersAreRetriedWithBackoffUntilOneLeads() async throws {
        // An election: nobody leads for the first three tries, then b:1 does.
        let tries = Mutex(0)
        let managers = FakeManagers { address, _ in
            let count = tries.withLock { $0 += 1; return $0 }
            return count > 3 && address == "b:1" ? FakeManagers.ok(address) : FakeManagers.follower(address, leader: nil)
        }
        let pauses = Pauses()
        let set = ManagerSet(["a:1", "b:1"], transport: managers, pause: pauses.pause)
        #expect(try await set.send(request).address == "b:1")
        #expect(managers.requests.map { $0.prefix(3) } == ["a:1", "b:1", "a:1", "b:1"])
        #expect(pauses.all == [.milliseconds(100), .milliseconds(100), .milliseconds(100)])
    }

    @Test func aSendGivesUpAfterTwoRoundsWithTheLastFailure() async throws {
        let managers = FakeManagers { _, _ in throw FakeManagers.Refused() }
        let pauses = Pauses()
        let set = ManagerSet(["a:1", "b:1"], transport: managers, pause: pauses.pause)
        await #expect(throws: ManagerSet.Unreachable.self) { try await set.send(request) }
        #expect(managers.requests.count == 5)
        #expect(pauses.all == [.milliseconds(100), .milliseconds(100), .milliseconds(200)])
    }

    @Test func otherRefusalsAreAnswersNotFailovers() async throws {
        // A 503 that is not a follower's, and a 403: the manager answered.
        let managers = FakeManagers { address, request in
            request.path == "/agent/heartbeat"
                ? ManagerAnswer(status: 503, body: Array("{\"message\":\"busy\"}".utf8), address: address)
                : ManagerAnswer(status: 403, address: address)
        }
        let set = ManagerSet(["a:1", "b:1"], transport: managers)
        #expect(try await set.send(request).status == 503)
        #expect(try await set.send(ManagerRequest(.GET, "/agent/assignments")).status == 403)
        #expect(managers.requests.allSatisfy { $0.hasPrefix("a:1") })
    }

    @Test func aLongPollOnAManagerLeftBehindMovesToTheNewOne() async throws {
        // a:1 went silent (its long poll never returns) and was deposed: its
        // heartbeat now says b:1 leads.
        let managers = FakeManagers { address, request in
            switch (address, request.path) {
            case ("a:1", "/agent/assignments"):
                try await Task.sleep(for: .seconds(3600))
                return FakeManagers.ok(address)
            case ("a:1", _): return FakeManagers.follower(address, leader: "b:1")
            default: return FakeManagers.ok(address, "{\"poll\":\"b\"}")
            }
        }
        let set = ManagerSet(["a:1", "b:1"], transport: managers)
        async let poll = set.send(ManagerRequest(.GET, "/agent/assignments"))
        try await eventually("the long poll waits on a:1") { managers.requests.contains("a:1 /agent/assignments") }
        #expect(try await set.send(request).address == "b:1")
        let moved = try await poll
        #expect(moved.address == "b:1")
        #expect(managers.requests.contains("b:1 /agent/assignments"))
    }
}

/// The link over the set: sessions follow the agent to each new manager.
struct HTTPManagerLinkFailoverTests {
    static func session(_ address: String, managers: [String]) -> ManagerAnswer {
        let response = SessionResponse(nodeID: "node-1", heartbeatPeriod: 5_000_000_000, managers: managers)
        return ManagerAnswer(status: 200, body: (try? APIJSON.encode(response)) ?? [], address: address)
    }

    @Test func theSessionIsOpenedAgainOnTheNewLeaderBeforeAnythingElse() async throws {
        let leader = Mutex("a:1")
        let managers = FakeManagers { address, request in
            guard address == leader.withLock({ $0 }) else { return FakeManagers.follower(address, leader: leader.withLock { $0 }) }
            switch request.path {
            case "/agent/session", "/agent/heartbeat": return Self.session(address, managers: address == "a:1" ? ["a:1", "b:1"] : ["b:1", "a:1"])
            default: return ManagerAnswer(status: 200, body: try APIJSON.encode(Assignments(version: 8, tasks: [])), address: address)
            }
        }
        let saved = Mutex<[[String]]>([])
        let link = HTTPManagerLink(ManagerSet(["a:1"], transport: managers)) { list in saved.withLock { $0.append(list) } }
        let request = SessionRequest(description: NodeDescription(hostname: "n1", platform: Platform(architecture: "x86_64", os: "linux"),
                                                                  resources: Resources(nanoCPUs: 1, memoryBytes: 1),
                                                                  engine: EngineDescription(engineVersion: "0")), addr: "10.0.0.2")
        _ = try await link.openSession(request)
        #expect(saved.withLock { $0 } == [["a:1", "b:1"]])
        _ = try await link.heartbeat()
        // b:1 takes over; a:1 now points to it.
        leader.withLock { $0 = "b:1" }
        _ = try await link.assignments(since: 7)
        #expect(managers.requests == ["a:1 /agent/session", "a:1 /agent/heartbeat",
                                      "a:1 /agent/assignments?since=7", "b:1 /agent/session", "b:1 /agent/assignments?since=7"])
        // The list, leader first now, was saved once more; the same list is not saved again.
        _ = try await link.heartbeat()
        #expect(saved.withLock { $0 } == [["a:1", "b:1"], ["b:1", "a:1"]])
        #expect(managers.requests.filter { $0.hasSuffix("/agent/session") }.count == 2)
    }
}
