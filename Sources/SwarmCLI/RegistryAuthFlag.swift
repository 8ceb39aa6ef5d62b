import ArgumentParser
import OCIImages
import SystemCalls

/// `--with-registry-auth` on `service create|update` and `stack deploy`:
/// the login for the image's registry, from swarm's and the docker CLI's
/// config files (`swarm login`, `docker login`; $DOCKER_CONFIG is honoured),
/// goes to the manager in Docker's X-Registry-Auth header, and with the
/// tasks to the nodes that pull the image.
struct RegistryAuthOption: ParsableArguments {
    @Flag(name: .customLong("with-registry-auth"), help: "Send registry authentication details to swarm agents") var withRegistryAuth = false

    /// The request headers for a service running `image`: none without the flag.
    func headers(for image: String) throws -> [(String, String)] {
        guard withRegistryAuth else { return [] }
        return try Self.headers(for: image, store: CredentialStore())
    }

    static func headers(for image: String, store: CredentialStore) throws -> [(String, String)] {
        let domain = try ImageReference.parse(image).domain
        if let login = store.lookup(domain) {
            return [("X-Registry-Auth", RegistryAuth.encode(login, server: domain))]
        }
        if let helper = store.helper(for: domain) {
            throw RuntimeError.badInput("the login for \(domain) is kept by the credential helper docker-credential-\(helper), which swarm does not run: run swarm login \(domain), or deploy without --with-registry-auth")
        }
        // No login for that registry: Docker sends an empty one, the nodes pull without.
        return []
    }
}
