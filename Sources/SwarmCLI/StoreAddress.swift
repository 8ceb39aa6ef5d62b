import SystemCalls

/// `swarm init --store etcd://HOST:PORT[,HOST:PORT…]`: the external etcd a
/// manager keeps the swarm's state in instead of SQLite in its data dir.
public struct StoreAddress: Sendable, Equatable {
    /// `HOST:PORT` of each etcd member, as given.
    public var members: [String]

    public init(_ text: String) throws {
        let bad = RuntimeError.badInput("invalid --store \"\(text)\": use etcd://HOST:PORT[,HOST:PORT...]")
        guard text.hasPrefix("etcd://") else { throw bad }
        let members = text.dropFirst("etcd://".count).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        for member in members {
            guard let colon = member.lastIndex(of: ":"), colon != member.startIndex,
                  let port = Int(member[member.index(after: colon)...]), (1...65535).contains(port) else { throw bad }
        }
        guard !members.isEmpty else { throw bad }
        self.members = members
    }

    /// The members' client URLs (etcd's JSON gateway), https with TLS.
    public func urls(tls: Bool) -> [String] { members.map { (tls ? "https://" : "http://") + $0 } }
}
