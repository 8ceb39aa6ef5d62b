import Foundation
import Synchronization

/// Test directories removed when the test process exits, whatever happened:
/// a fixture kept alive by its own running loops is never deinitialized, so
/// its deinit cannot be the only clean-up (scripts/test fails on leftovers).
enum TemporaryDirectories {
    private static let all = Mutex<[String]>([])
    private static let removeAtExit: Void = {
        atexit {
            for directory in TemporaryDirectories.all.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: directory) }
        }
    }()

    /// A new directory under the temporary directory, named `prefix-<uuid>`.
    static func make(_ prefix: String) throws -> String {
        _ = removeAtExit
        let directory = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        all.withLock { $0.append(directory) }
        return directory
    }
}
