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
        // Store, orchestrator, scheduler, dispatcher, API.
        .target(
            name: "Manager",
            dependencies: ["SwarmAPI", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // The agent on every node: session with the manager, task executor.
        .target(name: "NodeAgent", dependencies: ["SwarmAPI", "Runtime"]),
        .executableTarget(
            name: "swarm",
            dependencies: [
                "Runtime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "container-start-bench",
            dependencies: ["Runtime"],
            path: "bench/container-start-bench"
        ),
        // Unit tests: no root needed.
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime"]),
        .testTarget(name: "SwarmAPITests", dependencies: ["SwarmAPI"]),
        .testTarget(name: "ManagerTests", dependencies: ["Manager", "SwarmAPI"]),
        // Need root (namespaces, mounts, cgroups); each test skips with a reason otherwise.
        // The swarm binary they run is built by `swift build` (scripts/test).
        .testTarget(name: "PrivilegedTests", dependencies: ["Runtime"]),
    ]
)
