import NIOCore
@testable import ServiceMesh
import Testing

struct DNSZoneTests {
    let zone = DNSZone(task: MeshFixtures.w1, views: [MeshFixtures.app, MeshFixtures.other, MeshFixtures.ingress])

    func ask(_ name: String, type: UInt16 = DNSMessage.typeA) -> DNSZone.Outcome {
        zone.answer(DNSMessage(id: 9, flags: DNSMessage.recursionDesired, questions: [.init(name: name, type: type, class: 1)]))
    }

    func addresses(_ name: String) -> [String]? {
        guard case .reply(let reply) = ask(name), reply.responseCode == 0 else { return nil }
        return reply.answers.map { $0.data.map(String.init).joined(separator: ".") }.sorted()
    }

    @Test func servicesTasksAliasesAndTaskNames() {
        #expect(addresses("web") == ["10.0.1.2"])
        #expect(addresses("WWW.") == ["10.0.1.2"])
        #expect(addresses("tasks.web") == ["10.0.1.5", "10.0.1.6", "10.0.1.7"])
        #expect(addresses("tasks.www") == ["10.0.1.5", "10.0.1.6", "10.0.1.7"])
        #expect(addresses("cache") == ["10.0.1.10", "10.0.1.11"])
        #expect(addresses("web.1.w1") == ["10.0.1.5"])
        // A service with no running task keeps its VIP; tasks.NAME is known, with no address.
        #expect(addresses("db") == ["10.0.1.3"] && addresses("tasks.db") == [])
    }

    @Test func reverseLookupsOfTasksAndVIPs() throws {
        guard case .reply(let task) = ask("5.1.0.10.in-addr.arpa", type: DNSZone.typePTR),
              case .reply(let vip) = ask("2.1.0.10.in-addr.arpa.", type: DNSZone.typePTR) else { Issue.record("forwarded"); return }
        var reader = DNSReader(bytes: task.answers.first?.data ?? [])
        #expect(try reader.name() == "web.1.w1")
        reader = DNSReader(bytes: vip.answers.first?.data ?? [])
        #expect(try reader.name() == "web")
        #expect(ask("9.9.9.10.in-addr.arpa", type: DNSZone.typePTR) == .forward)
    }

    @Test func replyCarriesTheQueryAndShortTTL() {
        guard case .reply(let reply) = ask("web") else { Issue.record("no reply"); return }
        #expect(reply.id == 9 && reply.isResponse && reply.flags & DNSMessage.recursionDesired != 0)
        #expect(reply.questions.map(\.name) == ["web"] && reply.answers.map(\.ttl) == [DNSZone.ttl])
    }

    @Test func otherNamesAndTypes() {
        // Not on a shared network (nor the ingress network's names): no such name, answered here.
        guard case .reply(let secret) = ask("secret"), case .reply(let tasks) = ask("tasks.secret") else { Issue.record("forwarded"); return }
        #expect(secret.responseCode == 3 && tasks.responseCode == 3)
        // AAAA of a known name: NOERROR, empty.
        guard case .reply(let aaaa) = ask("web", type: DNSMessage.typeAAAA) else { Issue.record("forwarded"); return }
        #expect(aaaa.responseCode == 0 && aaaa.answers.isEmpty)
        #expect(ask("example.com") == .forward)
        #expect(zone.answer(DNSMessage(id: 1, flags: DNSMessage.response, questions: [.init(name: "web", type: 1, class: 1)])) == .ignore)
    }

    @Test func answersFitTheAskersSize() {
        let many = DNSZone(records: ["tasks.big": (1...100).map { "10.1.0.\($0)" }])
        guard case .reply(let reply) = many.answer(DNSMessage(id: 1, flags: 0, questions: [.init(name: "tasks.big", type: 1, class: 1)])) else {
            Issue.record("no reply"); return
        }
        #expect(reply.encoded().count <= 512 && reply.answers.count == 30)
    }

    @Test func resolversFromResolvConf() {
        let resolvers = DNSForwarder.resolvers(fromResolvConf: "# comment\nsearch lan\nnameserver 127.0.0.53\nnameserver 127.0.0.11\nnameserver\t10.0.0.1\n")
        #expect(resolvers == [try! SocketAddress(ipAddress: "127.0.0.53", port: 53), try! SocketAddress(ipAddress: "10.0.0.1", port: 53)])
    }
}
