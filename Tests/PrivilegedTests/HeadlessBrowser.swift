import Foundation
import HostNetwork
import Lab

/// Debian's chromium, headless, driven over the DevTools protocol through
/// `--remote-debugging-pipe` (JSON messages ended by a NUL byte on fds 3
/// and 4), so no websocket client is needed and the browser can run inside
/// a lab namespace. Runs as root only with --no-sandbox; its profile is a
/// temporary directory; `quit` kills its process group (ours) and removes
/// the profile.
final class HeadlessBrowser {
    static let executable = "/usr/bin/chromium"
    static var installed: Bool { FileManager.default.isExecutableFile(atPath: executable) }

    let pid: pid_t
    private let commands: Int32
    private let replies: Int32
    private let profile: String
    let logPath: String
    private var buffer: [UInt8] = []
    private var nextID = 1
    private var session: String?

    /// Starts the browser, in `namespace` if given, with a window of
    /// `width`×`height`; its output goes to `log` (kept after `quit`).
    init(in namespace: NetworkNamespace?, log logPath: String, width: Int = 1280, height: Int = 900) throws {
        // Not swarm-test-*: scripts/test's leftover check looks for that in every command line.
        profile = NSTemporaryDirectory() + "swarm-chromium-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: profile, withIntermediateDirectories: true)
        var toBrowser: [Int32] = [0, 0], fromBrowser: [Int32] = [0, 0]
        guard pipe(&toBrowser) == 0, pipe(&fromBrowser) == 0 else { throw BrowserError("pipe: errno \(errno)") }
        // Our ends only: the browser's ends must survive exec (bash moves them to 3 and 4; dash takes only one-digit fds).
        _ = fcntl(toBrowser[1], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fromBrowser[0], F_SETFD, FD_CLOEXEC)
        self.logPath = logPath
        let log = open(logPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer { close(log); close(toBrowser[0]); close(fromBrowser[1]) }
        let arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                         "--remote-debugging-pipe", "--user-data-dir=" + profile, "--window-size=\(width),\(height)", "about:blank"]
        let script = "exec \"$0\" \"$@\" 3<&\(toBrowser[0]) 4>&\(fromBrowser[1])"
        let start = {
            try spawnProcess("/bin/bash", ["bash", "-c", script, Self.executable] + arguments, environment: ProcessInfo.processInfo.environment,
                             stdin: nil, stdout: log, stderr: log, newProcessGroup: true)
        }
        do {
            if let namespace { pid = try namespace.run { try start() } } else { pid = try start() }
        } catch {
            close(toBrowser[1]); close(fromBrowser[0])
            try? FileManager.default.removeItem(atPath: profile)
            throw error
        }
        commands = toBrowser[1]
        replies = fromBrowser[0]
        signal(SIGPIPE, SIG_IGN)
    }

    deinit { quit() }

    private var closed = false

    /// Kills the browser's process group and removes its profile.
    func quit() {
        guard !closed else { return }
        closed = true
        kill(-pid, SIGKILL)
        waitForExit(pid)
        close(commands)
        close(replies)
        try? FileManager.default.removeItem(atPath: profile)
    }

    /// Sends one command (to the attached page unless `browser`) and returns its result.
    @discardableResult
    func call(_ method: String, _ params: [String: Any] = [:], browser: Bool = false, timeout: Double = 30) throws -> [String: Any] {
        let id = nextID
        nextID += 1
        var message: [String: Any] = ["id": id, "method": method, "params": params]
        if !browser, let session { message["sessionId"] = session }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { write(commands, $0.baseAddress, $0.count) }
            guard count > 0 else { throw BrowserError("the browser went away (write: errno \(errno); see \(logPath))") }
            sent += count
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            while let end = buffer.firstIndex(of: 0) {
                let data = Data(buffer[..<end])
                buffer.removeSubrange(...end)
                guard let reply = try JSONSerialization.jsonObject(with: data) as? [String: Any], reply["id"] as? Int == id else { continue }
                if let error = reply["error"] as? [String: Any] { throw BrowserError("\(method): \(error["message"] ?? error)") }
                return reply["result"] as? [String: Any] ?? [:]
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw BrowserError("\(method): no answer within \(timeout) s") }
            var poller = pollfd(fd: replies, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(left * 1000) + 1) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = read(replies, &chunk, chunk.count)
            guard count > 0 else { throw BrowserError("the browser went away (see \(logPath))") }
            buffer += chunk[..<count]
        }
    }

    /// Attaches to the browser's page and loads `url`.
    func load(_ url: String) throws {
        let targets = try call("Target.getTargets", browser: true)["targetInfos"] as? [[String: Any]] ?? []
        guard let page = targets.first(where: { $0["type"] as? String == "page" })?["targetId"] as? String else {
            throw BrowserError("the browser has no page")
        }
        session = try call("Target.attachToTarget", ["targetId": page, "flatten": true], browser: true)["sessionId"] as? String
        try call("Page.enable")
        let navigated = try call("Page.navigate", ["url": url])
        if let error = navigated["errorText"] as? String { throw BrowserError("cannot load \(url): \(error)") }
    }

    /// The value of a JavaScript expression in the page (JSON-like values only).
    func evaluate(_ expression: String) throws -> Any? {
        let result = try call("Runtime.evaluate", ["expression": expression, "returnByValue": true])
        if let exception = result["exceptionDetails"] as? [String: Any] {
            throw BrowserError("\(expression): \((exception["exception"] as? [String: Any])?["description"] ?? exception)")
        }
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Polls `expression` every 25 ms until it is true; how long it took, nil if never.
    func waitUntil(_ expression: String, within seconds: Double) -> Double? {
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            if (try? evaluate(expression)) as? Bool == true { return Date().timeIntervalSince(start) }
            usleep(25_000)
        }
        return nil
    }

    /// A PNG of the page as it is.
    func screenshot(to path: String) throws {
        let shot = try call("Page.captureScreenshot", ["format": "png", "captureBeyondViewport": true])
        guard let base64 = shot["data"] as? String, let png = Data(base64Encoded: base64) else { throw BrowserError("no screenshot") }
        try png.write(to: URL(fileURLWithPath: path))
    }
}

struct BrowserError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
