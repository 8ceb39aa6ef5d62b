import FoundationEssentials
import Glibc
import SystemCalls

/// `image load` and `image import`: images from files, no registry involved.
public struct ImageArchive: Sendable {
    public let store: ImageStore

    public init(store: ImageStore) { self.store = store }

    /// Loads a `docker save` archive (classic manifest.json, or the OCI layout
    /// Docker 25+ writes) or an OCI image layout archive. Every blob is
    /// verified against its digest. Returns the names loaded (or image IDs
    /// for untagged images).
    public func load(_ archive: String) throws -> [String] {
        let dir = store.ingestDir + "/load-\(UUID().uuidString)"
        try store.ensureLayout()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            try LayerUnpacker.unpack(archive: archive, into: dir)
        } catch {
            throw RuntimeError.badInput("cannot read \(archive): not a tar archive of an image (docker save or OCI layout)")
        }
        if FileManager.default.fileExists(atPath: dir + "/index.json"), FileManager.default.fileExists(atPath: dir + "/oci-layout") {
            return try loadLayout(dir)
        }
        if FileManager.default.fileExists(atPath: dir + "/manifest.json") { return try loadDockerSave(dir) }
        throw RuntimeError.badInput("\(archive) is neither a docker save archive (manifest.json) nor an OCI layout (index.json, oci-layout)")
    }

    /// An OCI layout: index.json names manifests (or indexes) by annotation.
    func loadLayout(_ dir: String) throws -> [String] {
        let index = try JSON.decode(ImageIndex.self, try contents(dir + "/index.json"), what: "index.json")
        var loaded: [String] = []
        for entry in index.manifests {
            var descriptor = entry
            var repoDigest = entry.digest
            let data = try importLayoutBlob(dir, entry.digest)
            if MediaType.indexes.contains(entry.mediaType) {
                let nested = try JSON.decode(ImageIndex.self, data, what: "image index \(entry.digest)")
                guard let chosen = nested.manifests.first(where: { $0.platform.map(Platform.host.matches) ?? false }) else {
                    throw RuntimeError.badInput("no manifest for \(Platform.host) in the image index \(entry.digest)")
                }
                descriptor = chosen
                repoDigest = entry.digest
                _ = try importLayoutBlob(dir, chosen.digest)
            }
            let manifest = try JSON.decode(Manifest.self, try store.readBlob(descriptor.digest), what: "manifest \(descriptor.digest)")
            for blob in [manifest.config] + manifest.layers { _ = try importLayoutBlob(dir, blob.digest) }
            // Docker writes the full name for containerd; an OCI ref.name
            // alone is only a tag, so such an image stays untagged.
            if let name = entry.annotations?["io.containerd.image.name"], let reference = try? ImageReference.parse(name) {
                try store.tag(reference, manifest: descriptor.digest, repoDigest: repoDigest)
                loaded.append(reference.familiar)
            } else {
                try store.keepUntagged(manifest: descriptor.digest, repoDigest: repoDigest)
                loaded.append(manifest.config.digest.description)
            }
        }
        return loaded
    }

    func importLayoutBlob(_ dir: String, _ digest: Digest) throws -> Data {
        let path = dir + "/blobs/sha256/" + digest.hex
        guard FileManager.default.fileExists(atPath: path) else {
            throw RuntimeError.badInput("the archive lacks blob \(digest)")
        }
        try store.importBlob(from: path, expected: digest)
        return try store.readBlob(digest)
    }

    /// The classic docker save format: manifest.json lists config and layer
    /// files; the layers are tars, stored as they are (OCI allows plain tar).
    func loadDockerSave(_ dir: String) throws -> [String] {
        struct Entry: Decodable { var Config: String; var RepoTags: [String]?; var Layers: [String] }
        let entries = try JSON.decode([Entry].self, try contents(dir + "/manifest.json"), what: "manifest.json")
        var loaded: [String] = []
        for entry in entries {
            let config = try store.importBlob(from: try inside(dir, entry.Config))
            var layers: [Descriptor] = []
            for file in entry.Layers {
                let path = try inside(dir, file)
                let blob = try store.importBlob(from: path)
                layers.append(Descriptor(mediaType: Self.layerMediaType(path), digest: blob.digest, size: blob.size))
            }
            let manifest = Manifest(schemaVersion: 2, mediaType: MediaType.ociManifest,
                                    config: Descriptor(mediaType: MediaType.ociConfig, digest: config.digest, size: config.size),
                                    layers: layers)
            let manifestDigest = try store.writeBlob(try JSON.encode(manifest))
            let tags = entry.RepoTags ?? []
            for tag in tags {
                try store.tag(try ImageReference.parse(tag), manifest: manifestDigest)
                loaded.append(tag)
            }
            if tags.isEmpty {
                try store.keepUntagged(manifest: manifestDigest)
                loaded.append(config.digest.description)
            }
        }
        return loaded
    }

    /// Makes an image of a root file system tarball, like `docker import`:
    /// one layer, a config with this platform and the time of import.
    public func importRootfs(_ tarball: String, as reference: ImageReference, config: ImageConfig.ContainerConfig? = nil) throws -> Digest {
        var info = stat()
        guard stat(tarball, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw RuntimeError.badInput("open \(tarball): no such file: give a tar archive of a root file system")
        }
        // Check it is an archive before storing anything.
        let probe = store.ingestDir + "/import-probe-\(UUID().uuidString)"
        try store.ensureLayout()
        try FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: probe) }
        do { try LayerUnpacker.unpack(archive: tarball, into: probe) } catch {
            throw RuntimeError.badInput("\(tarball) is not a tar archive (plain, gzip or zstd): \(error)")
        }
        let layer = try store.importBlob(from: tarball)
        let mediaType = Self.layerMediaType(tarball)
        let diffID = mediaType == MediaType.ociLayer ? layer.digest : try LayerUnpacker.uncompressedDigest(of: tarball)
        let now = Date().formatted(.iso8601)
        let image = ImageConfig(architecture: Platform.host.architecture, os: "linux", created: now, config: config,
                                rootfs: .init(type: "layers", diff_ids: [diffID]),
                                history: [.init(created: now, created_by: "swarm image import", empty_layer: nil, comment: "Imported from \(tarball)")])
        let configData = try JSON.encode(image)
        let configDigest = try store.writeBlob(configData)
        let manifest = Manifest(schemaVersion: 2, mediaType: MediaType.ociManifest,
                                config: Descriptor(mediaType: MediaType.ociConfig, digest: configDigest, size: Int64(configData.count)),
                                layers: [Descriptor(mediaType: mediaType, digest: layer.digest, size: layer.size)])
        let manifestDigest = try store.writeBlob(try JSON.encode(manifest))
        try store.unpackLayer(layer.digest)
        try store.tag(reference, manifest: manifestDigest)
        return configDigest
    }

    /// The media type from the file's first bytes: gzip, zstd, or plain tar.
    static func layerMediaType(_ path: String) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return MediaType.ociLayer }
        defer { close(fd) }
        var magic = [UInt8](repeating: 0, count: 4)
        guard read(fd, &magic, 4) == 4 else { return MediaType.ociLayer }
        if magic[0] == 0x1f && magic[1] == 0x8b { return MediaType.ociLayerGzip }
        if magic == [0x28, 0xb5, 0x2f, 0xfd] { return MediaType.ociLayerZstd }
        return MediaType.ociLayer
    }

    /// A path named by an archive's manifest, kept inside the archive's directory.
    func inside(_ dir: String, _ relative: String) throws -> String {
        guard !relative.hasPrefix("/"), !relative.split(separator: "/").contains("..") else {
            throw RuntimeError.badInput("the archive names a file outside itself: \(relative)")
        }
        return dir + "/" + relative
    }

    func contents(_ path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RuntimeError.badInput("the archive lacks \(path.split(separator: "/").last.map(String.init) ?? path)")
        }
        return data
    }
}
