import CRuntime
import FoundationEssentials
import SystemCalls

/// A set of Linux capabilities as the kernel's bit mask (bit N = capability N).
public struct CapabilitySet: Equatable, Hashable, Sendable, Codable {
    public var mask: UInt64

    public init(mask: UInt64) { self.mask = mask }

    /// Docker's default set: CapEff 00000000a80425fb inside a root container.
    public static let dockerDefault = CapabilitySet(names: [
        "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
        "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
    ])

    /// Every capability the running kernel knows.
    public static var all: CapabilitySet {
        let last = max(0, Int(crt_cap_last()))
        return CapabilitySet(mask: last >= 63 ? .max : (UInt64(1) << UInt64(last + 1)) - 1)
    }

    private init(names: [String]) {
        mask = 0
        for name in names { mask |= 1 << UInt64(try! Self.number(of: name)) }
    }

    public func contains(_ number: Int) -> Bool { mask & (1 << UInt64(number)) != 0 }
    public func contains(_ name: String) -> Bool { (try? Self.number(of: name)).map(contains) ?? false }

    /// Applies Docker's `--cap-add`/`--cap-drop` semantics: `ALL` in drop
    /// empties the set first, `ALL` in add fills it; then adds, then drops.
    public func adding(_ add: [String], dropping drop: [String]) throws -> CapabilitySet {
        var result = self
        let dropAll = drop.contains { $0.uppercased() == "ALL" }
        let addAll = add.contains { $0.uppercased() == "ALL" }
        if dropAll { result.mask = 0 }
        if addAll { result = .all }
        for name in add where name.uppercased() != "ALL" { result.mask |= 1 << UInt64(try Self.number(of: name)) }
        for name in drop where name.uppercased() != "ALL" { result.mask &= ~(1 << UInt64(try Self.number(of: name))) }
        return result
    }

    /// "NET_ADMIN", "CAP_NET_ADMIN", "net_admin" -> 12, looked up by libcap.
    public static func number(of name: String) throws -> Int {
        var lower = name.lowercased()
        if !lower.hasPrefix("cap_") { lower = "cap_" + lower }
        let number = crt_cap_from_name(lower)
        guard number >= 0 else { throw RuntimeError.badInput("unknown capability \(name): use a name such as NET_ADMIN or CAP_SYS_TIME") }
        return Int(number)
    }
}

extension CapabilitySet {
    /// This process's bounding set (CapBnd): what a process it starts can
    /// hold at most; "every capability" for `--privileged` means these.
    public static var bounding: CapabilitySet {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("CapBnd:") }
        let hex = line?.split(whereSeparator: { $0 == "\t" || $0 == " " }).last.map(String.init) ?? ""
        return CapabilitySet(mask: UInt64(hex, radix: 16) ?? CapabilitySet.all.mask)
    }
}
