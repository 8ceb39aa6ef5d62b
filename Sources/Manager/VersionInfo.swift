import Glibc
import SwarmAPI

/// `GET /version`: this manager's versions and the kernel's release, in
/// Docker's shape (the docker CLI's `version` reads `Components`).
public struct VersionInfo: Codable, Sendable {
    public struct Component: Codable, Sendable {
        public var name: String
        public var version: String
        public var details: [String: String]
    }
    public struct PlatformName: Codable, Sendable { public var name: String }

    public var platform = PlatformName(name: "swarm")
    public var components: [Component]
    public var version: String
    public var apiVersion = APIRouter.apiVersion
    public var minAPIVersion = APIRouter.minAPIVersion
    public var os = "linux"
    public var arch: String
    public var kernelVersion: String
    public var experimental = false

    init(version: String) {
        var name = utsname()
        uname(&name)
        let field = { (bytes: UnsafeRawBufferPointer) in String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self) }
        kernelVersion = withUnsafeBytes(of: name.release, field)
        // Go's names for the machine, as Docker reports them.
        let machine = withUnsafeBytes(of: name.machine, field)
        arch = ["x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"][machine] ?? machine
        self.version = version
        components = [Component(name: "Engine", version: version, details: [
            "ApiVersion": APIRouter.apiVersion, "MinAPIVersion": APIRouter.minAPIVersion, "Os": "linux", "Arch": arch,
            "KernelVersion": kernelVersion, "Experimental": "false",
        ])]
    }
}
