import Logging
import SwarmAPI

/// Status reports: gathered per task in the outbox, sent in batches.
extension NodeAgent {
    func report(_ taskID: String, _ state: TaskState, _ message: String, err: String?, container: SwarmAPI.ContainerStatus?) {
        if let err {
            logger.info("\(state.name): \(err)", metadata: ["task": "\(taskID)"])
        } else {
            logger.debug("\(state.name)", metadata: ["task": "\(taskID)"])
        }
        outbox.add(StatusUpdate(taskID: taskID, status: TaskStatus(timestamp: .now(), state: state, message: message,
                                                                   err: err, containerStatus: container)))
        // A short pause gathers the states of a burst into one batch.
        scheduleFlush(after: .milliseconds(10))
    }

    func scheduleFlush(after delay: Duration) {
        guard !flushScheduled else { return }
        flushScheduled = true
        spawn {
            guard (try? await Task.sleep(for: delay)) != nil else { return }
            await self.flush()
        }
    }

    func flush() async {
        flushScheduled = false
        guard let batch = outbox.takeBatch() else { return }
        do {
            try await link.report(batch)
        } catch {
            outbox.putBack(batch)
            guard !Task.isCancelled else { return }
            logger.warning("status: \(error)")
            scheduleFlush(after: .milliseconds(500))
        }
    }
}
