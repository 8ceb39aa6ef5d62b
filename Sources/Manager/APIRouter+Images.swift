import HTTPServer

/// `/v2/…`: a read-only registry (distribution API v2) over the manager's
/// images, for nodes only: `/v2/docker.io/library/busybox/manifests/latest`,
/// `/v2/…/blobs/sha256:…`. Nodes check digests as for any registry.
extension APIRouter {
    func serveImage(_ parts: [String]) throws -> HTTPResponse {
        guard let images, parts.count >= 4 else { return Self.error(404, "page not found") }
        let kind = parts[parts.count - 2], ref = parts[parts.count - 1]
        let repository = parts[1..<(parts.count - 2)].joined(separator: "/")
        switch kind {
        case "manifests":
            guard let manifest = try images.manifest(repository: repository, reference: ref) else {
                return HTTPResponse.json(404, Array("{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}".utf8))
            }
            return HTTPResponse(status: 200, headers: [("Content-Type", manifest.mediaType), ("Docker-Content-Digest", manifest.digest)],
                                body: .file(path: manifest.path))
        case "blobs":
            guard let blob = try? images.blob(digest: ref) else {
                return HTTPResponse.json(404, Array("{\"errors\":[{\"code\":\"BLOB_UNKNOWN\",\"message\":\"blob unknown\"}]}".utf8))
            }
            return HTTPResponse(status: 200, headers: [("Content-Type", "application/octet-stream"), ("Docker-Content-Digest", ref)],
                                body: .file(path: blob.path))
        default:
            return Self.error(404, "page not found")
        }
    }
}
