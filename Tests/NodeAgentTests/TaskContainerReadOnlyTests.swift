@testable import NodeAgent
import SwarmAPI
import Testing

/// Compose's `read_only` (the container spec's ReadOnly) reaches the runtime.
struct TaskContainerReadOnlyTests {
    @Test func readOnlyRootFileSystem() throws {
        var task = TaskContainerNetworkTests.task()
        #expect(try TaskContainer.spec(task).readOnlyRootfs == false)
        task.spec.containerSpec?.readOnly = true
        #expect(try TaskContainer.spec(task).readOnlyRootfs == true)
    }
}
