
/// A placement constraint, `node.labels.zone==east` (swarmkit's syntax:
/// a key, `==` or `!=`, a value; values compare case-insensitively).
public struct Constraint: Hashable, Sendable {
    public enum Operator: String, Sendable { case equal = "==", notEqual = "!=" }
    public var key: String
    public var op: Operator
    public var value: String

    static let fixedKeys: Set<String> = ["node.id", "node.hostname", "node.role", "node.platform.os", "node.platform.arch"]
    static let labelPrefixes = ["node.labels.", "engine.labels."]

    public struct ParseError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public init(parsing expression: String) throws {
        let ops: [Operator] = [.equal, .notEqual]
        guard let (op, range) = ops.lazy.compactMap({ op in expression.firstRange(of: op.rawValue).map { (op, $0) } }).first else {
            throw ParseError(description: "constraint expected one operator from ==, !=")
        }
        let key = expression[..<range.lowerBound].trimmingCharacters(in: " ")
        let value = expression[range.upperBound...].trimmingCharacters(in: " ")
        guard !value.contains("=") && !value.contains("!") else {
            throw ParseError(description: "constraint expected one operator from ==, !=")
        }
        guard Self.fixedKeys.contains(key.lowercased()) || Self.labelPrefixes.contains(where: { key.hasPrefix($0) && key.count > $0.count }) else {
            throw ParseError(description: "constraint key \(key) is not supported: use node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.<name> or engine.labels.<name>")
        }
        guard !value.isEmpty else { throw ParseError(description: "constraint value is empty: \(expression)") }
        self.key = key
        self.op = op
        self.value = value
    }

    /// Whether `node` satisfies the constraint. A missing label counts as
    /// no match for `==` and a match for `!=`.
    public func matches(_ node: Node) -> Bool {
        let actual: String?
        switch key.lowercased() {
        case "node.id": actual = node.id
        case "node.hostname": actual = node.description.hostname
        case "node.role": actual = node.spec.role.rawValue
        case "node.platform.os": actual = node.description.platform.os
        case "node.platform.arch": actual = node.description.platform.architecture
        default:
            if key.hasPrefix("node.labels.") {
                actual = node.spec.labels[String(key.dropFirst("node.labels.".count))]
            } else {
                actual = node.description.engine.labels?[String(key.dropFirst("engine.labels.".count))]
            }
        }
        let equal = actual.map { $0.lowercased() == value.lowercased() } ?? false
        return op == .equal ? equal : !equal
    }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        var text = self
        while text.first == set { text.removeFirst() }
        while text.last == set { text.removeLast() }
        return String(text)
    }
}
