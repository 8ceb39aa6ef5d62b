import Foundation
@testable import OCIImages
@testable import OCIRegistry
@testable import SystemCalls
import Testing

struct DigestTests {
    @Test func parsesOnlySHA256() throws {
        let hex = String(repeating: "ab", count: 32)
        #expect(try Digest(parsing: "sha256:" + hex).hex == hex)
        #expect(throws: RuntimeError.self) { try Digest(parsing: "sha512:" + hex) }
        #expect(throws: RuntimeError.self) { try Digest(parsing: "sha256:" + hex.uppercased()) }
        #expect(throws: RuntimeError.self) { try Digest(parsing: "sha256:abc") }
        #expect(Digest.of(Data("hello".utf8)).description == "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
    }

    @Test func platformsMatchLikeDocker() {
        let host = Platform(architecture: "amd64", os: "linux")
        #expect(host.matches(Platform(architecture: "amd64", os: "linux", variant: "v2")))
        #expect(!host.matches(Platform(architecture: "arm64", os: "linux")))
        #expect(!host.matches(Platform(architecture: "amd64", os: "windows")))
        #expect(Platform(architecture: "arm", os: "linux", variant: "v7").matches(Platform(architecture: "arm", os: "linux", variant: "v7")))
        #expect(!Platform(architecture: "arm", os: "linux", variant: "v7").matches(Platform(architecture: "arm", os: "linux", variant: "v6")))
    }
}

struct ChallengeTests {
    @Test func bearerAndBasic() {
        let bearer = RegistryClient.parseChallenge(#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#)
        #expect(bearer.scheme == "bearer")
        #expect(bearer.parameters == ["realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                                      "scope": "repository:library/busybox:pull"])
        let basic = RegistryClient.parseChallenge(#"Basic realm="swarm test""#)
        #expect(basic.scheme == "basic" && basic.parameters == ["realm": "swarm test"])
        let unquoted = RegistryClient.parseChallenge("Bearer realm=http://x/token, service=reg")
        #expect(unquoted.parameters == ["realm": "http://x/token", "service": "reg"])
    }

    @Test func registryErrorsInDockersWords() {
        let body = Data(#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#.utf8)
        #expect(RegistryClient.registryError(body, status: 404) == "manifest unknown: manifest unknown")
        #expect(RegistryClient.registryError(Data("nope".utf8), status: 502) == "HTTP 502")
    }
}

struct ImageStoreTests {
    let store: ImageStore

    init() throws {
        store = ImageStore(root: NSTemporaryDirectory() + "swarm-unit-store-\(UUID().uuidString.prefix(8))")
    }

    @Test func blobsAreVerifiedOnWrite() throws {
        let data = Data("layer bytes".utf8)
        let digest = try store.writeBlob(data)
        #expect(store.hasBlob(digest))
        #expect(try store.readBlob(digest) == data)
        let wrong = Digest.of(Data("other".utf8))
        #expect(throws: RuntimeError.self) { try store.writeBlob(Data("tampered".utf8), expected: wrong) }
        #expect(!store.hasBlob(wrong))
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: store.ingestDir)) ?? []).filter { $0.hasSuffix(".tmp") }.isEmpty)
        try? FileManager.default.removeItem(atPath: store.root)
    }

    /// A config, one plain-tar layer and a manifest, written to the store.
    func storeImage(layer: String) throws -> Digest {
        let layerDigest = try store.writeBlob(Data(layer.utf8))
        let config = ImageConfig(architecture: "amd64", os: "linux", created: "2026-01-01T00:00:00Z", config: nil,
                                 rootfs: .init(type: "layers", diff_ids: [layerDigest]), history: nil)
        let configData = try JSON.encode(config)
        let configDigest = try store.writeBlob(configData)
        let manifest = Manifest(schemaVersion: 2, mediaType: MediaType.ociManifest,
                                config: Descriptor(mediaType: MediaType.ociConfig, digest: configDigest, size: Int64(configData.count)),
                                layers: [Descriptor(mediaType: MediaType.ociLayer, digest: layerDigest, size: Int64(layer.utf8.count))])
        return try store.writeBlob(try JSON.encode(manifest))
    }

    @Test func tagLookupUntagAndPrune() throws {
        defer { try? FileManager.default.removeItem(atPath: store.root) }
        let first = try storeImage(layer: "one")
        let second = try storeImage(layer: "two")
        try store.tag(try ImageReference.parse("app:1"), manifest: first)
        try store.tag(try ImageReference.parse("registry.example:5000/team/app:2"), manifest: second, repoDigest: second)
        #expect(try store.lookup("app:1")?.manifestDigest == first)
        #expect(try store.lookup("docker.io/library/app:1")?.manifestDigest == first)
        #expect(try store.lookup("registry.example:5000/team/app@\(second)")?.manifestDigest == second, "by repo digest")
        let id = try #require(try store.lookup("app:1")).id
        #expect(try store.lookup(String(id.hex.prefix(12)))?.manifestDigest == first, "by image ID prefix")
        #expect(try store.lookup("app:3") == nil)
        #expect(store.list().count == 2)

        #expect(try store.untag("docker.io/library/app:1") == first)
        let pruned = try store.prune(keeping: [])
        #expect(pruned.deleted.count == 3, "manifest, config and layer of the untagged image")
        #expect(!store.hasBlob(first) && store.hasBlob(second))
        // What a container uses survives even without a name.
        _ = try store.untag("registry.example:5000/team/app:2")
        try store.prune(keeping: [second])
        #expect(store.hasBlob(second))
    }
}
