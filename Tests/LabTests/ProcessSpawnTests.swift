import FoundationEssentials
import Glibc
import Lab
import Testing

// The one spawn of the CLI and the tests: exit statuses, signals, PATH
// lookup, descriptors, and signal dispositions that do not leak into the child.

@Test func spawnedProcessesReportTheirExitStatus() throws {
    let seven = try spawnProcess("/bin/sh", ["sh", "-c", "exit 7"], environment: [:], stdin: nil, stdout: nil, stderr: nil)
    #expect(waitForExit(seven) == 7)
    let killed = try spawnProcess("/bin/sh", ["sh", "-c", "kill -KILL $$"], environment: [:], stdin: nil, stdout: nil, stderr: nil)
    #expect(waitForExit(killed) == 128 + SIGKILL)
}

@Test func aMissingProgramIsASpawnErrorWithENOENT() {
    let error = #expect(throws: SpawnError.self) {
        try spawnProcess("/nonexistent/program", ["program"], environment: [:], stdin: nil, stdout: nil, stderr: nil)
    }
    #expect(error?.code == ENOENT)
    let searched = #expect(throws: SpawnError.self) {
        try spawnProcess("no-such-command-here", ["x"], environment: ["PATH": "/usr/bin:/bin"], stdin: nil, stdout: nil, stderr: nil,
                         searchPath: true)
    }
    #expect(searched?.code == ENOENT)
}

@Test func theChildGetsTheEnvironmentAndDescriptorsItIsGiven() throws {
    var fds: [Int32] = [0, 0]
    #expect(pipe(&fds) == 0)
    // SIGTERM blocked in this thread (only: pthread_sigmask) must not stay blocked in the child.
    var term = sigset_t(), previous = sigset_t()
    sigemptyset(&term)
    sigaddset(&term, SIGTERM)
    pthread_sigmask(SIG_BLOCK, &term, &previous)
    let spawned = Result {
        try spawnProcess("sh", ["sh", "-c", "echo $GREETING; kill -TERM $$; exit 3"], environment: ["GREETING": "hello", "PATH": "/usr/bin:/bin"],
                         stdin: nil, stdout: fds[1], stderr: nil, searchPath: true)
    }
    pthread_sigmask(SIG_SETMASK, &previous, nil)
    close(fds[1])
    let pid = try spawned.get()
    var buffer = [UInt8](repeating: 0, count: 64)
    let count = read(fds[0], &buffer, buffer.count)
    close(fds[0])
    #expect(String(decoding: buffer[..<max(count, 0)], as: UTF8.self) == "hello\n")
    // Had the mask been passed on, sh would go on to exit 3.
    #expect(waitForExit(pid) == 128 + SIGTERM)
}

@Test func processAliveIsFalseForAReapedChild() throws {
    let pid = try spawnProcess("/bin/sh", ["sh", "-c", "sleep 30"], environment: [:], stdin: nil, stdout: nil, stderr: nil)
    #expect(processAlive(pid))
    kill(pid, SIGKILL)
    #expect(waitForExit(pid) == 128 + SIGKILL)
    #expect(!processAlive(pid))
}
