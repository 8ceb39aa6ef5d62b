import ArgumentParser
import FoundationEssentials
import Glibc
import OCIImages
import Synchronization
import SystemCalls

struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Pull, push, load, import and manage images on this host.",
        subcommands: [Pull.self, Push.self, Load.self, Import.self, List.self, Inspect.self, Remove.self, Prune.self]
    )
}

/// Options of the commands that reach registries.
public struct RegistryOptions: ParsableArguments {
    @Option(name: .customLong("insecure-registry"),
            help: "Registry (host:port) to reach over plain HTTP; loopback ones always are (env SWARM_INSECURE_REGISTRIES).")
    public var insecureRegistries: [String] = []

    public init() {}
}

/// Pulls an image with `docker pull`'s output; shared by `image pull` and
/// `container run` of an absent image.
func pullImage(_ reference: ImageReference, store: ImageStore, registry: RegistryOptions, quiet: Bool = false,
               output: Int32 = 1) async throws {
    try await DaemonBinary.operations().pull(reference, store: store, insecureRegistries: registry.insecureRegistries, quiet: quiet, output: output)
}

extension ImageCommand {
    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "pull", abstract: "Download an image from a registry.")
        @OptionGroup var global: RuntimeOptions
        @OptionGroup var registry: RegistryOptions
        @Flag(name: .shortAndLong, help: "Suppress verbose output.") var quiet = false
        @Argument(help: "NAME[:TAG|@DIGEST]") var name: String

        func run() async throws {
            let reference = try ImageReference.parse(name)
            try await pullImage(reference, store: try global.imageStore(), registry: registry, quiet: quiet)
            writeStdout(reference.description + "\n")
        }
    }

    struct Push: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "push", abstract: "Upload an image to its registry.")
        @OptionGroup var global: RuntimeOptions
        @OptionGroup var registry: RegistryOptions
        @Flag(name: .shortAndLong, help: "Suppress verbose output.") var quiet = false
        @Argument(help: "NAME[:TAG]") var name: String

        func run() async throws {
            let reference = try ImageReference.parse(name)
            let store = try global.imageStore()
            let operations = try DaemonBinary.operations()
            if !quiet { writeStdout("The push refers to repository [\(reference.familiarRepository)]\n") }
            let pushed = try await operations.push(reference, store: store, insecureRegistries: registry.insecureRegistries, quiet: quiet)
            if !quiet { writeStdout("\(reference.tag ?? "latest"): digest: \(pushed.digest) size: \(pushed.size)\n") }
        }
    }

    struct Load: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "load", abstract: "Load images from a docker save or OCI layout archive.")
        @OptionGroup var global: RuntimeOptions
        @Option(name: .shortAndLong, help: "Read from this tar archive.") var input: String
        @Flag(name: .shortAndLong, help: "Suppress the load output.") var quiet = false

        func run() throws {
            let loaded = try ImageArchive(store: try global.imageStore()).load(input)
            if quiet { return }
            for name in loaded {
                // Docker prints the short form: "busybox:latest", not "docker.io/library/busybox:latest".
                let shown = (try? ImageReference.parse(name))?.familiar ?? name
                print(name.hasPrefix("sha256:") ? "Loaded image ID: \(name)" : "Loaded image: \(shown)")
            }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Make an image from a root file system tarball.",
            usage: "swarm image import ROOTFS.tar [REPOSITORY[:TAG]]")
        @OptionGroup var global: RuntimeOptions
        @Option(name: .shortAndLong, help: "Apply a Dockerfile-like instruction: CMD, ENTRYPOINT, ENV, EXPOSE, STOPSIGNAL, USER, VOLUME, WORKDIR (JSON or plain form).")
        var change: [String] = []
        @Argument(help: "A tar archive (plain, gzip or zstd) of a root file system.") var file: String
        @Argument(help: "Name for the image.") var name: String?

        func run() throws {
            let reference = try name.map(ImageReference.parse) ?? ImageReference.parse("imported-\(UUID().uuidString.prefix(8).lowercased()):latest")
            var config = ImageConfig.ContainerConfig()
            for instruction in change { try Changes.apply(instruction, to: &config) }
            let id = try ImageArchive(store: try global.imageStore()).importRootfs(file, as: reference, config: config)
            print(id.description)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List images.", aliases: ["list"])
        @OptionGroup var global: RuntimeOptions
        @Flag(name: .shortAndLong, help: "Only show image IDs.") var quiet = false
        @Flag(name: .customLong("no-trunc"), help: "Don't truncate output.") var noTrunc = false
        @Flag(name: .customLong("digests"), help: "Show digests.") var digests = false

        func run() throws {
            let images = try global.imageStore().list()
            if quiet {
                for id in Set(images.map(\.id)).sorted() { print(noTrunc ? id.description : id.short) }
                return
            }
            var header = ["REPOSITORY", "TAG"]
            if digests { header.append("DIGEST") }
            header += ["IMAGE ID", "CREATED", "SIZE"]
            var rows = [header]
            let now = Date()
            for image in images {
                let names = image.references.isEmpty ? ["<none>"] : image.references
                for name in names {
                    let reference = try? ImageReference.parse(name)
                    var row = [reference?.familiarRepository ?? "<none>", reference?.tag ?? "<none>"]
                    if digests { row.append(image.repoDigest?.description ?? "<none>") }
                    let created = image.config.created.flatMap { try? Date($0, strategy: .iso8601) }
                    row += [noTrunc ? image.id.description : image.id.short,
                            created.map { Render.humanDuration(now.timeIntervalSince($0)) + " ago" } ?? "N/A",
                            Render.size(image.size)]
                    rows.append(row)
                }
            }
            print(Render.table(rows), terminator: "")
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show details of images as JSON.")
        @OptionGroup var global: RuntimeOptions
        @Argument(help: "Image names or IDs.") var images: [String]

        func run() throws {
            let store = try global.imageStore()
            try printInspect(images) { name in
                guard let image = try store.lookup(name) else { throw RuntimeError.badInput("No such image: \(name)") }
                return ImageInspect(image, store: store)
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove images.", aliases: ["remove", "rmi"])
        @OptionGroup var global: RuntimeOptions
        @Flag(name: .shortAndLong, help: "Remove even if a container uses the image.") var force = false
        @Argument(help: "Image names or IDs.") var images: [String]

        func run() throws {
            let runtime = try global.runtime()
            var failed = false
            for name in images {
                do {
                    for line in try runtime.removeImage(name, force: force) { print(line) }
                } catch {
                    writeStderr("swarm: \(error)\n")
                    failed = true
                }
            }
            if failed { throw ExitCode(1) }
        }
    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove unused images and layers.")
        @OptionGroup var global: RuntimeOptions
        @Flag(name: .shortAndLong, help: "Remove all images no container uses, not just untagged ones.") var all = false
        @Flag(name: .shortAndLong, help: "Do not ask for confirmation.") var force = false

        func run() throws {
            if !force {
                writeStdout(all ? "WARNING! This will remove all images without at least one container associated to them.\n"
                                : "WARNING! This will remove all dangling images.\n")
                writeStdout("Are you sure you want to continue? [y/N] ")
                guard let answer = readLine(), answer.lowercased().hasPrefix("y") else { return }
            }
            let result = try global.runtime().pruneImages(all: all)
            if !result.deleted.isEmpty {
                print("Deleted Images:")
                result.deleted.forEach { print($0) }
                print("")
            }
            print("Total reclaimed space: \(Render.size(result.bytes))")
        }
    }
}

struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "login", abstract: "Log in to a registry (credentials kept in ~/.swarm/config.json).")
    @OptionGroup var registry: RegistryOptions
    @Option(name: .shortAndLong, help: "Username.") var username: String?
    @Option(name: .shortAndLong, help: "Password.") var password: String?
    @Flag(name: .customLong("password-stdin"), help: "Take the password from stdin.") var passwordStdin = false
    @Argument(help: "Registry host[:port] (default: Docker Hub).") var server: String = "docker.io"

    func run() async throws {
        guard let username, !username.isEmpty else {
            throw RuntimeError.badInput("Must provide --username with --password or --password-stdin")
        }
        var secret = password
        if passwordStdin {
            guard password == nil else { throw RuntimeError.badInput("--password and --password-stdin are mutually exclusive") }
            secret = readLine(strippingNewline: true)
        }
        guard let secret, !secret.isEmpty else { throw RuntimeError.badInput("Must provide --password or --password-stdin") }
        if password != nil { writeStderr("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n") }
        let domain = server.hasPrefix("https://") ? String(server.dropFirst(8)) : server.hasPrefix("http://") ? String(server.dropFirst(7)) : server
        let login = CredentialStore.Login(username: username, password: secret)
        try await DaemonBinary.operations().checkLogin(domain: domain, login, insecureRegistries: registry.insecureRegistries)
        try CredentialStore().save(login, for: domain)
        print("Login Succeeded")
    }
}

/// `--change` instructions of `image import`, as `docker import` takes them.
enum Changes {
    static func apply(_ instruction: String, to config: inout ImageConfig.ContainerConfig) throws {
        let parts = instruction.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw RuntimeError.badInput("invalid --change \(instruction): use e.g. CMD [\"sh\"]") }
        let value = parts[1].trimmingTrailingSpaces
        func list() -> [String] {
            if value.hasPrefix("["), let array = try? JSONDecoder().decode([String].self, from: Data(value.utf8)) { return array }
            return ["/bin/sh", "-c", value]
        }
        switch parts[0].uppercased() {
        case "CMD": config.Cmd = list()
        case "ENTRYPOINT": config.Entrypoint = list()
        case "ENV": config.Env = (config.Env ?? []) + [value.contains("=") ? value : value.replacingFirstSpace(with: "=")]
        case "WORKDIR": config.WorkingDir = value
        case "USER": config.User = value
        case "STOPSIGNAL": config.StopSignal = value
        case "EXPOSE":
            var ports = config.ExposedPorts ?? [:]
            for port in value.split(separator: " ") { ports[port.contains("/") ? String(port) : "\(port)/tcp"] = .init() }
            config.ExposedPorts = ports
        case "VOLUME":
            var volumes = config.Volumes ?? [:]
            let paths = value.hasPrefix("[") ? ((try? JSONDecoder().decode([String].self, from: Data(value.utf8))) ?? []) : value.split(separator: " ").map(String.init)
            for path in paths where path.hasPrefix("/") { volumes[path] = .init() }
            config.Volumes = volumes
        default: throw RuntimeError.badInput("\(parts[0]) is not a valid change command: use CMD, ENTRYPOINT, ENV, EXPOSE, STOPSIGNAL, USER, VOLUME or WORKDIR")
        }
    }
}

extension String {
    func replacingFirstSpace(with replacement: String) -> String {
        guard let space = firstIndex(of: " ") else { return self }
        return String(self[..<space]) + replacement + String(self[index(after: space)...])
    }
}

/// Draws pull and push progress as `docker pull` does: one line per layer,
/// redrawn in place on a terminal, a line per status change otherwise.
public final class ProgressRenderer: Sendable {
    private struct State {
        var order: [String] = []
        var lines: [String: String] = [:]
    }
    private let state = Mutex(State())
    private let interactive: Bool
    private let quiet: Bool
    private let output: Int32

    public init(quiet: Bool, output: Int32 = 1) {
        self.quiet = quiet
        self.output = output
        self.interactive = isatty(output) == 1
    }

    private func write(_ text: String) { writeAll(output, text) }

    public func handle(_ event: PullEvent) {
        guard !quiet else { return }
        switch event {
        case .resolving(let tag, let repository):
            write("\(tag): Pulling from \(repository)\n")
        case .layer(let id, let status, let current, let total):
            var line = "\(id): \(status)"
            if let current, let total, total > 0 { line += " " + Render.progressBar(current: current, total: total) }
            update(id: id, line: line, transient: current != nil)
        case .done(let digest, let status):
            write("Digest: \(digest)\nStatus: \(status)\n")
        }
    }

    private func update(id: String, line: String, transient: Bool) {
        state.withLock { state in
            if !interactive {
                // Without a terminal Docker prints status changes only.
                if !transient { write(line + "\n") }
                return
            }
            guard let index = state.order.firstIndex(of: id) else {
                state.order.append(id)
                state.lines[id] = line
                write(line + "\n")
                return
            }
            state.lines[id] = line
            let up = state.order.count - index
            write("\u{1B}[\(up)A\r\u{1B}[2K\(line)\r\u{1B}[\(up)B")
        }
    }
}

/// `swarm image inspect` output, in Docker's field names.
struct ImageInspect: Encodable {
    struct RootFSInfo: Encodable {
        var `Type`: String
        var Layers: [String]
    }
    var Id: String
    var RepoTags: [String]
    var RepoDigests: [String]
    var Created: String
    var Architecture: String
    var Os: String
    var Size: Int64
    var Config: ImageConfig.ContainerConfig?
    var RootFS: RootFSInfo
    var Manifest: String

    init(_ image: StoredImage, store: ImageStore) {
        Id = image.id.description
        let names = image.references.compactMap { try? ImageReference.parse($0) }
        RepoTags = names.filter { $0.tag != nil }.map(\.familiar)
        RepoDigests = image.repoDigest.map { digest in names.map { "\($0.familiarRepository)@\(digest)" } } ?? []
        Created = image.config.created ?? ""
        Architecture = image.config.architecture ?? ""
        Os = image.config.os ?? ""
        Size = image.size
        Config = image.config.config
        RootFS = RootFSInfo(Type: image.config.rootfs?.type ?? "layers", Layers: image.config.rootfs?.diff_ids.map(\.description) ?? [])
        Manifest = image.manifestDigest.description
    }
}
