import FoundationEssentials
import SwarmAPI

/// Reads compose files into a `StackPlan`, as `docker stack deploy` does:
/// variable substitution, several files merged, every key checked with
/// file, line and column, then converted the way docker/cli converts.
public enum ComposeLoader {
    /// files: paths as given with -c (in order, merged as Docker merges them).
    /// environment: the caller's environment; a `.env` beside the first file
    /// adds to it (the environment wins, as Docker).
    /// Relative paths (bind sources, env_file, secrets/configs `file:`) are
    /// relative to the first file's directory.
    public static func load(files: [String], environment: [String: String], namespace: String) throws(ComposeError) -> StackPlan {
        guard let first = files.first else { throw ComposeError(file: "", message: "no compose file given (use -c FILE)") }
        let directory = absoluteDirectory(of: first, environment: environment)
        var variables = environment
        let dotEnv = directory + "/.env"
        if FileManager.default.fileExists(atPath: dotEnv) {
            for (key, value) in try EnvFile.entries(dotEnv, environment: environment, unquote: true) where variables[key] == nil {
                variables[key] = value
            }
        }
        let interpolation = Interpolation(environment: variables)
        let reader = ComposeReader(workingDirectory: directory, environment: variables)
        var merged: ComposeModel?
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ComposeError(file: file, message: "cannot read the compose file (no such file or not readable)")
            }
            guard let text = String(validating: data, as: UTF8.self) else {
                throw ComposeError(file: file, message: "the compose file is not UTF-8 text")
            }
            guard let root = try YAMLValue.parse(text, file: file, interpolation: interpolation) else {
                throw ComposeError(file: file, message: "empty compose file")
            }
            let model = try reader.read(root)
            if merged == nil { merged = model } else { merged!.merge(model) }
        }
        guard let model = merged, !model.services.isEmpty else {
            throw ComposeError(file: first, message: "no services: a stack needs at least one service under services:")
        }
        var plan = try StackConverter(namespace: namespace, model: model).convert()
        plan.warnings = interpolation.warnings + plan.warnings
        return plan
    }

    /// The directory of `path`, absolute (against the current directory).
    static func absoluteDirectory(of path: String, environment: [String: String]) -> String {
        var directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        if directory.isEmpty { directory = "/" }
        if directory.hasPrefix("/") { return ComposeReader.clean(directory) }
        return ComposeReader.clean(FileManager.default.currentDirectoryPath + "/" + directory)
    }
}
