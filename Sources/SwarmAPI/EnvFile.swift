import FoundationEssentials

/// Environment files as Docker reads them, for `--env-file` and compose's
/// `env_file:` and `.env`: `KEY=VALUE` lines taken as they are, `#` comments
/// and blank lines skipped, leading blanks dropped, a bare `KEY` passes the
/// caller's value through (and is dropped when the caller has none).
public enum EnvFile {
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var path: String
        /// 1-based; nil when the file could not be read.
        public var line: Int?
        public var message: String
        public var description: String { path + (line.map { ":\($0)" } ?? "") + ": " + message }
    }

    /// `unquote`: `.env` values may be quoted (`KEY="a b"`) and start with
    /// `export `, as Compose reads them.
    public static func parse(_ text: String, path: String, environment: [String: String], unquote: Bool = false)
        throws(Failure) -> [(key: String, value: String)] {
        var result: [(key: String, value: String)] = []
        // "\r\n" is one Character in Swift: split on every kind of line end.
        for (number, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            var line = Substring(rawLine.drop { $0 == " " || $0 == "\t" })
            if line.isEmpty || line.hasPrefix("#") { continue }
            if unquote, line.hasPrefix("export ") { line = line.dropFirst(7) }
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0])
            guard !key.isEmpty else {
                throw Failure(path: path, line: number + 1, message: "no variable name on line '\(line)'")
            }
            guard !key.contains(where: { $0 == " " || $0 == "\t" }) else {
                throw Failure(path: path, line: number + 1, message: "variable '\(key)' contains whitespaces")
            }
            if parts.count == 2 {
                var value = String(parts[1])
                if unquote, value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                    value = String(value.dropFirst().dropLast())
                }
                result.append((key, value))
            } else if let value = environment[key] {
                result.append((key, value))
            }
        }
        return result
    }

    public static func read(_ path: String, environment: [String: String], unquote: Bool = false)
        throws(Failure) -> [(key: String, value: String)] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(path: path, message: "cannot read env file: no such file or not readable")
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path, environment: environment, unquote: unquote)
    }

    /// A `-e` argument: `KEY=VALUE` as given, a bare `KEY` with the caller's
    /// value, nil when the caller has none (Docker drops it).
    public static func entry(_ text: String, environment: [String: String]) -> String? {
        if text.contains("=") { return text }
        return environment[text].map { "\(text)=\($0)" }
    }
}
