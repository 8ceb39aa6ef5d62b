import Glibc

/// Owns C copies of strings and arrays handed to CRuntime, freed together.
/// The child reads them after fork, so they must stay put until crt_run returns.
final class CArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    deinit { allocations.forEach { free($0) } }

    func string(_ value: String) -> UnsafePointer<CChar> {
        let copy = strdup(value)!
        allocations.append(copy)
        return UnsafePointer(copy)
    }

    func optionalString(_ value: String?) -> UnsafePointer<CChar>? { value.map(string) }

    /// A NULL-terminated array of C strings.
    func stringArray(_ values: [String]) -> UnsafePointer<UnsafePointer<CChar>?> {
        let array = allocate(UnsafePointer<CChar>?.self, count: values.count + 1)
        for (index, value) in values.enumerated() { array[index] = string(value) }
        array[values.count] = nil
        return UnsafePointer(array)
    }

    func array<T>(_ values: [T]) -> UnsafePointer<T>? {
        guard !values.isEmpty else { return nil }
        let array = allocate(T.self, count: values.count)
        array.initialize(from: values, count: values.count)
        return UnsafePointer(array)
    }

    /// malloc'd, so that one free() releases everything whatever its type.
    private func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let raw = malloc(max(1, MemoryLayout<T>.stride * count))!
        allocations.append(raw)
        return raw.bindMemory(to: T.self, capacity: count)
    }
}
