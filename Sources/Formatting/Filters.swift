/// docker's `--filter key=value` set (moby's filters.Args): each key holds a
/// set of values. Matching follows docker: a key that was not given matches
/// everything, several values of one key are alternatives (OR), and the
/// caller ANDs the checks for different keys. Label filters are the
/// exception docker makes: every `label=` value must hold (AND).
public struct Filters: Equatable, Sendable {
    public private(set) var fields: [String: Set<String>] = [:]

    public init() {}

    /// Parses repeated `--filter` values as the docker CLI does.
    public init(_ arguments: [String]) throws {
        for argument in arguments { try add(argument) }
    }

    /// One `--filter` value: "name=value". The name is trimmed and
    /// lower-cased, the value trimmed; an empty argument is ignored.
    public mutating func add(_ argument: String) throws {
        if argument.isEmpty { return }
        guard let eq = argument.firstIndex(of: "=") else {
            throw FormattingError("bad format of filter (expected name=value)")
        }
        add(trimSpace(argument[..<eq]).lowercased(), trimSpace(argument[argument.index(after: eq)...]))
    }

    public mutating func add(_ key: String, _ value: String) {
        fields[key, default: []].insert(value)
    }

    public var isEmpty: Bool { fields.isEmpty }
    public var keys: [String] { fields.keys.sorted() }
    public func contains(_ key: String) -> Bool { fields[key] != nil }
    /// The values of `key`, sorted.
    public func values(_ key: String) -> [String] { (fields[key] ?? []).sorted() }

    /// Rejects keys the command does not know, with the daemon's message.
    public func validate(allowed: Set<String>) throws {
        if let bad = keys.first(where: { !allowed.contains($0) }) {
            throw FormattingError("invalid filter '\(bad)'")
        }
    }

    /// True when `key` was not given or any of its values passes `test`.
    public func matches(_ key: String, where test: (String) -> Bool) -> Bool {
        guard let values = fields[key], !values.isEmpty else { return true }
        return values.contains(where: test)
    }

    /// Exact match of one of the values (docker's ExactMatch), e.g. name, mode.
    public func exactMatch(_ key: String, _ candidate: String) -> Bool {
        matches(key) { $0 == candidate }
    }

    /// Exact or prefix match (docker's FuzzyMatch), e.g. for IDs.
    public func prefixMatch(_ key: String, _ candidate: String) -> Bool {
        matches(key) { candidate.hasPrefix($0) }
    }

    /// `label=key` needs the label present, `label=key=value` needs that
    /// value; all given label filters must hold (docker's MatchKVList).
    public func labelMatch(_ key: String = "label", labels: [String: String]) -> Bool {
        guard let wanted = fields[key], !wanted.isEmpty else { return true }
        return wanted.allSatisfy { filter in
            guard let eq = filter.firstIndex(of: "=") else { return labels[filter] != nil }
            return labels[String(filter[..<eq])] == String(filter[filter.index(after: eq)...])
        }
    }

    /// A boolean filter such as `dangling=true`: "1"/"true" or "0"/"false";
    /// anything else, or both, is docker's `invalid filter 'dangling=[maybe]'`.
    public func bool(_ key: String, default defaultValue: Bool) throws -> Bool {
        guard let values = fields[key] else { return defaultValue }
        let isTrue = values.contains("1") || values.contains("true")
        let isFalse = values.contains("0") || values.contains("false")
        if isTrue == isFalse {
            throw FormattingError("invalid filter '\(key)=[\(values.sorted().joined(separator: " "))]'")
        }
        return isTrue
    }

    /// The Engine API's `filters` query parameter: `{"name":{"web":true}}`,
    /// keys sorted as Go's encoding/json writes maps. "{}" when empty (docker
    /// then leaves the parameter out).
    public func toQueryJSON() -> String {
        var object: [(key: String, value: TemplateValue)] = []
        for key in keys {
            object.append((key, .object(values(key).map { ($0, .bool(true)) })))
        }
        return TemplateValue.object(object).json(escapeHTML: true)
    }

    /// Reads the `filters` query parameter in the current map-of-sets form
    /// or the old `{"name":["web"]}` form. Empty text means no filters.
    public init(queryJSON text: String) throws {
        if text.isEmpty { return }
        guard case .object(let keys)? = try? TemplateValue(json: text) else {
            throw FormattingError("invalid filter")
        }
        for (key, value) in keys {
            // A key given with no (true) values still counts as present, as in Go.
            if fields[key] == nil { fields[key] = [] }
            switch value {
            case .object(let set):
                for (v, flag) in set {
                    guard case .bool(let on) = flag else { throw FormattingError("invalid filter") }
                    if on { add(key, v) }
                }
            case .array(let list):
                for v in list {
                    guard case .string(let s) = v else { throw FormattingError("invalid filter") }
                    add(key, s)
                }
            case .null:
                break
            default:
                throw FormattingError("invalid filter")
            }
        }
    }
}

/// strings.TrimSpace for ASCII whitespace.
private func trimSpace(_ s: Substring) -> String {
    var s = s
    while let c = s.first, c.isWhitespace { s.removeFirst() }
    while let c = s.last, c.isWhitespace { s.removeLast() }
    return String(s)
}
