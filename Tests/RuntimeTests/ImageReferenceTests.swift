@testable import OCIImages
@testable import SystemCalls
import Testing

private let digest = "sha256:" + String(repeating: "0123456789abcdef", count: 4)
private let hex64 = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"

struct ImageReferenceTests {
    /// input, fully qualified form, familiar form (checked against distribution/reference's behaviour).
    static let validCases: [(String, String, String)] = [
        ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
        ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("docker.io/library/busybox:latest", "docker.io/library/busybox:latest", "busybox:latest"),
        ("docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("index.docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("index.docker.io/library/busybox:musl", "docker.io/library/busybox:musl", "busybox:musl"),
        ("index.docker.io/team/web:1", "docker.io/team/web:1", "team/web:1"),
        ("user/app", "docker.io/user/app:latest", "user/app:latest"),
        ("team/web:1", "docker.io/team/web:1", "team/web:1"),
        ("docker.io/team/web:1", "docker.io/team/web:1", "team/web:1"),
        ("library/foo/bar", "docker.io/library/foo/bar:latest", "library/foo/bar:latest"),
        ("a/b/c/d:tag", "docker.io/a/b/c/d:tag", "a/b/c/d:tag"),
        ("localhost/foo", "localhost/foo:latest", "localhost/foo:latest"),
        ("localhost:5000/foo:bar", "localhost:5000/foo:bar", "localhost:5000/foo:bar"),
        ("localhost:5000/a:b", "localhost:5000/a:b", "localhost:5000/a:b"),
        ("127.0.0.1:5000/a/b@\(digest)", "127.0.0.1:5000/a/b@\(digest)", "127.0.0.1:5000/a/b@\(digest)"),
        ("[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest"),
        ("[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest",
         "[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest"),
        ("192.168.0.1:8/debian", "192.168.0.1:8/debian:latest", "192.168.0.1:8/debian:latest"),
        ("busybox@\(digest)", "docker.io/library/busybox@\(digest)", "busybox@\(digest)"),
        ("busybox:1.36@\(digest)", "docker.io/library/busybox:1.36@\(digest)", "busybox:1.36@\(digest)"),
        ("registry.example:5000/team/web:v1.2.3", "registry.example:5000/team/web:v1.2.3", "registry.example:5000/team/web:v1.2.3"),
        ("registry.example/team/web", "registry.example/team/web:latest", "registry.example/team/web:latest"),
        ("xn--n3h.com:18080/foo", "xn--n3h.com:18080/foo:latest", "xn--n3h.com:18080/foo:latest"),
        ("my-registry.io/a__b/c.d-e---f:T_a-g.1", "my-registry.io/a__b/c.d-e---f:T_a-g.1", "my-registry.io/a__b/c.d-e---f:T_a-g.1"),
        ("test_com/foo", "docker.io/test_com/foo:latest", "test_com/foo:latest"),
        ("dock__er/docker", "docker.io/dock__er/docker:latest", "dock__er/docker:latest"),
        // Docker's quirks: a bare "localhost" is a Hub name, "localhost:5000" a Hub name with tag "5000".
        ("localhost", "docker.io/library/localhost:latest", "localhost:latest"),
        ("localhost:5000", "docker.io/library/localhost:5000", "localhost:5000"),
        // An uppercase first element is taken for a host name, as Docker does.
        ("UPPER/case", "UPPER/case:latest", "UPPER/case:latest"),
        ("Registry.Example.COM:443/x", "Registry.Example.COM:443/x:latest", "Registry.Example.COM:443/x:latest"),
        // 64 hex digits are only a name when qualified; 64 non-hex characters are fine.
        ("docker.io/\(hex64)", "docker.io/library/\(hex64):latest", "\(hex64):latest"),
        ("thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
         "docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest",
         "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest"),
        ("busybox:" + String(repeating: "t", count: 128), "docker.io/library/busybox:" + String(repeating: "t", count: 128),
         "busybox:" + String(repeating: "t", count: 128)),
    ]

    @Test(arguments: validCases)
    func valid(input: String, full: String, familiar: String) throws {
        let ref = try ImageReference.parse(input)
        #expect(ref.description == full)
        #expect("\(ref)" == full)
        #expect(ref.familiar == familiar)
        // Both printed forms parse back to the same reference.
        #expect(try ImageReference.parse(full) == ref)
        #expect(try ImageReference.parse(familiar) == ref)
    }

    /// input, domain, path, tag, digest.
    static let partCases: [(String, String, String, String?, String?)] = [
        ("busybox", "docker.io", "library/busybox", "latest", nil),
        ("index.docker.io/team/web:1", "docker.io", "team/web", "1", nil),
        ("localhost:5000/foo:bar", "localhost:5000", "foo", "bar", nil),
        ("127.0.0.1:5000/a/b@\(digest)", "127.0.0.1:5000", "a/b", nil, digest),
        ("name:tag@\(digest)", "docker.io", "library/name", "tag", digest),
        ("[::1]:5000/x", "[::1]:5000", "x", "latest", nil),
        ("UPPER/case", "UPPER", "case", "latest", nil),
        ("registry.example:5000/team/web", "registry.example:5000", "team/web", "latest", nil),
    ]

    @Test(arguments: partCases)
    func parts(input: String, domain: String, path: String, tag: String?, digest: String?) throws {
        let ref = try ImageReference.parse(input)
        #expect(ref.domain == domain)
        #expect(ref.path == path)
        #expect(ref.tag == tag)
        #expect(ref.digest == digest)
        #expect(ref.repository == domain + "/" + path)
    }

    static let invalidCases: [String] = [
        "", "FOO", "Busybox", ":tag", "name:", "name@", "name@sha256:short", "name@sha256:" + String(repeating: "a", count: 63),
        "name@sha256:" + String(repeating: "A", count: 64), "name@sha512:" + String(repeating: "ab", count: 64),
        "name@md5:" + String(repeating: "a", count: 32), "name@" + String(repeating: "a", count: 64),
        "UPPER/Case", "docker/Docker", "docker.io/docker/Docker", "a//b", "docker///docker", "docker/", "/docker",
        "-a", "-docker/docker", "docker-/docker", "-docker.io/docker/docker", "a:b:c", "name:-tag", "name:.tag",
        "name:" + String(repeating: "t", count: 129), "dock..er/docker", "dock_.er/docker", "dock-.er/docker",
        "____/____", "_docker/_docker", "a b", "https://github.com/docker/docker", "foo:bar/baz", "host:/x",
        "[fc00::1]", "[fc00::1]:5000", "fc00::1:5000/debian", "[fe80::1%eth0]:5000/debian",
        "[2001:db8:3:4::192.0.2.33]:5000/debian", "[]:5000/x", "Foo_bar/x", hex64,
        "a/" + String(repeating: "b", count: 250), "registry.example:5000/" + String(repeating: "c", count: 240),
    ]

    @Test(arguments: invalidCases)
    func invalid(input: String) {
        #expect(throws: RuntimeError.self) { try ImageReference.parse(input) }
        do {
            _ = try ImageReference.parse(input)
        } catch let error as RuntimeError {
            guard case .badInput(let message) = error else {
                Issue.record("expected badInput, got \(error)")
                return
            }
            #expect(message.hasPrefix("invalid reference format") || message.hasPrefix("invalid repository name"))
            #expect(!message.contains("\n"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    static let messageCases: [(String, String)] = [
        ("FOO", "invalid reference format: repository name (library/FOO) must be lowercase"),
        ("Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"),
        ("library/Busybox:latest", "invalid reference format: repository name (library/Busybox) must be lowercase"),
        ("localhost:5000/Foo", "invalid reference format: repository name (Foo) must be lowercase"),
        (hex64, "invalid repository name (\(hex64)), cannot specify 64-byte hexadecimal strings"),
        ("name@sha512:" + String(repeating: "ab", count: 64),
         "invalid reference format: unsupported digest algorithm \"sha512\" in \"name@sha512:\(String(repeating: "ab", count: 64))\"; use a sha256:<64 lowercase hex digits> digest"),
        ("a/" + String(repeating: "b", count: 250), "invalid reference format: repository name must not be more than 255 characters"),
    ]

    @Test(arguments: messageCases)
    func messages(input: String, message: String) {
        #expect(throws: RuntimeError.badInput(message)) { try ImageReference.parse(input) }
    }

    /// input, registry host, plain HTTP allowed.
    static let hostCases: [(String, String, Bool)] = [
        ("busybox", "registry-1.docker.io", false),
        ("index.docker.io/team/web", "registry-1.docker.io", false),
        ("localhost/foo", "localhost", true),
        ("localhost:5000/foo", "localhost:5000", true),
        ("127.0.0.1:5000/a", "127.0.0.1:5000", true),
        ("127.1.2.3/a", "127.1.2.3", true),
        ("[::1]:5000/x", "[::1]:5000", true),
        ("[::1]/x", "[::1]", true),
        ("[0:0:0:0:0:0:0:1]:5000/x", "[0:0:0:0:0:0:0:1]:5000", true),
        ("128.0.0.1/a", "128.0.0.1", false),
        ("127.0.0.1.example.com/a", "127.0.0.1.example.com", false),
        ("localhost.example.com/a", "localhost.example.com", false),
        ("registry.example:5000/a", "registry.example:5000", false),
        ("[fc00::1]:5000/a", "[fc00::1]:5000", false),
    ]

    @Test(arguments: hostCases)
    func hosts(input: String, host: String, insecure: Bool) throws {
        let ref = try ImageReference.parse(input)
        #expect(ref.registryHost == host)
        #expect(ref.isInsecureByDefault == insecure)
    }

    /// input, familiar repository (no tag or digest).
    static let familiarRepositoryCases: [(String, String)] = [
        ("busybox", "busybox"),
        ("docker.io/library/busybox:1.36@\(digest)", "busybox"),
        ("team/web:1", "team/web"),
        ("library/foo/bar", "library/foo/bar"),
        ("localhost:5000/a:b", "localhost:5000/a"),
        ("127.0.0.1:5000/a/b@\(digest)", "127.0.0.1:5000/a/b"),
    ]

    @Test(arguments: familiarRepositoryCases)
    func familiarRepository(input: String, repository: String) throws {
        let ref = try ImageReference.parse(input)
        #expect(ref.familiarRepository == repository)
        #expect(ref.familiar.hasPrefix(repository))
    }

    @Test func equalReferencesHashAlike() throws {
        let short = try ImageReference.parse("busybox")
        let long = try ImageReference.parse("index.docker.io/library/busybox:latest")
        #expect(short == long)
        #expect(Set([short, long]).count == 1)
        #expect(try ImageReference.parse("busybox@\(digest)") != ImageReference.parse("busybox:latest@\(digest)"))
    }
}
