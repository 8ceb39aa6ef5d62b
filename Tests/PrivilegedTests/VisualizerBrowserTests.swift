import Foundation
import HostNetwork
import Lab
import Testing

/// The visualizer page in a real browser (Debian's chromium, headless, in
/// the lab's client namespace) against a 3-node lab whose manager serves it
/// (`SWARM_VISUALIZER_ADDR`, which `swarm init` passes on to the daemon).
/// Screenshots stay in /tmp/swarm-artifacts/visualizer-PID (named in the
/// output; not removed, not a test leftover).
@Suite(.serialized)
struct VisualizerBrowserTests {
    static let chromiumReason: Comment = "needs root and Debian's chromium (scripts/install-deps)"

    /// Task boxes per node column, by hostname.
    static let boxesPerNode = """
        Object.fromEntries([...document.querySelectorAll('section[data-column=node]')]
          .map(s => [s.dataset.hostname, s.querySelectorAll('li.task').length]))
        """

    /// Running tasks per node as `service ps` says, over the given services.
    static func running(_ lab: LabSwarm, _ services: [String]) -> [String: Int] {
        var counts: [String: Int] = ["node1": 0, "node2": 0, "node3": 0]
        for service in services { counts.merge(lab.spread(service)) { $0 + $1 } }
        return counts
    }

    @Test(.enabled(if: isRoot && HeadlessBrowser.installed, chromiumReason))
    func pageShowsTheClusterLive() throws {
        let lab = try LabSwarm(name: "v\(getpid())", environment: ["SWARM_VISUALIZER_ADDR": "0.0.0.0:8080"])
        let artifacts = "/tmp/swarm-artifacts/visualizer-\(getpid())"
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        print("visualizer screenshots: \(artifacts)")

        #expect(lab.swarm("node1", "service", "create", "-d", "--name", "web", "--replicas", "4", "--stop-grace-period", "1s",
                          "busybox", "sleep", "1000").status == 0)
        #expect(lab.swarm("node1", "service", "create", "-d", "--name", "api", "--replicas", "2", "--stop-grace-period", "1s",
                          "--label", "com.docker.stack.namespace=shop", "busybox", "sleep", "1000").status == 0)
        #expect(waitUntil(60) { Self.running(lab, ["web", "api"]).values.reduce(0, +) == 6 }, "\(Self.running(lab, ["web", "api"]))")

        let client = try #require(lab.cluster.record.client)
        let namespace = NetworkNamespace(name: URL(fileURLWithPath: client.namespace).lastPathComponent,
                                         directory: URL(fileURLWithPath: client.namespace).deletingLastPathComponent().path)
        let browser = try HeadlessBrowser(in: namespace, log: artifacts + "/chromium.log")
        defer { browser.quit() }
        try browser.load("http://\(lab.cluster.record.nodes[0].address):8080/")

        // Three node columns, each with the tasks `service ps` puts there.
        let expected = Self.running(lab, ["web", "api"])
        #expect(browser.waitUntil("document.querySelectorAll('section[data-column=node]').length === 3", within: 10) != nil)
        #expect(browser.waitUntil("JSON.stringify(\(Self.boxesPerNode)) === '\(Self.json(expected))'", within: 10) != nil,
                "page \(String(describing: try? browser.evaluate(Self.boxesPerNode))), service ps \(expected)")
        #expect(try browser.evaluate("document.querySelector('section[data-hostname=node1] .leader') !== null") as? Bool == true)
        #expect(try browser.evaluate("document.getElementById('status').textContent") as? String == "Live")
        try browser.screenshot(to: artifacts + "/1-two-services.png")

        // Every state the page shows from now on, with how long after the
        // change (the task's status timestamp) the page drew it; and a mark
        // that a reload would wipe.
        _ = try browser.evaluate("""
            window.noReload = true; window.drawn = []; const seen = new Set();
            const record = () => { for (const li of document.querySelectorAll('li.task')) {
              const key = li.dataset.taskId + ' ' + li.dataset.state;
              if (!seen.has(key)) { seen.add(key); drawn.push({service: li.dataset.service, state: li.dataset.state,
                ms: Date.now() - Number(li.querySelector('time').dataset.since)}); } } };
            record(); drawn.length = 0;
            new MutationObserver(record).observe(document.getElementById('board'), {subtree: true, childList: true, attributes: true});
            true
            """)
        #expect(lab.swarm("node1", "service", "scale", "-d", "web=7").status == 0)
        #expect(browser.waitUntil("document.querySelectorAll('li.task[data-service=web][data-state=running]').length === 7", within: 30) != nil)
        let drawn = try browser.evaluate("drawn.filter(d => d.service === 'web').map(d => d.ms)") as? [Double] ?? []
        #expect(!drawn.isEmpty && drawn.allSatisfy { $0 < 1000 }, "ms from change to page: \(drawn)")
        print("visualizer: change → page, ms: \(drawn.map { Int($0) })")
        #expect(try browser.evaluate("window.noReload === true") as? Bool == true)
        try browser.screenshot(to: artifacts + "/2-scaled.png")

        // A constraint no node meets: a pending box with the scheduler's reason.
        #expect(lab.swarm("node1", "service", "create", "-d", "--name", "nowhere", "--constraint", "node.labels.zone==mars",
                          "busybox", "sleep", "1000").status == 0)
        let reason = "document.querySelector('section[data-column=pending] li.task[data-service=nowhere] .reason')?.textContent ?? ''"
        #expect(browser.waitUntil("(\(reason)).includes('no suitable node')", within: 10) != nil,
                "\(String(describing: try? browser.evaluate(reason)))")
        try browser.screenshot(to: artifacts + "/3-pending.png")

        // Filters: the stack shows its service only.
        _ = try browser.evaluate("location.hash = '#stack=shop'; true")
        #expect(browser.waitUntil("[...document.querySelectorAll('li.task')].every(li => li.dataset.service === 'api')"
            + " && document.querySelectorAll('li.task').length === 2 && document.getElementById('stack').value === 'shop'", within: 5) != nil)
        try browser.screenshot(to: artifacts + "/4-stack-filter.png")
        _ = try browser.evaluate("location.hash = ''; true")

        // A phone's width: the columns stack.
        try browser.call("Emulation.setDeviceMetricsOverride", ["width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true])
        #expect(browser.waitUntil("getComputedStyle(document.getElementById('board')).gridAutoFlow === 'row'", within: 5) != nil)
        try browser.screenshot(to: artifacts + "/5-phone.png")
        try browser.call("Emulation.clearDeviceMetricsOverride")

        // node3 goes down: its dot turns red, its tasks run elsewhere.
        let node3 = try #require(lab.daemonPID("node3"))
        #expect(kill(node3, SIGKILL) == 0)
        #expect(browser.waitUntil("document.querySelector('section[data-hostname=node3] .dot')?.dataset.state === 'down'", within: 10) != nil)
        #expect(try browser.evaluate("getComputedStyle(document.querySelector('section[data-hostname=node3] .dot')).backgroundColor")
                    as? String == "rgb(207, 34, 46)")
        #expect(browser.waitUntil("document.querySelectorAll('section[data-hostname=node3] li.task').length === 0"
            + " && document.querySelectorAll('li.task[data-service=web][data-state=running]').length === 7"
            + " && document.querySelectorAll('li.task[data-service=api][data-state=running]').length === 2", within: 30) != nil,
                "\(String(describing: try? browser.evaluate(Self.boxesPerNode)))")
        try browser.screenshot(to: artifacts + "/6-node3-down.png")
        #expect(try browser.evaluate("window.noReload === true") as? Bool == true)
    }

    static func json(_ counts: [String: Int]) -> String {
        "{" + counts.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
    }
}
