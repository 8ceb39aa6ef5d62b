import ArgumentParser
import SwarmAPI
import SwarmClient
import SystemCalls

/// `service rollback SERVICE`: back to the previous spec, with the
/// service's rollback config, drawn as `service update` draws.
struct ServiceRollback: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rollback", abstract: "Revert changes to a service's configuration")
    @Flag(name: [.customShort("d"), .customLong("detach")], inversion: .prefixedNo, help: "Exit immediately instead of waiting for the service to converge") var detach = false
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Suppress progress output") var quiet = false
    @OptionGroup var cluster: ClusterOptions
    @Argument(help: "Service") var service: String

    func run() async throws {
        try await APIClient.with(host: cluster.host) { client in
            let current = try await client.get(Service.self, "/services/\(APIClient.percentEncode(service))")
            _ = try await client.post("/services/\(current.id)/update",
                                      query: ["version": "\(current.version.index)", "rollback": "previous"], current.spec)
            writeStdout(service + "\n")
            if !detach { try await ServiceProgress(client: client, serviceID: current.id, quiet: quiet).waitForConvergence(label: service, rollback: true) }
        }
    }
}
