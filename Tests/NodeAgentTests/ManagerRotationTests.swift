@testable import NodeAgent
import Testing

/// The order in which an agent tries its managers, and when it waits.
struct ManagerRotationTests {
    @Test func unreachableManagersAreTriedInTurnThenWithGrowingBackoff() {
        var rotation = ManagerRotation(["a:1", "b:1", "c:1"])
        #expect(rotation.current == "a:1")
        // The first round goes on at once...
        do { let result = rotation.unreachable("a:1"); #expect(result == .zero) }
        #expect(rotation.current == "b:1")
        do { let result = rotation.unreachable("b:1"); #expect(result == .zero) }
        #expect(rotation.current == "c:1")
        // ...a round that found no one waits, longer each round, up to the cap.
        do { let result = rotation.unreachable("c:1"); #expect(result == .milliseconds(100)) }
        #expect(rotation.current == "a:1")
        do { let result = rotation.unreachable("a:1"); #expect(result == .milliseconds(100)) }
        do { let result = rotation.unreachable("b:1"); #expect(result == .milliseconds(100)) }
        do { let result = rotation.unreachable("c:1"); #expect(result == .milliseconds(200)) }
        for address in ["a:1", "b:1", "c:1", "a:1", "b:1", "c:1"] { _ = rotation.unreachable(address) }
        do { let result = rotation.unreachable("a:1"); #expect(result == .milliseconds(800)) }
        for _ in 0..<30 { _ = rotation.unreachable(rotation.current) }
        do { let result = rotation.unreachable(rotation.current); #expect(result == ManagerRotation.maxBackoff) }
        // An answer resets it.
        rotation.answered(rotation.current)
        #expect(rotation.misses == 0)
        do { let result = rotation.unreachable(rotation.current); #expect(result == .zero) }
    }

    @Test func aFailureReportedLateDoesNotMoveTheSetAgain() {
        var rotation = ManagerRotation(["a:1", "b:1", "c:1"])
        _ = rotation.unreachable("a:1")
        // A second request that was also on a:1 fails after the first moved on.
        _ = rotation.unreachable("a:1")
        #expect(rotation.current == "b:1")
    }

    @Test func aFollowerNamingTheLeaderSendsTheAgentThereAtOnce() {
        var rotation = ManagerRotation(["a:1", "b:1", "c:1"])
        do { let result = rotation.notLeader("a:1", leader: "c:1"); #expect(result == .zero) }
        #expect(rotation.current == "c:1")
        // A leader not in the list yet is a manager too: added, and tried.
        do { let result = rotation.notLeader("c:1", leader: "d:1"); #expect(result == .zero) }
        #expect(rotation.current == "d:1")
        #expect(rotation.addresses == ["a:1", "b:1", "c:1", "d:1"])
    }

    @Test func followersPointingAtEachOtherDoNotSpin() {
        var rotation = ManagerRotation(["a:1", "b:1"])
        var delays: [Duration] = []
        for _ in 0..<6 {
            let other = rotation.current == "a:1" ? "b:1" : "a:1"
            delays.append(rotation.notLeader(rotation.current, leader: other))
        }
        #expect(delays.prefix(4).allSatisfy { $0 == .zero })
        #expect(delays[4] > .zero && delays[5] > .zero)
    }

    @Test func withNoLeaderKnownTheOthersAreTriedAfterAShortWait() {
        var rotation = ManagerRotation(["a:1", "b:1", "c:1"])
        do { let result = rotation.notLeader("a:1", leader: nil); #expect(result == ManagerRotation.firstBackoff) }
        #expect(rotation.current == "b:1")
        do { let result = rotation.notLeader("b:1", leader: nil); #expect(result == ManagerRotation.firstBackoff) }
        do { let result = rotation.notLeader("c:1", leader: nil); #expect(result == ManagerRotation.firstBackoff) }
        #expect(rotation.current == "a:1")
        _ = rotation.notLeader("a:1", leader: nil)
        _ = rotation.notLeader("b:1", leader: nil)
        do { let result = rotation.notLeader("c:1", leader: nil); #expect(result == .milliseconds(200)) }
    }

    @Test func aListFromAManagerReplacesTheKnownOneAndKeepsTheCurrentManager() {
        var rotation = ManagerRotation(["a:1"])
        do { let result = rotation.learn(["b:1", "a:1", "b:1", ""]); #expect(result) }
        #expect(rotation.addresses == ["b:1", "a:1"])
        #expect(rotation.current == "a:1")
        do { let result = rotation.learn(["b:1", "a:1"]); #expect(!result) }
        do { let result = rotation.learn([]); #expect(!result) }
        // The one talked to is gone from the list: the next failure goes to the list's first.
        do { let result = rotation.learn(["c:1", "d:1"]); #expect(result) }
        _ = rotation.unreachable("a:1")
        #expect(rotation.current == "c:1")
    }
}
