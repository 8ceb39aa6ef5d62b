import Glibc
import SwarmAPI

/// `GET /version`: this manager's versions and the kernel's release.
public struct VersionInfo: Codable, Sendable {
    public var version: String
    public var apiVersion = APIRouter.apiVersion
    public var minAPIVersion = "1.12"
    public var os = "linux"
    public var arch = "amd64"
    public var kernelVersion: String = {
        var name = utsname()
        uname(&name)
        return withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }()
    init(version: String) { self.version = version }
}
