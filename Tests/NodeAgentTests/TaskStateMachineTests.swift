@testable import NodeAgent
import SwarmAPI
import Testing

typealias Action = TaskStateMachine.Action
typealias Event = TaskStateMachine.Event

private func running(_ id: String = "c1", pid: Int32 = 42) -> TaskContainerState {
    TaskContainerState(id: id, taskID: "t1", status: .running, pid: pid)
}

private func exited(_ code: Int32, id: String = "c1") -> TaskContainerState {
    TaskContainerState(id: id, taskID: "t1", status: .exited, exitCode: code)
}

private let gone = "task: container is gone (removed while the agent was away)"

/// One assignment pass on a fresh machine (as after an agent restart).
struct AssignmentCase: Sendable, CustomTestStringConvertible {
    var name: String
    var state: TaskState
    var desired: TaskState
    var container: TaskContainerState?
    var expected: [Action]
    var testDescription: String { name }
}

@Suite struct TaskStateMachineTests {
    static let assignmentCases: [AssignmentCase] = [
        AssignmentCase(name: "new task: accepted, preparing, pull", state: .assigned, desired: .running, container: nil,
                       expected: [.report(.accepted, message: "accepted"), .report(.preparing, message: "preparing"), .ensureImage("busybox")]),
        AssignmentCase(name: "prepared before: start at once", state: .ready, desired: .running, container: nil,
                       expected: [.report(.starting, message: "starting"), .startContainer(makeTask("t1", state: .ready))]),
        AssignmentCase(name: "restart delay: desired ready waits", state: .assigned, desired: .ready, container: nil, expected: []),
        AssignmentCase(name: "re-adopted running container: watched, running not re-sent", state: .running, desired: .running,
                       container: running(), expected: [.watchContainer("c1")]),
        AssignmentCase(name: "running container the manager has as starting", state: .starting, desired: .running, container: running(),
                       expected: [.report(.running, message: "started", container: ContainerStatus(containerID: "c1", pid: 42)),
                                  .watchContainer("c1")]),
        AssignmentCase(name: "exited 0 while away: complete", state: .running, desired: .running, container: exited(0),
                       expected: [.report(.complete, message: "finished", container: ContainerStatus(containerID: "c1", pid: 0, exitCode: 0))]),
        AssignmentCase(name: "exited 2 while away: failed", state: .running, desired: .running, container: exited(2),
                       expected: [.report(.failed, message: "started", err: "task: non-zero exit (2)",
                                          container: ContainerStatus(containerID: "c1", pid: 0, exitCode: 2))]),
        AssignmentCase(name: "exit already reported: nothing", state: .failed, desired: .running, container: exited(2), expected: []),
        AssignmentCase(name: "container removed while away", state: .running, desired: .running, container: nil,
                       expected: [.report(.failed, message: "started", err: gone)]),
        AssignmentCase(name: "starting, no container: gone", state: .starting, desired: .running, container: nil,
                       expected: [.report(.failed, message: "started", err: gone)]),
        AssignmentCase(name: "terminal, no container: nothing", state: .complete, desired: .running, container: nil, expected: []),
        AssignmentCase(name: "shutdown wanted, running: stop with the default grace", state: .running, desired: .shutdown,
                       container: running(), expected: [.stopContainer(running(), grace: .seconds(10))]),
        AssignmentCase(name: "shutdown wanted, nothing runs: shutdown", state: .running, desired: .shutdown, container: nil,
                       expected: [.report(.shutdown, message: "shutdown")]),
        AssignmentCase(name: "shutdown wanted, exited: shutdown with its status", state: .running, desired: .shutdown,
                       container: exited(137), expected: [.report(.shutdown, message: "shutdown",
                                                                  container: ContainerStatus(containerID: "c1", pid: 0, exitCode: 137))]),
        AssignmentCase(name: "shutdown wanted, already terminal: nothing", state: .failed, desired: .shutdown,
                       container: exited(1), expected: []),
        AssignmentCase(name: "removal wanted, running: stop", state: .running, desired: .remove, container: running(),
                       expected: [.stopContainer(running(), grace: .seconds(10))]),
    ]

    @Test(arguments: assignmentCases)
    func assignment(_ example: AssignmentCase) {
        var machine = TaskStateMachine(taskID: "t1")
        let actions = machine.handle(.assigned(makeTask("t1", state: example.state, desired: example.desired), container: example.container))
        #expect(actions == example.expected)
    }

    @Test func stopUsesTheTasksGracePeriod() {
        var machine = TaskStateMachine(taskID: "t1")
        let task = makeTask("t1", state: .running, desired: .shutdown, stopGracePeriod: 3_000_000_000)
        #expect(machine.handle(.assigned(task, container: running())) == [.stopContainer(running(), grace: .seconds(3))])
        #expect(machine.operation == .stopping)
        #expect(machine.handle(.stopFinished(exited(143))) == [
            .report(.shutdown, message: "shutdown", container: ContainerStatus(containerID: "c1", pid: 0, exitCode: 143)),
        ])
        #expect(machine.operation == nil)
    }

    /// A sequence of events and what each returns.
    struct Step: Sendable {
        var event: Event
        var expected: [Action]
    }

    struct SequenceCase: Sendable, CustomTestStringConvertible {
        var name: String
        var steps: [Step]
        var testDescription: String { name }
    }

    static let sequences: [SequenceCase] = {
        let task = makeTask("t1")
        let shutdown = makeTask("t1", desired: .shutdown)
        let delayed = makeTask("t1", desired: .ready)
        let started = ContainerStatus(containerID: "c1", pid: 42)
        let accepted: [Action] = [.report(.accepted, message: "accepted"), .report(.preparing, message: "preparing"), .ensureImage("busybox")]
        return [
            SequenceCase(name: "runs and completes", steps: [
                Step(event: .assigned(task, container: nil), expected: accepted),
                Step(event: .imageReady, expected: [.report(.ready, message: "prepared"), .report(.starting, message: "starting"),
                                                    .startContainer(task)]),
                Step(event: .containerStarted(running()), expected: [.report(.running, message: "started", container: started),
                                                                     .watchContainer("c1")]),
                Step(event: .containerExited(exited(0)), expected: [
                    .report(.complete, message: "finished", container: ContainerStatus(containerID: "c1", pid: 0, exitCode: 0)),
                ]),
            ]),
            SequenceCase(name: "exits non-zero", steps: [
                Step(event: .assigned(makeTask("t1", state: .ready), container: nil), expected: [
                    .report(.starting, message: "starting"), .startContainer(makeTask("t1", state: .ready)),
                ]),
                Step(event: .containerStarted(running()), expected: [.report(.running, message: "started", container: started),
                                                                     .watchContainer("c1")]),
                Step(event: .containerExited(exited(1)), expected: [
                    .report(.failed, message: "started", err: "task: non-zero exit (1)",
                            container: ContainerStatus(containerID: "c1", pid: 0, exitCode: 1)),
                ]),
            ]),
            SequenceCase(name: "image pull fails: rejected", steps: [
                Step(event: .assigned(task, container: nil), expected: accepted),
                Step(event: .imageFailed("No such image: busybox"), expected: [
                    .report(.rejected, message: "preparing", err: "No such image: busybox"),
                ]),
                // The manager's next pass changes nothing.
                Step(event: .assigned(makeTask("t1", state: .rejected), container: nil), expected: []),
            ]),
            SequenceCase(name: "container fails to start: rejected", steps: [
                Step(event: .assigned(task, container: nil), expected: accepted),
                Step(event: .imageReady, expected: [.report(.ready, message: "prepared"), .report(.starting, message: "starting"),
                                                    .startContainer(task)]),
                Step(event: .containerFailedToStart("exec: no such file"), expected: [
                    .report(.rejected, message: "starting", err: "exec: no such file"),
                ]),
            ]),
            SequenceCase(name: "changes while busy are recorded, not acted on", steps: [
                Step(event: .assigned(task, container: nil), expected: accepted),
                Step(event: .assigned(task, container: nil), expected: []),
                Step(event: .assigned(shutdown, container: nil), expected: []),
                // Prepared, but no longer wanted running: not started.
                Step(event: .imageReady, expected: [.report(.ready, message: "prepared")]),
                Step(event: .assigned(shutdown, container: nil), expected: [.report(.shutdown, message: "shutdown")]),
            ]),
            SequenceCase(name: "restart delay: waits for desired running", steps: [
                Step(event: .assigned(delayed, container: nil), expected: []),
                Step(event: .assigned(delayed, container: nil), expected: []),
                Step(event: .assigned(task, container: nil), expected: accepted),
            ]),
            SequenceCase(name: "exit while shutdown is wanted: shutdown", steps: [
                Step(event: .assigned(makeTask("t1", state: .running), container: running()), expected: [.watchContainer("c1")]),
                Step(event: .assigned(makeTask("t1", state: .running, desired: .shutdown), container: running()), expected: [
                    .stopContainer(running(), grace: .seconds(10)),
                ]),
                Step(event: .containerExited(exited(143)), expected: [
                    .report(.shutdown, message: "shutdown", container: ContainerStatus(containerID: "c1", pid: 0, exitCode: 143)),
                ]),
                // Backward or equal: dropped.
                Step(event: .stopFinished(exited(143)), expected: []),
            ]),
            SequenceCase(name: "backward reports are dropped", steps: [
                Step(event: .assigned(makeTask("t1", state: .running), container: running()), expected: [.watchContainer("c1")]),
                Step(event: .containerExited(exited(0)), expected: [
                    .report(.complete, message: "finished", container: ContainerStatus(containerID: "c1", pid: 0, exitCode: 0)),
                ]),
                // A stale listing still showing it running: complete stands, watched again.
                Step(event: .assigned(makeTask("t1", state: .running), container: running()), expected: [.watchContainer("c1")]),
                Step(event: .containerExited(exited(0)), expected: []),
                // The manager has failed (later than complete): a late exit is dropped.
                Step(event: .assigned(makeTask("t1", state: .failed), container: nil), expected: []),
                Step(event: .containerExited(exited(1)), expected: []),
            ]),
            SequenceCase(name: "watched once", steps: [
                Step(event: .assigned(makeTask("t1", state: .running), container: running()), expected: [.watchContainer("c1")]),
                Step(event: .assigned(makeTask("t1", state: .running), container: running()), expected: []),
            ]),
            SequenceCase(name: "unassigned: containers removed", steps: [
                Step(event: .assigned(makeTask("t1", state: .running), container: running()), expected: [.watchContainer("c1")]),
                Step(event: .unassigned(containers: ["c1"]), expected: [.removeContainers(["c1"])]),
                Step(event: .unassigned(containers: ["c1"]), expected: []),
                Step(event: .containerExited(exited(137)), expected: [
                    .report(.failed, message: "started", err: "task: non-zero exit (137)",
                            container: ContainerStatus(containerID: "c1", pid: 0, exitCode: 137)),
                ]),
                Step(event: .removalDone, expected: []),
                Step(event: .unassigned(containers: []), expected: []),
            ]),
            SequenceCase(name: "unassigned during a start: removed once started", steps: [
                Step(event: .assigned(task, container: nil), expected: accepted),
                Step(event: .imageReady, expected: [.report(.ready, message: "prepared"), .report(.starting, message: "starting"),
                                                    .startContainer(task)]),
                Step(event: .unassigned(containers: []), expected: []),
                Step(event: .containerStarted(running()), expected: [.report(.running, message: "started", container: started),
                                                                     .watchContainer("c1"), .removeLeftovers]),
                Step(event: .removalDone, expected: []),
            ]),
            SequenceCase(name: "unassigned during a stop: removed once stopped", steps: [
                Step(event: .assigned(makeTask("t1", state: .running, desired: .shutdown), container: running()), expected: [
                    .stopContainer(running(), grace: .seconds(10)),
                ]),
                Step(event: .unassigned(containers: ["c1"]), expected: []),
                Step(event: .stopFinished(exited(143)), expected: [
                    .report(.shutdown, message: "shutdown", container: ContainerStatus(containerID: "c1", pid: 0, exitCode: 143)),
                    .removeLeftovers,
                ]),
            ]),
            SequenceCase(name: "unassigned while preparing: never started", steps: [
                Step(event: .assigned(task, container: nil), expected: accepted),
                Step(event: .unassigned(containers: []), expected: []),
                Step(event: .imageReady, expected: [.report(.ready, message: "prepared"), .removeLeftovers]),
            ]),
        ]
    }()

    @Test(arguments: sequences)
    func sequence(_ example: SequenceCase) {
        var machine = TaskStateMachine(taskID: "t1")
        for (index, step) in example.steps.enumerated() {
            let actions = machine.handle(step.event)
            #expect(actions == step.expected, "step \(index + 1): \(step.event)")
        }
    }

    @Test func idleOnceUnassignedAndDone() {
        var machine = TaskStateMachine(taskID: "t1")
        _ = machine.handle(.assigned(makeTask("t1", state: .running), container: running()))
        #expect(!machine.isIdle)
        _ = machine.handle(.unassigned(containers: ["c1"]))
        #expect(!machine.isIdle, "removing")
        _ = machine.handle(.removalDone)
        #expect(machine.isIdle)
    }

    @Test func aHealthCheckHoldsRunningUntilHealthyAndUnhealthyFails() {
        var machine = TaskStateMachine(taskID: "t1")
        var checking = running()
        checking.health = .starting
        _ = machine.handle(.assigned(makeTask("t1", state: .ready), container: nil))
        // Started, not yet healthy: still `starting`; its health and its exit are followed.
        #expect(machine.handle(.containerStarted(checking)) == [.watchHealth("c1"), .watchContainer("c1")])
        var healthy = checking
        healthy.health = .healthy
        let status = ContainerStatus(containerID: "c1", pid: 42)
        #expect(machine.handle(.healthChanged(healthy)) == [.report(.running, message: "started", container: status)])
        var unhealthy = checking
        unhealthy.health = .unhealthy
        #expect(machine.handle(.healthChanged(unhealthy)) == [
            .report(.failed, message: "started", err: "task: non-zero exit (137): dockerexec: unhealthy container", container: status),
            .stopContainer(unhealthy, grace: .seconds(0)),
        ])
        // Its stop and exit change nothing more: failed stays.
        #expect(machine.handle(.stopFinished(exited(137))) == [])
        #expect(machine.handle(.containerExited(exited(137))) == [])
    }

    @Test func readoptedWhileStartingWaitsForHealth() {
        var machine = TaskStateMachine(taskID: "t1")
        var checking = running()
        checking.health = .starting
        #expect(machine.handle(.assigned(makeTask("t1", state: .starting), container: checking)) == [.watchHealth("c1"), .watchContainer("c1")])
        // A second pass does not follow it twice.
        #expect(machine.handle(.assigned(makeTask("t1", state: .starting), container: checking)) == [])
    }

    @Test func generationCountsEvents() {
        var machine = TaskStateMachine(taskID: "t1")
        _ = machine.handle(.assigned(makeTask("t1"), container: nil))
        _ = machine.handle(.imageReady)
        #expect(machine.generation == 2)
    }
}
