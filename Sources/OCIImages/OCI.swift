import FoundationEssentials
import Glibc
import SystemCalls

/// A content digest, "sha256:<64 hex>". Only sha256 is accepted, as the
/// registries and runtimes swarm works with use nothing else.
public struct Digest: Hashable, Codable, Sendable, CustomStringConvertible, Comparable {
    public let hex: String

    public init(hex: String) { self.hex = hex }

    public init(parsing text: String) throws {
        guard text.hasPrefix("sha256:") else {
            throw RuntimeError.badInput("unsupported digest \(text): only sha256 digests are supported")
        }
        let hex = String(text.dropFirst(7))
        guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            throw RuntimeError.badInput("invalid digest \(text): expected sha256: and 64 lower-case hex digits")
        }
        self.hex = hex
    }

    public static func of<D: DataProtocol>(_ data: D) -> Digest {
        var hasher = SHA256Stream()
        hasher.update(data)
        return hasher.finalize()
    }

    public var description: String { "sha256:" + hex }
    /// The short form `docker images` prints.
    public var short: String { String(hex.prefix(12)) }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.hex < rhs.hex }

    public init(from decoder: Decoder) throws {
        try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}


/// Media types of the image formats swarm reads and writes.
public enum MediaType {
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let ociConfig = "application/vnd.oci.image.config.v1+json"
    public static let ociLayer = "application/vnd.oci.image.layer.v1.tar"
    public static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let ociLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    public static let dockerLayerForeign = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

    public static let manifests: Set<String> = [ociManifest, dockerManifest]
    public static let indexes: Set<String> = [ociIndex, dockerManifestList]
    public static let layers: Set<String> = [ociLayer, ociLayerGzip, ociLayerZstd, dockerLayerGzip, dockerLayerForeign,
                                             "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"]
}

public struct Platform: Codable, Hashable, Sendable, CustomStringConvertible {
    public var architecture: String
    public var os: String
    public var variant: String?

    enum CodingKeys: String, CodingKey {
        case architecture, os, variant
    }

    public init(architecture: String, os: String, variant: String? = nil) {
        self.architecture = architecture
        self.os = os
        self.variant = variant
    }

    /// This host's platform, in Go's names (amd64, arm64, …) as images use them.
    public static var host: Platform {
        var name = utsname()
        uname(&name)
        let machine = withUnsafeBytes(of: &name.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        switch machine {
        case "x86_64": return Platform(architecture: "amd64", os: "linux")
        case "aarch64": return Platform(architecture: "arm64", os: "linux", variant: "v8")
        case "armv7l": return Platform(architecture: "arm", os: "linux", variant: "v7")
        case "i686", "i386": return Platform(architecture: "386", os: "linux")
        default: return Platform(architecture: machine, os: "linux")
        }
    }

    /// Whether an image for `self` runs here; an absent variant matches.
    public func matches(_ other: Platform) -> Bool {
        architecture == other.architecture && os == other.os &&
            (variant == nil || other.variant == nil || variant == other.variant)
    }

    public var description: String { "\(os)/\(architecture)" + (variant.map { "/" + $0 } ?? "") }
}

public struct Descriptor: Codable, Hashable, Sendable {
    public var mediaType: String
    public var digest: Digest
    public var size: Int64
    public var platform: Platform?
    public var annotations: [String: String]?

    public init(mediaType: String, digest: Digest, size: Int64, platform: Platform? = nil, annotations: [String: String]? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.platform = platform
        self.annotations = annotations
    }
}

/// An OCI image manifest or a Docker schema 2 manifest (the same shape).
public struct Manifest: Codable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var config: Descriptor
    public var layers: [Descriptor]
}

/// An OCI image index or a Docker manifest list.
public struct ImageIndex: Codable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var manifests: [Descriptor]
}

/// The image configuration (OCI image config, Docker's extensions included).
public struct ImageConfig: Codable, Sendable {
    public var architecture: String?
    public var os: String?
    public var created: String?
    public var config: ContainerConfig?
    public var rootfs: RootFS?
    public var history: [History]?

    public struct RootFS: Codable, Sendable {
        public var type: String
        public var diff_ids: [Digest]
    }

    public struct History: Codable, Sendable {
        public var created: String?
        public var created_by: String?
        public var empty_layer: Bool?
        public var comment: String?
    }

    public struct ContainerConfig: Codable, Sendable {
        public var User: String?
        public var Env: [String]?
        public var Entrypoint: [String]?
        public var Cmd: [String]?
        public var WorkingDir: String?
        public var ExposedPorts: [String: Empty]?
        public var Volumes: [String: Empty]?
        public var Labels: [String: String]?
        public var StopSignal: String?
        public var Healthcheck: Healthcheck?

        public init() {}
    }

    public struct Empty: Codable, Sendable, Equatable {
        public init() {}
    }

    /// Docker's HEALTHCHECK: durations in nanoseconds.
    public struct Healthcheck: Codable, Sendable, Equatable {
        public var Test: [String]?
        public var Interval: Int64?
        public var Timeout: Int64?
        public var StartPeriod: Int64?
        public var Retries: Int?

        public init(Test: [String]? = nil, Interval: Int64? = nil, Timeout: Int64? = nil, StartPeriod: Int64? = nil, Retries: Int? = nil) {
            self.Test = Test
            self.Interval = Interval
            self.Timeout = Timeout
            self.StartPeriod = StartPeriod
            self.Retries = Retries
        }
    }
}
