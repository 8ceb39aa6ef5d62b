import ClusterStore
import ClusterTLS
@testable import EtcdStore
import Foundation
import SwarmAPI
import Testing

/// Whether the etcd tests can run here.
let etcdInstalled = ProcessInfo.processInfo.environment["PATH", default: "/usr/bin"]
    .split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/etcd") }
let etcdReason: Comment = "etcd is not installed (apt-get install -y etcd-server)"

/// A throwaway etcd on loopback (Tests/fixtures/etcd/start-etcd), stopped by
/// its PID and its data dir removed when `body` returns or throws.
struct EtcdFixture: Sendable {
    let directory: String
    let port: Int
    let client: EtcdClient
    /// With TLS: the member's files (its certificate is also a client's).
    let tls: EtcdTLSFiles?
    var url: String { "\(tls == nil ? "http" : "https")://127.0.0.1:\(port)" }

    static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/etcd").path

    /// With `tls` (a cluster CA with its key): etcd serves https with a
    /// certificate from it (`EtcdTLSFiles`) and requires client certificates.
    static func with<R>(tls ca: RootCA? = nil, _ body: (EtcdFixture) async throws -> R) async throws -> R {
        // Tests start many at once: two free ports picked by two starts can
        // collide, or the health check time out under load; a few attempts.
        var started: (directory: String, port: Int, tls: EtcdTLSFiles?)?
        var output = ""
        for _ in 0..<3 where started == nil {
            let directory = NSTemporaryDirectory() + "swarm-test-etcd-\(UUID().uuidString)"
            var tls: EtcdTLSFiles?
            if let ca {
                do {
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                    tls = try EtcdTLSFiles.write(ca: ca, nodeID: "test", ipAddresses: ["127.0.0.1"], to: directory + "/tls")
                } catch {
                    try? FileManager.default.removeItem(atPath: directory)
                    throw error
                }
            }
            output = await run(scripts + "/start-etcd", [directory] + (tls == nil ? [] : [directory + "/tls"]))
            if let port = output.split(separator: " ").first.flatMap({ Int($0) }) {
                started = (directory, port, tls)
            } else {
                await run(scripts + "/stop-etcd", directory, check: false)
            }
        }
        guard let (directory, port, tls) = started else { throw EtcdError.unavailable("start-etcd failed 3 times: \(output)") }
        let client = try EtcdClient(endpoints: ["\(tls == nil ? "http" : "https")://127.0.0.1:\(port)"], tls: tls?.clientConfiguration())
        let fixture = EtcdFixture(directory: directory, port: port, client: client, tls: tls)
        do {
            let result = try await body(fixture)
            await fixture.stop()
            return result
        } catch {
            await fixture.stop()
            throw error
        }
    }

    func stop() async {
        await client.shutdown()
        await Self.run(Self.scripts + "/stop-etcd", directory, check: false)
    }

    /// Runs the script on a thread of its own: a wait on the few threads of
    /// Swift's cooperative pool would starve the other tests' tasks (an
    /// election's keepalives among them, whose leases then expire).
    @discardableResult
    static func run(_ tool: String, _ argument: String, check: Bool = true) async -> String {
        await run(tool, [argument], check: check)
    }

    @discardableResult
    static func run(_ tool: String, _ arguments: [String], check: Bool = true) async -> String {
        await withCheckedContinuation { done in
            Thread.detachNewThread { done.resume(returning: runWaiting(tool, arguments)) }
        }
    }

    private static func runWaiting(_ tool: String, _ arguments: [String]) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        guard (try? process.run()) != nil else { return "" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// The stores every conformance test runs against.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, etcd
    var testDescription: String { rawValue }
    static var testable: [StoreKind] { etcdInstalled ? allCases : [.sqlite] }
}

/// A fresh store of `kind`; `reopen` opens a second one on the same state
/// (SQLite: the same file; etcd: the same cluster in the same etcd).
func withStore(_ kind: StoreKind, logLimit: Int = 200_000,
               _ body: (_ store: any ClusterStore, _ reopen: () async throws -> any ClusterStore) async throws -> Void) async throws {
    switch kind {
    case .sqlite:
        let temporary = try TemporaryStore(logLimit: logLimit)
        try await body(temporary.store) { try SQLiteStore(path: temporary.directory + "/state.db") }
    case .etcd:
        try await EtcdFixture.with { etcd in
            let store = try await EtcdStore.open(client: etcd.client, cluster: "test", logLimit: logLimit)
            var opened = [store]
            do {
                try await body(store) {
                    let another = try await EtcdStore.open(client: etcd.client, cluster: "test")
                    opened.append(another)
                    return another
                }
            } catch {
                for store in opened { await store.close() }
                throw error
            }
            for store in opened { await store.close() }
        }
    }
}
