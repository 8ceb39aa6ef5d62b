/// What a pull reports as it goes, in `docker pull`'s terms.
public enum PullEvent: Sendable {
    /// "latest: Pulling from library/busybox"
    case resolving(tag: String, repository: String)
    /// A layer's status: "Pulling fs layer", "Already exists", "Downloading",
    /// "Verifying Checksum", "Download complete", "Extracting", "Pull complete".
    case layer(id: String, status: String, current: Int64?, total: Int64?)
    /// "Digest: sha256:…" and "Status: …"
    case done(digest: Digest, status: String)
}
