import FoundationEssentials
import SystemCalls

/// `swarm init --store etcd://… --store-cacert/--store-cert/--store-key`:
/// the PEM files to speak TLS to an external etcd with (its own CA; a client
/// certificate when it requires one). Kept in node.json as absolute paths.
public struct StoreTLSPaths: Codable, Sendable, Equatable {
    public var caCertificate: String?
    public var certificate: String?
    public var key: String?

    /// nil when no flag was given (plain HTTP). Checks that the files can be
    /// read and that a certificate comes with its key.
    public init?(store: String?, caCertificate: String?, certificate: String?, key: String?) throws {
        guard caCertificate != nil || certificate != nil || key != nil else { return nil }
        guard store != nil else {
            throw RuntimeError.badInput("--store-cacert, --store-cert and --store-key need --store etcd://HOST:PORT")
        }
        guard (certificate == nil) == (key == nil) else {
            throw RuntimeError.badInput("--store-cert and --store-key go together: give both, or neither")
        }
        func absolute(_ path: String?, _ flag: String) throws -> String? {
            guard let path else { return nil }
            let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
            guard FileManager.default.isReadableFile(atPath: full) else {
                throw RuntimeError.badInput("cannot read --\(flag) \(path): give a PEM file")
            }
            return full
        }
        self.caCertificate = try absolute(caCertificate, "store-cacert")
        self.certificate = try absolute(certificate, "store-cert")
        self.key = try absolute(key, "store-key")
    }
}
