/// Which manager an agent talks to and where it turns next: the decisions
/// of `ManagerSet`, kept apart from its connections so they are tested alone.
/// An unreachable manager sends the agent to the next in the list; a
/// follower naming the leader sends it there at once; once a whole round
/// found no leader (an election under way, every manager down), each
/// further try waits a little longer, up to `maxBackoff`.
public struct ManagerRotation: Sendable, Equatable {
    /// Every manager known (ip:port), in the order to try them.
    public private(set) var addresses: [String]
    /// The one requests go to.
    public private(set) var current: String
    /// Tries in a row that reached no leader.
    public private(set) var misses = 0

    public static let firstBackoff: Duration = .milliseconds(100)
    public static let maxBackoff: Duration = .seconds(2)

    /// `addresses` must not be empty: the first is tried first.
    public init(_ addresses: [String]) {
        precondition(!addresses.isEmpty, "an agent knows at least one manager")
        self.addresses = addresses
        current = addresses[0]
    }

    /// A manager answered as the leader.
    public mutating func answered(_ address: String) {
        misses = 0
    }

    /// `address` did not answer (refused, closed, timed out): on to the
    /// next one after the returned delay.
    public mutating func unreachable(_ address: String) -> Duration {
        misses += 1
        // Another request may have moved on already.
        if address == current { current = next(after: address) }
        return backoff()
    }

    /// `address` is a follower; `leader` is the leader it names, nil while
    /// it knows none. A named leader is tried at once (even one not in the
    /// list yet: it is a manager); otherwise the next one, never sooner
    /// than `firstBackoff` (asked again at once, it would say the same).
    public mutating func notLeader(_ address: String, leader: String?) -> Duration {
        misses += 1
        if let leader, leader != address {
            if !addresses.contains(leader) { addresses.append(leader) }
            current = leader
            // Followers pointing at each other (views out of date during an
            // election) must not spin: past two rounds, hints wait too.
            return misses <= 2 * addresses.count ? .zero : backoff()
        }
        if address == current { current = next(after: address) }
        return max(backoff(), Self.firstBackoff)
    }

    /// The list a manager sent (leader first). Returns whether it differs
    /// from the one kept (then worth saving). The current manager stays
    /// current: it just answered.
    public mutating func learn(_ list: [String]) -> Bool {
        var seen = Set<String>()
        let list = list.filter { !$0.isEmpty && seen.insert($0).inserted }
        guard !list.isEmpty, list != addresses else { return false }
        addresses = list
        return true
    }

    func next(after address: String) -> String {
        guard let index = addresses.firstIndex(of: address) else { return addresses[0] }
        return addresses[(index + 1) % addresses.count]
    }

    /// Nothing while a round is not over; then 100 ms, doubling each
    /// further round, at most `maxBackoff`.
    func backoff() -> Duration {
        let rounds = misses / addresses.count
        guard rounds > 0 else { return .zero }
        return min(Self.firstBackoff * (1 << min(rounds - 1, 8)), Self.maxBackoff)
    }
}
