import Containers
import Foundation
import Lab
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

/// Starts a program through Lab's `spawnProcess` (the CLI's own): default
/// signal dispositions and no blocked signals (Foundation's Process passes
/// on the test thread's mask, and a child with SIGTERM blocked never stops).
/// `stdout`/`stderr`: descriptors for the child, /dev/null if nil.
func spawn(_ path: String, _ arguments: [String], environment: [String: String]? = nil,
           stdout: Int32? = nil, stderr: Int32? = nil) throws -> pid_t {
    try spawnProcess(path, [path] + arguments, environment: environment ?? ProcessInfo.processInfo.environment,
                     stdin: nil, stdout: stdout, stderr: stderr)
}

/// pipe(2) with both ends close-on-exec (pipe2 is not in Swift's Glibc).
func makePipe(_ fds: inout [Int32]) -> Bool {
    // In one step: the tests spawn children from many threads at once.
    guard let pipe = try? closeOnExecPipe() else { return false }
    fds = [pipe.read, pipe.write]
    return true
}

/// Waits for a child and returns its exit status (128+signal if killed).
@discardableResult
func waitFor(_ pid: pid_t) -> Int32 { waitForExit(pid) }

/// Runs a program to completion and captures its output.
@discardableResult
func runProcess(_ path: String, _ arguments: [String], environment: [String: String]? = nil) -> ProcessResult {
    var out: [Int32] = [0, 0], err: [Int32] = [0, 0]
    guard makePipe(&out), makePipe(&err) else {
        return ProcessResult(status: -1, stdout: "", stderr: "pipe failed")
    }
    let pid: pid_t
    do { pid = try spawn(path, arguments, environment: environment, stdout: out[1], stderr: err[1]) } catch {
        [out[0], out[1], err[0], err[1]].forEach { close($0) }
        return ProcessResult(status: -1, stdout: "", stderr: "\(error)")
    }
    close(out[1])
    close(err[1])
    // Read both until the child (and anything it left holding them) closes them.
    var buffers = [Data(), Data()]
    var fds = [pollfd(fd: out[0], events: Int16(POLLIN), revents: 0), pollfd(fd: err[0], events: Int16(POLLIN), revents: 0)]
    var open = 2
    var chunk = [UInt8](repeating: 0, count: 65536)
    while open > 0 {
        if poll(&fds, 2, -1) < 0 { if errno == EINTR { continue } else { break } }
        for index in 0..<2 where fds[index].fd >= 0 && fds[index].revents != 0 {
            let count = read(fds[index].fd, &chunk, chunk.count)
            if count > 0 { buffers[index].append(contentsOf: chunk[..<count]) } else if count == 0 || errno != EINTR {
                close(fds[index].fd)
                fds[index].fd = -1
                open -= 1
            }
        }
    }
    return ProcessResult(status: waitFor(pid), stdout: String(decoding: buffers[0], as: UTF8.self),
                         stderr: String(decoding: buffers[1], as: UTF8.self))
}

/// A private place for one test's containers: its own state dir and cgroup
/// parent, both removed (with any container left) when the test ends.
final class Sandbox: @unchecked Sendable {
    let stateDir: String
    let dataDir: String
    /// HOME for the CLI: registry logins go to $HOME/.swarm/config.json.
    let homeDir: String
    let cgroupParent: String
    let runtime: ContainerRuntime

    init() throws {
        let tag = UUID().uuidString.prefix(8).lowercased()
        stateDir = NSTemporaryDirectory() + "swarm-test-state-\(tag)"
        dataDir = NSTemporaryDirectory() + "swarm-test-data-\(tag)"
        homeDir = NSTemporaryDirectory() + "swarm-test-home-\(tag)"
        cgroupParent = "swarm-test-\(tag).slice"
        runtime = try ContainerRuntime(stateRoot: stateDir, dataRoot: dataDir, cgroups: CgroupManager.host(parent: cgroupParent))
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
        try? FileManager.default.removeItem(atPath: dataDir)
        try? FileManager.default.removeItem(atPath: homeDir)
    }

    /// `swarm container ARGS…` against this sandbox.
    @discardableResult
    func swarm(_ arguments: String...) -> ProcessResult { swarm(arguments) }

    func swarm(_ arguments: [String]) -> ProcessResult {
        runProcess(swarmBinary, ["container"] + arguments, environment: environment)
    }

    /// `swarm ARGS…` (any command group) against this sandbox.
    @discardableResult
    func cli(_ arguments: String...) -> ProcessResult { cli(arguments) }

    @discardableResult
    func cli(_ arguments: [String]) -> ProcessResult {
        runProcess(swarmBinary, arguments, environment: environment)
    }

    var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["SWARM_STATE_DIR"] = stateDir
        environment["SWARM_DATA_DIR"] = dataDir
        environment["SWARM_CGROUP_PARENT"] = cgroupParent
        environment["HOME"] = homeDir
        return environment
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
