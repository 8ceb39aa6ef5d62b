import Glibc
import HostNetwork
import Synchronization
import SystemCalls

/// libnftables, loaded on first use (dlopen) so that only swarmd's mesh ever
/// maps it: `swarm` links none of this. Each `run` is one nft transaction
/// (a whole buffer of commands is committed or rejected as one).
enum Nftables {
    /// Runs `commands` (nft's text syntax) in the network namespace at
    /// `namespacePath` (nil: the calling thread's own) and returns what nft printed.
    static func run(_ commands: String, in namespacePath: String? = nil) throws -> String {
        guard let namespacePath else { return try run(commands) }
        return try networkNamespace(at: namespacePath).run { try run(commands) }
    }

    private static func run(_ commands: String) throws -> String {
        let library = try loaded.get()
        // One context at a time: libnftables keeps some state (its parser's) per process.
        return try lock.withLock { _ in
            guard let context = library.newContext(0) else { throw MeshError.nftables("nft_ctx_new failed") }
            // A context opens its netlink socket in the namespace of the thread that makes it: made and freed here.
            defer { library.freeContext(context) }
            _ = library.bufferOutput(context)
            _ = library.bufferError(context)
            let status = library.runBuffer(context, commands)
            if status != 0 {
                let text = (library.errorBuffer(context).map { String(cString: $0) } ?? "").trimmed
                throw MeshError.nftables(text.isEmpty ? "nft failed (status \(status))" : text)
            }
            return library.outputBuffer(context).map { String(cString: $0) } ?? ""
        }
    }

    private static let lock = Mutex(())

    private struct Library: Sendable {
        let newContext: @convention(c) (UInt32) -> OpaquePointer?
        let freeContext: @convention(c) (OpaquePointer) -> Void
        let bufferOutput: @convention(c) (OpaquePointer) -> Int32
        let bufferError: @convention(c) (OpaquePointer) -> Int32
        let outputBuffer: @convention(c) (OpaquePointer) -> UnsafePointer<CChar>?
        let errorBuffer: @convention(c) (OpaquePointer) -> UnsafePointer<CChar>?
        let runBuffer: @convention(c) (OpaquePointer, UnsafePointer<CChar>) -> Int32
    }

    private static let loaded: Result<Library, MeshError> = {
        // The soname of Debian 12's libnftables1.
        guard let handle = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL) else {
            return .failure(.nftables("cannot load libnftables (install libnftables1): " + String(cString: dlerror())))
        }
        func symbol<T>(_ name: String, _ type: T.Type) -> T? {
            dlsym(handle, name).map { unsafeBitCast($0, to: type) }
        }
        guard let newContext = symbol("nft_ctx_new", (@convention(c) (UInt32) -> OpaquePointer?).self),
              let freeContext = symbol("nft_ctx_free", (@convention(c) (OpaquePointer) -> Void).self),
              let bufferOutput = symbol("nft_ctx_buffer_output", (@convention(c) (OpaquePointer) -> Int32).self),
              let bufferError = symbol("nft_ctx_buffer_error", (@convention(c) (OpaquePointer) -> Int32).self),
              let outputBuffer = symbol("nft_ctx_get_output_buffer", (@convention(c) (OpaquePointer) -> UnsafePointer<CChar>?).self),
              let errorBuffer = symbol("nft_ctx_get_error_buffer", (@convention(c) (OpaquePointer) -> UnsafePointer<CChar>?).self),
              let runBuffer = symbol("nft_run_cmd_from_buffer", (@convention(c) (OpaquePointer, UnsafePointer<CChar>) -> Int32).self)
        else { return .failure(.nftables("libnftables.so.1 lacks a function swarm needs: too old a libnftables")) }
        return .success(Library(newContext: newContext, freeContext: freeContext, bufferOutput: bufferOutput, bufferError: bufferError,
                                outputBuffer: outputBuffer, errorBuffer: errorBuffer, runBuffer: runBuffer))
    }()
}

/// The namespace whose nsfs file is at `path` (a task's, as the data path bind-mounted it).
func networkNamespace(at path: String) -> NetworkNamespace {
    let slash = path.lastIndex(of: "/")
    let directory = slash.map { String(path[..<$0]) } ?? "."
    let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
    return NetworkNamespace(name: name, directory: directory.isEmpty ? "/" : directory)
}
