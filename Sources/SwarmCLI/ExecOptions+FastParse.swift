/// `swarm container exec …` read by hand: ArgumentParser's parse of it
/// costs milliseconds at every start (it reflects on the command, and the
/// Swift runtime scans this binary's conformance tables for each type it
/// meets), more than the exec itself. This reader knows exactly the forms
/// `ContainerCommand.Exec` accepts and declines everything else (help,
/// unknown or malformed flags, too few arguments), which then goes to
/// ArgumentParser for its errors and help. SwarmCLITests hold it to the
/// same results as ArgumentParser.
extension ExecOptions {
    /// nil: not `container exec`, or not for this reader.
    static func parse(fast commandLine: [String]) -> ExecOptions? {
        guard commandLine.count > 2, commandLine[0] == "container", commandLine[1] == "exec" else { return nil }
        let arguments = commandLine.dropFirst(2)
        var options = ExecOptions()
        var index = arguments.startIndex
        /// The value after an option; ArgumentParser refuses one that looks like an option.
        func nextValue() -> String? {
            index += 1
            guard index < arguments.endIndex, !arguments[index].hasPrefix("-") else { return nil }
            return arguments[index]
        }
        // Options stop at the first positional (the container): the rest is the command's.
        while index < arguments.endIndex, arguments[index].hasPrefix("-") {
            let argument = arguments[index]
            if argument == "-" { return nil }   // ArgumentParser refuses it as the container
            if argument.hasPrefix("--") {
                let body = argument.dropFirst(2)
                let name = body.prefix { $0 != "=" }
                let inline = name.endIndex < body.endIndex ? String(body[body.index(after: name.endIndex)...]) : nil
                if let flag = flagSetter("--" + name) {
                    if inline != nil { return nil }
                    flag(&options)
                } else if let option = valueSetter("--" + name) {
                    // ArgumentParser refuses an empty `--env=`, not an empty next argument.
                    guard let value = inline ?? nextValue(), !(inline?.isEmpty ?? false) else { return nil }
                    option(&options, value)
                } else {
                    return nil   // --help, `--` before the container, unknown names
                }
            } else {
                // -i, -it, -itd; -e/-u/-w alone, with the value next.
                let letters = Array(argument.dropFirst())
                if letters.count == 1, let option = valueSetter("-" + String(letters[0])) {
                    guard let value = nextValue() else { return nil }
                    option(&options, value)
                } else {
                    for letter in letters {
                        guard let flag = flagSetter("-" + String(letter)) else { return nil }
                        flag(&options)
                    }
                }
            }
            index += 1
        }
        let positionals = arguments[index...]
        guard positionals.count >= 2 else { return nil }
        options.container = positionals.first!
        options.command = Array(positionals.dropFirst())
        return options
    }

    /// `name` as written: "-i" or "--interactive".
    private static func flagSetter(_ name: String) -> ((inout ExecOptions) -> Void)? {
        switch name {
        case "-i", "--interactive": return { $0.interactive = true }
        case "-t", "--tty": return { $0.tty = true }
        case "-d", "--detach": return { $0.detach = true }
        case "--privileged": return { $0.privileged = true }
        default: return nil
        }
    }

    private static func valueSetter(_ name: String) -> ((inout ExecOptions, String) -> Void)? {
        switch name {
        case "-e", "--env": return { $0.env.append($1) }
        case "--env-file": return { $0.envFile.append($1) }
        case "-u", "--user": return { $0.user = $1 }
        case "-w", "--workdir": return { $0.workdir = $1 }
        case "--detach-keys": return { $0.detachKeys = $1 }
        case "--state-dir": return { $0.stateDir = $1 }
        case "--data-dir": return { $0.dataDir = $1 }
        case "--cgroup-parent": return { $0.cgroupParent = $1 }
        default: return nil
        }
    }
}
