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
    ],
    targets: [
        // Only the code that must run between clone() and execve(), the
        // per-container monitor, and syscalls Swift cannot call.
        .target(
            name: "CRuntime",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [.linkedLibrary("seccomp"), .linkedLibrary("cap")]
        ),
        // Containers on one host: spec, cgroups, mounts, seccomp, capabilities, state, logs.
        .target(name: "Runtime", dependencies: ["CRuntime"]),
        // The object model shared by manager, agents and CLI. No I/O.
        .target(name: "SwarmAPI"),
        .target(name: "Manager", dependencies: ["SwarmAPI"]),
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
        // Need root (namespaces, mounts, cgroups); each test skips with a reason otherwise.
        // The swarm binary they run is built by `swift build` (scripts/test).
        .testTarget(name: "PrivilegedTests", dependencies: ["Runtime"]),
    ]
)
