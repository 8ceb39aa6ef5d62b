import FoundationEssentials
import Glibc
import SystemCalls

/// Registry credentials, in the docker CLI's config.json format
/// ({"auths": {"host": {"auth": base64("user:pass")}}}): swarm's own file
/// (~/.swarm/config.json, written by `swarm login`) first, then Docker's
/// ($DOCKER_CONFIG/config.json, or ~/.docker/config.json).
public struct CredentialStore: Sendable {
    public struct Login: Sendable, Equatable {
        public var username: String
        public var password: String

        public init(username: String, password: String) {
            self.username = username
            self.password = password
        }
    }

    public let files: [String]

    public init(files: [String]? = nil) {
        let home = ProcessInfo.processInfo.environment["HOME"] ?? "/root"
        let docker = ProcessInfo.processInfo.environment["DOCKER_CONFIG"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.docker"
        self.files = files ?? [home + "/.swarm/config.json", docker + "/config.json"]
    }

    struct ConfigFile: Codable {
        struct Auth: Codable { var auth: String? }
        var auths: [String: Auth]?
        /// Credential helpers (docker-credential-NAME): not run by swarm.
        var credsStore: String?
        var credHelpers: [String: String]?
    }

    /// The credential helper a file names for `domain` when it has no
    /// `auth` entry for it: swarm does not run helpers, and says so.
    public func helper(for domain: String) -> String? {
        for file in files {
            guard let data = FileManager.default.contents(atPath: file),
                  let config = try? JSONDecoder().decode(ConfigFile.self, from: data) else { continue }
            if let helper = config.credHelpers?[Self.key(domain)] ?? config.credHelpers?[domain] ?? config.credsStore, !helper.isEmpty {
                return helper
            }
        }
        return nil
    }

    /// Docker Hub's credentials are kept under its v1 address.
    static func key(_ domain: String) -> String { domain == "docker.io" ? "https://index.docker.io/v1/" : domain }

    public func lookup(_ domain: String) -> Login? {
        for file in files {
            guard let data = FileManager.default.contents(atPath: file),
                  let config = try? JSONDecoder().decode(ConfigFile.self, from: data),
                  let entry = config.auths?[Self.key(domain)] ?? config.auths?["https://" + domain] ?? config.auths?["http://" + domain],
                  let auth = entry.auth, let decoded = Data(base64Encoded: auth) else { continue }
            let text = String(decoding: decoded, as: UTF8.self)
            guard let colon = text.firstIndex(of: ":") else { continue }
            return Login(username: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
        }
        return nil
    }

    /// Saves a login in the first file (mode 0600), keeping its other entries.
    public func save(_ login: Login, for domain: String) throws {
        let file = files[0]
        var config = FileManager.default.contents(atPath: file).flatMap { try? JSONDecoder().decode(ConfigFile.self, from: $0) }
            ?? ConfigFile(auths: [:])
        var auths = config.auths ?? [:]
        auths[Self.key(domain)] = .init(auth: Data("\(login.username):\(login.password)".utf8).base64EncodedString())
        config.auths = auths
        let dir = String(file[..<(file.lastIndex(of: "/") ?? file.endIndex)])
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        guard writeFile(file, try JSON.encode(config), mode: 0o600) else {
            throw RuntimeError.system(errno: errno, call: "write", detail: file)
        }
        chmod(file, 0o600)
    }
}
