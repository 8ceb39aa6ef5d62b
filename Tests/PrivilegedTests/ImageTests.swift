import Foundation
import OCIImages
import Testing

/// Images without a registry: load, import, run, whiteouts, rm, prune.
@Suite(.enabled(if: isRoot, rootReason))
struct ImageTests {
    let sandbox: Sandbox

    init() throws { sandbox = try Sandbox() }

    @Test func loadDockerSaveArchivesAndRunThem() {
        let load = sandbox.cli("image", "load", "-i", testImages + "/docker/multilayer.tar")
        #expect(load.status == 0 && load.stdout == "Loaded image: multilayer:v1\n", "\(load.stdout) \(load.stderr)")
        // Whiteouts: deleted file and directory gone, opaque dir hides the lower layer.
        let run = sandbox.cli("container", "run", "--rm", "multilayer:v1", "sh", "-c",
                              "ls /data; ls /opq; cat /keep/k; test -e /data/a || echo no-a; test -e /data/dir || echo no-dir")
        #expect(run.stdout == "b\nnew\n/keep/k\nno-a\nno-dir\n", "\(run.stdout) \(run.stderr)")
        // The container's writes go to its own upper layer, not the image.
        let write = sandbox.cli("container", "run", "--rm", "multilayer:v1", "sh", "-c", "rm /data/b; echo x > /new")
        #expect(write.status == 0)
        #expect(sandbox.cli("container", "run", "--rm", "multilayer:v1", "ls", "/data").stdout == "b\n")
    }

    @Test func loadTheOCIFormatDockerWritesToday() {
        let load = sandbox.cli("image", "load", "-i", testImages + "/docker/busybox-oci.tar")
        #expect(load.status == 0, "\(load.stderr)")
        #expect(load.stdout.hasPrefix("Loaded image"), "\(load.stdout)")
        let list = sandbox.cli("image", "ls", "-q")
        #expect(list.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == (imageFact("busybox", "config_digest") as! String).dropFirst(7).prefix(12))
    }

    @Test func importARootfsTarball() throws {
        let result = sandbox.cli("image", "import", "--change", "CMD [\"echo\", \"from cmd\"]", "--change", "ENV GREETING=hi",
                                 testImages + "/rootfs.tar", "local/root:1")
        #expect(result.status == 0 && result.stdout.hasPrefix("sha256:"), "\(result.stderr)")
        #expect(sandbox.cli("container", "run", "--rm", "local/root:1").stdout == "from cmd\n")
        #expect(sandbox.cli("container", "run", "--rm", "local/root:1", "sh", "-c", "echo $GREETING").stdout == "hi\n")
        let inspect = sandbox.cli("image", "inspect", "local/root:1")
        let parsed = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as! [[String: Any]]
        #expect(parsed.first?["RepoTags"] as? [String] == ["local/root:1"])
        #expect((parsed.first?["RootFS"] as? [String: Any])?["Layers"] as? [String] == [(testImageFacts["rootfs_tar"] as! [String: Any])["digest"] as! String],
                "the diff ID is the tarball's digest")
        let list = sandbox.cli("image", "ls")
        #expect(list.stdout.hasPrefix("REPOSITORY   TAG   IMAGE ID       CREATED   "), "\(list.stdout)")
        #expect(list.stdout.contains("local/root   1     "))
    }

    @Test func removeAndPrune() throws {
        #expect(sandbox.cli("image", "load", "-i", testImages + "/docker/busybox.tar").status == 0)
        #expect(sandbox.cli("container", "run", "-d", "--name", "user", "busybox", "sleep", "100").status == 0)
        let refused = sandbox.cli("image", "rm", "busybox")
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("unable to remove repository reference \"busybox\" (must force) - container"), "\(refused.stderr)")
        #expect(sandbox.cli("container", "rm", "-f", "user").status == 0)
        let removed = sandbox.cli("image", "rm", "busybox")
        #expect(removed.status == 0)
        #expect(removed.stdout.hasPrefix("Untagged: busybox:latest\n") && removed.stdout.contains("Deleted: sha256:"), "\(removed.stdout)")
        let store = ImageStore(root: sandbox.dataDir + "/images")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: store.blobsDir)) ?? []).isEmpty, "blobs left after rm")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: store.layersDir)) ?? []).isEmpty, "layers left after rm")

        // prune -a keeps what a container uses and drops the rest.
        #expect(sandbox.cli("image", "load", "-i", testImages + "/docker/busybox.tar").status == 0)
        #expect(sandbox.cli("image", "load", "-i", testImages + "/docker/multilayer.tar").status == 0)
        #expect(sandbox.cli("container", "run", "-d", "--name", "keeper", "multilayer:v1", "sleep", "100").status == 0)
        let prune = sandbox.cli("image", "prune", "-a", "-f")
        #expect(prune.status == 0 && prune.stdout.contains("untagged: busybox:latest"), "\(prune.stdout)")
        #expect(try store.lookup("multilayer:v1") != nil)
        #expect(try store.lookup("busybox") == nil)
        #expect(sandbox.cli("container", "run", "--rm", "multilayer:v1", "cat", "/data/b").stdout == "/data/b\n")
    }

    @Test func containerFilesGoWithTheContainer() throws {
        #expect(sandbox.cli("image", "load", "-i", testImages + "/docker/busybox.tar").status == 0)
        #expect(sandbox.cli("container", "run", "--rm", "busybox", "true").status == 0)
        #expect(sandbox.cli("container", "run", "-d", "--name", "kept", "busybox", "sh", "-c", "echo x > /f").status == 0)
        let dataDir = try sandbox.runtime.inspect("kept").record.image!.dataDir
        _ = try sandbox.runtime.wait("kept", timeout: 5)
        #expect(FileManager.default.fileExists(atPath: dataDir + "/upper/f"), "the writable layer holds the container's file")
        #expect(sandbox.cli("container", "rm", "kept").status == 0)
        #expect(!FileManager.default.fileExists(atPath: dataDir))
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: sandbox.dataDir + "/containers")) ?? []).isEmpty,
                "--rm left a writable layer behind")
        // The overlay lives in the container's mount namespace only.
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(!mounts.contains(sandbox.dataDir))
    }

    static let badInputs: [([String], String)] = [
        (["image", "load", "-i", "/etc/hostname"], "not a tar archive of an image"),
        (["image", "load", "-i", "/nonexistent.tar"], "/nonexistent.tar"),
        (["image", "import", "/nonexistent.tar", "x:1"], "no such file"),
        (["image", "import", "/etc/hostname", "x:1"], "is not a tar archive"),
        (["image", "inspect", "nothing:here"], "No such image: nothing:here"),
        (["image", "rm", "nothing:here"], "No such image: nothing:here"),
        (["container", "run", "--pull", "never", "nothing:here"], "No such image: nothing:here"),
        (["container", "run", "team/Web:1"], "invalid reference format: repository name (team/Web) must be lowercase"),
    ]

    @Test(arguments: badInputs)
    func badInput(arguments: [String], message: String) {
        let result = sandbox.cli(arguments)
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("swarm: ") && result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: sandbox.dataDir + "/images/blobs/sha256")) ?? []).isEmpty)
        #expect(sandbox.leftovers().isEmpty)
    }
}
