import Foundation
import Testing

/// The test images of scripts/build-test-images, built once per run.
let testImages: String = {
    let dir = NSTemporaryDirectory() + "swarm-test-images-\(getpid())"
    let result = runProcess(packageRoot + "/scripts/build-test-images", [dir, "--big"])
    precondition(result.status == 0, "scripts/build-test-images failed: \(result.stderr)")
    atexit { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "swarm-test-images-\(getpid())") }
    return dir
}()

/// images.json of the test images, as a dictionary.
nonisolated(unsafe) let testImageFacts: [String: Any] = {
    let data = FileManager.default.contents(atPath: testImages + "/images.json")!
    return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
}()

func imageFact(_ image: String, _ key: String) -> Any? {
    ((testImageFacts["images"] as? [String: Any])?[image] as? [String: Any])?[key]
}

/// Debian's docker-registry on a free loopback port, in a temp dir, with
/// optional basic or token authentication; stopped (by its PID) at deinit.
final class TestRegistry: @unchecked Sendable {
    enum Auth { case none, basic, token }

    let dir: String
    let port: Int
    let user = "tester", password = "s3cret"
    private var tokenServer: pid_t?

    var host: String { "127.0.0.1:\(port)" }

    init(auth: Auth = .none) throws {
        dir = NSTemporaryDirectory() + "swarm-test-registry-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let fixtures = packageRoot + "/Tests/fixtures/registry"
        var arguments = [dir]
        switch auth {
        case .none: break
        case .basic: arguments += ["--htpasswd", "\(user):\(password)"]
        case .token:
            // The token server makes the key pair the registry trusts; it
            // prints its port when ready.
            var pipe: [Int32] = [0, 0]
            guard makePipe(&pipe) else { throw TestRegistryError(message: "pipe failed") }
            tokenServer = try spawn(fixtures + "/token-server.py",
                                    ["--port", "0", "--user", "\(user):\(password)", "--key", dir + "/token.key", "--cert", dir + "/token.crt"],
                                    stdout: pipe[1])
            close(pipe[1])
            var line = [UInt8]()
            var byte: UInt8 = 0
            while read(pipe[0], &byte, 1) == 1 && byte != UInt8(ascii: "\n") { line.append(byte) }
            close(pipe[0])
            let tokenPort = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            arguments += ["--token", "http://127.0.0.1:\(tokenPort)/token"]
        }
        let started = runProcess(fixtures + "/start-registry", arguments)
        guard started.status == 0, let port = Int(started.stdout.split(separator: " ").first ?? "") else {
            if let tokenServer { kill(tokenServer, SIGKILL); waitFor(tokenServer) }
            throw TestRegistryError(message: "start-registry failed: \(started.stderr)")
        }
        self.port = port
    }

    deinit {
        runProcess(packageRoot + "/Tests/fixtures/registry/stop-registry", [dir])
        if let tokenServer {
            kill(tokenServer, SIGKILL)
            waitFor(tokenServer)
        }
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Copies an OCI layout of the test images into the registry with skopeo.
    @discardableResult
    func push(layout name: String, tag: String, as repository: String, all: Bool = false) -> ProcessResult {
        var arguments = ["copy", "--dest-tls-verify=false"]
        if all { arguments.append("--all") }
        if password.isEmpty == false, dirHasAuth { arguments += ["--dest-creds", "\(user):\(password)"] }
        arguments += ["oci:\(testImages)/oci/\(name):\(tag)", "docker://\(host)/\(repository)"]
        return runProcess("/usr/bin/skopeo", arguments)
    }

    private var dirHasAuth: Bool {
        FileManager.default.fileExists(atPath: dir + "/htpasswd") || FileManager.default.fileExists(atPath: dir + "/token.crt")
    }

    /// The file the registry keeps a blob in (to corrupt it on purpose).
    func blobFile(_ digest: String) -> String {
        let hex = String(digest.dropFirst(7))
        return dir + "/data/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
    }
}

struct TestRegistryError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
