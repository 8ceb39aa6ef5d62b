/// A parsed Go text/template, limited to what docker's `--format` uses:
/// fields and chains, variables, `if`/`else if`/`range`/`with`, pipelines,
/// parenthesized calls, trim markers, comments, and the functions docker
/// registers (json, join, split, upper, lower, title, pad, truncate) plus
/// Go's index, printf, print, println, len, eq, ne, lt, le, gt, ge, and, or, not.
public struct Template: Sendable {
    let source: [UInt8]
    let root: [Node]

    /// Parses `text` as Go does; `\t` here is a real tab (docker's
    /// replacement of the two characters `\t` is `expandFormatEscapes`).
    public init(parse text: String) throws {
        source = Array(text.utf8)
        var lexer = Lexer(source)
        var parser = Parser(src: source, tokens: try lexer.run())
        root = try parser.parseTemplate()
    }

    /// What `.Field` does when an object lacks the key.
    public enum MissingKey: Sendable {
        /// Error like Go does on a struct: docker's list rows and typed inspect.
        case error
        /// Print `<no value>` like Go does on a map: the raw JSON inspect fallback.
        case noValue
    }

    /// Runs the template on `value`. `typeName` names objects in "can't
    /// evaluate field" errors (docker shows the Go type, e.g. `*formatter.serviceContext`).
    public func execute(_ value: TemplateValue, missingKey: MissingKey = .error, typeName: String = "object") throws -> String {
        var options = ExecOptions()
        options.missingKey = missingKey
        options.typeName = typeName
        return try execute(value, options: options)
    }

    func execute(_ value: TemplateValue, options: ExecOptions) throws -> String {
        let state = ExecState(template: self, options: options, root: value)
        try state.walk(root, dot: value)
        return state.out
    }

    /// Runs the template in docker's header mode, which keeps what was
    /// written before an error: docker ignores the error of the header pass.
    func executeHeader(_ headers: TemplateValue) -> String {
        var options = ExecOptions()
        options.missingKey = .noValue  // docker's header context is a map
        options.headerMode = true
        let state = ExecState(template: self, options: options, root: headers)
        try? state.walk(root, dot: headers)
        return state.out
    }
}

struct ExecOptions {
    var missingKey: Template.MissingKey = .error
    var typeName = "object"
    /// docker's header pass swaps json/split/join/title/lower/upper/truncate
    /// for functions returning their first argument, so headers stay intact.
    var headerMode = false
    /// docker's list rows marshal themselves with json.Marshal, which escapes
    /// <, > and & (`*:80->80/tcp` becomes `*:80-\u003e80/tcp` in `--format json`).
    var escapeHTMLInObjects = false
}

/// Execution state; a class so the output survives a thrown error (header mode).
final class ExecState {
    let template: Template
    let options: ExecOptions
    var out = ""
    var vars: [(name: String, value: TemplateValue?)]

    init(template: Template, options: ExecOptions, root: TemplateValue) {
        self.template = template
        self.options = options
        vars = [("$", root)]
    }

    /// Go's ExecError: `template: :1:2: executing "" at <.Foo>: message`.
    func error(_ pos: Int, _ context: String, _ message: String) -> FormattingError {
        let before = template.source[..<min(pos, template.source.count)]
        let line = 1 + before.lazy.filter { $0 == 0x0A }.count
        let column = before.lastIndex(of: 0x0A).map { pos - $0 - 1 } ?? pos
        return FormattingError("template: :\(line):\(column): executing \"\" at <\(context)>: \(message)")
    }

    // MARK: Walking

    func walk(_ nodes: [Node], dot: TemplateValue?) throws {
        for node in nodes {
            switch node {
            case .text(let s):
                out += s
            case .action(let pipe):
                let value = try evalPipeline(pipe, dot: dot)
                if pipe.decls.isEmpty { out += printed(value) }
            case .ifNode(let pipe, let body, let elseBody), .withNode(let pipe, let body, let elseBody):
                let mark = vars.count
                defer { vars.removeLast(vars.count - mark) }
                let value = try evalPipeline(pipe, dot: dot)
                if value?.isTruthy ?? false {
                    if case .withNode = node { try walk(body, dot: value) } else { try walk(body, dot: dot) }
                } else {
                    try walk(elseBody, dot: dot)
                }
            case .rangeNode(let pipe, let body, let elseBody):
                try walkRange(pipe, body, elseBody, dot: dot)
            }
        }
    }

    func walkRange(_ pipe: Pipeline, _ body: [Node], _ elseBody: [Node], dot: TemplateValue?) throws {
        let mark = vars.count
        defer { vars.removeLast(vars.count - mark) }
        let value = try evalPipeline(pipe, dot: dot)
        var items: [(index: TemplateValue, element: TemplateValue)] = []
        switch value {
        case nil, .null?:
            break  // like a nil map or slice: nothing to iterate
        case .array(let a)?:
            items = a.enumerated().map { (.int($0.offset), $0.element) }
        case .object(let o)?:
            // Go ranges over maps in key order.
            items = o.sorted { $0.key < $1.key }.map { (.string($0.key), $0.value) }
        case .int(let n)?:
            items = n > 0 ? (0..<n).map { (.int($0), .int($0)) } : []
        case let other?:
            throw error(pipe.pos, pipe.text, "range can't iterate over \(other.goString)")
        }
        if items.isEmpty {
            try walk(elseBody, dot: dot)
            return
        }
        let bodyMark = vars.count
        for item in items {
            // The last declared variable gets the element, a first one of two the index.
            if let last = pipe.decls.last { setVar(last, item.element) }
            if pipe.decls.count > 1 { setVar(pipe.decls[0], item.index) }
            try walk(body, dot: item.element)
            vars.removeLast(vars.count - bodyMark)
        }
    }

    func setVar(_ name: String, _ value: TemplateValue?) {
        if let i = vars.lastIndex(where: { $0.name == name }) { vars[i].value = value }
    }

    func printed(_ value: TemplateValue?) -> String { value?.goString ?? "<no value>" }

    // MARK: Evaluation

    /// `final` is the previous pipeline stage's result: .none when there is
    /// none, .some(nil) when it was "no value".
    func evalPipeline(_ pipe: Pipeline, dot: TemplateValue?) throws -> TemplateValue? {
        var value: TemplateValue?? = .none
        for cmd in pipe.cmds {
            value = .some(try evalCommand(cmd, dot: dot, final: value))
        }
        let result = value ?? nil
        for name in pipe.decls {
            if pipe.isAssign { setVar(name, result) } else { vars.append((name, result)) }
        }
        return result
    }

    func evalCommand(_ cmd: Command, dot: TemplateValue?, final: TemplateValue??) throws -> TemplateValue? {
        let first = cmd.args[0]
        if case .function(let name) = first.kind {
            var args: [(TemplateValue?, Operand?)] = []
            for arg in cmd.args.dropFirst() { args.append((try evalArg(arg, dot: dot), arg)) }
            if case .some(let f) = final { args.append((f, nil)) }
            return try call(name, args, cmd: cmd)
        }
        if cmd.args.count > 1 || final != nil {
            throw error(first.pos, first.text, "can't give argument to non-function \(first.text)")
        }
        if case .nilLiteral = first.kind { throw error(first.pos, first.text, "nil is not a command") }
        return try evalArg(first, dot: dot)
    }

    func evalArg(_ arg: Operand, dot: TemplateValue?) throws -> TemplateValue? {
        switch arg.kind {
        case .dot: return dot
        case .literal(let v): return v
        case .nilLiteral: return .null
        case .field(let names): return try evalFields(dot, names, arg)
        case .variable(let name, let names):
            let value = vars.last { $0.name == name }?.value
            return try evalFields(value, names, arg)
        case .pipeline(let pipe, let names):
            let mark = vars.count
            defer { vars.removeLast(vars.count - mark) }
            return try evalFields(try evalPipeline(pipe, dot: dot), names, arg)
        case .function(let name):
            return try call(name, [], cmd: Command(pos: arg.pos, args: [arg]))
        }
    }

    func evalFields(_ receiver: TemplateValue?, _ names: [String], _ node: Operand) throws -> TemplateValue? {
        var value = receiver
        for name in names {
            guard let current = value else {
                return nil  // Go: fields of "no value" are "no value"
            }
            switch current {
            case .object(let fields):
                if let found = fields.first(where: { $0.key == name }) {
                    value = found.value
                } else if options.missingKey == .noValue {
                    value = nil
                } else {
                    throw error(node.pos, node.text, "can't evaluate field \(name) in type \(options.typeName)")
                }
            case .null:
                throw error(node.pos, node.text, "nil pointer evaluating interface {}.\(name)")
            default:
                throw error(node.pos, node.text, "can't evaluate field \(name) in type \(current.goTypeName)")
            }
        }
        return value
    }

    // MARK: Functions

    typealias Arg = (value: TemplateValue?, node: Operand?)

    func call(_ name: String, _ args: [Arg], cmd: Command) throws -> TemplateValue? {
        let fail = { (message: String) in self.error(cmd.pos, cmd.text, message) }
        func arity(_ n: Int, atLeast: Bool = false) throws {
            if atLeast ? args.count < n : args.count != n {
                throw fail("wrong number of args for \(name): want \(atLeast ? "at least " : "")\(n) got \(args.count)")
            }
        }
        func string(_ i: Int) throws -> String {
            let (value, node) = args[i]
            guard let value else { throw typeError(node, "invalid value; expected string") }
            guard case .string(let s) = value else {
                throw typeError(node, "wrong type for value; expected string; got \(value.goTypeName)")
            }
            return s
        }
        func int(_ i: Int) throws -> Int {
            let (value, node) = args[i]
            guard case .int(let n)? = value else {
                throw typeError(node, "wrong type for value; expected int; got \(value?.goTypeName ?? "<nil>")")
            }
            return n
        }
        func typeError(_ node: Operand?, _ message: String) -> FormattingError {
            node.map { error($0.pos, $0.text, message) } ?? fail(message)
        }

        if options.headerMode, ["json", "split", "join", "title", "lower", "upper", "truncate"].contains(name) {
            try arity(name == "json" || name == "title" || name == "lower" || name == "upper" ? 1 : 2)
            return .string(try string(0))
        }

        switch name {
        case "json":
            try arity(1)
            let value = args[0].value ?? .null
            let escape = options.escapeHTMLInObjects && { if case .object = value { true } else { false } }()
            return .string(value.json(escapeHTML: escape))
        case "split":
            try arity(2)
            return .array(goSplit(try string(0), try string(1)).map { .string($0) })
        case "join":
            try arity(2)
            let sep = try string(1)
            let strings: [String]? = {
                guard case .array(let items)? = args[0].value else { return nil }
                let strings = items.compactMap(\.stringValue)
                return strings.count == items.count ? strings : nil
            }()
            guard let strings else {
                throw typeError(args[0].node, "wrong type for value; expected []string; got \(args[0].value?.goTypeName ?? "<nil>")")
            }
            return .string(strings.joined(separator: sep))
        case "title":
            try arity(1)
            return .string(goTitle(try string(0)))
        case "lower":
            try arity(1)
            return .string(try string(0).lowercased())
        case "upper":
            try arity(1)
            return .string(try string(0).uppercased())
        case "pad":
            try arity(3)
            let s = try string(0)
            if s.isEmpty { return .string(s) }
            return .string(String(repeating: " ", count: max(0, try int(1))) + s + String(repeating: " ", count: max(0, try int(2))))
        case "truncate":
            try arity(2)
            let s = try string(0)
            let n = try int(1)
            // docker cuts bytes; cutting characters keeps the text valid UTF-8.
            return .string(s.utf8.count < n ? s : String(s.prefix(max(0, n))))
        case "index":
            try arity(1, atLeast: true)
            return try index(args, fail: fail)
        case "printf":
            try arity(1, atLeast: true)
            return .string(goSprintf(try string(0), args.dropFirst().map(\.value)))
        case "print":
            var s = ""
            for (i, a) in args.enumerated() {
                // Sprint puts spaces only between operands when neither is a string.
                if i > 0, a.value?.stringValue == nil, args[i - 1].value?.stringValue == nil { s += " " }
                s += fmtV(a.value)
            }
            return .string(s)
        case "println":
            return .string(args.map { fmtV($0.value) }.joined(separator: " ") + "\n")
        case "len":
            try arity(1)
            switch args[0].value {
            case .string(let s)?: return .int(s.utf8.count)
            case .array(let a)?: return .int(a.count)
            case .object(let o)?: return .int(o.count)
            default: throw fail("error calling len: len of type \(args[0].value?.goTypeName ?? "<nil>")")
            }
        case "not":
            try arity(1)
            return .bool(!(args[0].value?.isTruthy ?? false))
        case "and":
            try arity(1, atLeast: true)
            return args.first { !($0.value?.isTruthy ?? false) }?.value ?? args.last!.value
        case "or":
            try arity(1, atLeast: true)
            return args.first { $0.value?.isTruthy ?? false }?.value ?? args.last!.value
        case "eq":
            try arity(2, atLeast: true)
            for other in args.dropFirst() where try compare(args[0].value, other.value, fail: fail) == 0 {
                return .bool(true)
            }
            return .bool(false)
        case "ne":
            try arity(2)
            return .bool(try compare(args[0].value, args[1].value, fail: fail) != 0)
        case "lt", "le", "gt", "ge":
            try arity(2)
            let c = try compare(args[0].value, args[1].value, ordered: true, fail: fail)
            switch name {
            case "lt": return .bool(c < 0)
            case "le": return .bool(c <= 0)
            case "gt": return .bool(c > 0)
            default: return .bool(c >= 0)
            }
        default:
            throw fail("function \"\(name)\" not defined")
        }
    }

    func index(_ args: [Arg], fail: (String) -> FormattingError) throws -> TemplateValue? {
        var value = args[0].value
        for key in args.dropFirst().map(\.value) {
            switch (value, key) {
            case (.array(let a)?, .int(let i)?):
                guard i >= 0, i < a.count else { throw fail("error calling index: index out of range: \(i)") }
                value = a[i]
            case (.string(let s)?, .int(let i)?):
                // Go indexes a string's bytes.
                let bytes = Array(s.utf8)
                guard i >= 0, i < bytes.count else { throw fail("error calling index: index out of range: \(i)") }
                value = .int(Int(bytes[i]))
            case (.object(let o)?, .string(let k)?):
                if let found = o.first(where: { $0.key == k }) {
                    value = found.value
                } else {
                    // Go returns the map's zero element: "" for map[string]string
                    // (labels), which is the usual case; otherwise nothing.
                    value = o.allSatisfy({ $0.value.stringValue != nil }) ? .string("") : nil
                }
            case (nil, _), (.null?, _):
                throw fail("error calling index: index of untyped nil")
            case (.object?, _):
                throw fail("error calling index: value has type \(key?.goTypeName ?? "<nil>"); should be string")
            case (.array?, _), (.string?, _):
                throw fail("error calling index: cannot index slice/array with type \(key?.goTypeName ?? "<nil>")")
            case (let v?, _):
                throw fail("error calling index: can't index item of type \(v.goTypeName)")
            }
        }
        return value
    }

    /// Three-way comparison for eq/ne/lt/...: Go compares only like basic kinds.
    func compare(_ a: TemplateValue?, _ b: TemplateValue?, ordered: Bool = false, fail: (String) -> FormattingError) throws -> Int {
        func order<T: Comparable>(_ x: T, _ y: T) -> Int { x < y ? -1 : (x == y ? 0 : 1) }
        switch (a ?? .null, b ?? .null) {
        case (.string(let x), .string(let y)): return order(x, y)
        case (.int(let x), .int(let y)): return order(x, y)
        case (.double(let x), .double(let y)): return order(x, y)
        case (.int(let x), .double(let y)): return order(Double(x), y)
        case (.double(let x), .int(let y)): return order(x, Double(y))
        case (.bool(let x), .bool(let y)) where !ordered: return x == y ? 0 : 1
        case (.null, .null) where !ordered: return 0
        case (.null, _) where !ordered, (_, .null) where !ordered: return 1
        case (.array, _), (.object, _), (_, .array), (_, .object):
            throw fail("error calling \(ordered ? "lt" : "eq"): non-comparable type")
        default:
            throw fail("error calling \(ordered ? "lt" : "eq"): incompatible types for comparison")
        }
    }
}

/// fmt's %v of a possibly missing value.
func fmtV(_ v: TemplateValue?) -> String { v?.goString ?? "<nil>" }

/// strings.Split: an empty separator splits after each character.
func goSplit(_ s: String, _ sep: String) -> [String] {
    if sep.isEmpty { return s.map(String.init) }
    var parts: [String] = []
    var rest = Substring(s)
    while let r = rest.firstRange(of: sep) {
        parts.append(String(rest[..<r.lowerBound]))
        rest = rest[r.upperBound...]
    }
    parts.append(String(rest))
    return parts
}

/// strings.Title: upper-case letters that start a word.
func goTitle(_ s: String) -> String {
    var out = ""
    var previous: Character = " "
    for c in s {
        // Letters, digits, underscore and non-ASCII non-spaces continue a word.
        let continues = previous.isLetter || previous.isNumber || previous == "_" || (!previous.isASCII && !previous.isWhitespace)
        out += continues ? String(c) : c.uppercased()
        previous = c
    }
    return out
}

/// fmt.Sprintf for %s, %d, %v (with width and the '-' flag) and %%.
func goSprintf(_ format: String, _ args: [TemplateValue?]) -> String {
    var out = ""
    var argIndex = 0
    var chars = Substring(format)
    while let c = chars.popFirst() {
        guard c == "%" else {
            out.append(c)
            continue
        }
        var leftAlign = false
        var zeroPad = false
        while let f = chars.first, f == "-" || f == "0" || f == "+" || f == " " || f == "#" {
            if f == "-" { leftAlign = true }
            if f == "0" { zeroPad = true }
            chars.removeFirst()
        }
        var width = 0
        while let d = chars.first, let n = d.wholeNumberValue, d.isASCII {
            width = width * 10 + n
            chars.removeFirst()
        }
        guard let verb = chars.popFirst() else {
            out += "%!(NOVERB)"
            break
        }
        if verb == "%" {
            out += "%"
            continue
        }
        guard argIndex < args.count else {
            out += "%!\(verb)(MISSING)"
            continue
        }
        let arg = args[argIndex]
        argIndex += 1
        var text: String
        switch (verb, arg) {
        case ("v", _): text = fmtV(arg)
        case ("s", .string(let s)?): text = s
        case ("d", .int(let i)?): text = String(i)
        case ("s", .array?), ("d", .array?), ("s", .object?), ("d", .object?): text = fmtV(arg)
        case (_, nil), (_, .null?): text = "%!\(verb)(<nil>)"
        case (_, let v?): text = "%!\(verb)(\(v.goTypeName)=\(v.goString))"
        }
        let count = text.unicodeScalars.count
        if width > count {
            let numeric = { if case .int? = arg { true } else { false } }()
            let padding = String(repeating: zeroPad && !leftAlign && numeric ? "0" : " ", count: width - count)
            if leftAlign {
                text += padding
            } else if zeroPad && numeric && text.hasPrefix("-") {
                text = "-" + padding + text.dropFirst()
            } else {
                text = padding + text
            }
        }
        out += text
    }
    if argIndex < args.count {
        out += "%!(EXTRA " + args[argIndex...].map { "\($0?.goTypeName ?? "<nil>")=\(fmtV($0))" }.joined(separator: ", ") + ")"
    }
    return out
}
