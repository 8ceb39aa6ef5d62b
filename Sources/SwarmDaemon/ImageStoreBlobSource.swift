import Manager
import OCIImages

/// The manager's image mirror (`/v2/…`) over this node's image store.
struct ImageStoreBlobSource: ImageBlobSource {
    let store: ImageStore

    func manifest(repository: String, reference: String) throws -> ImageBlob? {
        let name = repository + (reference.hasPrefix("sha256:") ? "@" : ":") + reference
        guard let image = try store.lookup(name) else { return nil }
        return ImageBlob(mediaType: image.manifest.mediaType ?? "application/vnd.oci.image.manifest.v1+json",
                         digest: image.manifestDigest.description, path: store.blobPath(image.manifestDigest))
    }

    func blob(digest: String) throws -> ImageBlob? {
        guard let parsed = try? Digest(parsing: digest), store.hasBlob(parsed) else { return nil }
        return ImageBlob(mediaType: "application/octet-stream", digest: digest, path: store.blobPath(parsed))
    }
}
