import Formatting
import HTTPServer
import SwarmAPI

/// `/networks`: the swarm's overlay networks in Docker's shapes, and the
/// node-local `host` and `none` Docker lists beside them.
extension APIRouter {
    static let networkRoutes: [String: Route] = [
        "GET networks": { router, call in
            try call.filters.allow(["name", "id", "driver", "scope", "label", "type"])
            var listed = [NetworkResource.host(scope: "local"), NetworkResource.none]
            listed += await router.manager.allNetworks().map(NetworkResource.init)
            return try ok(listed.filter { call.filters.matches($0) }.sorted { $0.name < $1.name })
        },
        "GET networks/*": { router, call in
            switch call.ref {
            // The docker CLI looks `host` up in the swarm's scope for `service create --network host`.
            case "host": return try ok(NetworkResource.host(scope: call.query("scope") == "swarm" ? "swarm" : "local"))
            case "none": return try ok(NetworkResource.none)
            default: return try ok(NetworkResource(try await router.manager.network(call.ref)))
            }
        },
        "POST networks/create": { router, call in
            let request = try APIJSON.decode(NetworkCreateRequest.self, from: call.request.body)
            let network = try await router.manager.createNetwork(try request.spec())
            return try ok(NetworkCreateResponse(id: network.id, warning: ""), status: 201)
        },
        "DELETE networks/*": { router, call in
            try await router.manager.removeNetwork(call.ref)
            return HTTPResponse.empty(204)
        },
        "POST networks/prune": { router, call in
            try call.filters.allow(["label", "until"])
            if call.filters.contains("until") || call.filters.contains("label") {
                throw APIError(501, "network prune filters (--filter) are not supported yet")
            }
            return try ok(NetworkPruneReport(networksDeleted: try await router.manager.pruneNetworks()))
        },
    ]
}

/// `POST /networks/create`: Docker's NetworkCreateRequest, as the docker CLI and SDKs send it.
struct NetworkCreateRequest: Decodable, Sendable {
    struct IPAM: Decodable, Sendable {
        struct Config: Decodable, Sendable {
            var subnet: String?
            var ipRange: String?
            var gateway: String?
            var auxiliaryAddresses: [String: String]?
        }
        var driver: String?
        var config: [Config]?
        var options: [String: String]?
    }
    struct ConfigReference: Decodable, Sendable { var network: String? }
    var name: String
    var driver: String?
    var scope: String?
    var enableIPv6: Bool?
    var ipam: IPAM?
    var `internal`: Bool?
    var attachable: Bool?
    var ingress: Bool?
    var configOnly: Bool?
    var configFrom: ConfigReference?
    var options: [String: String]?
    var labels: [String: String]?

    /// The spec, or what the request asks that swarm cannot do.
    func spec() throws -> NetworkSpec {
        if let scope, !scope.isEmpty, scope != "swarm" {
            throw APIError.badRequest("network scope \(scope) is not supported: a swarm's networks are swarm-scoped")
        }
        if configOnly == true || !(configFrom?.network ?? "").isEmpty {
            throw APIError(501, "configuration-only networks (--config-only, --config-from) are not supported yet")
        }
        if let driver = ipam?.driver, !driver.isEmpty, driver != "default" {
            throw APIError(501, "IPAM driver \(driver) is not supported: only the default one")
        }
        if !(ipam?.config ?? []).allSatisfy({ ($0.auxiliaryAddresses ?? [:]).isEmpty }) {
            throw APIError(501, "auxiliary addresses (--aux-address) are not supported yet")
        }
        var spec = NetworkSpec(name: name)
        spec.labels = labels ?? [:]
        spec.driverConfiguration = NetworkDriver(name: (driver ?? "").isEmpty ? "overlay" : driver!,
                                                 options: (options ?? [:]).isEmpty ? nil : options)
        spec.ipv6Enabled = enableIPv6
        spec.internal = `internal`
        spec.attachable = attachable
        spec.ingress = ingress
        if let configs = ipam?.config, !configs.isEmpty {
            spec.ipamOptions = IPAMOptions(driver: NetworkDriver(name: "default", options: ipam?.options),
                                           configs: configs.map { IPAMConfig(subnet: $0.subnet, range: $0.ipRange, gateway: $0.gateway) })
        }
        return spec
    }
}

struct NetworkCreateResponse: Codable, Sendable {
    var id: String
    var warning: String
    // Docker writes "Id".
    enum CodingKeys: String, CodingKey { case id = "Id", warning }
}

struct NetworkPruneReport: Codable, Sendable {
    var networksDeleted: [String]
}

/// `GET /networks/{id}`: Docker's NetworkResource (network.Inspect).
struct NetworkResource: Codable, Sendable {
    struct IPAMConfig: Codable, Sendable {
        var subnet: String
        var gateway: String?
    }
    struct IPAM: Codable, Sendable {
        var driver = "default"
        var options: [String: String]? = nil
        var config: [IPAMConfig] = []
        enum CodingKeys: String, CodingKey { case driver, options, config }
        // Go writes nil maps as null: Options is null for every network Docker makes.
        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(driver, forKey: .driver)
            if let options { try container.encode(options, forKey: .options) } else { try container.encodeNil(forKey: .options) }
            try container.encode(config, forKey: .config)
        }
    }
    struct ConfigReference: Codable, Sendable { var network = "" }
    var name: String
    var id: String
    var created = "0001-01-01T00:00:00Z"
    var scope: String
    var driver: String
    var enableIPv6 = false
    var ipam = IPAM()
    var `internal` = false
    var attachable = false
    var ingress = false
    var configFrom = ConfigReference()
    var configOnly = false
    var containers: [String: String] = [:]
    var options: [String: String] = [:]
    var labels: [String: String] = [:]
    // Docker writes these as "Id" and "IPAM".
    enum CodingKeys: String, CodingKey {
        case name, id = "Id", created, scope, driver, enableIPv6, ipam = "IPAM", `internal`, attachable, ingress, configFrom, configOnly,
             containers, options, labels
    }
    init(name: String, id: String, scope: String, driver: String) {
        self.name = name; self.id = id; self.scope = scope; self.driver = driver
    }

    /// The node's own network namespace (`--network host`).
    static func host(scope: String) -> NetworkResource { NetworkResource(name: "host", id: "host", scope: scope, driver: "host") }
    static let none = NetworkResource(name: "none", id: "none", scope: "local", driver: "null")

    init(_ network: SwarmNetwork) {
        self.init(name: network.spec.name, id: network.id, scope: "swarm", driver: network.spec.driverConfiguration?.name ?? "overlay")
        created = network.createdAt.rfc3339
        ipam.config = (network.ipamOptions?.configs ?? []).compactMap { config in config.subnet.map { IPAMConfig(subnet: $0, gateway: config.gateway) } }
        `internal` = network.spec.internal ?? false
        attachable = network.spec.attachable ?? false
        ingress = network.spec.ingress ?? false
        labels = network.spec.labels ?? [:]
        options = (network.spec.driverConfiguration?.options ?? [:]).merging(network.driverState?.options ?? [:]) { $1 }
    }

    var isBuiltin: Bool { ["host", "none"].contains(id) || ingress }
}

extension Filters {
    /// Docker's network filters: name and id by substring, driver and scope exactly, labels, type custom or builtin.
    func matches(_ network: NetworkResource) -> Bool {
        matches("name") { network.name.contains($0) }
            && matches("id") { network.id.contains($0) }
            && exactMatch("driver", network.driver)
            && exactMatch("scope", network.scope)
            && labelMatch(labels: network.labels)
            && exactMatch("type", network.isBuiltin ? "builtin" : "custom")
    }
}
