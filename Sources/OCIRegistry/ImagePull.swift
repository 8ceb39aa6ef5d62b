import FoundationEssentials
import Glibc
import OCIImages
import Synchronization
import SystemCalls

/// Pulls images from registries into an `ImageStore`: resolve the manifest
/// (choosing this platform in an index), fetch config and layers (three at a
/// time, each verified), unpack the layers, then record the name.
public struct ImagePuller: Sendable {
    public let store: ImageStore
    public let client: RegistryClient
    public let platform: Platform
    /// Layers downloaded at once (Docker's max-concurrent-downloads).
    public var concurrency = 3

    public init(store: ImageStore, client: RegistryClient, platform: Platform = .host) {
        self.store = store
        self.client = client
        self.platform = platform
    }

    @discardableResult
    public func pull(_ reference: ImageReference, progress: @escaping @Sendable (PullEvent) -> Void = { _ in }) async throws -> StoredImage {
        try store.ensureLayout()
        return try await store.withAsyncLock("gc", shared: true) { try await pullLocked(reference, progress: progress) }
    }

    func pullLocked(_ reference: ImageReference, progress: @escaping @Sendable (PullEvent) -> Void) async throws -> StoredImage {
        let asked = reference.digest ?? reference.tag ?? "latest"
        let top = try await client.manifest(reference, asked)
        progress(.resolving(tag: asked, repository: reference.path))
        var manifestData = top.data, manifestDigest = top.digest, mediaType = top.mediaType
        if MediaType.indexes.contains(top.mediaType) {
            let index = try JSON.decode(ImageIndex.self, top.data, what: "image index of \(reference.familiar)")
            guard let chosen = index.manifests.first(where: { $0.platform.map(platform.matches) ?? false }) else {
                let offered = index.manifests.compactMap { $0.platform?.description }.joined(separator: ", ")
                throw RuntimeError.badInput("no matching manifest for \(platform) in the manifest list entries of \(reference.familiar) (it has \(offered))")
            }
            try store.writeBlob(top.data, expected: top.digest)
            let platformManifest = try await client.manifest(reference, chosen.digest.description)
            (manifestData, manifestDigest, mediaType) = (platformManifest.data, platformManifest.digest, platformManifest.mediaType)
        }
        guard MediaType.manifests.contains(mediaType) else {
            throw RuntimeError.badInput("unsupported manifest media type \(mediaType) for \(reference.familiar)")
        }
        let manifest = try JSON.decode(Manifest.self, manifestData, what: "manifest of \(reference.familiar)")
        for layer in manifest.layers where !MediaType.layers.contains(layer.mediaType) {
            throw RuntimeError.badInput("unsupported layer media type \(layer.mediaType) in \(reference.familiar)")
        }
        let wasPresent = manifest.layers.allSatisfy { store.hasLayer($0.digest) } && store.hasBlob(manifestDigest)

        // Config first: small, and it names what the image is.
        if !store.hasBlob(manifest.config.digest) {
            let file = store.ingestDir + "/\(manifest.config.digest.hex).\(UUID().uuidString).partial"
            try await client.downloadBlob(reference, manifest.config, to: file) { _ in }
            try store.commitBlob(file, manifest.config.digest)
        }
        try await fetchLayers(manifest.layers, of: reference, progress: progress)
        try store.writeBlob(manifestData, expected: manifestDigest)
        let repoDigest = top.digest
        try store.tag(reference, manifest: manifestDigest, repoDigest: repoDigest)
        let status = wasPresent ? "Image is up to date for \(reference.familiar)" : "Downloaded newer image for \(reference.familiar)"
        progress(.done(digest: repoDigest, status: status))
        guard let stored = try store.lookup(reference.description) else {
            throw RuntimeError.badInput("pulled \(reference.familiar) but cannot find it in the store")
        }
        return stored
    }

    /// Downloads and unpacks layers, `concurrency` at a time. A layer another
    /// pull is fetching (in this process or another) is waited for, not
    /// fetched twice.
    func fetchLayers(_ layers: [Descriptor], of reference: ImageReference,
                     progress: @escaping @Sendable (PullEvent) -> Void) async throws {
        for layer in layers {
            progress(.layer(id: layer.digest.short, status: store.hasLayer(layer.digest) ? "Already exists" : "Pulling fs layer",
                            current: nil, total: nil))
        }
        let pending = layers.filter { !store.hasLayer($0.digest) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = pending.makeIterator()
            func startNext() {
                guard let layer = next.next() else { return }
                group.addTask { try await fetch(layer, of: reference, progress: progress) }
            }
            for _ in 0..<concurrency { startNext() }
            while try await group.next() != nil { startNext() }
        }
    }

    func fetch(_ layer: Descriptor, of reference: ImageReference, progress: @escaping @Sendable (PullEvent) -> Void) async throws {
        let id = layer.digest.short
        try await store.withAsyncLock("blob-" + layer.digest.hex) {
            if store.hasBlob(layer.digest) { return }
            let file = store.ingestDir + "/\(layer.digest.hex).\(UUID().uuidString).partial"
            // Report progress at most every 512 KiB: enough for a bar.
            let step: Int64 = 512 << 10
            let last = LastReported()
            try await client.downloadBlob(reference, layer, to: file) { received in
                if received == layer.size || received - last.value.load(ordering: .relaxed) >= step {
                    last.value.store(received, ordering: .relaxed)
                    progress(.layer(id: id, status: "Downloading", current: received, total: layer.size))
                }
            }
            progress(.layer(id: id, status: "Verifying Checksum", current: nil, total: nil))
            try store.commitBlob(file, layer.digest)
        }
        progress(.layer(id: id, status: "Download complete", current: nil, total: nil))
        progress(.layer(id: id, status: "Extracting", current: nil, total: nil))
        // The lock polled, so a pull waiting for another's unpack of the same
        // layer never pins one of the few cooperative threads.
        try await store.withAsyncLock("layer-" + layer.digest.hex) { try store.unpackLayerLocked(layer.digest) }
        progress(.layer(id: id, status: "Pull complete", current: nil, total: nil))
    }
}

/// What one download's progress closure last reported.
final class LastReported: Sendable {
    let value = Atomic<Int64>(0)
}

extension ImageStore {
    /// `withLock` for async code: polls a non-blocking flock so a waiting
    /// pull never blocks one of the few cooperative threads.
    func withAsyncLock<T>(_ name: String, shared: Bool = false, _ body: () async throws -> T) async throws -> T {
        try ensureLayout()
        let path = ingestDir + "/" + name + ".lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RuntimeError.system(errno: errno, call: "open", detail: path) }
        defer { close(fd) }
        while flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else { throw RuntimeError.system(errno: errno, call: "flock", detail: path) }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        defer { flock(fd, LOCK_UN) }
        return try await body()
    }
}

/// Pushes an image from the store to its registry: layers and config (each
/// only if the registry lacks it), then the manifest under the tag.
public struct ImagePusher: Sendable {
    public let store: ImageStore
    public let client: RegistryClient

    public init(store: ImageStore, client: RegistryClient) {
        self.store = store
        self.client = client
    }

    /// Reports "Preparing", "Pushed", "Layer already exists" per blob like
    /// `docker push`; returns the manifest digest and size.
    public func push(_ reference: ImageReference, progress: @escaping @Sendable (PullEvent) -> Void = { _ in }) async throws
        -> (digest: Digest, size: Int) {
        guard let image = try store.lookup(reference.description) else {
            throw RuntimeError.badInput("An image does not exist locally with the tag: \(reference.familiar)")
        }
        for blob in image.manifest.layers + [image.manifest.config] {
            let id = blob.digest.short
            if try await client.blobExists(reference, blob.digest) {
                if blob != image.manifest.config { progress(.layer(id: id, status: "Layer already exists", current: nil, total: nil)) }
                continue
            }
            if blob != image.manifest.config { progress(.layer(id: id, status: "Pushing", current: nil, total: blob.size)) }
            try await client.uploadBlob(reference, blob.digest, data: try store.readBlob(blob.digest))
            if blob != image.manifest.config { progress(.layer(id: id, status: "Pushed", current: nil, total: nil)) }
        }
        let data = try store.readBlob(image.manifestDigest)
        let mediaType = image.manifest.mediaType ?? MediaType.ociManifest
        try await client.putManifest(reference, tag: reference.tag ?? "latest", data: data, mediaType: mediaType)
        return (image.manifestDigest, data.count)
    }
}
