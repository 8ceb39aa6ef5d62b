import SwarmAPI
/// Typed reads of a value; `name` is its path in messages
/// ("deploy.replicas"), `at` where to point (the key, as editors show it).
extension YAMLValue {
    var scalarText: String? {
        if case .scalar(let text, let type) = kind, type != .null { return text }
        return nil
    }

    func string(_ name: String, at position: Position) throws(ComposeError) -> String {
        guard let text = scalarText else { throw position.error("\(name) must be a string, got \(shown)") }
        return text
    }

    func int(_ name: String, at position: Position) throws(ComposeError) -> Int {
        guard let text = scalarText, let value = Int(text) else { throw position.error("\(name) must be an integer, got \(shown)") }
        return value
    }

    func unsigned(_ name: String, at position: Position) throws(ComposeError) -> UInt64 {
        guard let text = scalarText, let value = UInt64(text) else {
            throw position.error("\(name) must be a positive integer, got \(shown)")
        }
        return value
    }

    func double(_ name: String, at position: Position) throws(ComposeError) -> Double {
        guard let text = scalarText, let value = Double(text) else { throw position.error("\(name) must be a number, got \(shown)") }
        return value
    }

    func bool(_ name: String, at position: Position) throws(ComposeError) -> Bool {
        switch scalarText?.lowercased() {
        case "true", "yes", "on", "y": return true
        case "false", "no", "off", "n": return false
        default: throw position.error("\(name) must be a boolean (true or false), got \(shown)")
        }
    }

    func duration(_ name: String, at position: Position) throws(ComposeError) -> Int64 {
        guard case .scalar(let text, .string) = kind, let value = GoDuration.parse(text) else {
            throw position.error("\(name) must be a duration (like 10s, 1m30s or 500ms), got \(shown)")
        }
        return value
    }

    func size(_ name: String, at position: Position) throws(ComposeError) -> Int64 {
        guard let text = scalarText, let value = ByteSize.parse(text) else {
            throw position.error("\(name) must be a size (like 512M or 1g), got \(shown)")
        }
        return value
    }

    func mapping(_ name: String, at position: Position) throws(ComposeError) -> [Entry] {
        switch kind {
        case .mapping(let entries): return entries
        case .scalar(_, .null): return []
        default: throw position.error("\(name) must be a mapping, got \(shown)")
        }
    }

    func sequence(_ name: String, at position: Position) throws(ComposeError) -> [YAMLValue] {
        switch kind {
        case .sequence(let items): return items
        case .scalar(_, .null): return []
        default: throw position.error("\(name) must be a list, got \(shown)")
        }
    }

    func strings(_ name: String, at position: Position) throws(ComposeError) -> [String] {
        var result: [String] = []
        for item in try sequence(name, at: position) { result.append(try item.string("\(name) items", at: item.position)) }
        return result
    }

    /// A string or a list of strings (`env_file`, `tmpfs`, `dns`).
    func stringOrList(_ name: String, at position: Position) throws(ComposeError) -> [String] {
        if case .sequence = kind { return try strings(name, at: position) }
        guard let text = scalarText else { throw position.error("\(name) must be a string or a list, got \(shown)") }
        return [text]
    }

    /// A command: a list as it is, a string split as a shell would.
    func command(_ name: String, at position: Position) throws(ComposeError) -> [String] {
        if case .sequence = kind { return try strings(name, at: position) }
        guard let text = scalarText else { throw position.error("\(name) must be a string or a list, got \(shown)") }
        guard let words = ShellWords.split(text) else { throw position.error("\(name) has an unclosed quote: \(text)") }
        return words
    }

    /// `environment`, `labels`, `sysctls`: a mapping, or a list of `KEY=VALUE`
    /// (and `KEY` alone). Nil values: `KEY` alone or `KEY:` with nothing.
    func listOrDict(_ name: String, at position: Position) throws(ComposeError) -> [(key: String, value: String?)] {
        switch kind {
        case .mapping(let entries):
            var result: [(key: String, value: String?)] = []
            for entry in entries {
                if entry.value.isNull { result.append((entry.key, nil)); continue }
                result.append((entry.key, try entry.value.string("\(name).\(entry.key)", at: entry.keyPosition)))
            }
            return result
        case .sequence(let items):
            var result: [(key: String, value: String?)] = []
            for item in items {
                let text = try item.string("\(name) items", at: item.position)
                let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                result.append((String(parts[0]), parts.count == 2 ? String(parts[1]) : nil))
            }
            return result
        case .scalar(_, .null): return []
        default: throw position.error("\(name) must be a mapping or a list of KEY=VALUE, got \(shown)")
        }
    }

    /// Labels and options: a nil value reads as "".
    func stringMap(_ name: String, at position: Position) throws(ComposeError) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in try listOrDict(name, at: position) { result[key] = value ?? "" }
        return result
    }
}

/// A mapping's entries with the path they sit at, for typed reads by key.
struct Fields {
    let path: String
    let entries: [YAMLValue.Entry]

    init(_ value: YAMLValue, path: String, at position: Position) throws(ComposeError) {
        self.path = path
        entries = try value.mapping(path, at: position)
    }

    subscript(key: String) -> YAMLValue.Entry? {
        entries.first { $0.key == key && !$0.value.isNull }
    }

    func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func string(_ key: String) throws(ComposeError) -> String? {
        guard let entry = self[key] else { return nil }
        return try entry.value.string(name(key), at: entry.keyPosition)
    }
    func int(_ key: String) throws(ComposeError) -> Int? {
        guard let entry = self[key] else { return nil }
        return try entry.value.int(name(key), at: entry.keyPosition)
    }
    func unsigned(_ key: String) throws(ComposeError) -> UInt64? {
        guard let entry = self[key] else { return nil }
        return try entry.value.unsigned(name(key), at: entry.keyPosition)
    }
    func double(_ key: String) throws(ComposeError) -> Double? {
        guard let entry = self[key] else { return nil }
        return try entry.value.double(name(key), at: entry.keyPosition)
    }
    func bool(_ key: String) throws(ComposeError) -> Bool? {
        guard let entry = self[key] else { return nil }
        return try entry.value.bool(name(key), at: entry.keyPosition)
    }
    func duration(_ key: String) throws(ComposeError) -> Int64? {
        guard let entry = self[key] else { return nil }
        return try entry.value.duration(name(key), at: entry.keyPosition)
    }
    func size(_ key: String) throws(ComposeError) -> Int64? {
        guard let entry = self[key] else { return nil }
        return try entry.value.size(name(key), at: entry.keyPosition)
    }
    func strings(_ key: String) throws(ComposeError) -> [String]? {
        guard let entry = self[key] else { return nil }
        return try entry.value.strings(name(key), at: entry.keyPosition)
    }
    func stringMap(_ key: String) throws(ComposeError) -> [String: String]? {
        guard let entry = self[key] else { return nil }
        return try entry.value.stringMap(name(key), at: entry.keyPosition)
    }
    func fields(_ key: String) throws(ComposeError) -> Fields? {
        guard let entry = self[key] else { return nil }
        return try Fields(entry.value, path: name(key), at: entry.keyPosition)
    }

    /// Keys this mapping has beyond `known` (extension keys `x-…` aside).
    func unknown(_ known: Set<String>) -> [YAMLValue.Entry] {
        entries.filter { !known.contains($0.key) && !$0.key.hasPrefix("x-") }
    }

    /// Refuses a key swarm knows but cannot honour yet.
    func refuse(_ keys: [String], why: String = "") throws(ComposeError) {
        for key in keys {
            guard let entry = self[key] else { continue }
            // `tty: false`, `dns: []`: asking for nothing is no loss.
            switch entry.value.kind {
            case .scalar(let text, .bool) where ["false", "no", "off", "n"].contains(text.lowercased()): continue
            case .sequence(let items) where items.isEmpty: continue
            case .mapping(let entries) where entries.isEmpty: continue
            default: break
            }
            throw entry.keyPosition.error("\(name(key)) is not supported yet by swarm\(why.isEmpty ? "" : " (\(why))"); remove it from the file")
        }
    }
}
