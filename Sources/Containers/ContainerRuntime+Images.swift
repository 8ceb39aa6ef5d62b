import FoundationEssentials
import Glibc
import OCIImages
import SystemCalls

/// Image removal needs to know the containers: an image a container uses
/// stays unless forced, and its layers stay while the container exists.
extension ContainerRuntime {
    /// Manifests of every existing container's image.
    func imagesInUse() -> [Digest: String] {
        var used: [Digest: String] = [:]
        for info in store.list() { if let image = info.record.image { used[image.manifest] = info.id } }
        return used
    }

    /// `docker rmi`: untags the name (or every name of an ID), then deletes
    /// what nothing else uses. Returns Docker's "Untagged:"/"Deleted:" lines.
    public func removeImage(_ name: String, force: Bool) throws -> [String] {
        guard let image = try images.lookup(name) else { throw RuntimeError.badInput("No such image: \(name)") }
        if !force, let container = imagesInUse()[image.manifestDigest] {
            throw RuntimeError.conflict("conflict: unable to remove repository reference \"\(name)\" (must force) - container \(container.prefix(12)) is using its referenced image \(image.id.short)")
        }
        let byName = (try? ImageReference.parse(name)).map { reference in image.references.contains(reference.description) } ?? false
        let names = byName ? [try ImageReference.parse(name).description] : image.references
        var lines: [String] = []
        for reference in names {
            _ = try images.untag(reference)
            if let parsed = try? ImageReference.parse(reference) {
                lines.append("Untagged: \(parsed.familiar)")
                if let repoDigest = image.repoDigest { lines.append("Untagged: \(parsed.familiarRepository)@\(repoDigest)") }
            }
        }
        // Once no name points at the manifest, what only it used goes.
        if images.list().allSatisfy({ $0.manifestDigest != image.manifestDigest }) {
            let pruned = try images.prune(keeping: Set(imagesInUse().keys))
            if pruned.deleted.contains(image.id) || !images.hasBlob(image.id) { lines.append("Deleted: \(image.id)") }
        }
        return lines
    }

    /// `docker image prune`: untagged images (or, with `all`, every image no
    /// container uses) and the blobs and layers only they held.
    public func pruneImages(all: Bool) throws -> (deleted: [String], bytes: Int64) {
        let used = Set(imagesInUse().keys)
        var deleted: [String] = []
        for image in images.list() where !used.contains(image.manifestDigest) {
            let untagged = image.references.allSatisfy { $0.hasPrefix(ImageStore.untaggedPrefix) }
            guard all || untagged else { continue }
            for reference in image.references {
                _ = try images.untag(reference)
                if let parsed = try? ImageReference.parse(reference) { deleted.append("untagged: \(parsed.familiar)") }
            }
            deleted.append("deleted: \(image.id)")
        }
        let result = try images.prune(keeping: used)
        return (deleted, result.bytes)
    }
}
