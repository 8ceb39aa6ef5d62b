// The in-process figure for bench/container-start: the agent's real path,
// ContainerRuntime.run + wait of /bin/true, with no CLI process in between.
import Containers
import Foundation

var rootfs: String?
var runs = 50
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--rootfs": rootfs = arguments.next()
    case "--runs": runs = arguments.next().flatMap(Int.init) ?? runs
    default:
        FileHandle.standardError.write(Data("usage: container-start-bench --rootfs DIR [--runs N]\n".utf8))
        exit(1)
    }
}
guard let rootfs else {
    FileHandle.standardError.write(Data("usage: container-start-bench --rootfs DIR [--runs N]\n".utf8))
    exit(1)
}

do {
    let stateDir = NSTemporaryDirectory() + "swarm-bench-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: stateDir) }
    let runtime = try ContainerRuntime(stateRoot: stateDir, cgroups: CgroupManager.host(parent: "swarm-bench-\(getpid()).slice"))
    defer { rmdir(runtime.cgroups.parentPath) }
    var spec = ContainerSpec(rootfs: rootfs, command: ["/bin/true"])
    spec.autoRemove = true
    var times: [Double] = []
    for index in 0..<(runs + 3) {
        let start = DispatchTime.now().uptimeNanoseconds
        let container = try runtime.run(spec)
        guard let status = container.wait(), status.exitCode == 0 else {
            FileHandle.standardError.write(Data("container-start-bench: /bin/true did not exit 0\n".utf8))
            exit(1)
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        if index >= 3 { times.append(elapsed) }   // three warm-up runs
    }
    times.sort()
    print(String(format: "%.2f %.2f %.2f", times[times.count / 2], times.first!, times.last!))
} catch {
    FileHandle.standardError.write(Data("container-start-bench: \(error)\n".utf8))
    exit(1)
}
