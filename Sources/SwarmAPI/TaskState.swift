/// The states a task moves through, in order (swarmkit's task model). A task
/// only moves forward; the manager owns the desired state, the agent the
/// observed one.
public enum TaskState: Int, Comparable, CaseIterable, Codable, Sendable {
    // Coded by name ("running"), as Docker's API does; ordered by raw value.
    case new, pending, assigned, accepted, preparing, ready, starting, running
    case complete, shutdown, failed, rejected, remove, orphaned

    public static func < (lhs: TaskState, rhs: TaskState) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Docker's lower-case name, as `service ps` prints it.
    public var name: String { String(describing: self) }

    /// A terminal state: the task will never run again.
    public var isTerminal: Bool { self > .running }

    /// Whether an observed state may replace `self`: only forward moves.
    public func canAdvance(to next: TaskState) -> Bool { next > self }

    public init?(name: String) {
        guard let state = TaskState.allCases.first(where: { $0.name == name }) else { return nil }
        self = state
    }

    public init(from decoder: Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let state = TaskState(name: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown task state \(name)"))
        }
        self = state
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}
