import AsyncHTTPClient
import Crypto
import FoundationEssentials
import Glibc
import NIOCore
import NIOHTTP1
import NIOSSL
import OCIImages
import SystemCalls

/// A client of the registry HTTP API v2 (the distribution spec): manifests,
/// blobs, uploads; Bearer token and basic authentication; plain HTTP for
/// insecure registries. One instance per command or agent; `shutdown` it.
public actor RegistryClient {
    let secureClient: HTTPClient
    let insecureClient: HTTPClient
    let credentials: CredentialStore
    /// Hosts to reach over plain HTTP besides the loopback ones.
    let insecureRegistries: Set<String>
    private var schemes: [String: String] = [:]
    private var tokens: [String: String] = [:]
    /// A swarm manager serving its own images: every repository is asked of
    /// it, by its full name, over the cluster's mutual TLS.
    let mirror: String?

    public init(credentials: CredentialStore = CredentialStore(), insecureRegistries: Set<String> = []) {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .follow(max: 5, allowCycles: false))
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(60))
        // A refused connection or an unknown host is an answer, not a reason
        // to retry until the connect timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        secureClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var insecure = configuration
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        insecure.tlsConfiguration = tls
        insecureClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: insecure)
        self.credentials = credentials
        self.insecureRegistries = insecureRegistries
        mirror = nil
    }

    /// A client that pulls every image from a swarm manager serving its
    /// store: `client` speaks the cluster's TLS to it, `baseURL` is
    /// `https://authority` (both from ClusterTLS's ClusterHTTPClient).
    public init(mirror client: HTTPClient, baseURL: String) {
        secureClient = client
        insecureClient = client
        credentials = CredentialStore()
        insecureRegistries = []
        mirror = String(baseURL.dropFirst("https://".count))
    }

    /// The repository as the registry names it in paths; a mirror needs the
    /// registry's host too ("docker.io/library/busybox").
    func repository(_ reference: ImageReference) -> String {
        mirror == nil ? reference.path : reference.domain + "/" + reference.path
    }

    public func shutdown() async {
        try? await secureClient.shutdown()
        if insecureClient !== secureClient { try? await insecureClient.shutdown() }
    }

    func isInsecure(_ reference: ImageReference) -> Bool {
        reference.isInsecureByDefault || insecureRegistries.contains(reference.domain)
    }

    // MARK: - Requests

    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: HTTPClientResponse.Body?
    }

    /// Sends a request to the registry of `reference`, answering its
    /// authentication challenge once (token or basic) and retrying.
    func send(_ reference: ImageReference, method: HTTPMethod, path: String, headers: [(String, String)] = [],
              body: Data? = nil, actions: String = "pull") async throws -> Response {
        let base = try await baseURL(reference)
        let url = path.hasPrefix("http://") || path.hasPrefix("https://") ? path : base + path
        let scope = "repository:\(reference.path):\(actions)"
        // A task's forwarded login has its own tokens, apart from the node's.
        let key = reference.registryHost + " " + scope + (RegistryAuth.current.map { " " + $0.username } ?? "")
        // Credentials only ever go to the registry itself, never to another
        // host an upload Location or a redirect names.
        let sameHost = url.hasPrefix(base + "/")
        var authorization = sameHost ? tokens[key] : nil
        for attempt in 0..<2 {
            var request = HTTPClientRequest(url: url)
            request.method = method
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let authorization { request.headers.replaceOrAdd(name: "Authorization", value: authorization) }
            if let body {
                request.body = .bytes(ByteBuffer(bytes: body))
                request.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
            }
            let response: HTTPClientResponse
            do {
                response = try await client(reference).execute(request, timeout: .seconds(300))
            } catch {
                throw RuntimeError.badInput("cannot reach registry \(reference.domain) (\(method) \(url)): \(Self.describe(error))")
            }
            if response.status == .unauthorized && attempt == 0 && sameHost {
                let challenge = response.headers.first(name: "WWW-Authenticate") ?? ""
                _ = try? await response.body.collect(upTo: 1 << 20)
                authorization = try await authorize(reference, challenge: challenge, scope: scope)
                tokens[key] = authorization
                continue
            }
            return Response(status: Int(response.status.code), headers: response.headers, body: response.body)
        }
        throw RuntimeError.badInput("unauthorized: authentication required for \(reference.repository) (401 Unauthorized): run swarm login \(reference.domain)")
    }

    private func client(_ reference: ImageReference) -> HTTPClient {
        isInsecure(reference) ? insecureClient : secureClient
    }

    /// https://host, or for an insecure registry whichever of http and
    /// https it speaks, found once per host. Plain HTTP is tried first: a TLS
    /// server closes on it at once, while a TLS hello to a plain server may
    /// wait for a timeout.
    func baseURL(_ reference: ImageReference) async throws -> String {
        if let mirror { return "https://\(mirror)" }
        let host = reference.registryHost
        if let scheme = schemes[host] { return "\(scheme)://\(host)" }
        guard isInsecure(reference) else {
            schemes[host] = "https"
            return "https://\(host)"
        }
        let request = HTTPClientRequest(url: "http://\(host)/v2/")
        if let response = try? await insecureClient.execute(request, timeout: .seconds(10)) {
            _ = try? await response.body.collect(upTo: 1 << 20)
            schemes[host] = "http"
        } else {
            schemes[host] = "https"
        }
        return "\(schemes[host]!)://\(host)"
    }

    /// Answers a WWW-Authenticate challenge: a Bearer token from the realm
    /// (with the user's credentials if any), or basic credentials.
    func authorize(_ reference: ImageReference, challenge: String, scope: String) async throws -> String {
        let parsed = Self.parseChallenge(challenge)
        let login = RegistryAuth.current ?? credentials.lookup(reference.domain)
        switch parsed.scheme {
        case "basic":
            guard let login else {
                throw RuntimeError.badInput("unauthorized: \(reference.domain) answered 401 Unauthorized and requires a login: run swarm login \(reference.domain) (for a service: --with-registry-auth)")
            }
            return "Basic " + Data("\(login.username):\(login.password)".utf8).base64EncodedString()
        case "bearer":
            guard let realm = parsed.parameters["realm"], var components = URLComponents(string: realm) else {
                throw RuntimeError.badInput("registry \(reference.domain) sent a Bearer challenge without a realm")
            }
            var query = components.queryItems ?? []
            if let service = parsed.parameters["service"] { query.append(URLQueryItem(name: "service", value: service)) }
            query.append(URLQueryItem(name: "scope", value: scope))
            components.queryItems = query
            guard let url = components.string else { throw RuntimeError.badInput("bad token realm \(realm)") }
            var request = HTTPClientRequest(url: url)
            if let login {
                request.headers.add(name: "Authorization", value: "Basic " + Data("\(login.username):\(login.password)".utf8).base64EncodedString())
            }
            let response: HTTPClientResponse
            do {
                response = try await client(reference).execute(request, timeout: .seconds(30))
            } catch {
                throw RuntimeError.badInput("cannot reach the token service \(realm): \(Self.describe(error))")
            }
            let body = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .ok else {
                throw RuntimeError.badInput("unauthorized: the token service \(realm) refused access to \(reference.repository) (\(response.status.code))"
                                            + (login == nil ? ": run swarm login \(reference.domain)" : ": check the credentials of swarm login"))
            }
            struct TokenResponse: Decodable { var token: String?; var access_token: String? }
            let decoded = try JSON.decode(TokenResponse.self, Data(buffer: body), what: "token response from \(realm)")
            guard let token = decoded.token ?? decoded.access_token else {
                throw RuntimeError.badInput("the token service \(realm) returned no token")
            }
            return "Bearer " + token
        default:
            throw RuntimeError.badInput("unauthorized: \(reference.domain) asks for unsupported authentication '\(challenge)'")
        }
    }

    /// `Bearer realm="…",service="…"` → ("bearer", [realm: …, service: …]).
    static func parseChallenge(_ header: String) -> (scheme: String, parameters: [String: String]) {
        let trimmed = header.drop { $0 == " " }
        let scheme = trimmed.prefix { $0 != " " }.lowercased()
        var parameters: [String: String] = [:]
        var rest = Substring(trimmed.dropFirst(scheme.count))
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == "," }
            let key = rest.prefix { $0 != "=" }
            rest = rest.dropFirst(key.count + 1)
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                while let c = rest.first, c != "\"" {
                    if c == "\\" { rest = rest.dropFirst() }
                    if let next = rest.first { value.append(next) }
                    rest = rest.dropFirst()
                }
                rest = rest.dropFirst()
            } else {
                value = String(rest.prefix { $0 != "," })
                rest = rest.dropFirst(value.count)
            }
            if !key.isEmpty { parameters[key.trimmingSpaces.lowercased()] = value }
        }
        return (scheme, parameters)
    }

    static func describe(_ error: Error) -> String {
        if let error = error as? HTTPClientError { return "\(error)" }
        return String(describing: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
    }

    /// Checks a login the way `docker login` does: /v2/ with the
    /// credentials, through the token service when the registry uses one.
    public func checkLogin(domain: String, _ login: CredentialStore.Login) async throws {
        let reference = try ImageReference.parse(domain + "/login-check")
        let base = try await baseURL(reference)
        var request = HTTPClientRequest(url: base + "/v2/")
        let basic = "Basic " + Data("\(login.username):\(login.password)".utf8).base64EncodedString()
        let first: HTTPClientResponse
        do { first = try await client(reference).execute(request, timeout: .seconds(30)) } catch {
            throw RuntimeError.badInput("cannot reach registry \(domain): \(Self.describe(error))")
        }
        _ = try? await first.body.collect(upTo: 1 << 20)
        guard first.status == .unauthorized else { return }
        let challenge = Self.parseChallenge(first.headers.first(name: "WWW-Authenticate") ?? "")
        if challenge.scheme == "bearer", let realm = challenge.parameters["realm"], var components = URLComponents(string: realm) {
            components.queryItems = (components.queryItems ?? []) + [URLQueryItem(name: "service", value: challenge.parameters["service"] ?? "")]
            request = HTTPClientRequest(url: components.string ?? realm)
        }
        request.headers.replaceOrAdd(name: "Authorization", value: basic)
        let second: HTTPClientResponse
        do { second = try await client(reference).execute(request, timeout: .seconds(30)) } catch {
            throw RuntimeError.badInput("cannot reach the login service of \(domain): \(Self.describe(error))")
        }
        _ = try? await second.body.collect(upTo: 1 << 20)
        guard second.status == .ok else {
            throw RuntimeError.badInput("login to \(domain) failed: unauthorized: incorrect username or password")
        }
    }

    // MARK: - Manifests

    static let manifestAccept = [MediaType.ociIndex, MediaType.dockerManifestList, MediaType.ociManifest, MediaType.dockerManifest]
        .joined(separator: ", ")

    /// The manifest (or index) for a tag or digest, its media type and digest,
    /// checked against the digest when one was asked for.
    public func manifest(_ reference: ImageReference, _ tagOrDigest: String) async throws -> (data: Data, mediaType: String, digest: OCIImages.Digest) {
        let response = try await send(reference, method: .GET, path: "/v2/\(repository(reference))/manifests/\(tagOrDigest)",
                                      headers: [("Accept", Self.manifestAccept)])
        let body = try await collect(response, limit: 4 << 20)
        guard response.status == 200 else {
            throw RuntimeError.badInput("manifest for \(reference.familiar) not found: " + Self.registryError(body, status: response.status))
        }
        let digest = Digest.of(body)
        if tagOrDigest.hasPrefix("sha256:"), digest.description != tagOrDigest {
            throw RuntimeError.badInput("manifest digest mismatch for \(reference.familiar): asked \(tagOrDigest), got \(digest)")
        }
        var mediaType = response.headers.first(name: "Content-Type")?.split(separator: ";").first.map(String.init) ?? ""
        if !(MediaType.manifests.contains(mediaType) || MediaType.indexes.contains(mediaType)) {
            struct Probe: Decodable { var mediaType: String? }
            mediaType = (try? JSONDecoder().decode(Probe.self, from: body))?.mediaType ?? mediaType
        }
        guard MediaType.manifests.contains(mediaType) || MediaType.indexes.contains(mediaType) else {
            throw RuntimeError.badInput("unsupported manifest media type \(mediaType.isEmpty ? "(none)" : mediaType) for \(reference.familiar): swarm reads OCI and Docker schema 2 images")
        }
        return (body, mediaType, digest)
    }

    public func putManifest(_ reference: ImageReference, tag: String, data: Data, mediaType: String) async throws {
        let response = try await send(reference, method: .PUT, path: "/v2/\(repository(reference))/manifests/\(tag)",
                                      headers: [("Content-Type", mediaType)], body: data, actions: "pull,push")
        let body = try await collect(response, limit: 1 << 20)
        guard response.status == 201 || response.status == 200 else {
            throw RuntimeError.badInput("pushing the manifest of \(reference.familiar) failed: " + Self.registryError(body, status: response.status))
        }
    }

    // MARK: - Blobs

    /// Downloads a blob into `file`, hashing as it goes; fails (and removes
    /// the file) if the size or digest differ. `progress` gets bytes so far.
    public func downloadBlob(_ reference: ImageReference, _ descriptor: Descriptor, to file: String,
                             progress: @Sendable (Int64) -> Void) async throws {
        let response = try await send(reference, method: .GET, path: "/v2/\(repository(reference))/blobs/\(descriptor.digest)")
        guard response.status == 200, let body = response.body else {
            let text = try await collect(response, limit: 1 << 20)
            throw RuntimeError.badInput("blob \(descriptor.digest) of \(reference.familiar): " + Self.registryError(text, status: response.status))
        }
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RuntimeError.system(errno: errno, call: "open", detail: file) }
        var hasher = SHA256()
        var received: Int64 = 0
        do {
            defer { close(fd) }
            for try await buffer in body {
                received += Int64(buffer.readableBytes)
                guard received <= descriptor.size else {
                    throw RuntimeError.badInput("blob \(descriptor.digest) is larger than its \(descriptor.size) bytes: refused")
                }
                try buffer.withUnsafeReadableBytes { bytes in
                    hasher.update(bufferPointer: bytes)
                    var offset = 0
                    while offset < bytes.count {
                        let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                        if written < 0 {
                            if errno == EINTR { continue }
                            throw RuntimeError.system(errno: errno, call: "write", detail: file)
                        }
                        offset += written
                    }
                }
                progress(received)
            }
            // On disk before it is renamed into the store.
            if fsync(fd) != 0 { throw RuntimeError.system(errno: errno, call: "fsync", detail: file) }
        } catch {
            unlink(file)
            if error is RuntimeError { throw error }
            throw RuntimeError.badInput("downloading \(descriptor.digest) from \(reference.domain) failed: \(Self.describe(error))")
        }
        let digest = Digest(hex: hasher.finalize().hexString)
        guard digest == descriptor.digest, received == descriptor.size else {
            unlink(file)
            throw RuntimeError.badInput("filesystem layer verification failed for digest \(descriptor.digest): got \(digest) (\(received) of \(descriptor.size) bytes); nothing was stored")
        }
    }

    public func blobExists(_ reference: ImageReference, _ digest: OCIImages.Digest) async throws -> Bool {
        let response = try await send(reference, method: .HEAD, path: "/v2/\(repository(reference))/blobs/\(digest)", actions: "pull,push")
        _ = try await collect(response, limit: 1 << 20)
        return response.status == 200
    }

    /// Uploads a blob in one request (POST for a session, then PUT with the digest).
    public func uploadBlob(_ reference: ImageReference, _ digest: OCIImages.Digest, data: Data) async throws {
        let start = try await send(reference, method: .POST, path: "/v2/\(repository(reference))/blobs/uploads/", actions: "pull,push")
        let startBody = try await collect(start, limit: 1 << 20)
        guard start.status == 202, let location = start.headers.first(name: "Location") else {
            throw RuntimeError.badInput("pushing \(digest) to \(reference.repository) failed: " + Self.registryError(startBody, status: start.status))
        }
        var url = location
        if !url.hasPrefix("http") { url = try await baseURL(reference) + (url.hasPrefix("/") ? "" : "/") + url }
        url += (url.contains("?") ? "&" : "?") + "digest=" + digest.description
        let put = try await send(reference, method: .PUT, path: url,
                                 headers: [("Content-Type", "application/octet-stream")], body: data, actions: "pull,push")
        let putBody = try await collect(put, limit: 1 << 20)
        guard put.status == 201 else {
            throw RuntimeError.badInput("pushing \(digest) to \(reference.repository) failed: " + Self.registryError(putBody, status: put.status))
        }
    }

    // MARK: - Helpers

    func collect(_ response: Response, limit: Int) async throws -> Data {
        guard let body = response.body else { return Data() }
        do {
            return Data(buffer: try await body.collect(upTo: limit))
        } catch {
            throw RuntimeError.badInput("reading a registry response failed: \(Self.describe(error))")
        }
    }

    /// The registry's error body ({"errors":[{"code","message"}]}) in Docker's words.
    static func registryError(_ body: Data, status: Int) -> String {
        struct Errors: Decodable {
            struct Item: Decodable { var code: String?; var message: String? }
            var errors: [Item]?
        }
        if let items = (try? JSONDecoder().decode(Errors.self, from: body))?.errors, !items.isEmpty {
            return items.map { "\(($0.code ?? "").lowercased().replacingUnderscores): \($0.message ?? "")" }.joined(separator: "; ")
        }
        return "HTTP \(status)"
    }
}

extension String {
    var replacingUnderscores: String { String(map { $0 == "_" ? " " : $0 }) }
}

extension Substring {
    var trimmingSpaces: String { String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }
}

extension Data {
    init(buffer: ByteBuffer) {
        self.init(buffer.readableBytesView)
    }
}
