import Glibc
import OCIImages
import SwarmAPI
import Synchronization
import SwarmClient
import SystemCalls

/// What only the daemon's binary, `swarmd`, can do: it links the cluster's
/// TLS, the registry client and the store, which `swarm` leaves out so that
/// its commands start fast. `swarmd` registers its implementation at start;
/// in `swarm`, a command that needs one of these is run again, whole, by
/// `swarmd` (same arguments, same environment), before it has done anything.
public protocol DaemonOperations: Sendable {
    func runDaemon(_ options: RuntimeOptions, listeners: DaemonListenOptions) async throws -> Never
    func initSwarm(_ command: InitCommand) async throws
    func join(_ command: JoinCommand) async throws
    /// `docker pull`'s output on `output`.
    func pull(_ reference: ImageReference, store: ImageStore, insecureRegistries: [String], quiet: Bool, output: Int32) async throws
    /// The manifest's digest and size, with `docker push`'s output.
    func push(_ reference: ImageReference, store: ImageStore, insecureRegistries: [String], quiet: Bool) async throws -> (digest: String, size: Int)
    func checkLogin(domain: String, _ login: CredentialStore.Login, insecureRegistries: [String]) async throws
    /// `image@sha256:…` as the registry reports the tag; nil if none answers.
    func resolveImageDigest(_ image: String) async -> String?
    /// On leave, once the task containers are gone: every namespace, link,
    /// address, route and neighbour entry the node's overlay data path made.
    func removeNodeNetworking(_ options: RuntimeOptions, advertiseAddr: String) async
    /// `stack deploy`: the compose files (YAML, which only swarmd reads) as the stack's objects.
    func loadCompose(files: [String], environment: [String: String], namespace: String) throws -> StackPlan
}

public enum DaemonBinary {
    private static let registered = Mutex<(any DaemonOperations)?>(nil)

    /// Called once by `swarmd` before it runs a command.
    public static func register(_ operations: any DaemonOperations) {
        registered.withLock { $0 = operations }
        APIClient.remoteTransport = operations as? any RemoteTransportMaker
    }

    /// The daemon binary's operations; in `swarm`, runs this command line in `swarmd` instead (never returns).
    public static func operations() throws -> any DaemonOperations {
        if let operations = registered.withLock({ $0 }) { return operations }
        try forward()
    }

    /// Whether this process can do the daemon binary's work itself.
    public static var isAvailable: Bool { registered.withLock { $0 != nil } }

    /// Replaces this process with `swarmd` (beside this binary) and the same arguments.
    public static func forward() throws -> Never {
        let path = siblingPath()
        guard access(path, X_OK) == 0 else {
            throw RuntimeError.badInput("this command needs swarmd, which is not beside \(selfPath()): install swarm and swarmd together")
        }
        let arguments = ["swarmd"] + CommandLine.arguments.dropFirst()
        let argv = arguments.map { strdup($0) } + [nil]
        execv(path, argv)
        throw RuntimeError.system(errno: errno, call: "execv", detail: path)
    }

    static func selfPath() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        return count > 0 ? String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
    }

    /// `swarmd` in the directory of the running binary.
    public static func siblingPath() -> String {
        let me = selfPath()
        return String(me[..<(me.lastIndex(of: "/") ?? me.startIndex)]) + "/swarmd"
    }
}
