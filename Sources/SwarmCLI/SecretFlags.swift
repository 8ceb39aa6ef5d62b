import ArgumentParser
import SwarmAPI
import SystemCalls

/// `--secret` and `--config` on `service create`: Docker's
/// `NAME` or `source=NAME,target=T,uid=U,gid=G,mode=0444`.
struct SecretCreateFlags: ParsableArguments {
    @Option(name: .customLong("secret"), help: "Specify secrets to expose to the service") var secret: [String] = []
    @Option(name: .customLong("config"), help: "Specify configurations to expose to the service") var config: [String] = []

    func apply(to spec: inout ServiceSpec) throws {
        try SecretFlags.apply(to: &spec, secretAdd: secret, secretRemove: [], configAdd: config, configRemove: [])
    }
}

/// `--secret-add|rm` and `--config-add|rm` on `service update`.
struct SecretUpdateFlags: ParsableArguments {
    @Option(name: .customLong("secret-add"), help: "Add or update a secret on a service") var secretAdd: [String] = []
    @Option(name: .customLong("secret-rm"), help: "Remove a secret") var secretRemove: [String] = []
    @Option(name: .customLong("config-add"), help: "Add or update a config file on a service") var configAdd: [String] = []
    @Option(name: .customLong("config-rm"), help: "Remove a configuration file") var configRemove: [String] = []

    func apply(to spec: inout ServiceSpec) throws {
        try SecretFlags.apply(to: &spec, secretAdd: secretAdd, secretRemove: secretRemove, configAdd: configAdd, configRemove: configRemove)
    }
}

enum SecretFlags {
    static func apply(to spec: inout ServiceSpec, secretAdd: [String], secretRemove: [String], configAdd: [String], configRemove: [String]) throws {
        guard var container = spec.taskTemplate.containerSpec else { return }
        var secrets = (container.secrets ?? []).filter { !secretRemove.contains($0.secretName) && !secretRemove.contains($0.secretID) }
        for text in secretAdd {
            let (name, file) = try Self.parse(text, "secret", defaultTarget: { $0 })
            secrets.removeAll { $0.file?.name == file.name }
            secrets.append(SecretReference(file: file, secretID: "", secretName: name))
        }
        var configs = (container.configs ?? []).filter { !configRemove.contains($0.configName) && !configRemove.contains($0.configID) }
        for text in configAdd {
            let (name, file) = try Self.parse(text, "config", defaultTarget: { "/" + $0 })
            configs.removeAll { $0.file?.name == file.name }
            configs.append(ConfigReference(file: file, configID: "", configName: name))
        }
        container.secrets = secrets.isEmpty ? nil : secrets
        container.configs = configs.isEmpty ? nil : configs
        spec.taskTemplate.containerSpec = container
    }

    static func parse(_ text: String, _ flag: String, defaultTarget: (String) -> String) throws -> (String, FileTarget) {
        guard text.contains("=") else { return (text, FileTarget(name: defaultTarget(text))) }
        var source: String?, target: String?, uid = "0", gid = "0", mode: UInt32 = 0o444
        for field in text.split(separator: ",") {
            let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw RuntimeError.badInput("invalid argument \"\(text)\" for \"--\(flag)\" flag: invalid field '\(field)' must be a key=value pair") }
            switch parts[0].lowercased() {
            case "source", "src": source = parts[1]
            case "target": target = parts[1]
            case "uid": uid = parts[1]
            case "gid": gid = parts[1]
            case "mode":
                guard let bits = UInt32(parts[1], radix: 8) else { throw RuntimeError.badInput("invalid argument \"\(text)\" for \"--\(flag)\" flag: mode takes octal bits such as 0400") }
                mode = bits
            default: throw RuntimeError.badInput("invalid argument \"\(text)\" for \"--\(flag)\" flag: invalid field key \(parts[0])")
            }
        }
        guard let source, !source.isEmpty else { throw RuntimeError.badInput("invalid argument \"\(text)\" for \"--\(flag)\" flag: source is required") }
        return (source, FileTarget(name: target ?? defaultTarget(source), uid: uid, gid: gid, mode: mode))
    }
}
