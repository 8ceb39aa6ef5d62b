import Foundation
import OCIImages
import Testing

/// Pulls and pushes against a real registry (Debian's docker-registry) on
/// loopback, through the CLI, then runs what was pulled.
@Suite(.enabled(if: isRoot, rootReason), .serialized)
struct RegistryTests {
    let sandbox: Sandbox

    init() throws { sandbox = try Sandbox() }

    @Test func pullByTagAndByDigestThenRun() throws {
        let registry = try TestRegistry()
        #expect(registry.push(layout: "busybox", tag: "latest", as: "tools/busybox:latest").status == 0)
        let name = "\(registry.host)/tools/busybox:latest"
        let pull = sandbox.cli("image", "pull", name)
        #expect(pull.status == 0, "\(pull.stderr)")
        let digest = imageFact("busybox", "manifest_digest") as! String
        #expect(pull.stdout.hasPrefix("latest: Pulling from tools/busybox\n"), "\(pull.stdout)")
        #expect(pull.stdout.contains("Pull complete\n"))
        #expect(pull.stdout.contains("Digest: \(digest)\nStatus: Downloaded newer image for \(name)\n\(name)\n"), "\(pull.stdout)")
        // The second time nothing is fetched.
        let again = sandbox.cli("image", "pull", name)
        #expect(again.stdout.contains("Already exists") && again.stdout.contains("Status: Image is up to date for \(name)"))
        // By digest, and the container runs from the pulled layers.
        #expect(sandbox.cli("image", "pull", "\(registry.host)/tools/busybox@\(digest)").status == 0)
        let run = sandbox.cli("container", "run", "--rm", "\(registry.host)/tools/busybox@\(digest)", "cat", "/etc/passwd")
        #expect(run.status == 0 && run.stdout.hasPrefix("root:x:0:0"), "\(run.stderr)")
        let list = sandbox.cli("image", "ls")
        #expect(list.stdout.contains("\(registry.host)/tools/busybox   latest"), "\(list.stdout)")
    }

    @Test func runPullsAMissingImage() throws {
        let registry = try TestRegistry()
        #expect(registry.push(layout: "configured", tag: "v1", as: "app/configured:v1").status == 0)
        let run = sandbox.cli("container", "run", "--rm", "\(registry.host)/app/configured:v1")
        #expect(run.stderr.hasPrefix("Unable to find image '\(registry.host)/app/configured:v1' locally\n"), "\(run.stderr)")
        // Entrypoint, Cmd, Env, User and WorkingDir come from the image config.
        #expect(run.stdout == imageFact("configured", "expected_output") as? String, "\(run.stdout) \(run.stderr)")
        // Arguments replace Cmd; --entrypoint replaces Entrypoint; -u and -w win.
        let args = sandbox.cli("container", "run", "--rm", "-u", "0", "-w", "/", "\(registry.host)/app/configured:v1", "id -u; pwd")
        #expect(args.stdout == "0\n/\n")
        let entry = sandbox.cli("container", "run", "--rm", "--entrypoint", "echo", "\(registry.host)/app/configured:v1", "plain")
        #expect(entry.stdout == "plain\n")
        let inspect = sandbox.cli("container", "run", "-d", "--name", "cfg", "\(registry.host)/app/configured:v1")
        #expect(inspect.status == 0)
        let details = sandbox.cli("container", "inspect", "cfg").stdout
        #expect(details.contains("SIGUSR1") && details.contains("8080/tcp") && details.contains("CMD-SHELL"), "\(details)")
    }

    @Test func multiPlatformIndexPicksThisHost() throws {
        let registry = try TestRegistry()
        #expect(registry.push(layout: "multiarch", tag: "v1", as: "multi/arch:v1", all: true).status == 0)
        let name = "\(registry.host)/multi/arch:v1"
        #expect(sandbox.cli("image", "pull", "-q", name).status == 0)
        let run = sandbox.cli("container", "run", "--rm", name, "cat", "/arch")
        #expect(run.stdout == "amd64\n", "\(run.stdout) \(run.stderr)")
        let inspect = sandbox.cli("image", "inspect", name).stdout
        #expect(inspect.contains(imageFact("multiarch", "index_digest") as! String), "RepoDigests names the index")
    }

    @Test func pushAnImportedImageAndPullItBack() throws {
        let registry = try TestRegistry()
        let name = "\(registry.host)/team/imported:v2"
        #expect(sandbox.cli("image", "import", testImages + "/rootfs.tar", name).status == 0)
        let push = sandbox.cli("image", "push", name)
        #expect(push.status == 0, "\(push.stderr)")
        #expect(push.stdout.hasPrefix("The push refers to repository [\(registry.host)/team/imported]\n"))
        #expect(push.stdout.contains(": Pushed\n") && push.stdout.contains("v2: digest: sha256:"), "\(push.stdout)")
        let again = sandbox.cli("image", "push", name)
        #expect(again.stdout.contains("Layer already exists"))
        #expect(sandbox.cli("image", "rm", name).stdout.contains("Untagged: \(name)"))
        #expect(sandbox.cli("image", "pull", "-q", name).status == 0)
        #expect(sandbox.cli("container", "run", "--rm", name, "echo", "round trip").stdout == "round trip\n")
    }

    @Test(arguments: [TestRegistry.Auth.basic, .token])
    func authenticatedRegistry(_ auth: TestRegistry.Auth) throws {
        let registry = try TestRegistry(auth: auth)
        #expect(registry.push(layout: "busybox", tag: "latest", as: "private/busybox:latest").status == 0)
        let name = "\(registry.host)/private/busybox:latest"
        let refused = sandbox.cli("image", "pull", name)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("swarm login \(registry.host)"), "\(refused.stderr)")
        // The docker CLI's credentials are used too.
        let dockerConfig = sandbox.homeDir + "/.docker"
        try FileManager.default.createDirectory(atPath: dockerConfig, withIntermediateDirectories: true)
        let auth = Data("\(registry.user):\(registry.password)".utf8).base64EncodedString()
        try #"{"auths":{"\#(registry.host)":{"auth":"\#(auth)"}}}"#.write(toFile: dockerConfig + "/config.json", atomically: true, encoding: .utf8)
        #expect(sandbox.cli("image", "pull", "-q", name).status == 0)
        try FileManager.default.removeItem(atPath: dockerConfig)
        #expect(sandbox.cli("image", "rm", name).status == 0)
        let wrong = sandbox.cli("login", "-u", registry.user, "-p", "wrong", registry.host)
        #expect(wrong.status == 1 && wrong.stderr.contains("incorrect username or password"), "\(wrong.stderr)")
        let login = sandbox.cli("login", "-u", registry.user, "-p", registry.password, registry.host)
        #expect(login.status == 0 && login.stdout == "Login Succeeded\n", "\(login.stderr)")
        let pull = sandbox.cli("image", "pull", "-q", name)
        #expect(pull.status == 0, "\(pull.stderr)")
        // Push needs the push scope of the token too.
        #expect(sandbox.cli("image", "import", testImages + "/rootfs.tar", "\(registry.host)/private/mine:1").status == 0)
        let push = sandbox.cli("image", "push", "\(registry.host)/private/mine:1")
        #expect(push.status == 0, "\(push.stderr)")
    }

    @Test func corruptLayerIsRefusedAndNothingStored() throws {
        let registry = try TestRegistry()
        #expect(registry.push(layout: "busybox", tag: "latest", as: "bad/busybox:latest").status == 0)
        let layer = (imageFact("busybox", "layer_digests") as! [String])[0]
        // Same size, one byte changed: only the digest can tell.
        let file = registry.blobFile(layer)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        bytes[bytes.count / 2] ^= 0xff
        try bytes.write(to: URL(fileURLWithPath: file))
        let pull = sandbox.cli("image", "pull", "\(registry.host)/bad/busybox:latest")
        #expect(pull.status == 1)
        #expect(pull.stderr.contains("verification failed for digest \(layer)"), "\(pull.stderr)")
        let store = ImageStore(root: sandbox.dataDir + "/images")
        let digest = try Digest(parsing: layer)
        #expect(!store.hasBlob(digest) && !store.hasLayer(digest))
        #expect(try store.lookup("\(registry.host)/bad/busybox:latest") == nil)
    }

    @Test func interruptedPullThenACleanOne() throws {
        let registry = try TestRegistry()
        #expect(registry.push(layout: "big", tag: "v1", as: "big/image:v1").status == 0)
        let name = "\(registry.host)/big/image:v1"
        let pid = try spawn(swarmBinary, ["image", "pull", name], environment: sandbox.environment)
        // Kill it once some layer is on its way.
        let ingest = sandbox.dataDir + "/images/ingest"
        _ = eventually(10) { ((try? FileManager.default.contentsOfDirectory(atPath: ingest)) ?? []).contains { $0.hasSuffix(".partial") } }
        kill(pid, SIGKILL)
        waitFor(pid)
        let store = ImageStore(root: sandbox.dataDir + "/images")
        // Whatever is in blobs/ and layers/ is complete and verified.
        for hex in (try? FileManager.default.contentsOfDirectory(atPath: store.blobsDir)) ?? [] {
            let data = try Data(contentsOf: URL(fileURLWithPath: store.blobsDir + "/" + hex))
            #expect(Digest.of(data).hex == hex, "a blob does not match its digest")
        }
        for hex in (try? FileManager.default.contentsOfDirectory(atPath: store.layersDir)) ?? [] {
            #expect(FileManager.default.fileExists(atPath: store.layersDir + "/\(hex)/.complete"))
        }
        let pull = sandbox.cli("image", "pull", "-q", name)
        #expect(pull.status == 0, "\(pull.stderr)")
        let run = sandbox.cli("container", "run", "--rm", name, "sh", "-c", "ls /big | wc -l")
        #expect(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "5", "\(run.stdout) \(run.stderr)")
    }

    @Test func twoPullsAtOnceFetchEachLayerOnce() throws {
        let registry = try TestRegistry()
        #expect(registry.push(layout: "multilayer", tag: "v1", as: "multi/layer:v1").status == 0)
        let name = "\(registry.host)/multi/layer:v1"
        nonisolated(unsafe) var results: [ProcessResult] = []
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            let result = sandbox.cli("image", "pull", name)
            lock.lock(); results.append(result); lock.unlock()
        }
        #expect(results.allSatisfy { $0.status == 0 }, "\(results.map(\.stderr))")
        let log = (try? String(contentsOfFile: registry.dir + "/registry.log", encoding: .utf8)) ?? ""
        for layer in imageFact("multilayer", "layer_digests") as! [String] {
            let fetches = log.components(separatedBy: "GET /v2/multi/layer/blobs/\(layer)").count - 1
            #expect(fetches <= 1, "\(layer) fetched \(fetches) times")
        }
        let run = sandbox.cli("container", "run", "--rm", name, "sh", "-c", "cat /data/b; ls /data")
        #expect(run.stdout == "/data/b\nb\n")
    }

    static let badInputs: [(String, String)] = [
        ("Not/A:Valid:Reference", "invalid reference format"),
        ("nosuch.invalid/foo:1", "cannot reach registry nosuch.invalid"),
        ("127.0.0.1:1/foo:1", "cannot reach registry 127.0.0.1:1"),
    ]

    @Test(arguments: badInputs)
    func badPulls(name: String, message: String) {
        let result = sandbox.cli("image", "pull", name)
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("swarm: ") && result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }

    @Test func missingManifestAndUnsupportedMediaType() throws {
        let registry = try TestRegistry()
        let missing = sandbox.cli("image", "pull", "\(registry.host)/nothing/here:1")
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("manifest for \(registry.host)/nothing/here:1 not found: "), "\(missing.stderr)")
        // A manifest whose layer media type swarm cannot unpack.
        #expect(registry.push(layout: "busybox", tag: "latest", as: "odd/image:base").status == 0)
        let config = imageFact("busybox", "config_digest") as! String
        let layer = (imageFact("busybox", "layers") as! [[String: Any]])[0]
        let manifest = """
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
             "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(config)","size":\(imageFactSize("busybox"))},
             "layers":[{"mediaType":"application/vnd.example.layer.v1+weird","digest":"\(layer["digest"]!)","size":\(layer["size"]!)}]}
            """
        let put = runProcess("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT",
                                               "-H", "Content-Type: application/vnd.oci.image.manifest.v1+json",
                                               "--data-binary", manifest, "http://\(registry.host)/v2/odd/image/manifests/weird"])
        #expect(put.stdout == "201", "registry refused the manifest: \(put.stdout)")
        let pull = sandbox.cli("image", "pull", "\(registry.host)/odd/image:weird")
        #expect(pull.status == 1)
        #expect(pull.stderr.contains("unsupported layer media type application/vnd.example.layer.v1+weird"), "\(pull.stderr)")
    }

    func imageFactSize(_ image: String) -> Int {
        let dir = testImages + "/oci/\(image)/blobs/sha256/"
        let digest = (imageFact(image, "config_digest") as! String).dropFirst(7)
        return (try? FileManager.default.attributesOfItem(atPath: dir + digest)[.size] as? Int) ?? 0
    }
}
