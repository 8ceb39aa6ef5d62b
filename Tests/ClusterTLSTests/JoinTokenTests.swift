import SwarmAPI
import ClusterTLS
import Testing

struct JoinTokenTests {
    static let base36 = Set("0123456789abcdefghijklmnopqrstuvwxyz")

    @Test func generatedTokenHasDockersFormatAndParsesBack() throws {
        let ca = try RootCA.create()
        let token = JoinToken.generate(rootCA: ca)
        let parts = token.split(separator: "-")
        #expect(parts.count == 4)
        #expect(parts[0] == "SWMTKN" && parts[1] == "1")
        #expect(parts[2].count == 50 && parts[3].count == 25)
        #expect(parts[2].allSatisfy(Self.base36.contains) && parts[3].allSatisfy(Self.base36.contains))

        let parsed = try JoinToken.parse(token)
        #expect(parsed.caDigest == ca.digest)
        #expect(parsed.secret == String(parts[3]))
        try parsed.verifyCA(certificatePEM: ca.certificatePEM)
        try parsed.verifyCA(certificateDER: ca.certificateDER)
    }

    @Test func workerAndManagerTokensDifferOnlyBySecret() throws {
        let ca = try RootCA.create()
        let worker = try JoinToken.parse(JoinToken.generate(rootCA: ca))
        let manager = try JoinToken.parse(JoinToken.generate(rootCA: ca))
        #expect(worker.caDigest == manager.caDigest)
        #expect(worker.secret != manager.secret)
    }

    /// The digest is the sha256 read as one big number in base 36, as Go's
    /// big.Int prints it (values cross-checked with Python's int(s, 36)).
    @Test func digestEncodingMatchesGoBigInt() throws {
        // sha256 of nothing, e3b0c442...
        let emptyDigest: [UInt8] = hexBytes("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let token = JoinToken.generate(caDigest: emptyDigest)
        #expect(token.hasPrefix("SWMTKN-1-5oaq0bjhj6un82wg98mgigso5q7qlhc63je4gw7ivixqqhkd3p-"))

        // A token from swarmkit's own tests; its digest has leading zero bits.
        let docker = try JoinToken.parse("SWMTKN-1-1kxftv4ofnc6mt30lmgipg6ngf9luhwqopfk1tz6bdmnkubg0e-4myj5xihyto11dg1cn55w8p61")
        #expect(docker.caDigest == hexBytes("3f72881f0095fc4e38ad6749af77f610c0b2d0506554c559a64b1b47935ac3ce"))
        #expect(docker.secret == "4myj5xihyto11dg1cn55w8p61")
        #expect(JoinToken.generate(caDigest: docker.caDigest).hasPrefix("SWMTKN-1-1kxftv4ofnc6mt30lmgipg6ngf9luhwqopfk1tz6bdmnkubg0e-"))

        // Small numbers are left-padded with zeros.
        let one = [UInt8](repeating: 0, count: 31) + [1]
        #expect(JoinToken.generate(caDigest: one).hasPrefix("SWMTKN-1-" + String(repeating: "0", count: 49) + "1-"))
    }

    @Test(arguments: [
        "",
        "invalidtoken",
        "SWMTKX-1-1kxftv4ofnc6mt30lmgipg6ngf9luhwqopfk1tz6bdmnkubg0e-4myj5xihyto11dg1cn55w8p61", // prefix
        "swmtkn-1-1kxftv4ofnc6mt30lmgipg6ngf9luhwqopfk1tz6bdmnkubg0e-4myj5xihyto11dg1cn55w8p61", // prefix case
        "SWMTKN-2-1kxftv4ofnc6mt30lmgipg6ngf9luhwqopfk1tz6bdmnkubg0e-4myj5xihyto11dg1cn55w8p61", // version
        "SWMTKN-0-1kxftv4ofnc6mt30lmgipg6ngf9luhwqopfk1tz6bdmnkubg0e-4myj5xihyto11dg1cn55w8p61", // version
        "SWMTKN-1-1kxftv4ofnc6mt30lmgipg6ngf9luhwqopfk1tz6bdmnkubg0e-4myj5xihyto11dg1cn55w8p6", // secret 24
        "SWMTKN-1-1kxftv4ofnc6mt30lmgipg6ngf9luhwqopfk1tz6bdmnkubg0e-4myj5xihyto11dg1cn55w8p611", // secret 26
        "SWMTKN-1-1kxftv4ofnc6mt30lmgipg6ngf9luhwqopfk1tz6bdmnkubg0-4myj5xihyto11dg1cn55w8p61", // digest 49
        "SWMTKN-1-1kxftv4ofnc6mt30lmgipg6ngf9luhwqopfk1tz6bdmnkubg0e0-4myj5xihyto11dg1cn55w8p61", // digest 51
        "SWMTKN-1-1KXFTV4ofnc6mt30lmgipg6ngf9luhwqopfk1tz6bdmnkubg0e-4myj5xihyto11dg1cn55w8p61", // uppercase
        "SWMTKN-1-1kxftv4ofnc6mt30lmgipg6ngf9luhwqopfk1tz6bdmnkubg0e-4myj5xihyto11dg1cn55w8p6!", // bad char
        "SWMTKN-1-1kxftv4ofnc6mt30lmgipg6ngf9luhwqopfk1tz6bdmnku_g0e-4myj5xihyto11dg1cn55w8p61", // bad char
        "SWMTKN-1-1kxftv4ofnc6mt30lmgipg6ngf9luhwqopfk1tz6bdmnkubg0e-4myj5xihyto11dg1cn55w8p61-", // extra part
        "SWMTKN-2-0-1kxftv4ofnc6mt30lmgipg6ngf9luhwqopfk1tz6bdmnkubg0e-4myj5xihyto11dg1cn55w8p61", // v2 (FIPS) not supported
        " SWMTKN-1-1kxftv4ofnc6mt30lmgipg6ngf9luhwqopfk1tz6bdmnkubg0e-4myj5xihyto11dg1cn55w8p61", // space
        "SWMTKN-1-" + String(repeating: "z", count: 50) + "-4myj5xihyto11dg1cn55w8p61", // over 2^256
    ])
    func malformedTokensAreRejected(token: String) {
        #expect(throws: ClusterTLSError.invalidJoinToken) { try JoinToken.parse(token) }
        #expect(ClusterTLSError.invalidJoinToken.description == "invalid join token")
    }

    @Test func caOfAnotherClusterDoesNotMatchTheToken() throws {
        let ca = try RootCA.create()
        let other = try RootCA.create()
        let token = try JoinToken.parse(JoinToken.generate(rootCA: ca))
        let expectedHex = ca.digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        let error = #expect(throws: ClusterTLSError.self) { try token.verifyCA(certificatePEM: other.certificatePEM) }
        #expect(error == .caFingerprintMismatch(expected: expectedHex))
        #expect(error?.description == "remote CA does not match fingerprint. Expected: \(expectedHex)")
        #expect(throws: ClusterTLSError.self) { try token.verifyCA(certificateDER: other.certificateDER) }
        #expect(throws: ClusterTLSError.self) { try token.verifyCA(certificatePEM: "not a certificate") }
    }

    @Test func presentedTokenSelectsTheRole() throws {
        let ca = try RootCA.create()
        let worker = JoinToken.generate(rootCA: ca)
        let manager = JoinToken.generate(rootCA: ca)
        #expect(JoinToken.role(forPresented: worker, worker: worker, manager: manager) == .worker)
        #expect(JoinToken.role(forPresented: manager, worker: worker, manager: manager) == .manager)
        #expect(JoinToken.role(forPresented: JoinToken.generate(rootCA: ca), worker: worker, manager: manager) == nil)
        #expect(JoinToken.role(forPresented: "", worker: worker, manager: manager) == nil)
        #expect(constantTimeEquals("abc", "abc") && !constantTimeEquals("abc", "abd") && !constantTimeEquals("abc", "ab"))
    }

    @Test func objectIDsAre25LowercaseAlphanumerics() {
        let ids = (0..<200).map { _ in newObjectID() }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            #expect(id.count == 25)
            #expect(id.allSatisfy(Self.base36.contains))
        }
        // The first character is not skewed toward low digits.
        #expect(Set(ids.map(\.first)).count > 10)
    }
}

func hexBytes(_ hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex {
        let next = hex.index(index, offsetBy: 2)
        out.append(UInt8(hex[index..<next], radix: 16)!)
        index = next
    }
    return out
}
