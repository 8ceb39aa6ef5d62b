import SwarmAPI
import Yams

/// Where a key or value is in a compose file (1-based, as editors count).
struct Position: Sendable, Hashable {
    var file: String
    var line: Int
    var column: Int

    func error(_ message: String) -> ComposeError {
        ComposeError(file: file, line: line, column: column, message: message)
    }
    func warning(_ message: String) -> String { "\(file):\(line):\(column): \(message)" }
}

/// A compose file's YAML, its scalars already interpolated, every node with
/// its position: what the reader walks instead of Yams' `Node`, so that every
/// error can name file, line and column.
struct YAMLValue: Sendable {
    enum Scalar: Sendable { case string, int, float, bool, null }
    struct Entry: Sendable {
        var key: String
        var keyPosition: Position
        var value: YAMLValue
    }
    enum Kind: Sendable {
        case scalar(String, Scalar)
        case mapping([Entry])
        case sequence([YAMLValue])
    }
    var kind: Kind
    var position: Position

    var isNull: Bool { if case .scalar(_, .null) = kind { return true } else { return false } }

    /// How the value reads in a message: `"three"`, `12`, `a list`, `a mapping`.
    var shown: String {
        switch kind {
        case .scalar(let text, let type):
            switch type {
            case .string: return "\"\(text)\""
            case .null: return "nothing"
            default: return text
            }
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }
}

extension YAMLValue {
    /// Parses one file's text; a syntax error keeps libyaml's position.
    static func parse(_ text: String, file: String, interpolation: Interpolation) throws(ComposeError) -> YAMLValue? {
        let node: Yams.Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw syntaxError(error, file: file)
        } catch {
            throw ComposeError(file: file, message: "invalid YAML: \(error)")
        }
        guard let node else { return nil }
        return try convert(node, file: file, path: "", interpolation: interpolation)
    }

    private static func syntaxError(_ error: YamlError, file: String) -> ComposeError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let what = context.map { "\(problem) (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? problem
            return ComposeError(file: file, line: mark.line, column: mark.column, message: "invalid YAML: \(what)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ComposeError(file: file, line: context.mark.line, column: context.mark.column,
                                message: "invalid YAML: duplicate key \(duplicates.joined(separator: ", "))")
        default:
            return ComposeError(file: file, message: "invalid YAML: \(error)")
        }
    }

    private static func position(_ mark: Mark?, _ file: String) -> Position {
        Position(file: file, line: mark?.line ?? 0, column: mark?.column ?? 0)
    }

    /// `path` names the value in interpolation errors ("services.web.image").
    private static func convert(_ node: Yams.Node, file: String, path: String, interpolation: Interpolation) throws(ComposeError) -> YAMLValue {
        let here = position(node.mark, file)
        switch node {
        case .scalar(let scalar):
            let type: Scalar
            // The resolved tag: quoted scalars are strings, plain ones typed as YAML reads them.
            switch node.tag.description {
            case Tag.Name.null.rawValue: type = .null
            case Tag.Name.int.rawValue: type = .int
            case Tag.Name.float.rawValue: type = .float
            case Tag.Name.bool.rawValue: type = .bool
            default: type = .string
            }
            guard type == .string, scalar.string.contains("$") else { return YAMLValue(kind: .scalar(scalar.string, type), position: here) }
            let text = try interpolation.substitute(scalar.string, at: here, path: path)
            return YAMLValue(kind: .scalar(text, .string), position: here)
        case .sequence(let sequence):
            var items: [YAMLValue] = []
            for item in sequence { items.append(try convert(item, file: file, path: path, interpolation: interpolation)) }
            return YAMLValue(kind: .sequence(items), position: here)
        case .mapping(let mapping):
            var entries: [Entry] = []
            var merged: [Entry] = []
            for (key, value) in mapping {
                let keyText = key.scalar?.string ?? ""
                let child = try convert(value, file: file, path: path.isEmpty ? keyText : path + "." + keyText, interpolation: interpolation)
                if keyText == "<<" {
                    // YAML merge keys (`<<: *defaults`): the mapping's own keys win.
                    switch child.kind {
                    case .mapping(let more): merged += more
                    case .sequence(let list):
                        for item in list { if case .mapping(let more) = item.kind { merged += more } }
                    default: throw here.error("<< must merge a mapping, got \(child.shown)")
                    }
                    continue
                }
                entries.append(Entry(key: keyText, keyPosition: position(key.mark, file), value: child))
            }
            for entry in merged where !entries.contains(where: { $0.key == entry.key }) { entries.append(entry) }
            return YAMLValue(kind: .mapping(entries), position: here)
        case .alias:
            throw here.error("invalid YAML: unresolved alias")
        }
    }
}
