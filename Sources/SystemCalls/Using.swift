/// Runs `body` with `resource`, then `release` — also when `body` throws
/// (an HTTP client's event loop must be shut down either way).
public func using<Resource, Value>(_ resource: Resource, release: (Resource) async -> Void,
                                   _ body: (Resource) async throws -> Value) async throws -> Value {
    do {
        let result = try await body(resource)
        await release(resource)
        return result
    } catch {
        await release(resource)
        throw error
    }
}
