/// The manager's own images, served read-only to nodes (`/v2/…`) that
/// cannot pull them from a registry. The daemon passes an adapter over its
/// image store, so the manager does not depend on the container runtime.
public protocol ImageBlobSource: Sendable {
    /// The manifest `reference` (a tag, or a `sha256:` digest) of `repository`
    /// (`docker.io/library/busybox`); nil when there is none.
    func manifest(repository: String, reference: String) throws -> ImageBlob?
    /// The blob with `digest` (`sha256:…`); nil when there is none or the digest is malformed.
    func blob(digest: String) throws -> ImageBlob?
}

/// A manifest or blob on disk, with what the registry API says of it.
public struct ImageBlob: Sendable, Equatable {
    public var mediaType: String
    public var digest: String
    public var path: String

    public init(mediaType: String, digest: String, path: String) {
        self.mediaType = mediaType
        self.digest = digest
        self.path = path
    }
}
