import Containers
import SwarmAPI
import Dispatch
import FoundationEssentials
import Glibc
import HTTPServer
import Synchronization
import SystemCalls

/// `docker attach` through the Engine API: the hijacked connection relayed
/// to the container's monitor (its attach.sock, monitor.c), the window size
/// through the same monitor, and the wait the CLI runs beside them.
extension ContainerAPI {
    /// `POST /containers/{id}/attach?logs=&stream=&stdin=&stdout=&stderr=`:
    /// with `logs=1` the container's log first (its json-file, the streams
    /// asked for), then with `stream=1` what it writes from now on.
    func attachContainer(_ ref: String, _ request: HTTPRequest) throws -> HTTPResponse {
        func flag(_ name: String) -> Bool {
            request.queryValue(name).map { $0 == "1" || $0.lowercased() == "true" } ?? false
        }
        let (stream, logs) = (flag("stream"), flag("logs"))
        guard stream || logs else {
            return message(400, "attach needs stream=1 (the container's output from now on), logs=1 (its log), or both")
        }
        let (wantIn, wantOut, wantErr) = (flag("stdin"), flag("stdout"), flag("stderr"))
        let info = try runtime.inspect(ref)
        let tty = info.record.spec.tty == true
        // As Docker: the log is read, then the stream joined (output written
        // in between is in neither). A stopped container has its log only.
        let replay = logs
            ? LogReader(path: info.record.logPath, maxFiles: info.record.spec.log.maxFiles).entries()
                .filter { $0.stream == "stderr" ? wantErr : wantOut }
            : []
        let monitor = stream && (!logs || info.state.status == .running) ? try runtime.attach(info.id) : nil
        let contentType = tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream"
        return HTTPResponse.hijack(request, contentType: contentType) { connection in
            for entry in replay {
                let bytes = Array(entry.log.utf8)
                try? await connection.write(tty ? bytes : StreamFrame.encode(stream: entry.stream == "stderr" ? 2 : 1, bytes))
            }
            guard let monitor else { return }
            let feeding = Task {
                guard wantIn else { return }
                for await chunk in connection.input {
                    let frames = chunk.withUnsafeBytes { bytes in
                        stride(from: 0, to: bytes.count, by: AttachConnection.frameMax).flatMap { start in
                            AttachConnection.frame(kind: 0, UnsafeRawBufferPointer(rebasing: bytes[start..<min(bytes.count, start + AttachConnection.frameMax)]))
                        }
                    }
                    if !(await StreamRelay.writeAll(monitor.fd, frames)) { break }
                }
                // As Docker: with stdin attached, its end ends the attach (the
                // container's stdin stays open: swarm has no StdinOnce).
                shutdown(monitor.fd, Int32(SHUT_RDWR))
            }
            var reader = StreamFrameReader()
            let output = StreamRelay.output([monitor.fd])
            for await (_, bytes) in output.chunks {
                defer { output.consumed() }
                let frames = bytes.withUnsafeBytes { reader.feed($0) }
                for frame in frames where frame.stream == 2 ? wantErr : wantOut {
                    do {
                        try await connection.write(monitor.tty ? frame.payload : StreamFrame.encode(stream: frame.stream, frame.payload))
                    } catch {
                        // The client is gone (e.g. it detached): stop reading the monitor.
                        shutdown(monitor.fd, Int32(SHUT_RDWR))
                    }
                }
            }
            feeding.cancel()
            await feeding.value
            close(monitor.fd)
        }
    }

    /// `POST /containers/{id}/resize?h=&w=`: the monitor sets its pty's size.
    func resizeContainer(_ ref: String, _ request: HTTPRequest) throws -> HTTPResponse {
        guard let size = Self.terminalSize(request) else {
            return message(400, "resize needs h and w, positive numbers of rows and columns")
        }
        let info = try runtime.inspect(ref)
        guard info.state.status == .running else { throw RuntimeError.conflict("Container \(info.id) is not running") }
        let monitor = try runtime.attach(info.id)
        defer { close(monitor.fd) }
        try monitor.resize(size)
        return HTTPResponse(status: 200)
    }

    /// `POST /containers/{id}/wait`: `{"StatusCode": N}` once the container
    /// has exited (the docker CLI asks beside attach, for the exit status).
    func waitContainer(_ ref: String) throws -> HTTPResponse {
        let id = try runtime.inspect(ref).id
        let runtime = self.runtime
        let body = AsyncStream<[UInt8]> { continuation in
            // Waits in slices, so a client that leaves frees the thread.
            let abandoned = AbandonFlag()
            continuation.onTermination = { _ in abandoned.value.store(true, ordering: .relaxed) }
            DispatchQueue.global().async {
                while !abandoned.value.load(ordering: .relaxed) {
                    guard let state = try? runtime.wait(id, timeout: 1) else { break }
                    if state.status != .running {
                        continuation.yield(Array("{\"Error\":null,\"StatusCode\":\(state.exitCode ?? 0)}\n".utf8))
                        break
                    }
                }
                continuation.finish()
            }
        }
        return HTTPResponse.stream(contentType: "application/json", body)
    }
}

/// Set when the client of a wait went away.
private final class AbandonFlag: Sendable {
    let value = Atomic(false)
}
