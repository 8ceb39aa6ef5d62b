import SwarmAPI
import FoundationEssentials

/// `env_file:` files and the `.env` beside a compose file, read as Docker
/// reads `--env-file`: `KEY=VALUE` lines taken as they are, `#` comments and
/// blank lines skipped, a bare `KEY` passes the caller's value through (and
/// is dropped when the caller has none).
enum EnvFile {
    /// `unquote`: `.env` values may be quoted (`KEY="a b"`), as Compose reads them.
    static func parse(_ text: String, path: String, environment: [String: String], unquote: Bool = false)
        throws(ComposeError) -> [(key: String, value: String)] {
        var result: [(key: String, value: String)] = []
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(rawLine.drop { $0 == " " || $0 == "\t" })
            if line.hasSuffix("\r") { line = line.dropLast() }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if unquote, line.hasPrefix("export ") { line = line.dropFirst(7) }
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0])
            let lineNumber = number + 1
            guard !key.isEmpty else {
                throw ComposeError(file: path, line: lineNumber, message: "no variable name on line '\(line)'")
            }
            guard !key.contains(where: { $0 == " " || $0 == "\t" }) else {
                throw ComposeError(file: path, line: lineNumber, message: "variable '\(key)' contains whitespaces")
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

    static func read(_ path: String, environment: [String: String], unquote: Bool = false, at position: Position? = nil)
        throws(ComposeError) -> [(key: String, value: String)] {
        guard let data = FileManager.default.contents(atPath: path) else {
            let message = "cannot read env file \(path): no such file or not readable"
            throw position?.error(message) ?? ComposeError(file: path, message: message)
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path, environment: environment, unquote: unquote)
    }
}
