extension Ulimit {
    /// The rlimit names Docker takes (go-units), without the RLIMIT_ prefix.
    public static let names: Set<String> = ["as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue",
                                            "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"]

    /// Docker's `--ulimit nofile=1024:2048` (or `nofile=1024`: soft and hard
    /// alike; -1 is unlimited), with go-units' messages.
    public static func parse(_ text: String) throws(UlimitError) -> Ulimit {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else { throw UlimitError("invalid ulimit argument: \(text)") }
        let limits = parts[1].split(separator: ":", omittingEmptySubsequences: false)
        guard limits.count <= 2, let soft = Int64(limits[0]), let hard = limits.count == 2 ? Int64(limits[1]) : soft else {
            throw UlimitError("invalid ulimit argument: \(text)")
        }
        return try make(parts[0], soft: soft, hard: hard)
    }

    /// Checks a name and a pair of values (compose's `ulimits` goes here too).
    public static func make(_ name: String, soft: Int64, hard: Int64) throws(UlimitError) -> Ulimit {
        guard names.contains(name) else { throw UlimitError("invalid ulimit type: \(name)") }
        guard soft >= -1, hard >= -1 else { throw UlimitError("invalid ulimit argument: \(name)=\(soft):\(hard): use -1 for unlimited") }
        // -1 (unlimited) is the largest value.
        if hard != -1 && (soft == -1 || soft > hard) {
            throw UlimitError("ulimit soft limit must be less than or equal to hard limit: \(soft) > \(hard)")
        }
        return Ulimit(name: name, soft: soft, hard: hard)
    }

    /// `nofile=1024:2048`, as Docker prints one.
    public var description: String { "\(name)=\(soft):\(hard)" }
}

public struct UlimitError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
