import ArgumentParser

/// Names a command that does not exist as such, as the docker CLI does
/// ("unknown command: swarm network create"), instead of letting the
/// parser read its words as arguments of the nearest group ("2 unexpected
/// arguments", "Unknown option '--driver'").
enum CommandPath {
    /// The error for `arguments` when their leading words leave the command
    /// tree: the words up to the unknown one, and the group to ask for help.
    static func unknownCommand(_ arguments: [String]) -> (message: String, hint: String)? {
        var group: ParsableCommand.Type = Swarm.self
        var path = ["swarm"]
        for word in arguments {
            // Options and what follows them are the parser's.
            if word.hasPrefix("-") { return nil }
            let subcommands = group.configuration.subcommands
            if subcommands.isEmpty { return nil }
            if word == "help" { return nil }
            guard let next = subcommands.first(where: { $0._commandName == word || $0.configuration.aliases.contains(word) }) else {
                return ("unknown command: \((path + [word]).joined(separator: " "))", "see '\(path.joined(separator: " ")) --help'")
            }
            group = next
            path.append(word)
        }
        return nil
    }
}
