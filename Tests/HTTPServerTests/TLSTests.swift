import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import Synchronization
import Testing
@testable import HTTPServer

/// A throwaway PKI made with the openssl CLI: a CA, a server certificate for 127.0.0.1, a
/// client certificate from the CA and one from an unrelated CA.
struct TestPKI {
    let dir: String

    init() throws {
        dir = try makeTempDir()
        let script = """
            set -e
            cd '\(dir)'
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth\\n' > server.ext
            printf 'extendedKeyUsage=clientAuth\\n' > client.ext
            for ca in ca other-ca; do
              openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                -keyout $ca.key -out $ca.pem -days 2 -subj /CN=$ca 2>/dev/null
            done
            issue() {  # name ca ext
              openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                -keyout $1.key -out $1.csr -subj /CN=$1 2>/dev/null
              openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key -CAcreateserial \
                -days 2 -extfile $3 -out $1.pem 2>/dev/null
            }
            issue server ca server.ext
            issue client ca client.ext
            issue stranger other-ca client.ext
            openssl x509 -in client.pem -outform DER -out client.der
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw POSIXError(.EIO)
        }
    }

    func path(_ name: String) -> String { dir + "/" + name }

    func serverTLS() throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(path("server.pem")).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: path("server.key"), format: .pem))
        )
        // Ask for a client certificate, verify it if one comes, don't require one.
        tls.certificateVerification = .optionalVerification
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(path("ca.pem")))
        return tls
    }

    func client(presenting name: String?) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(path("ca.pem")))
        if let name {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(path("\(name).pem")).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: path("\(name).key"), format: .pem))
        }
        var configuration = HTTPClient.Configuration()
        configuration.tlsConfiguration = tls
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }
}

@Suite("HTTPS")
struct TLSTests {
    @Test func clientCertificateReachesHandler() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let handled = Mutex(0)
        let server = HTTPServer(handler: { request in
            handled.withLock { $0 += 1 }
            return await testHandler(request, flags: (Flag(), Flag(), Flag()))
        })
        let port = try await server.listen(host: "127.0.0.1", port: 0, tls: try pki.serverTLS())
        #expect(port > 0)

        func info(_ client: HTTPClient, body: [UInt8] = []) async throws -> RequestInfo {
            var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)/info?node=a%2Fb")
            if !body.isEmpty {
                request.method = .POST
                request.body = .bytes(ByteBuffer(bytes: body))
            }
            let response = try await client.execute(request, timeout: .seconds(60))
            #expect(response.status == .ok)
            return try JSONDecoder().decode(RequestInfo.self, from: Data(try await collect(response)))
        }

        let expectedDER = try Data(contentsOf: URL(fileURLWithPath: pki.path("client.der"))).base64EncodedString()
        let withCert = try pki.client(presenting: "client")
        let withoutCert = try pki.client(presenting: nil)
        let stranger = try pki.client(presenting: "stranger")
        do {
            // Several requests on one connection all carry the certificate.
            for _ in 0..<3 {
                let seen = try await info(withCert, body: Array(repeating: 9, count: 300_000))
                #expect(seen.certDER == expectedDER)
                #expect(seen.isUnixSocket == false)
                #expect(seen.query == ["node": ["a/b"]])
                #expect(seen.bodyCount == 300_000)
            }
            let anonymous = try await info(withoutCert)
            #expect(anonymous.certDER == nil)

            // A certificate from another CA fails the handshake: the handler never sees it.
            let before = handled.withLock { $0 }
            await #expect(throws: (any Error).self) {
                let response = try await stranger.execute(
                    HTTPClientRequest(url: "https://127.0.0.1:\(port)/info"),
                    timeout: .seconds(60)
                )
                _ = try await collect(response)
            }
            #expect(handled.withLock { $0 } == before)

            // The server is unharmed.
            #expect(try await info(withCert).certDER == expectedDER)
        } catch {
            Issue.record(error)
        }
        try await withCert.shutdown()
        try await withoutCert.shutdown()
        try await stranger.shutdown()
        await server.shutdown()
    }

    @Test func plainTCPAndStreamsOverTLS() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let flags = (Flag(), Flag(), Flag())
        let plain = HTTPServer(handler: { await testHandler($0, flags: flags) })
        let plainPort = try await plain.listen(host: "127.0.0.1", port: 0, tls: nil)
        let secure = HTTPServer(handler: { await testHandler($0, flags: flags) })
        let securePort = try await secure.listen(host: "127.0.0.1", port: 0, tls: try pki.serverTLS())

        let client = try pki.client(presenting: "client")
        do {
            let response = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(plainPort)/info"), timeout: .seconds(60))
            let seen = try JSONDecoder().decode(RequestInfo.self, from: Data(try await collect(response)))
            #expect(seen.certDER == nil)
            #expect(seen.isUnixSocket == false)

            // A file and a chunked stream through TLS.
            let path = pki.path("blob")
            let content = (0..<(3 << 20) + 5).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ $0 >> 11) }
            try Data(content).write(to: URL(fileURLWithPath: path))
            let file = try await client.execute(HTTPClientRequest(url: "https://127.0.0.1:\(securePort)/file?p=\(path)"), timeout: .seconds(60))
            #expect(try await collect(file) == content)
            let stream = try await client.execute(HTTPClientRequest(url: "https://127.0.0.1:\(securePort)/stream?n=3"), timeout: .seconds(60))
            #expect(String(decoding: try await collect(stream), as: UTF8.self) == "event 0\nevent 1\nevent 2\n")
        } catch {
            Issue.record(error)
        }
        try await client.shutdown()
        await plain.shutdown()
        await secure.shutdown()
    }
}

@Suite("Idle network connections")
struct IdleConnectionTests {
    @Test func aSilentTCPClientIsDisconnected() async throws {
        let server = HTTPServer(handler: { _ in .empty(204) }, networkIdleTimeout: .seconds(1))
        let port = try await server.listen(host: "127.0.0.1", port: 0, tls: nil)
        defer { Task { await server.shutdown() } }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        // Say nothing: the server hangs up (read returns 0) well before this 60 s poll ends.
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&entry, 1, 60_000) == 1)
        var byte: UInt8 = 0
        #expect(read(fd, &byte, 1) == 0)
    }
}
