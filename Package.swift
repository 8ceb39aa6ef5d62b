// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swarm",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "swarm", targets: ["swarm"]),
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
    ],
    targets: [
        // Only the code that must run between clone() and execve(), the
        // per-container monitor, and syscalls Swift cannot call.
        .target(
            name: "CRuntime",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [.linkedLibrary("seccomp"), .linkedLibrary("cap"), .linkedLibrary("archive")]
        ),
        // Containers on one host: spec, cgroups, mounts, seccomp, capabilities,
        // state, logs; OCI images and the registry client.
        .target(
            name: "Runtime",
            dependencies: [
                "CRuntime",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The object model shared by manager, agents and CLI. No I/O.
        .target(name: "SwarmAPI"),
        // Cluster PKI: root CA, node certificates, join tokens, mTLS configurations.
        .target(
            name: "ClusterTLS",
            dependencies: [
                "SwarmAPI",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
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
        // Orchestrator, allocator, scheduler, dispatcher around the store's watch; the API.
        .target(
            name: "Manager",
            dependencies: [
                "SwarmAPI", "ClusterStore", "ClusterTLS", "HTTPServer", "Formatting",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        // The agent on every node: session with the manager, task executor.
        .target(
            name: "NodeAgent",
            dependencies: [
                "SwarmAPI", "Runtime",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .executableTarget(
            name: "swarm",
            dependencies: [
                "Runtime", "SwarmAPI", "ClusterStore", "Manager", "NodeAgent", "ClusterTLS", "Formatting", "HTTPServer",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "container-start-bench",
            dependencies: ["Runtime"],
            path: "bench/container-start-bench"
        ),
        .executableTarget(
            name: "scheduler-bench",
            dependencies: ["Manager", "ClusterStore", "SwarmAPI"],
            path: "bench/scheduler-bench"
        ),
        // Unit tests: no root needed.
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime"]),
        .testTarget(name: "SwarmAPITests", dependencies: ["SwarmAPI"]),
        .testTarget(name: "ClusterStoreTests", dependencies: ["ClusterStore", "SwarmAPI"]),
        .testTarget(name: "ManagerTests", dependencies: ["Manager", "ClusterStore", "SwarmAPI", "HTTPServer"]),
        .testTarget(name: "FormattingTests", dependencies: ["Formatting"]),
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
                "ClusterTLS", "SwarmAPI",
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
        .testTarget(name: "PrivilegedTests", dependencies: ["Runtime"]),
    ]
)
