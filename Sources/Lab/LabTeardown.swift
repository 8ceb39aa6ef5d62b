import Containers
import FoundationEssentials
import Glibc
import HostNetwork

/// Removes everything of lab `name` that it finds, with or without its
/// lab.json, however far an `up` got; again after a partial failure.
struct LabTeardown {
    let name: String
    /// The swarm executable that runs `leave` on each node.
    let binary: String
    var paths: LabPaths { LabPaths(name) }

    func exists() -> Bool {
        access(paths.directory, F_OK) == 0 || access(paths.dataDirectory, F_OK) == 0
            || !LabNetwork.existingNamespaces(lab: name).isEmpty || !nodeIndexes().isEmpty
    }

    /// Node numbers from lab.json, the lab's directories and its namespaces.
    func nodeIndexes() -> [Int] {
        var indexes = Set<Int>()
        let record = try? LabRecord.load(paths)
        for node in record?.nodes ?? [] { if let index = LabPaths.nodeIndex(node.name) { indexes.insert(index) } }
        for directory in [paths.directory, paths.dataDirectory] {
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
                if let index = LabPaths.nodeIndex(entry) { indexes.insert(index) }
            }
        }
        for namespace in LabNetwork.existingNamespaces(lab: name) {
            if let index = LabPaths.nodeIndex(String(namespace.name.dropFirst(name.count + 1))) { indexes.insert(index) }
        }
        return indexes.sorted()
    }

    /// Returns what could not be removed, one line each; empty if all went.
    func run() -> [String] {
        var problems: [String] = []
        let record = try? LabRecord.load(paths)
        let directory = record?.namespaceDirectory ?? NetworkNamespace.defaultDirectory
        // Workers first, the manager last.
        for index in nodeIndexes().reversed() {
            let node = record?.nodes.first { $0.name == "node\(index)" } ?? paths.node(index).record
            let namespace = NetworkNamespace(name: "\(name)-node\(index)", directory: directory)
            problems += stopNode(node, namespace: namespace)
        }
        // Whatever was started by `lab exec` in the client.
        killAll(in: NetworkNamespace(name: name + "-client", directory: directory))
        do {
            try LabNetwork.teardown(lab: name, directory: directory)
        } catch {
            problems.append("removing the network: \(oneLine(error))")
        }
        if problems.isEmpty {
            for path in [paths.directory, paths.dataDirectory] {
                if let problem = removeTree(path) { problems.append(problem) }
            }
            rmdir(LabPaths.dataRoot)
            rmdir(LabPaths.runRoot)
        }
        return problems
    }

    /// leave --force (which stops the daemon and removes its task
    /// containers); then, whatever leave did, the daemon by pid, any
    /// container left, every process in the node's namespace, the cgroup
    /// parent, the state and data dirs.
    private func stopNode(_ node: LabRecord.Node, namespace: NetworkNamespace) -> [String] {
        var problems: [String] = []
        let inNamespace = namespace.identity() != nil
        if access(node.dataDir, F_OK) == 0 {
            let log = paths.log("\(node.name)-leave")
            // Whether it worked shows below: a daemon or container still there is dealt with there.
            _ = try? runCaptured(inNamespace ? namespace : nil, binary, ["swarm", "leave", "--force"] + node.globalOptions,
                                 environment: node.environment(hostname: false), log: log, timeout: 60)
        }
        var pids = Set<pid_t>()
        if let pid = node.pid { pids.insert(pid) }
        if let pid = readDaemonPID(node.stateDir) { pids.insert(pid) }
        for pid in pids where isDaemon(pid, of: node, namespace: namespace) { terminate(pid) }

        if access(node.stateDir, F_OK) == 0 {
            do {
                let runtime = try ContainerRuntime(stateRoot: node.stateDir, dataRoot: node.dataDir,
                                                   cgroups: CgroupManager.host(parent: node.cgroupParent))
                for container in runtime.list(all: true) {
                    do { try runtime.remove(container.id, force: true) } catch {
                        problems.append("\(node.name): removing container \(container.id.prefix(12)): \(oneLine(error))")
                    }
                }
            } catch {
                problems.append("\(node.name): listing containers: \(oneLine(error))")
            }
        }
        killAll(in: namespace)
        if let problem = removeCgroup(node.cgroupParent) { problems.append("\(node.name): \(problem)") }
        for path in [node.stateDir, node.dataDir] {
            if let problem = removeTree(path) { problems.append("\(node.name): \(problem)") }
        }
        return problems
    }

    /// A pid from lab.json or the pid file is the node's daemon only if it is
    /// still in the node's namespace or names the node's state dir: pids get reused.
    private func isDaemon(_ pid: pid_t, of node: LabRecord.Node, namespace: NetworkNamespace) -> Bool {
        guard pid > 1, processAlive(pid) else { return false }
        if namespace.processes().contains(pid) { return true }
        return readWholeFile("/proc/\(pid)/cmdline").map { $0.split(separator: 0).contains { Array($0) == Array(node.stateDir.utf8) } } ?? false
    }

    /// SIGKILL to every process left in `namespace` (daemons, their
    /// children, commands from lab exec), and waits up to 5 s for them to go.
    private func killAll(in namespace: NetworkNamespace) {
        for _ in 0..<100 {
            let pids = namespace.processes().filter(processAlive)
            if pids.isEmpty { return }
            for pid in pids { kill(pid, SIGKILL) }
            usleep(50_000)
        }
    }
}
