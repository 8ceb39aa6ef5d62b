import Containers
import SwarmAPI
import Dispatch
import FoundationEssentials
import Glibc
import HTTPServer
import SystemCalls

/// `docker exec` through the Engine API: create, start (on the hijacked
/// connection: stdin in, and the output raw with a pty, else as Docker's
/// multiplexed stream: 8-byte headers, 1 for stdout, 2 for stderr),
/// resize, inspect.
extension ContainerAPI {
    /// `POST /containers/{id}/exec`
    func createExec(_ ref: String, _ request: HTTPRequest) async throws -> HTTPResponse {
        let config: ExecRegistry.Config
        do { config = try JSONDecoder().decode(ExecRegistry.Config.self, from: Data(request.body)) } catch {
            return message(400, "invalid JSON in the request body: \(error)")
        }
        guard let command = config.Cmd, !command.isEmpty else { return message(400, "No exec command specified") }
        let info = try runtime.inspect(ref)
        guard info.state.status == .running else { throw RuntimeError.conflict("container \(info.id) is not running") }
        let id = await execs.create(containerID: info.id, config: config)
        return json(201, ["Id": id])
    }

    /// `POST /exec/{id}/start`: detached, or the output over the connection.
    func startExec(_ id: String, _ request: HTTPRequest) async throws -> HTTPResponse {
        guard let instance = await execs.instance(id) else { return message(404, "No such exec instance: \(id)") }
        struct Start: Decodable { var Detach: Bool?; var Tty: Bool?; var ConsoleSize: [UInt16]? }
        let start = (try? JSONDecoder().decode(Start.self, from: Data(request.body))) ?? Start()
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

        do {
            return try await attachExec(id, instance, spec, request, consoleSize: start.ConsoleSize ?? instance.config.ConsoleSize)
        } catch {
            // No pty or pipe: the instance ran nothing and is over.
            await execs.finished(id, exitCode: 126)
            throw error
        }
    }

    /// Starts the process with a pty (`Tty`) or pipes, and answers with the
    /// hijacked connection: the client's bytes go to its stdin (`AttachStdin`),
    /// its output comes back raw with a pty, else in multiplexed frames.
    /// The exit status is recorded before the connection closes, since the
    /// docker CLI reads it right after.
    func attachExec(_ id: String, _ instance: ExecRegistry.Instance, _ base: ExecSpec, _ request: HTTPRequest,
                    consoleSize: [UInt16]?) async throws -> HTTPResponse {
        var spec = base
        let tty = instance.config.Tty == true
        let stdin = instance.config.AttachStdin == true
        // Writing to a pipe whose reader has gone must be an error, not the daemon's end.
        signal(SIGPIPE, SIG_IGN)
        var opened: [Int32] = []
        func newPipe() throws -> (read: Int32, write: Int32) {
            do {
                let pipe = try closeOnExecPipe("exec")
                opened += [pipe.read, pipe.write]
                return pipe
            } catch {
                opened.forEach { close($0) }
                throw error
            }
        }
        // input: where the client's bytes go; outputs: what is read, by stream number - 1.
        // With a pty (opened in the container's devpts), both are its master, known once started.
        let pipeInput: Int32?, pipeOutputs: [Int32], childEnds: [Int32]
        if tty {
            if let size = consoleSize, size.count == 2, size[0] > 0, size[1] > 0 {
                spec.terminalSize = TerminalSize(rows: size[0], columns: size[1])
            }
            spec.tty = true
            pipeInput = nil
            pipeOutputs = []
            childEnds = []
        } else {
            let out = try newPipe(), err = try newPipe()
            let inPipe = stdin ? try newPipe() : nil
            spec.stdin = inPipe?.read ?? -1
            spec.stdout = instance.config.AttachStdout == false ? -1 : out.write
            spec.stderr = instance.config.AttachStderr == false ? -1 : err.write
            pipeInput = inPipe?.write
            pipeOutputs = [out.read, err.read]
            childEnds = [out.write, err.write] + (inPipe.map { [$0.read] } ?? [])
        }
        let started: Result<ExecProcess, ExecFailure>
        do {
            started = .success(try runtime.exec(instance.containerID, spec))
        } catch let failure as ExecFailure {
            started = .failure(failure)
        } catch {
            (childEnds + pipeOutputs + (pipeInput.map { [$0] } ?? [])).forEach { close($0) }
            await execs.finished(id, exitCode: 126)
            throw error
        }
        childEnds.forEach { close($0) }
        let execs = self.execs
        if case .success(let process) = started {
            await execs.started(id, pid: process.pid)
            if let master = process.master, let size = await execs.setMaster(id, master) { PseudoTerminal.setSize(master, size) }
        }
        let master = (try? started.get())?.master
        let input = master.map { stdin ? $0 : nil } ?? pipeInput
        let outputs = master.map { [$0] } ?? pipeOutputs
        // With a pty the master is both input and output: closed once, at the end.
        let inputOwned = tty ? nil : input
        let contentType = tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream"
        return HTTPResponse.hijack(request, contentType: contentType) { connection in
            let feeding = Task {
                for await chunk in connection.input {
                    guard let input else { continue }
                    if !(await StreamRelay.writeAll(input, chunk)) { break }
                }
                // The client's end of input is the process's (a pipe's close; a pty has no such end).
                if let inputOwned { close(inputOwned) }
            }
            let exitCode: Int32
            switch started {
            case .failure(let failure):
                // Docker writes the error into the stream, then the CLI reads the code.
                let text = Array((failure.description + "\r\n").utf8)
                try? await connection.write(tty ? text : StreamFrame.encode(stream: 1, text))
                exitCode = failure.exitCode
            case .success(let process):
                let output = StreamRelay.output(outputs)
                for await (index, bytes) in output.chunks {
                    try? await connection.write(tty ? bytes : StreamFrame.encode(stream: UInt8(index + 1), bytes))
                    output.consumed()
                }
                exitCode = await StreamRelay.wait { process.wait() }
            }
            feeding.cancel()
            await feeding.value
            if tty { _ = await execs.setMaster(id, nil) }
            outputs.forEach { close($0) }
            await execs.finished(id, exitCode: exitCode)
        }
    }

    /// `POST /exec/{id}/resize?h=&w=`
    func resizeExec(_ id: String, _ request: HTTPRequest) async -> HTTPResponse {
        guard let size = Self.terminalSize(request) else {
            return message(400, "resize needs h and w, positive numbers of rows and columns")
        }
        guard await execs.resize(id, size) else { return message(404, "No such exec instance: \(id)") }
        return HTTPResponse(status: 200)
    }

    /// `h` and `w` of a resize request.
    static func terminalSize(_ request: HTTPRequest) -> TerminalSize? {
        guard let rows = request.queryValue("h").flatMap(UInt16.init), let columns = request.queryValue("w").flatMap(UInt16.init),
              rows > 0, columns > 0 else { return nil }
        return TerminalSize(rows: rows, columns: columns)
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
            ProcessConfig: .init(tty: instance.config.Tty ?? false, entrypoint: command.first ?? "", arguments: Array(command.dropFirst()),
                                 privileged: instance.config.Privileged ?? false, user: instance.config.User ?? ""),
            OpenStdin: instance.config.AttachStdin ?? false, OpenStderr: instance.config.AttachStderr ?? true, OpenStdout: instance.config.AttachStdout ?? true,
            CanRemove: false, ContainerID: instance.containerID, DetachKeys: "", Pid: instance.pid))
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
