/// How much one etcd transaction of a commit may hold before the commit is
/// sent as several: etcd refuses a transaction beyond its `--max-txn-ops`
/// or `--max-request-bytes` (the managers' members allow 100,000 and
/// 64 MiB, yet creating a service of 100,000 tasks is about 80 MB), and the
/// JSON gateway decodes one request on one core: parts sent side by side
/// keep both cores busy.
public struct EtcdTransactionLimits: Sendable, Equatable {
    /// Objects written per transaction.
    public var operations: Int
    /// Keys and bodies per transaction (what etcd counts, about).
    public var bytes: Int
    /// Transactions of one commit in flight at once.
    public var inFlight: Int

    public init(operations: Int = 10_000, bytes: Int = 8 << 20, inFlight: Int = 4) {
        self.operations = max(1, operations)
        self.bytes = max(1, bytes)
        self.inFlight = max(1, inFlight)
    }
}
