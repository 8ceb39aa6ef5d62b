import FoundationEssentials
import Glibc
import HostNetwork
import Logging
import NIOCore
import NIOPosix
import NodeAgent
import SwarmAPI

/// The service mesh of one node: VIP balancing and ingress replies in each
/// task's namespace, published ports and the gateway's masquerade in the
/// node's, and the DNS server at 127.0.0.11 in each task's. It builds on what
/// the overlay data path wired (`WiredTask`, `NodeWiring`) and touches only
/// its own `table ip swarm`, its own rules and routes, and its own sockets.
public actor ServiceMesh {
    private let nodeNamespace: String?
    private let forwarder: DNSForwarder
    private let group: any EventLoopGroup
    private let logger = Logger(label: "swarm.mesh")

    private var views: [NetworkView] = []
    private var node: NodeWiring?
    private var attached: [String: AttachedTask] = [:]
    /// The node table's text as last applied (nil: none of ours there).
    private var nodeTable: String?
    /// Connections counted by node tables since replaced (a replaced table's counters start again at 0).
    private var carriedConnections: [PublishedConnections: UInt64] = [:]

    private struct AttachedTask {
        var task: WiredTask
        var rules: TaskRules?
        var zone: DNSZoneBox
        var servers: [any Channel]
    }

    /// `nodeNamespace`: the node's network namespace (nil: the agent's own, as
    /// in swarmd; tests give one of theirs). `resolvConf`: the node's resolvers,
    /// where names that are not the mesh's are forwarded (read once, here).
    public init(nodeNamespace: String? = nil, resolvConf: String = "/etc/resolv.conf",
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.nodeNamespace = nodeNamespace
        self.group = group
        let text = (try? String(contentsOfFile: resolvConf, encoding: .utf8)) ?? ""
        forwarder = DNSForwarder(resolvers: DNSForwarder.resolvers(fromResolvConf: text), namespacePath: nodeNamespace)
    }

    /// The networks this node needs, whole, and what the data path made on the
    /// node: every table, route and zone follows at once.
    public func update(_ networks: [NetworkView], node: NodeWiring) async {
        views = networks
        self.node = node
        applyNodeTable()
        for taskID in attached.keys.sorted() { applyTask(taskID) }
    }

    /// A task whose namespace the data path has wired, before its container
    /// starts (or found wired after a restart): its VIP rules, ingress reply
    /// routes and DNS server. Attaching again replaces what was there.
    public func attach(_ task: WiredTask) async throws {
        if attached[task.taskID] != nil { await detach(taskID: task.taskID) }
        let zone = DNSZoneBox(DNSZone(task: task, views: views))
        var servers: [any Channel] = []
        do {
            servers.append(try await DNSServer.start(namespacePath: task.namespacePath, zone: zone, forwarder: forwarder, group: group))
            servers.append(try await DNSServer.startTCP(namespacePath: task.namespacePath, zone: zone, forwarder: forwarder, group: group))
        } catch {
            for server in servers { try? await server.close() }
            throw MeshError.dns("cannot serve DNS in task \(task.taskID)'s namespace: \(error)")
        }
        // The views may have changed while the servers started (an actor's awaits let `update` in).
        zone.set(DNSZone(task: task, views: views))
        let rules = MeshRules.task(task, views: views)
        do {
            try apply(rules, over: nil, in: task.namespacePath)
        } catch {
            for server in servers { try? await server.close() }
            removeRoutes(rules.routes, in: task.namespacePath)
            removeTable(in: task.namespacePath)
            throw error
        }
        attached[task.taskID] = AttachedTask(task: task, rules: rules, zone: zone, servers: servers)
        applyNodeTable()
    }

    /// Everything `attach` made for the task goes (what is left of it, if its namespace is gone already).
    public func detach(taskID: String) async {
        guard let entry = attached.removeValue(forKey: taskID) else { return }
        for server in entry.servers { try? await server.close() }
        if FileManager.default.fileExists(atPath: entry.task.namespacePath) {
            removeRoutes(entry.rules?.routes ?? [], in: entry.task.namespacePath)
            removeTable(in: entry.task.namespacePath)
        }
        applyNodeTable()
    }

    /// On leave: every task's, and the node's table.
    public func removeAll() async {
        for taskID in attached.keys.sorted() { await detach(taskID: taskID) }
        removeTable(in: nodeNamespace)
        nodeTable = nil
        views = []
        node = nil
    }

    // MARK: Applying

    private func applyNodeTable() {
        guard let node else { return }
        let localTasks = attached.values.map(\.task).sorted { $0.taskID < $1.taskID }
        let text = MeshRules.node(views: views, node: node, localTasks: localTasks)
        guard text != nodeTable else { return }
        allowLoopbackSources(MeshRules.loopbackLinks(node))
        let counted = tableConnections()
        do {
            _ = try Nftables.run(text, in: nodeNamespace)
            nodeTable = text
            carriedConnections.merge(counted, uniquingKeysWith: +)
        } catch {
            logger.error("node table: \(error)")
        }
    }

    /// Connections each published port took on this node since the daemon started.
    public func publishedConnections() -> [PublishedConnections: UInt64] {
        carriedConnections.merging(tableConnections(), uniquingKeysWith: +)
    }

    private func tableConnections() -> [PublishedConnections: UInt64] {
        guard nodeTable != nil, let listing = try? Nftables.run("list table ip \(MeshRules.table)", in: nodeNamespace) else { return [:] }
        return MeshRules.publishedConnections(listing: listing)
    }

    private func applyTask(_ taskID: String) {
        guard var entry = attached[taskID] else { return }
        entry.zone.set(DNSZone(task: entry.task, views: views))
        let rules = MeshRules.task(entry.task, views: views)
        guard rules != entry.rules else { return }
        do {
            try apply(rules, over: entry.rules, in: entry.task.namespacePath)
            entry.rules = rules
        } catch {
            // Applied again at the next update, whatever part failed.
            entry.rules = nil
            logger.error("task \(taskID): \(error)")
        }
        attached[taskID] = entry
    }

    /// The table in one transaction, then the reply routes that changed.
    private func apply(_ rules: TaskRules, over old: TaskRules?, in namespacePath: String) throws {
        if rules.nft != old?.nft { _ = try Nftables.run(rules.nft, in: namespacePath) }
        let previous = old?.routes ?? []
        removeRoutes(previous.subtracting(rules.routes), in: namespacePath)
        let added = old == nil ? rules.routes : rules.routes.subtracting(previous)
        guard !added.isEmpty else { return }
        let netlink = try Netlink(namespace: networkNamespace(at: namespacePath))
        for route in added.sorted(by: { $0.mark < $1.mark }) {
            try netlink.replaceDefaultRoute(via: route.gateway, link: route.link, table: route.table)
            do {
                try netlink.addRule(fwmark: route.mark, table: route.table, priority: MarkRoute.rulePriority)
            } catch let error as NetlinkError where error.errno == EEXIST {
                // Left by an agent before a restart: the same rule.
            }
        }
    }

    private func removeRoutes(_ routes: Set<MarkRoute>, in namespacePath: String) {
        guard !routes.isEmpty, let netlink = try? Netlink(namespace: networkNamespace(at: namespacePath)) else { return }
        for route in routes {
            try? netlink.deleteRule(fwmark: route.mark, table: route.table, priority: MarkRoute.rulePriority)
            try? netlink.deleteDefaultRoute(table: route.table)
        }
    }

    /// `net.ipv4.conf.LINK.route_localnet=1` in the node's namespace (a
    /// link not there yet is set at a later update).
    private func allowLoopbackSources(_ links: [String]) {
        let write = { (link: String) in
            let fd = open("/proc/sys/net/ipv4/conf/\(link)/route_localnet", O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { return }
            _ = Glibc.write(fd, "1", 1)
            close(fd)
        }
        for link in links where !link.isEmpty && !link.contains("/") {
            if let nodeNamespace { try? networkNamespace(at: nodeNamespace).run { write(link) } } else { write(link) }
        }
    }

    private func removeTable(in namespacePath: String?) {
        do { _ = try Nftables.run(MeshRules.deletion, in: namespacePath) } catch {
            logger.warning("remove table ip \(MeshRules.table): \(error)")
        }
    }
}
