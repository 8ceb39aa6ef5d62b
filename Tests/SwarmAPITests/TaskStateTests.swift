import Testing
import SwarmAPI

struct TaskStateTests {
    @Test func statesOnlyMoveForward() {
        #expect(TaskState.allCases == TaskState.allCases.sorted())
        #expect(TaskState.running.canAdvance(to: .complete))
        #expect(!TaskState.running.canAdvance(to: .starting))
        #expect(!TaskState.failed.canAdvance(to: .failed))
        #expect(TaskState.allCases.filter(\.isTerminal) == [.complete, .shutdown, .failed, .rejected, .remove, .orphaned])
    }
}
