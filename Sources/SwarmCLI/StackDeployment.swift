import SwarmAPI
import SwarmClient
import SystemCalls

/// `stack deploy` once the compose files are a `StackPlan`: what Docker's
/// CLI does, in its order and with its output. Everything that can be
/// checked before a change is checked first (the files, external networks,
/// secrets and configs, the node being a manager), so a stack that cannot
/// deploy changes nothing. Then, as Docker: services no longer in the
/// files (`--prune`), networks, secrets, configs, services (created, or
/// updated: the manager rolls only the services whose task template changed).
struct StackDeployment {
    let client: APIClient
    let plan: StackPlan
    let options: StackDeploy

    typealias Named = StackCommand.Named
    typealias Object = StackCommand.Object

    func run() async throws {
        try await requireManager()
        for warning in plan.warnings { writeStderr(warning + "\n") }
        try await requireExternalObjects()
        let filter = try APIClient.filtersJSON([StackCommand.filter(plan.namespace)])
        let existing = try await client.get([Service].self, "/services", query: filter)
        if options.prune { try await prune(existing) }
        try await createNetworks(try await client.get([Named].self, "/networks", query: filter))
        try await createSecrets(plan.secrets.sorted { $0.name < $1.name }, path: "/secrets", noun: "secret")
        try await createSecrets(plan.configs.sorted { $0.name < $1.name }, path: "/configs", noun: "config")
        let ids = try await deployServices(existing)
        guard !options.detach else { return }
        for (id, name) in ids {
            try await ServiceProgress(client: client, serviceID: id, quiet: options.quiet).waitForConvergence(label: name, name: name)
        }
    }

    /// A worker's socket answers /swarm with Docker's "not a swarm manager".
    private func requireManager() async throws {
        _ = try await client.get(SwarmInfo.self, "/swarm")
    }

    private func requireExternalObjects() async throws {
        for name in plan.externalNetworks {
            guard (try? await client.get(Named.self, "/networks/\(APIClient.percentEncode(name))")) != nil else {
                throw RuntimeError.badInput("network \"\(name)\" is declared as external, but could not be found. You need to create a swarm-scoped network before the stack is deployed")
            }
        }
        for (names, path, noun) in [(plan.externalSecrets, "/secrets", "secret"), (plan.externalConfigs, "/configs", "config")] {
            for name in names where try await find(path, name) == nil {
                throw RuntimeError.badInput("\(noun) not found: \(name): create it with `swarm \(noun) create \(name) FILE` or make it not external")
            }
        }
    }

    private func find(_ path: String, _ name: String) async throws -> Object? {
        try await client.get([Object].self, path, query: try APIClient.filtersJSON(["name=\(name)"])).first { $0.spec.name == name }
    }

    /// `--prune`: the stack's services the files no longer have.
    private func prune(_ existing: [Service]) async throws {
        let wanted = Set(plan.services.map(\.name))
        for service in existing.sorted(by: { $0.spec.name < $1.spec.name }) where !wanted.contains(service.spec.name) {
            writeStdout("Removing service \(service.spec.name)\n")
            _ = try await client.send(.DELETE, "/services/\(service.id)")
        }
    }

    /// Docker's: an existing one is updated (only its labels may change), a new one created.
    private func createSecrets(_ specs: [SecretSpec], path: String, noun: String) async throws {
        for spec in specs {
            if let object = try await find(path, spec.name) {
                let current = try await client.get(SwarmSecret.self, "\(path)/\(object.id)")
                _ = try await client.post("\(path)/\(object.id)/update", query: ["version": String(current.version.index)], spec)
            } else {
                writeStdout("Creating \(noun) \(spec.name)\n")
                _ = try await client.post("\(path)/create", spec)
            }
        }
    }

    private func createNetworks(_ existing: [Named]) async throws {
        let names = Set(existing.map(\.name))
        for spec in plan.networks.sorted(by: { $0.name < $1.name }) where !names.contains(spec.name) {
            writeStdout("Creating network \(spec.name)\n")
            let configs = (spec.ipamOptions?.configs ?? []).compactMap { config in
                config.subnet.map { NetworkCreate.Request.IPAM.Config(subnet: $0, gateway: config.gateway) }
            }
            let request = NetworkCreate.Request(name: spec.name, driver: spec.driverConfiguration?.name ?? "overlay",
                                                ipam: configs.isEmpty ? nil : NetworkCreate.Request.IPAM(config: configs),
                                                internal: spec.internal ?? false, attachable: spec.attachable ?? false,
                                                options: spec.driverConfiguration?.options ?? [:], labels: spec.labels ?? [:])
            _ = try await client.post("/networks/create", request)
        }
    }

    /// In name order; their IDs and names, for `--detach=false`.
    private func deployServices(_ existing: [Service]) async throws -> [(String, String)] {
        let byName = Dictionary(existing.map { ($0.spec.name, $0) }, uniquingKeysWith: { a, _ in a })
        var deployed: [(String, String)] = []
        for var spec in plan.services.sorted(by: { $0.name < $1.name }) {
            let image = spec.taskTemplate.containerSpec?.image ?? ""
            if let service = byName[spec.name] {
                writeStdout("Updating service \(spec.name) (id: \(service.id))\n")
                let unchangedImage = image == service.spec.labels?[StackPlan.imageLabel]
                if options.resolveImage == "always" || (options.resolveImage == "changed" && !unchangedImage) {
                    try await pin(&spec)
                } else if unchangedImage {
                    // The digest pinned at the last deploy stays: nothing to roll.
                    spec.taskTemplate.containerSpec?.image = service.spec.taskTemplate.containerSpec?.image ?? image
                }
                // Stack deploy has no --force: the service's own count stays.
                spec.taskTemplate.forceUpdate = service.spec.taskTemplate.forceUpdate
                _ = try await client.post("/services/\(service.id)/update", query: ["version": String(service.version.index)],
                                          headers: try options.registryAuth.headers(for: image), spec)
                deployed.append((service.id, spec.name))
            } else {
                writeStdout("Creating service \(spec.name)\n")
                if options.resolveImage != "never" { try await pin(&spec) }
                let reply = try await client.post("/services/create", headers: try options.registryAuth.headers(for: image), spec)
                deployed.append((try APIJSON.decode(CreateResponse.self, from: reply.body).id, spec.name))
            }
        }
        return deployed
    }

    /// The image's digest from its registry, as Docker's daemon records it
    /// (with Docker's warning when no registry answers).
    private func pin(_ spec: inout ServiceSpec) async throws {
        guard let image = spec.taskTemplate.containerSpec?.image, !image.contains("@") else { return }
        if let resolved = try await resolveImageDigest(image) {
            spec.taskTemplate.containerSpec?.image = resolved
        } else {
            warnUnpinned(image)
        }
    }
}
