import FoundationEssentials
import Glibc
import SystemCalls

/// An image as the store knows it: a name and the manifest it points to.
public struct StoredImage: Sendable {
    /// Fully qualified names pointing at this manifest ("docker.io/library/busybox:latest").
    public var references: [String]
    /// The platform manifest.
    public var manifestDigest: Digest
    /// The index the manifest was chosen from, when pulled through one:
    /// the digest a registry reports for the name.
    public var repoDigest: Digest?
    public var manifest: Manifest
    public var config: ImageConfig
    /// The image ID, as Docker defines it: the config's digest.
    public var id: Digest { manifest.config.digest }
    /// Bytes of the layers as stored (compressed).
    public var size: Int64 { manifest.layers.reduce(0) { $0 + $1.size } }
}

/// The content-addressed image store under `root` (default
/// /var/lib/swarm/images):
///
///     blobs/sha256/<hex>      manifests, configs, layers, verified on write
///     layers/<hex>/           a layer blob unpacked, for overlayfs
///     ingest/                 downloads and unpacks in progress
///     refs.json               name → {manifest, repo digest}
///
/// Anything becomes visible by an atomic rename once complete and verified,
/// so an interrupted pull or unpack leaves nothing a later one would trust.
public struct ImageStore: Sendable {
    public let root: String
    public var blobsDir: String { root + "/blobs/sha256" }
    public var layersDir: String { root + "/layers" }
    public var ingestDir: String { root + "/ingest" }
    var refsPath: String { root + "/refs.json" }

    public init(root: String) { self.root = root }

    public func ensureLayout() throws {
        for dir in [blobsDir, layersDir, ingestDir] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
    }

    // MARK: - Blobs

    public func blobPath(_ digest: Digest) -> String { blobsDir + "/" + digest.hex }

    public func hasBlob(_ digest: Digest) -> Bool { access(blobPath(digest), F_OK) == 0 }

    public func readBlob(_ digest: Digest) throws -> Data {
        guard let data = FileManager.default.contents(atPath: blobPath(digest)) else {
            throw RuntimeError.badInput("blob \(digest) is not in the image store: pull or load the image again")
        }
        return data
    }

    /// Stores bytes under their digest; checks them against `expected` first.
    @discardableResult
    public func writeBlob(_ data: Data, expected: Digest? = nil) throws -> Digest {
        let digest = Digest.of(data)
        if let expected, expected != digest {
            throw RuntimeError.badInput("digest mismatch: expected \(expected), got \(digest): the content was altered or corrupted; nothing was stored")
        }
        if hasBlob(digest) { return digest }
        try ensureLayout()
        let temporary = ingestDir + "/\(digest.hex).\(UUID().uuidString).tmp"
        guard writeFile(temporary, data, durable: true) else { throw RuntimeError.system(errno: errno, call: "write", detail: temporary) }
        try commitBlob(temporary, digest)
        return digest
    }

    /// Moves a verified file into place under its digest.
    public func commitBlob(_ temporary: String, _ digest: Digest) throws {
        if rename(temporary, blobPath(digest)) != 0 {
            let code = errno
            unlink(temporary)
            throw RuntimeError.system(errno: code, call: "rename", detail: blobPath(digest))
        }
    }

    /// Copies a file into the store, hashing it on the way; checks `expected`.
    @discardableResult
    public func importBlob(from path: String, expected: Digest? = nil) throws -> (digest: Digest, size: Int64) {
        try ensureLayout()
        let temporary = ingestDir + "/import.\(UUID().uuidString).tmp"
        let input = open(path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw RuntimeError.system(errno: errno, call: "open", detail: path) }
        defer { close(input) }
        let output = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw RuntimeError.system(errno: errno, call: "open", detail: temporary) }
        var hasher = SHA256Stream()
        var size: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var failure: RuntimeError?
        while true {
            let count = read(input, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count < 0 { failure = .system(errno: errno, call: "read", detail: path); break }
            if count == 0 { break }
            hasher.update(buffer[..<count])
            size += Int64(count)
            if !writeAll(output, buffer, count) { failure = .system(errno: errno, call: "write", detail: temporary); break }
        }
        if failure == nil && fsync(output) != 0 { failure = .system(errno: errno, call: "fsync", detail: temporary) }
        close(output)
        if let failure {
            unlink(temporary)
            throw failure
        }
        let digest = hasher.finalize()
        if let expected, expected != digest {
            unlink(temporary)
            throw RuntimeError.badInput("digest mismatch for \(path): expected \(expected), got \(digest); nothing was stored")
        }
        try commitBlob(temporary, digest)
        return (digest, size)
    }

    // MARK: - Layers

    public func layerPath(_ digest: Digest) -> String { layersDir + "/" + digest.hex }

    public func hasLayer(_ digest: Digest) -> Bool { access(layerPath(digest) + "/.complete", F_OK) == 0 }

    /// Unpacks a layer blob once; concurrent callers (threads or processes)
    /// wait for the first and reuse its result.
    public func unpackLayer(_ digest: Digest) throws {
        if hasLayer(digest) { return }
        try ensureLayout()
        try withLock("layer-" + digest.hex) { try unpackLayerLocked(digest) }
    }

    /// The unpack itself, for a caller holding the layer's lock.
    public func unpackLayerLocked(_ digest: Digest) throws {
        if hasLayer(digest) { return }
        let temporary = ingestDir + "/layer-\(digest.hex).\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: false)
        do {
            try LayerUnpacker.unpack(archive: blobPath(digest), into: temporary)
            // The marker is written last, inside the directory, then the
            // directory is renamed into place: present means complete.
            guard writeFile(temporary + "/.complete", Data()) else {
                throw RuntimeError.system(errno: errno, call: "write", detail: temporary + "/.complete")
            }
            try? FileManager.default.removeItem(atPath: layerPath(digest))
            try syscall("rename", layerPath(digest)) { rename(temporary, layerPath(digest)) }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
    }

    /// Runs `body` holding an exclusive lock file (flock) named `name`.
    func withLock<T>(_ name: String, shared: Bool = false, _ body: () throws -> T) throws -> T {
        let path = ingestDir + "/" + name + ".lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RuntimeError.system(errno: errno, call: "open", detail: path) }
        defer { close(fd) }
        while flock(fd, shared ? LOCK_SH : LOCK_EX) != 0 {
            if errno != EINTR { throw RuntimeError.system(errno: errno, call: "flock", detail: path) }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    // MARK: - References

    struct RefEntry: Codable {
        var manifest: Digest
        var repoDigest: Digest?
    }

    /// The names; empty only if the file does not exist yet. A file that
    /// cannot be read or parsed is an error: treating it as empty would let
    /// the next update or prune forget every image.
    func readRefs() throws -> [String: RefEntry] {
        guard access(refsPath, F_OK) == 0 else { return [:] }
        guard let data = FileManager.default.contents(atPath: refsPath),
              let refs = try? JSONDecoder().decode([String: RefEntry].self, from: data) else {
            throw RuntimeError.system(errno: errno == 0 ? EIO : errno, call: "read", detail: refsPath + " (unreadable; restore it or remove it to forget all image names)")
        }
        return refs
    }

    /// Changes refs.json under its lock, replacing the file atomically.
    func updateRefs(_ change: (inout [String: RefEntry]) throws -> Void) throws {
        try ensureLayout()
        try withLock("refs") {
            var refs = try readRefs()
            try change(&refs)
            let temporary = refsPath + ".\(getpid()).tmp"
            guard writeFile(temporary, try JSON.encode(refs), durable: true) else {
                throw RuntimeError.system(errno: errno, call: "write", detail: temporary)
            }
            try syscall("rename", refsPath) { rename(temporary, refsPath) }
        }
    }

    /// Points `reference` at a manifest already in the store.
    public func tag(_ reference: ImageReference, manifest: Digest, repoDigest: Digest? = nil) throws {
        try updateRefs { $0[reference.description] = RefEntry(manifest: manifest, repoDigest: repoDigest) }
    }

    /// The key of an image without a name: `<none>@<manifest digest>`.
    public static let untaggedPrefix = "<none>@"

    /// Keeps an image that has no name (an untagged load), under its manifest.
    public func keepUntagged(manifest: Digest, repoDigest: Digest? = nil) throws {
        try updateRefs { $0[Self.untaggedPrefix + manifest.description] = RefEntry(manifest: manifest, repoDigest: repoDigest) }
    }

    /// The stored image a name, an image ID or an ID prefix refers to.
    public func lookup(_ name: String) throws -> StoredImage? {
        let refs = try readRefs()
        var entry: RefEntry?
        if let reference = try? ImageReference.parse(name) {
            entry = refs[reference.description]
            if entry == nil, let digest = reference.digest {
                // name@digest matches an image pulled by tag with that digest.
                entry = refs.first { ImageReference.sameRepository($0.key, reference) &&
                    ($0.value.manifest.description == digest || $0.value.repoDigest?.description == digest) }?.value
            }
        }
        if entry == nil {
            let hex = name.hasPrefix("sha256:") ? String(name.dropFirst(7)) : name
            if hex.count >= 4, hex.allSatisfy(\.isHexDigit) {
                let matches = Set(refs.values.compactMap { e in
                    (try? image(manifest: e.manifest, refs: refs)).flatMap { $0.id.hex.hasPrefix(hex) ? e.manifest : nil }
                })
                if matches.count > 1 { throw RuntimeError.conflict("multiple images match \(name): give more of the ID") }
                if let manifest = matches.first { entry = RefEntry(manifest: manifest, repoDigest: nil) }
            }
        }
        guard let entry else { return nil }
        var found = try image(manifest: entry.manifest, refs: refs)
        found.repoDigest = entry.repoDigest ?? found.repoDigest
        return found
    }

    func image(manifest digest: Digest, refs: [String: RefEntry]) throws -> StoredImage {
        let manifest = try JSON.decode(Manifest.self, try readBlob(digest), what: "manifest \(digest)")
        let config = try JSON.decode(ImageConfig.self, try readBlob(manifest.config.digest), what: "image config \(manifest.config.digest)")
        let names = refs.filter { $0.value.manifest == digest }
        return StoredImage(references: names.keys.sorted(), manifestDigest: digest,
                           repoDigest: names.values.compactMap(\.repoDigest).first, manifest: manifest, config: config)
    }

    /// Every image, one entry per manifest.
    public func list() -> [StoredImage] {
        let refs = (try? readRefs()) ?? [:]
        return Set(refs.values.map(\.manifest)).compactMap { try? image(manifest: $0, refs: refs) }
            .sorted { ($0.config.created ?? "") > ($1.config.created ?? "") }
    }

    /// Removes a name; returns the manifest it pointed to.
    public func untag(_ reference: String) throws -> Digest? {
        var removed: Digest?
        try updateRefs { refs in removed = refs.removeValue(forKey: reference)?.manifest }
        return removed
    }

    /// Deletes blobs and unpacked layers that no name and none of `inUse`
    /// (manifests of existing containers) reaches. Returns the bytes freed.
    @discardableResult
    public func prune(keeping inUse: Set<Digest>) throws -> (deleted: [Digest], bytes: Int64) {
        try ensureLayout()
        // Pulls hold "gc" shared from their first blob to their name, so
        // nothing they stored before naming it is taken for garbage.
        return try withLock("gc") { try withLock("refs") { try sweep(keeping: inUse) } }
    }

    private func sweep(keeping inUse: Set<Digest>) throws -> (deleted: [Digest], bytes: Int64) {
        var live = Set<Digest>()
        for manifestDigest in Set(try readRefs().values.flatMap { [$0.manifest] + ($0.repoDigest.map { [$0] } ?? []) }).union(inUse) {
            live.insert(manifestDigest)
            guard let data = try? readBlob(manifestDigest) else { continue }
            if let manifest = try? JSONDecoder().decode(Manifest.self, from: data) {
                live.insert(manifest.config.digest)
                manifest.layers.forEach { live.insert($0.digest) }
            }
        }
        var deleted: [Digest] = []
        var bytes: Int64 = 0
        for hex in (try? FileManager.default.contentsOfDirectory(atPath: blobsDir)) ?? [] {
            guard let digest = try? Digest(parsing: "sha256:" + hex), !live.contains(digest) else { continue }
            var info = stat()
            if stat(blobPath(digest), &info) == 0 { bytes += Int64(info.st_size) }
            unlink(blobPath(digest))
            deleted.append(digest)
        }
        for hex in (try? FileManager.default.contentsOfDirectory(atPath: layersDir)) ?? [] {
            guard let digest = try? Digest(parsing: "sha256:" + hex), !live.contains(digest) else { continue }
            // The marker first: a half-deleted layer must not look complete.
            unlink(layerPath(digest) + "/.complete")
            try? FileManager.default.removeItem(atPath: layerPath(digest))
        }
        return (deleted, bytes)
    }
}

extension ImageReference {
    /// Whether a stored fully qualified name is in the same repository.
    static func sameRepository(_ stored: String, _ reference: ImageReference) -> Bool {
        (try? ImageReference.parse(stored)).map { $0.repository == reference.repository } ?? false
    }
}
