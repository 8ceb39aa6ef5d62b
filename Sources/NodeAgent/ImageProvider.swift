import OCIImages
import SystemCalls

/// Where an agent gets a task's image: this node's store, else each source
/// in turn (a registry, then the manager's store over the cluster's TLS).
public struct ImageProvider: Sendable {
    public typealias Source = @Sendable (ImageReference) async throws -> Void
    let store: ImageStore
    let sources: [Source]

    public init(store: ImageStore, sources: [Source]) {
        self.store = store
        self.sources = sources
    }

    public func ensure(_ image: String) async throws {
        if try store.lookup(image) != nil { return }
        let reference = try ImageReference.parse(image)
        var failures: [String] = []
        for source in sources {
            do {
                try await source(reference)
                if try store.lookup(image) != nil { return }
            } catch {
                failures.append("\(error)")
            }
        }
        throw RuntimeError.badInput("No such image: \(image)" + (failures.isEmpty ? "" : " (\(failures.joined(separator: "; ")))"))
    }
}
