import Containers
import Foundation
import Testing

/// `top`, `stats` and `cp` on real containers.
@Suite(.enabled(if: isRoot, rootReason))
struct ContainerToolsTests {
    let sandbox: Sandbox

    init() throws { sandbox = try Sandbox() }

    func start(_ name: String, _ command: [String] = ["sleep", "1000"]) throws -> ContainerInfo {
        let run = sandbox.swarm(["run", "-d", "--name", name, "--rootfs", busyboxRootfs] + command)
        try #require(run.status == 0, "\(run.stderr)")
        return try sandbox.runtime.inspect(name)
    }

    @Test func topListsTheContainersProcessesOnly() throws {
        let info = try start("busy", ["sh", "-c", "sleep 1001 & sleep 1002; true"])
        #expect(eventually { sandbox.runtime.cgroups.processes(id: info.id).count == 3 })
        let pids = Set(sandbox.runtime.cgroups.processes(id: info.id).map(String.init))
        let top = sandbox.swarm("top", "busy")
        #expect(top.status == 0, "\(top.stderr)")
        let lines = top.stdout.split(separator: "\n")
        #expect(lines.first?.split(separator: " ") == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"], "\(top.stdout)")
        let listed = Set(lines.dropFirst().map { String($0.split(separator: " ")[1]) })
        #expect(listed == pids, "top: \(top.stdout)")
        #expect(top.stdout.contains("sleep 1001") && top.stdout.contains("sleep 1002"))
        // ps options are passed on.
        let custom = sandbox.swarm("top", "busy", "-o", "pid,comm")
        #expect(custom.stdout.split(separator: "\n").count == 4 && custom.stdout.hasPrefix("PID"), "\(custom.stdout) \(custom.stderr)")
    }

    @Test func statsMatchTheCgroupFiles() throws {
        let info = try start("measured")
        let result = sandbox.swarm("stats", "--no-stream", "--format", "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.MemPerc}}|{{.NetIO}}|{{.BlockIO}}|{{.PIDs}}", "measured")
        #expect(result.status == 0, "\(result.stderr)")
        let fields = result.stdout.trimmingCharacters(in: .newlines).split(separator: "|").map(String.init)
        try #require(fields.count == 7, "\(result.stdout)")
        #expect(fields[0] == "measured")
        // What the files say, read directly.
        let dir = info.record.cgroupPath
        let has = { (file: String) in FileManager.default.fileExists(atPath: dir + "/" + file) }
        #expect(has("cpu.stat") == fields[1].hasSuffix("%"), "CPU: \(fields[1])")
        #expect(has("memory.current") == (fields[2] != "-- / --"), "MEM: \(fields[2])")
        #expect(has("io.stat") == (fields[5] != "-- / --"), "BLOCK: \(fields[5])")
        let pids = has("pids.current")
            ? try String(contentsOfFile: dir + "/pids.current", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            : String(try String(contentsOfFile: dir + "/cgroup.threads", encoding: .utf8).split(separator: "\n").count)
        #expect(fields[6] == pids)
        // Network none: only lo, which is not counted.
        #expect(fields[4] == "0B / 0B")
        // Default table: Docker's columns.
        let table = sandbox.swarm("stats", "--no-stream")
        #expect(table.stdout.split(separator: "\n").first.map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
                == "CONTAINER ID NAME CPU % MEM USAGE / LIMIT MEM % NET I/O BLOCK I/O PIDS", "\(table.stdout)")
        #expect(table.stdout.contains(String(info.id.prefix(12))))
    }

    @Test func copyInAndOutAndRefuseEscapes() throws {
        _ = try start("files")
        let work = NSTemporaryDirectory() + "swarm-cp-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: work) }
        try FileManager.default.createDirectory(atPath: work + "/tree/sub", withIntermediateDirectories: true)
        try "hello\n".write(toFile: work + "/in.txt", atomically: false, encoding: .utf8)
        try "deep\n".write(toFile: work + "/tree/sub/f", atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: work + "/tree/link", withDestinationPath: "/etc/passwd")

        // The rootfs is shared by the run's tests: a directory of this test's own.
        let box = "/tmp/cp-" + UUID().uuidString.prefix(8).lowercased()
        #expect(sandbox.swarm("exec", "files", "mkdir", box).status == 0)
        #expect(sandbox.swarm("cp", work + "/in.txt", "files:\(box)/in.txt").status == 0)
        #expect(sandbox.swarm("exec", "files", "cat", "\(box)/in.txt").stdout == "hello\n")
        #expect(sandbox.swarm("cp", work + "/tree", "files:\(box)").status == 0)
        #expect(sandbox.swarm("exec", "files", "sh", "-c", "cat \(box)/tree/sub/f; readlink \(box)/tree/link").stdout == "deep\n/etc/passwd\n")

        #expect(sandbox.swarm("exec", "files", "sh", "-c", "echo made inside > \(box)/out.txt").status == 0)
        #expect(sandbox.swarm("cp", "files:\(box)/out.txt", work + "/out.txt").status == 0)
        #expect(try String(contentsOfFile: work + "/out.txt", encoding: .utf8) == "made inside\n")
        #expect(sandbox.swarm("cp", "files:\(box)/tree", work + "/back").status == 0)
        #expect(try String(contentsOfFile: work + "/back/sub/f", encoding: .utf8) == "deep\n")

        // Out of the root: refused, nothing copied.
        let escape = sandbox.swarm("cp", "files:../../etc/passwd", work + "/stolen")
        #expect(escape.status == 1 && escape.stderr.contains("leads out of the container's root"), "\(escape.stderr)")
        #expect(!FileManager.default.fileExists(atPath: work + "/stolen"))
        let escapeIn = sandbox.swarm("cp", work + "/in.txt", "files:\(box)/../../../host-file")
        #expect(escapeIn.status == 1 && escapeIn.stderr.contains("leads out of the container's root"), "\(escapeIn.stderr)")
        // A symlink inside pointing at / resolves inside the container's root.
        #expect(sandbox.swarm("exec", "files", "ln", "-s", "/", "\(box)/up").status == 0)
        #expect(sandbox.swarm("cp", "files:\(box)/up/etc/passwd", work + "/theirs").status == 0)
        let theirs = try String(contentsOfFile: work + "/theirs", encoding: .utf8)
        #expect(theirs == (try String(contentsOfFile: busyboxRootfs + "/etc/passwd", encoding: .utf8)), "read the host's /etc/passwd")
        let missing = sandbox.swarm("cp", "files:/nonexistent", work + "/x")
        #expect(missing.status == 1 && missing.stderr.contains("Could not find the file /nonexistent in container files"), "\(missing.stderr)")
    }
}
