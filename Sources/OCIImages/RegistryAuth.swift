import FoundationEssentials

/// Docker's X-Registry-Auth: the registry login a client forwards with a
/// service (`--with-registry-auth`), as base64url of its AuthConfig JSON
/// (`{"username":…,"password":…,"serveraddress":…}`). The manager keeps it
/// with the service and hands it to the agents with the tasks; an agent's
/// pull for a task uses it through `RegistryAuth.$current`.
public enum RegistryAuth {
    /// The login of the task whose image is being pulled (over the agent's own).
    @TaskLocal public static var current: CredentialStore.Login?

    struct AuthConfig: Codable {
        var username: String?
        var password: String?
        var serveraddress: String?
    }

    /// The header's value for `login` at `server`.
    public static func encode(_ login: CredentialStore.Login, server: String) -> String {
        let json = (try? JSONEncoder().encode(AuthConfig(username: login.username, password: login.password, serveraddress: server))) ?? Data()
        return String(json.base64EncodedString().map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
    }

    /// A header's login; nil for an empty one (`{}`: the client had none) or one that is not Docker's encoding.
    public static func decode(_ header: String) -> CredentialStore.Login? {
        var text = String(header.filter { $0 != " " }.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        while text.count % 4 != 0 { text += "=" }
        guard let data = Data(base64Encoded: text), let config = try? JSONDecoder().decode(AuthConfig.self, from: data),
              let username = config.username, !username.isEmpty else { return nil }
        return CredentialStore.Login(username: username, password: config.password ?? "")
    }
}
