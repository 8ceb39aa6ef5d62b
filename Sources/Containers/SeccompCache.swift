import Dispatch
import FoundationEssentials
import Glibc
import Synchronization
import SystemCalls

/// Compiled seccomp programs by capability set. Compiling Docker's profile
/// with libseccomp takes several milliseconds, more than the rest of a
/// container start; an agent keeps them in memory, and every process shares
/// them through files under the state dir, named by the capability mask and
/// a digest of the rules (so a changed profile never reuses an old program).
final class SeccompCache: Sendable {
    static let shared = SeccompCache()
    private let programs = Mutex<[CapabilitySet: SeccompProgram]>([:])

    func program(for capabilities: CapabilitySet, cacheDir: String?) throws -> SeccompProgram {
        try programs.withLock { programs in try program(for: capabilities, cacheDir: cacheDir, in: &programs) }
    }

    private func program(for capabilities: CapabilitySet, cacheDir: String?,
                         in programs: inout [CapabilitySet: SeccompProgram]) throws -> SeccompProgram {
        if let program = programs[capabilities] { return program }
        let rules = SeccompProfile.dockerDefault(capabilities: capabilities)
        let file = cacheDir.map { "\($0)/\(String(capabilities.mask, radix: 16))-\(Self.digest(rules)).bpf" }
        if let file, let data = readFileBytes(file), !data.isEmpty, data.count % 8 == 0 {
            let program = SeccompProgram(bytes: data)
            programs[capabilities] = program
            return program
        }
        let program = try SeccompProfile.compile(rules)
        programs[capabilities] = program
        if let file, let cacheDir {
            // Written whole under a temporary name, then renamed: a reader
            // never sees half a program.
            try? FileManager.default.createDirectory(atPath: cacheDir, withIntermediateDirectories: true,
                                                     attributes: [.posixPermissions: 0o700])
            let temporary = file + ".\(getpid()).tmp"
            if writeFile(temporary, Data(program.bytes)) { rename(temporary, file) } else { unlink(temporary) }
        }
        return program
    }

    /// FNV-1a over the rules' fields: stable across processes, unlike hashValue.
    static func digest(_ rules: [SeccompRule]) -> String {
        var hash: UInt64 = 0xcbf29ce484222325
        func mix(_ value: UInt64) {
            hash ^= value
            hash &*= 0x100000001b3
        }
        for rule in rules {
            for byte in rule.name.utf8 { mix(UInt64(byte)) }
            mix(UInt64(bitPattern: Int64(rule.errno ?? -1)))
            for arg in rule.args {
                mix(UInt64(arg.index))
                mix(UInt64(arg.op.rawValue))
                mix(arg.value)
                mix(arg.valueTwo)
            }
        }
        return String(hash, radix: 16)
    }
}
