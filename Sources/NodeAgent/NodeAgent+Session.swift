import Logging
import SwarmAPI

extension NodeAgent {
    /// Opens (or reopens) the session, retrying every second.
    func connect() async {
        while !Task.isCancelled {
            do {
                let response = try await link.openSession(session())
                heartbeatPeriod = response.heartbeatPeriod
                return
            } catch {
                guard !Task.isCancelled else { return }
                logger.warning("session: \(error)")
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Twice per period: one lost heartbeat does not make the node Down.
    func heartbeatLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .nanoseconds(heartbeatPeriod / 2))
            guard !Task.isCancelled else { return }
            do {
                heartbeatPeriod = try await link.heartbeat().heartbeatPeriod
            } catch {
                logger.warning("heartbeat: \(error)")
            }
        }
    }
}
