import FoundationEssentials
import SwarmAPI
import Testing

struct TaskStateTests {
    @Test func statesOnlyMoveForward() {
        #expect(TaskState.running.canAdvance(to: .complete))
        #expect(!TaskState.running.canAdvance(to: .starting))
        #expect(!TaskState.failed.canAdvance(to: .failed))
        #expect(TaskState.allCases.filter(\.isTerminal) == [.complete, .shutdown, .failed, .rejected, .remove, .orphaned])
    }

    /// Current state × reported state → accepted or not: the whole table.
    @Test func transitionTable() {
        let order: [TaskState] = [.new, .pending, .assigned, .accepted, .preparing, .ready, .starting, .running,
                                  .complete, .shutdown, .failed, .rejected, .remove, .orphaned]
        for (i, current) in order.enumerated() {
            for (j, next) in order.enumerated() {
                #expect(current.canAdvance(to: next) == (j > i), "\(current) → \(next)")
            }
        }
    }

    @Test func namesAreDockers() {
        #expect(TaskState.allCases.map(\.name) == ["new", "pending", "assigned", "accepted", "preparing", "ready", "starting", "running",
                                                   "complete", "shutdown", "failed", "rejected", "remove", "orphaned"])
        #expect(TaskState(name: "running") == .running && TaskState(name: "bogus") == nil)
    }

    /// On the wire a state is its name, as in Docker's API; an unknown name is refused.
    @Test func codedByName() throws {
        #expect(String(decoding: try JSONEncoder().encode([TaskState.running]), as: UTF8.self) == "[\"running\"]")
        #expect(try JSONDecoder().decode([TaskState].self, from: Data("[\"pending\"]".utf8)) == [.pending])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([TaskState].self, from: Data("[\"bogus\"]".utf8)) }
    }
}
