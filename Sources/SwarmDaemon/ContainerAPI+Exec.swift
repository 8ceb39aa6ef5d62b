import Containers
import Dispatch
import FoundationEssentials
import Glibc
import HTTPServer
import SystemCalls

/// `docker exec` through the Engine API: create, start (the output on the
/// upgraded connection as Docker's multiplexed stream: 8-byte headers, 1
/// for stdout, 2 for stderr), inspect.
extension ContainerAPI {
    /// `POST /containers/{id}/exec`
    func createExec(_ ref: String, _ request: HTTPRequest) async throws -> HTTPResponse {
        let config: ExecRegistry.Config
        do { config = try JSONDecoder().decode(ExecRegistry.Config.self, from: Data(request.body)) } catch {
            return message(400, "invalid JSON in the request body: \(error)")
        }
        guard let command = config.Cmd, !command.isEmpty else { return message(400, "No exec command specified") }
        if config.Tty == true {
            return message(400, "exec with a terminal (-t) is not supported by swarm yet: run it without -t")
        }
        if config.AttachStdin == true {
            return message(400, "exec with stdin (-i) is not supported through the API yet: use swarm container exec -i on the node")
        }
        let info = try runtime.inspect(ref)
        guard info.state.status == .running else { throw RuntimeError.conflict("container \(info.id) is not running") }
        let id = await execs.create(containerID: info.id, config: config)
        return json(201, ["Id": id])
    }

    /// `POST /exec/{id}/start`: detached, or the output over the connection.
    func startExec(_ id: String, _ request: HTTPRequest) async throws -> HTTPResponse {
        guard let instance = await execs.instance(id) else { return message(404, "No such exec instance: \(id)") }
        struct Start: Decodable { var Detach: Bool?; var Tty: Bool? }
        let start = (try? JSONDecoder().decode(Start.self, from: Data(request.body))) ?? Start()
        if start.Tty == true { return message(400, "exec with a terminal (-t) is not supported by swarm yet: run it without -t") }
        guard await execs.claim(id) else { return message(409, "Exec command \(id) has already run") }
        var spec = ExecSpec(command: instance.config.Cmd ?? [])
        spec.env = instance.config.Env ?? []
        spec.user = instance.config.User.flatMap { $0.isEmpty ? nil : $0 }
        spec.workingDir = instance.config.WorkingDir.flatMap { $0.isEmpty ? nil : $0 }
        spec.privileged = instance.config.Privileged ?? false

        if start.Detach == true {
            spec.detach = true
            do {
                let process = try runtime.exec(instance.containerID, spec)
                await execs.started(id, pid: process.pid)
                // Not this process's child to wait for: the host's init reaps it.
                await execs.finished(id, exitCode: 0)
                return HTTPResponse(status: 200)
            } catch let failure as ExecFailure {
                await execs.finished(id, exitCode: failure.exitCode)
                return message(500, failure.description)
            }
        }

        // The process writes to pipes read on a Dispatch thread (not the
        // concurrency pool, which has as many threads as cores).
        var out: [Int32] = [0, 0], err: [Int32] = [0, 0]
        guard pipe(&out) == 0 else { throw RuntimeError.system(errno: errno, call: "pipe", detail: "") }
        guard pipe(&err) == 0 else {
            close(out[0]); close(out[1])
            throw RuntimeError.system(errno: errno, call: "pipe", detail: "")
        }
        for fd in out + err { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        spec.stdout = instance.config.AttachStdout == false ? -1 : out[1]
        spec.stderr = instance.config.AttachStderr == false ? -1 : err[1]
        let execs = self.execs
        let started: Result<ExecProcess, ExecFailure>
        do {
            started = .success(try runtime.exec(instance.containerID, spec))
        } catch let failure as ExecFailure {
            started = .failure(failure)
        } catch {
            [out[0], out[1], err[0], err[1]].forEach { close($0) }
            await execs.finished(id, exitCode: 126)
            throw error
        }
        close(out[1])
        close(err[1])
        let outputs = [out[0], err[0]]
        let stream = AsyncStream<[UInt8]> { continuation in
            DispatchQueue.global().async {
                var exitCode: Int32
                switch started {
                case .failure(let failure):
                    // Docker writes the error into the stream, then the CLI reads the code.
                    continuation.yield(Self.frame(1, Array((failure.description + "\r\n").utf8)))
                    exitCode = failure.exitCode
                case .success(let process):
                    Self.pump(outputs) { index, bytes in continuation.yield(Self.frame(UInt8(index + 1), bytes)) }
                    exitCode = process.wait()
                }
                outputs.forEach { close($0) }
                let code = exitCode
                Task {
                    await execs.finished(id, exitCode: code)
                    continuation.finish()
                }
            }
        }
        if case .success(let process) = started { await execs.started(id, pid: process.pid) }
        let upgrade = request.header("upgrade") != nil
        return HTTPResponse(status: upgrade ? 101 : 200,
                            headers: [("Content-Type", "application/vnd.docker.multiplexed-stream")]
                                + (upgrade ? [("Connection", "Upgrade"), ("Upgrade", "tcp")] : []),
                            body: .stream(stream))
    }

    /// `GET /exec/{id}/json`
    func inspectExec(_ id: String) async -> HTTPResponse {
        guard let instance = await execs.instance(id) else { return message(404, "No such exec instance: \(id)") }
        struct Body: Encodable {
            struct ProcessConfig: Encodable {
                var tty: Bool
                var entrypoint: String
                var arguments: [String]
                var privileged: Bool
                var user: String
            }
            var ID: String
            var Running: Bool
            var ExitCode: Int32?
            var ProcessConfig: ProcessConfig
            var OpenStdin: Bool
            var OpenStderr: Bool
            var OpenStdout: Bool
            var CanRemove: Bool
            var ContainerID: String
            var DetachKeys: String
            var Pid: Int32
        }
        let command = instance.config.Cmd ?? []
        return json(200, Body(
            ID: instance.id, Running: instance.running, ExitCode: instance.exitCode,
            ProcessConfig: .init(tty: false, entrypoint: command.first ?? "", arguments: Array(command.dropFirst()),
                                 privileged: instance.config.Privileged ?? false, user: instance.config.User ?? ""),
            OpenStdin: false, OpenStderr: instance.config.AttachStderr ?? true, OpenStdout: instance.config.AttachStdout ?? true,
            CanRemove: false, ContainerID: instance.containerID, DetachKeys: "", Pid: instance.pid))
    }

    /// One frame of Docker's multiplexed stream: stream, 3 zero bytes, the length (big endian), the bytes.
    static func frame(_ stream: UInt8, _ bytes: [UInt8]) -> [UInt8] {
        let length = UInt32(bytes.count)
        return [stream, 0, 0, 0, UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + bytes
    }

    /// Reads the descriptors until both reach end of file, handing each chunk on.
    static func pump(_ fds: [Int32], _ chunk: (Int, [UInt8]) -> Void) {
        var polls = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        var open = fds.count
        var buffer = [UInt8](repeating: 0, count: 32768)
        while open > 0 {
            if poll(&polls, nfds_t(polls.count), -1) < 0 {
                if errno == EINTR { continue }
                return
            }
            for index in polls.indices where polls[index].fd >= 0 && polls[index].revents != 0 {
                let count = read(polls[index].fd, &buffer, buffer.count)
                if count > 0 {
                    chunk(index, Array(buffer[..<count]))
                } else if count == 0 || errno != EINTR {
                    polls[index].fd = -1
                    open -= 1
                }
            }
        }
    }
}
