import Foundation
import Runtime
import Testing

/// These tests need root: namespaces, mounts, cgroups.
let isRoot = getuid() == 0
let rootReason: Comment = "needs root (namespaces, mounts, cgroups): run as root, as CI does"

/// The package's top directory, from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// The swarm executable built next to the test bundle.
let swarmBinary: String = {
    let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [bundleDir.appendingPathComponent("swarm").path, bundleDir.deletingLastPathComponent().appendingPathComponent("swarm").path,
                      packageRoot + "/.build/debug/swarm"] where FileManager.default.isExecutableFile(atPath: candidate) {
        return candidate
    }
    return packageRoot + "/.build/debug/swarm"
}()

/// A busybox root file system built once per test run by scripts/make-rootfs.
let busyboxRootfs: String = {
    let dir = NSTemporaryDirectory() + "swarm-test-rootfs-\(getpid())"
    let result = runProcess(packageRoot + "/scripts/make-rootfs", [dir])
    precondition(result.status == 0, "scripts/make-rootfs failed: \(result.stderr)")
    atexit { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "swarm-test-rootfs-\(getpid())") }
    return dir
}()

struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program to completion and captures its output.
@discardableResult
func runProcess(_ path: String, _ arguments: [String], environment: [String: String]? = nil) -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    do { try process.run() } catch { return ProcessResult(status: -1, stdout: "", stderr: "\(error)") }
    // Read both pipes concurrently so neither fills up and blocks the child.
    nonisolated(unsafe) var errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        errData = err.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
}

/// A private place for one test's containers: its own state dir and cgroup
/// parent, both removed (with any container left) when the test ends.
final class Sandbox: @unchecked Sendable {
    let stateDir: String
    let cgroupParent: String
    let runtime: ContainerRuntime

    init() throws {
        let tag = UUID().uuidString.prefix(8).lowercased()
        stateDir = NSTemporaryDirectory() + "swarm-test-state-\(tag)"
        cgroupParent = "swarm-test-\(tag).slice"
        runtime = try ContainerRuntime(stateRoot: stateDir, cgroups: CgroupManager.host(parent: cgroupParent))
    }

    deinit { cleanUp() }

    /// Kills and removes whatever the test left, then the sandbox itself.
    func cleanUp() {
        for info in runtime.list(all: true) { try? runtime.remove(info.id, force: true) }
        let parent = runtime.cgroups.parentPath
        for child in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] {
            let path = parent + "/" + child
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else { continue }
            try? "1".write(toFile: path + "/cgroup.kill", atomically: false, encoding: .utf8)
            for _ in 0..<200 where rmdir(path) != 0 { usleep(5000) }
        }
        rmdir(parent)
        try? FileManager.default.removeItem(atPath: stateDir)
    }

    /// `swarm container ARGS…` against this sandbox.
    @discardableResult
    func swarm(_ arguments: String...) -> ProcessResult { swarm(arguments) }

    func swarm(_ arguments: [String]) -> ProcessResult {
        var environment = ProcessInfo.processInfo.environment
        environment["SWARM_STATE_DIR"] = stateDir
        environment["SWARM_CGROUP_PARENT"] = cgroupParent
        return runProcess(swarmBinary, ["container"] + arguments, environment: environment)
    }

    /// `swarm container run --rm --rootfs busybox ARGS…`, attached.
    func run(_ arguments: String...) -> ProcessResult { run(arguments) }

    func run(_ arguments: [String]) -> ProcessResult {
        var options: [String] = [], command = arguments
        if let split = arguments.firstIndex(of: "--") {
            options = Array(arguments[..<split])
            command = Array(arguments[(split + 1)...])
        }
        return swarm(["run", "--rm"] + options + ["--rootfs", busyboxRootfs] + command)
    }

    /// Child cgroups and container directories present now.
    func leftovers() -> [String] {
        let cgroups = ((try? FileManager.default.contentsOfDirectory(atPath: runtime.cgroups.parentPath)) ?? [])
            .filter { !$0.hasPrefix("cgroup.") && !$0.contains(".") }
        let states = (try? FileManager.default.contentsOfDirectory(atPath: stateDir + "/containers")) ?? []
        let names = (try? FileManager.default.contentsOfDirectory(atPath: stateDir + "/names")) ?? []
        return cgroups.map { "cgroup " + $0 } + states.map { "state " + $0 } + names.map { "name " + $0 }
    }
}

/// Polls `condition` every 20 ms for up to `seconds`.
func eventually(_ seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}
