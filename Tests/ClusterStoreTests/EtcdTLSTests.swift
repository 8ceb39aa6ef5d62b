import ClusterStore
import ClusterTLS
@testable import EtcdStore
import Foundation
import NIOSSL
import SwarmAPI
import Testing

/// etcd with TLS from the cluster CA (`EtcdTLSFiles`): the manager's
/// certificate opens it, a client without one, or with a worker's
/// certificate from the same cluster CA, is refused.
@Suite(.enabled(if: etcdInstalled, etcdReason))
struct EtcdTLSTests {
    @Test func etcdWithTheClusterCAsFilesServesAStoreAndRefusesOtherClients() async throws {
        let ca = try RootCA.create()
        try await EtcdFixture.with(tls: ca) { etcd in
            let tls = try #require(etcd.tls)
            #expect(etcd.url.hasPrefix("https://"))
            let mode = try FileManager.default.attributesOfItem(atPath: tls.keyFile)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            // The files' certificate works as a client's: a store commits.
            let store = try await EtcdStore.open(client: etcd.client, cluster: "c1")
            var batch = StoreBatch(now: Timestamp(nanoseconds: 1_700_000_000_000_000_000))
            batch.put(TemporaryStore.service("web"))
            #expect(try await store.commit(batch) > 0)
            await store.close()

            // No client certificate: refused.
            var anonymous = TLSConfiguration.makeClientConfiguration()
            anonymous.trustRoots = .file(tls.caFile)
            try await expectRefused(etcd.url, anonymous)

            // A worker's node certificate, signed by the cluster CA itself: refused too.
            let request = try NodeKeyAndCSR.generate()
            let workerPEM = try ca.issue(csrPEM: request.csrPEM, nodeID: "w1", role: .worker, clusterID: "c", ipAddresses: ["127.0.0.1"])
            var worker = anonymous
            worker.certificateChain = [.certificate(try NIOSSLCertificate(bytes: Array(workerPEM.utf8), format: .pem))]
            worker.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(request.keyPEM.utf8), format: .pem))
            try await expectRefused(etcd.url, worker)

            // Another manager's files (written from the same cluster CA key) are accepted.
            let other = NSTemporaryDirectory() + "swarm-test-etcd-tls-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: other) }
            let second = try EtcdTLSFiles.write(ca: ca, nodeID: "m2", ipAddresses: ["127.0.0.2"], to: other)
            let client = EtcdClient(endpoints: [etcd.url], tls: try second.clientConfiguration())
            let revision = try await client.revision()
            await client.shutdown()
            #expect(revision > 0)
        }
    }

    @Test func theEtcdCAIsTheSameOnEveryManagerAndOnlyItSignsEtcdCertificates() throws {
        let ca = try RootCA.create()
        let copy = try RootCA(certificatePEM: ca.certificatePEM, keyPEM: try ca.keyPEM())
        let first = try ca.etcdCA(), second = try copy.etcdCA()
        #expect(first.certificate.publicKey == second.certificate.publicKey)
        #expect(first.certificate.subject == second.certificate.subject)
        #expect(first.certificate.publicKey != ca.certificate.publicKey)
        // (That each trusts the other's certificates, etcd itself checks in the test above.)
        let issued = try first.issueEtcdCertificate(nodeID: "m1", ipAddresses: ["10.0.0.5", "127.0.0.1"])
        #expect(issued.certificatePEM.hasPrefix("-----BEGIN CERTIFICATE-----"))
        #expect(issued.keyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        // A CA without its key cannot derive the etcd CA.
        let trustOnly = try RootCA(certificatePEM: ca.certificatePEM)
        #expect(throws: ClusterTLSError.caCannotSign) { try trustOnly.etcdCA() }
    }

    private func expectRefused(_ url: String, _ tls: TLSConfiguration) async throws {
        let client = EtcdClient(endpoints: [url], tls: tls, requestTimeout: .seconds(5))
        let refused: Bool
        do {
            _ = try await client.revision()
            refused = false
        } catch {
            refused = true
        }
        await client.shutdown()
        #expect(refused)
    }
}
