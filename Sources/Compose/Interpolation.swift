import SwarmAPI
/// Variable substitution in compose values, as Docker's: `$VAR`, `${VAR}`,
/// `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`,
/// `${VAR:+other}`, `${VAR+other}`, `$$` for a literal `$`. Defaults may
/// themselves hold variables. A variable that is unset and has no default
/// becomes "" and is named once in a warning.
final class Interpolation {
    let environment: [String: String]
    /// Unset variables met, in order, each once.
    private(set) var unset: [String] = []

    init(environment: [String: String]) { self.environment = environment }

    var warnings: [String] {
        unset.map { "The \"\($0)\" variable is not set. Defaulting to a blank string." }
    }

    func substitute(_ text: String, at position: Position, path: String) throws(ComposeError) -> String {
        let characters = Array(text)
        var result = ""
        var index = 0
        func invalid() -> ComposeError {
            position.error("invalid interpolation format for \(path): \"\(text)\"; you may need to escape any $ with another $")
        }
        while index < characters.count {
            let character = characters[index]
            guard character == "$" else { result.append(character); index += 1; continue }
            guard index + 1 < characters.count else { throw invalid() }
            let next = characters[index + 1]
            if next == "$" { result.append("$"); index += 2; continue }
            if next == "{" {
                // Find the matching brace (defaults may nest `${…}`).
                var depth = 1, end = index + 2
                while end < characters.count {
                    if characters[end] == "{" && characters[end - 1] == "$" { depth += 1 }
                    if characters[end] == "}" { depth -= 1; if depth == 0 { break } }
                    end += 1
                }
                guard end < characters.count else { throw invalid() }
                result += try braced(String(characters[(index + 2)..<end]), at: position, path: path, invalid: invalid)
                index = end + 1
                continue
            }
            guard Self.isNameStart(next) else { throw invalid() }
            var end = index + 1
            while end < characters.count, Self.isNameCharacter(characters[end]) { end += 1 }
            result += value(String(characters[(index + 1)..<end]))
            index = end
        }
        return result
    }

    private func value(_ name: String) -> String {
        if let value = environment[name] { return value }
        if !unset.contains(name) { unset.append(name) }
        return ""
    }

    private func braced(_ body: String, at position: Position, path: String, invalid: () -> ComposeError) throws(ComposeError) -> String {
        let characters = Array(body)
        guard let first = characters.first, Self.isNameStart(first) else { throw invalid() }
        var end = 1
        while end < characters.count, Self.isNameCharacter(characters[end]) { end += 1 }
        let name = String(characters[0..<end])
        if end == characters.count { return value(name) }
        var operation = String(characters[end])
        var rest = end + 1
        if operation == ":" {
            guard rest < characters.count else { throw invalid() }
            operation += String(characters[rest])
            rest += 1
        }
        let argument = String(characters[rest...])
        let current = environment[name]
        let set = current != nil
        let setAndNotEmpty = !(current ?? "").isEmpty
        switch operation {
        case ":-": return setAndNotEmpty ? current! : try substitute(argument, at: position, path: path)
        case "-": return set ? current! : try substitute(argument, at: position, path: path)
        case ":+": return setAndNotEmpty ? try substitute(argument, at: position, path: path) : ""
        case "+": return set ? try substitute(argument, at: position, path: path) : ""
        case ":?", "?":
            let satisfied = operation == ":?" ? setAndNotEmpty : set
            if satisfied { return current! }
            let message = try substitute(argument, at: position, path: path)
            throw position.error("required variable \(name) is missing a value" + (message.isEmpty ? "" : ": \(message)"))
        default: throw invalid()
        }
    }

    private static func isNameStart(_ character: Character) -> Bool {
        character == "_" || (character.isASCII && character.isLetter)
    }
    private static func isNameCharacter(_ character: Character) -> Bool {
        isNameStart(character) || (character.isASCII && character.isNumber)
    }
}
