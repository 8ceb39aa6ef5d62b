import HTTPServer
import SwarmAPI

/// What the Engine API's clients expect around the endpoints themselves:
/// version negotiation (`/v1.xx/` paths checked against the versions this
/// API serves, `API-Version` on every answer), and a clear answer for the
/// endpoints swarm does not serve (yet).
extension APIRouter {
    /// The oldest API version a client may ask for (Docker 25 and later: 1.24).
    public static let minAPIVersion = "1.24"

    /// The error for a request whose `/v1.xx/` prefix names a version this API does not serve.
    static func versionError(_ path: String) -> HTTPResponse? {
        guard path.hasPrefix("/v"), let slash = path.dropFirst().firstIndex(of: "/") else { return nil }
        let version = String(path[path.index(path.startIndex, offsetBy: 2)..<slash])
        guard version.contains("."), let asked = versionParts(version) else { return nil }
        if asked < versionParts(minAPIVersion)! {
            return error(400, "client version \(version) is too old. Minimum supported API version is \(minAPIVersion), please upgrade your client to a newer version")
        }
        if asked > versionParts(apiVersion)! {
            return error(400, "client version \(version) is too new. Maximum supported API version is \(apiVersion)")
        }
        return nil
    }

    static func versionParts(_ version: String) -> (Int, Int)? {
        let parts = version.split(separator: ".").map { Int($0) }
        guard parts.count == 2, let major = parts[0], let minor = parts[1] else { return nil }
        return (major, minor)
    }

    /// Endpoints of the Engine API this swarm does not serve, by their first
    /// path component: what the operator is missing.
    static let unsupportedFamilies: [String: String] = [
        "networks": "this network operation is not supported yet",
        "volumes": "volumes are not supported yet",
        "plugins": "plugins are not supported",
        "system": "system df is not supported yet",
        "containers": "containers are not served by the manager's API: use 'swarm container' on the node",
        "images": "images are not served by the manager's API: use 'swarm image' on the node",
        "exec": "exec is not supported yet",
        "build": "building images is not supported",
        "session": "build sessions are not supported",
        "commit": "commit is not supported",
        "auth": "registry login through the API is not supported: use 'swarm login'",
        "distribution": "resolving image digests through the manager is not supported yet: nodes resolve the image by its name",
        "swarm": "this swarm operation is not supported yet (autolock and unlock are not built)",
        "services": "this service operation is not supported yet",
        "tasks": "this task operation is not supported yet",
        "nodes": "this node operation is not supported yet",
    ]

    /// Docker's shape for an endpoint that is not served: 501 with what is
    /// missing for a Docker endpoint swarm lacks, 404 for any other path.
    static func missing(_ method: String, _ parts: [String]) -> HTTPResponse {
        let path = "/" + parts.joined(separator: "/")
        if let first = parts.first, let what = unsupportedFamilies[first] {
            return error(501, "\(what) (\(method) \(path))")
        }
        return error(404, "page not found: \(method) \(path) is not an endpoint of the Docker Engine API")
    }

    /// Headers Docker's engine puts on every answer.
    func withEngineHeaders(_ response: HTTPResponse) -> HTTPResponse {
        var response = response
        for (name, value) in [("Api-Version", Self.apiVersion), ("Ostype", "linux"), ("Server", "Docker/\(engineVersion) (linux)")]
        where response.header(name) == nil {
            response.headers.append((name, value))
        }
        return response
    }
}
