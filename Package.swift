// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swarm",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "swarm", targets: ["swarm"]),
        .executable(name: "swarmd", targets: ["swarmd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // Only the code that must run between clone() and execve(), the
        // per-container monitor, and syscalls Swift cannot call.
        .target(
            name: "CRuntime",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [.linkedLibrary("seccomp"), .linkedLibrary("cap"), .linkedLibrary("dl")]
        ),
        // The one syscall helper and the errors that carry errno, the call and its argument.
        .target(name: "SystemCalls"),
        // OCI images on disk: the store, references, archives (load/import), layer unpacking. No network.
        .target(
            name: "OCIImages",
            dependencies: ["CRuntime", "SystemCalls"]
        ),
        // Registries: the distribution API client, pull and push, credentials.
        .target(
            name: "OCIRegistry",
            dependencies: [
                "OCIImages", "SystemCalls",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Containers on one host: spec, cgroups, mounts, seccomp, capabilities, state, logs.
        .target(name: "Containers", dependencies: ["CRuntime", "SystemCalls", "OCIImages", "SwarmAPI"]),
        // The host's network plumbing: rtnetlink behind a socket protocol,
        // network namespaces. Nothing of the runtime.
        .target(name: "HostNetwork", dependencies: ["SystemCalls"]),
        // A node's overlay data path: sandboxes, VXLAN peers, task namespaces, the gateway bridge.
        .target(
            name: "OverlayNetwork",
            dependencies: ["HostNetwork", "SwarmAPI", "NodeAgent", "SystemCalls", .product(name: "Logging", package: "swift-log")]
        ),
        // The lab: a swarm of several nodes on one machine, each in a network
        // namespace of its own; used by the CLI (`swarm lab`) and the tests.
        .target(name: "Lab", dependencies: ["HostNetwork", "Containers", "SystemCalls"]),
        // The object model shared by manager, agents and CLI. No I/O.
        .target(name: "SwarmAPI"),
        // Compose files (Yams, with line and column) into a stack's plan: the
        // services, networks, secrets and configs `stack deploy` makes. swarmd only.
        .target(name: "Compose", dependencies: ["SwarmAPI", .product(name: "Yams", package: "Yams")]),
        // Cluster PKI: root CA, node certificates, join tokens, mTLS configurations.
        .target(
            name: "ClusterTLS",
            dependencies: [
                "SwarmAPI", "SystemCalls",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // A small HTTP/1.1 server (unix socket, TCP with TLS) for the manager's API.
        .target(
            name: "HTTPServer",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Docker's --format (Go templates, tabwriter tables) and --filter.
        .target(name: "Formatting"),
        // The cluster's state: commits, reads and the watch of committed changes (SQLite now).
        .target(
            name: "ClusterStore",
            dependencies: [
                "SwarmAPI",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        // The cluster store in etcd (its v3 JSON gateway) and leader election on etcd leases.
        .target(
            name: "EtcdStore",
            dependencies: [
                "ClusterStore", "SwarmAPI",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        // A manager's local etcd member: run and supervised as swarmd's child, TLS from the cluster CA.
        .target(
            name: "EtcdMember",
            dependencies: ["EtcdStore", "ClusterTLS", "CRuntime", .product(name: "Logging", package: "swift-log")]
        ),
        // Orchestrator, allocator, scheduler, dispatcher around the store's watch; the API.
        .target(
            name: "Manager",
            dependencies: [
                "SwarmAPI", "ClusterStore", "ClusterTLS", "HTTPServer", "Formatting",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // The built-in visualizer: the page's files embedded, its live feed (server-sent events).
        .target(name: "Visualizer", dependencies: ["Manager", "HTTPServer"]),
        // The service mesh on every node: VIP balancing and the ingress routing mesh
        // (nftables, libnftables loaded on first use), DNS at 127.0.0.11 in each task's namespace.
        .target(
            name: "ServiceMesh",
            dependencies: [
                "SwarmAPI", "NodeAgent", "HostNetwork", "SystemCalls",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The agent on every node: session with the manager, task executor.
        .target(
            name: "NodeAgent",
            dependencies: [
                "SwarmAPI", "ClusterTLS", "CRuntime", "Containers", "OCIImages", "OCIRegistry",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The CLI's client of the manager's API. The local unix socket is asked
        // with a blocking client; the TLS transport for tcp:// hosts is swarmd's.
        .target(name: "SwarmClient", dependencies: ["SwarmAPI", "SystemCalls", "Formatting"]),
        // The commands: parse, compose, render. What needs TLS, registries or
        // the store is asked of `DaemonBinary`, which only swarmd provides.
        .target(
            name: "SwarmCLI",
            dependencies: [
                "SystemCalls", "Containers", "OCIImages", "SwarmAPI", "SwarmClient", "Formatting", "Lab",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The daemon (manager, agent, API servers) and the CLI's heavy half:
        // cluster PKI and join, registries, tcp:// hosts.
        .target(
            name: "SwarmDaemon",
            dependencies: [
                "CRuntime", "SwarmCLI", "SwarmClient", "SystemCalls", "Containers", "OCIImages", "OCIRegistry", "SwarmAPI", "Manager", "NodeAgent",
                "ClusterTLS", "Visualizer", "ClusterStore", "EtcdStore", "EtcdMember", "HTTPServer", "OverlayNetwork", "ServiceMesh", "HostNetwork", "Compose",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // `swarm`: the CLI, small so that every command starts fast.
        .executableTarget(name: "swarm", dependencies: ["SwarmCLI"]),
        // `swarmd`: the daemon, and the commands `swarm` hands over.
        .executableTarget(name: "swarmd", dependencies: ["SwarmCLI", "SwarmDaemon"]),
        .executableTarget(
            name: "container-start-bench",
            dependencies: ["Containers"],
            path: "bench/container-start-bench"
        ),
        .executableTarget(
            name: "startup-minimal",
            dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "bench/startup-minimal"
        ),
        .executableTarget(
            name: "scheduler-bench",
            dependencies: ["Manager", "ClusterStore", "SwarmAPI", "EtcdStore", "EtcdMember", "ClusterTLS"],
            path: "bench/scheduler-bench"
        ),
        .executableTarget(
            name: "visualizer-bench",
            dependencies: ["Manager", "ClusterStore", "SwarmAPI", "Visualizer", "HTTPServer"],
            path: "bench/visualizer-bench"
        ),
        .executableTarget(
            name: "ha-bench",
            dependencies: ["ClusterStore", "EtcdStore", "SwarmAPI"],
            path: "bench/ha/ha-bench"
        ),
        // Unit tests: no root needed.
        .testTarget(name: "RuntimeTests", dependencies: ["SystemCalls", "Containers", "OCIImages", "OCIRegistry"]),
        .testTarget(name: "SwarmAPITests", dependencies: ["SwarmAPI"]),
        .testTarget(name: "ComposeTests", dependencies: ["Compose", "SwarmAPI"]),
        .testTarget(name: "SwarmCLITests", dependencies: ["SwarmCLI", "SwarmAPI"]),
        .testTarget(name: "ClusterStoreTests", dependencies: [
            "ClusterStore", "EtcdStore", "EtcdMember", "ClusterTLS", "CRuntime", "SwarmAPI", .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        .testTarget(name: "ManagerTests", dependencies: [
            "Manager", "ClusterStore", "SwarmAPI", "HTTPServer", .product(name: "MetricsTestKit", package: "swift-metrics"),
        ]),
        .testTarget(name: "FormattingTests", dependencies: ["Formatting"]),
        .testTarget(name: "VisualizerTests", dependencies: ["Visualizer", "Manager", "ClusterStore", "SwarmAPI", "HTTPServer"]),
        .testTarget(name: "HostNetworkTests", dependencies: ["HostNetwork"]),
        .testTarget(name: "OverlayNetworkTests", dependencies: ["OverlayNetwork", "NodeAgent", "SwarmAPI"]),
        .testTarget(name: "LabTests", dependencies: ["Lab", "SystemCalls"]),
        .testTarget(name: "ServiceMeshTests", dependencies: ["ServiceMesh", "SwarmAPI", "NodeAgent", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "NodeAgentTests", dependencies: ["NodeAgent", "SwarmAPI", "Manager", "ClusterStore", "ClusterTLS", "HTTPServer"]),
        .testTarget(
            name: "HTTPServerTests",
            dependencies: [
                "HTTPServer",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(
            name: "ClusterTLSTests",
            dependencies: [
                "ClusterTLS", "SwarmAPI", "SystemCalls",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
            ]
        ),
        // Need root (namespaces, mounts, cgroups); each test skips with a reason otherwise.
        // The swarm binary they run is built by `swift build` (scripts/test).
        .testTarget(name: "PrivilegedTests", dependencies: [
            "SystemCalls", "Containers", "OCIImages", "OCIRegistry", "HostNetwork", "Lab", "OverlayNetwork", "ServiceMesh", "NodeAgent", "SwarmAPI",
        ]),
    ]
)
