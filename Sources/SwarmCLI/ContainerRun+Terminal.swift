import ArgumentParser
import Containers
import Dispatch
import Glibc
import SystemCalls

extension ContainerCommand.Run {
    /// `run -i` / `-t` without `-d`: the container's monitor serves this
    /// process as its first attach client (a socket pair, so no output is
    /// missed before it connects); Ctrl-P Ctrl-Q leaves it running.
    func runAttached(_ spec: Containers.ContainerSpec, runtime: ContainerRuntime,
                     overlay: (attachment: String, name: String)?, keys: [UInt8]) async throws -> Never {
        var pair: [Int32] = [-1, -1]
        try syscall("socketpair") { socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) }
        let container: StartedContainer
        do {
            defer { close(pair[1]) }
            let size = tty ? terminalSize() : nil
            container = try runtime.run(spec, name: name ?? overlay?.name,
                                        attach: .init(stdout: -1, stderr: -1, client: pair[1], size: size))
        } catch {
            close(pair[0])
            if let overlay { await release(overlay.attachment) }
            throw error
        }
        // Without a tty, signals to the CLI go to the container (Docker's
        // --sig-proxy); with one, ^C is a byte the terminal turns into SIGINT.
        let proxies: [DispatchSourceSignal] = tty ? [] : [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2].map { signal in
            Glibc.signal(signal, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signal, queue: .global())
            source.setEventHandler { _ = try? runtime.kill(container.id, signal: signal) }
            source.resume()
            return source
        }
        let relay = TerminalRelay(link: .monitor(AttachConnection(fd: pair[0], tty: tty)), input: interactive,
                                  terminal: tty && isatty(0) == 1, detachKeys: interactive ? keys : [])
        let end = try relay.run()
        close(pair[0])
        proxies.forEach { $0.cancel() }
        if end == .detached {
            writeStderr(TerminalRelay.detachedMessage)
            container.detach()
            throw ExitCode(0)
        }
        let status = container.wait()
        if let overlay { await release(overlay.attachment) }
        throw ExitCode(status?.exitCode ?? 1)
    }
}
