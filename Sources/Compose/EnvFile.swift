import SwarmAPI

extension EnvFile {
    /// An env file for a compose file, its failure as a compose error (at
    /// the `env_file:` key that named it, when it cannot be read).
    static func entries(_ path: String, environment: [String: String], unquote: Bool = false, at position: Position? = nil)
        throws(ComposeError) -> [(key: String, value: String)] {
        do {
            return try read(path, environment: environment, unquote: unquote)
        } catch {
            guard error.line == nil else { throw ComposeError(file: path, line: error.line, message: error.message) }
            let message = "cannot read env file \(path): no such file or not readable"
            throw position?.error(message) ?? ComposeError(file: path, message: message)
        }
    }
}
