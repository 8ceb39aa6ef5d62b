@testable import SwarmCLI
import SwarmAPI
import SystemCalls
import Testing

/// `-p/--publish` and `--network` as Docker's CLI reads them.
struct PublishOptionTests {
    @Test func longAndShortFormsReadAsDockers() throws {
        #expect(try PublishOption.parse("published=5000,target=80") == PortConfig(protocol: "tcp", targetPort: 80, publishedPort: 5000, publishMode: "ingress"))
        #expect(try PublishOption.parse("published=53,target=53,protocol=udp,mode=host")
                == PortConfig(protocol: "udp", targetPort: 53, publishedPort: 53, publishMode: "host"))
        #expect(try PublishOption.parse("target=80") == PortConfig(protocol: "tcp", targetPort: 80, publishedPort: nil, publishMode: "ingress"))
        #expect(try PublishOption.parse("5000:80") == PortConfig(protocol: "tcp", targetPort: 80, publishedPort: 5000, publishMode: "ingress"))
        #expect(try PublishOption.parse("5000:5000/udp") == PortConfig(protocol: "udp", targetPort: 5000, publishedPort: 5000, publishMode: "ingress"))
        #expect(try PublishOption.parse("80") == PortConfig(protocol: "tcp", targetPort: 80, publishedPort: nil, publishMode: "ingress"))
    }

    @Test func badSyntaxIsOneLineThatSaysWhy() {
        let cases: [(String, String)] = [
            ("published=5000", "missing mandatory field \"target\""),
            ("published=5000,target=80,colour=red", "invalid field key colour"),
            ("published=x,target=80", "invalid published port x"),
            ("target=80,mode=bridge", "invalid publish mode value (bridge)"),
            ("target=80,protocol=icmp", "invalid protocol value 'icmp'"),
            ("5000:80/icmp", "invalid proto: icmp"),
            ("abc:80", "invalid hostPort: abc"),
            ("5000:http", "invalid containerPort: http"),
            ("1.2.3.4:5000:80", "host IP addresses are not supported"),
            ("70000:80", "invalid hostPort: 70000"),
        ]
        for (text, why) in cases {
            do {
                _ = try PublishOption.parse(text)
                Issue.record("\(text) was accepted")
            } catch let error as RuntimeError {
                let message = "\(error)"
                #expect(message.contains("invalid argument \"\(text)\" for \"-p, --publish\" flag: ") && message.contains(why), "\(message)")
                #expect(!message.contains("\n"))
            } catch {
                Issue.record("\(error)")
            }
        }
    }

    @Test func publishRemoveNamesPortsByTarget() throws {
        let web = PortConfig(protocol: "tcp", targetPort: 80, publishedPort: 5000, publishMode: "ingress")
        let dns = PortConfig(protocol: "udp", targetPort: 53, publishedPort: 53, publishMode: "ingress")
        #expect(try PublishOption.removes("80", web) && !(try PublishOption.removes("80", dns)))
        #expect(try PublishOption.removes("53/udp", dns) && !(try PublishOption.removes("53/tcp", dns)))
        #expect(try PublishOption.removes("5000:80", web))
        #expect(try PublishOption.removes("published=5000,target=80", web))
    }

    @Test func portsColumnIsDockers() {
        let ports = [PortConfig(protocol: "tcp", targetPort: 80, publishedPort: 5000, publishMode: "ingress"),
                     PortConfig(protocol: "udp", targetPort: 53, publishedPort: 30000, publishMode: "ingress"),
                     PortConfig(protocol: "tcp", targetPort: 22, publishedPort: 2222, publishMode: "host")]
        #expect(PublishOption.column(ports) == "*:5000->80/tcp, *:30000->53/udp")
        #expect(PublishOption.column(nil) == "")
    }

    @Test func networkOptionTakesANameOrFields() throws {
        #expect(try NetworkOption.parse("app") == NetworkAttachmentConfig(target: "app"))
        #expect(try NetworkOption.parse("name=app,alias=db,alias=database") == NetworkAttachmentConfig(target: "app", aliases: ["db", "database"]))
        #expect(throws: RuntimeError.self) { try NetworkOption.parse("alias=db") }
        #expect(throws: RuntimeError.self) { try NetworkOption.parse("name=app,colour=red") }
    }
}
