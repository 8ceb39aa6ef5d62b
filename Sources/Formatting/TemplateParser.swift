// Lexer and parser for the subset of Go's text/template that docker's
// `--format` flags use. The structure follows Go's text/template/parse so
// that edge cases (trim markers, field chains, "else if") behave the same
// and error messages read the same.

struct Token {
    enum Kind: Equatable {
        case text(String)
        case leftDelim, rightDelim, space
        case field(String)  // ".Name" without the dot
        case dot
        case variable(String)  // "$" or "$name"
        case identifier(String)
        case keyword(String)  // if else end range with, and the unsupported ones
        case string(String)  // already unquoted
        case number(String)
        case bool(Bool)
        case nilValue
        case leftParen, rightParen, pipe, declare, assign, comma
        case eof
    }
    var kind: Kind
    var pos: Int  // byte offset in the source
    var end: Int
}

private let keywords: Set<String> = ["if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"]

func isSpaceByte(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }

/// Go's isAlphaNumeric, with every non-ASCII byte counted as a letter.
func isAlnumByte(_ b: UInt8) -> Bool {
    b == UInt8(ascii: "_") || (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z"))
        || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z")) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
        || b >= 0x80
}

func isDigitByte(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

/// "template: :LINE: message", Go's parse error shape (the template is unnamed).
func parseError(_ src: [UInt8], _ pos: Int, _ message: String) -> FormattingError {
    let line = 1 + src[..<min(pos, src.count)].lazy.filter { $0 == 0x0A }.count
    return FormattingError("template: :\(line): \(message)")
}

struct Lexer {
    let src: [UInt8]
    var pos = 0
    var tokens: [Token] = []
    var parenDepth = 0

    init(_ src: [UInt8]) { self.src = src }

    func starts(_ s: String, at i: Int) -> Bool {
        let p = Array(s.utf8)
        return i + p.count <= src.count && src[i..<i + p.count].elementsEqual(p)
    }

    func error(_ message: String) -> FormattingError { parseError(src, pos, message) }

    /// "{{- " trims the whitespace before the action: the dash needs a space after it.
    func hasLeftTrimMarker(at i: Int) -> Bool {
        i + 1 < src.count && src[i] == UInt8(ascii: "-") && isSpaceByte(src[i + 1])
    }

    /// " -}}" trims the whitespace after the action: the dash needs a space before it.
    func atRightDelim(_ i: Int) -> (found: Bool, trim: Bool) {
        if i + 1 < src.count, isSpaceByte(src[i]), src[i + 1] == UInt8(ascii: "-"), starts("}}", at: i + 2) {
            return (true, true)
        }
        return (starts("}}", at: i), false)
    }

    mutating func emit(_ kind: Token.Kind, _ start: Int) {
        tokens.append(Token(kind: kind, pos: start, end: pos))
    }

    mutating func skipLeadingSpace() {
        while pos < src.count, isSpaceByte(src[pos]) { pos += 1 }
    }

    mutating func run() throws -> [Token] {
        while pos < src.count {
            var open = pos
            while open < src.count, !starts("{{", at: open) { open += 1 }
            var textEnd = open
            let trimLeft = open < src.count && hasLeftTrimMarker(at: open + 2)
            if trimLeft {
                while textEnd > pos, isSpaceByte(src[textEnd - 1]) { textEnd -= 1 }
            }
            if textEnd > pos {
                tokens.append(Token(kind: .text(String(decoding: src[pos..<textEnd], as: UTF8.self)), pos: pos, end: textEnd))
            }
            pos = open
            if open == src.count { break }
            let inner = open + 2 + (trimLeft ? 2 : 0)
            if starts("/*", at: inner) {
                try lexComment(from: inner)
                continue
            }
            pos = inner
            tokens.append(Token(kind: .leftDelim, pos: open, end: inner))
            try lexInsideAction()
        }
        tokens.append(Token(kind: .eof, pos: src.count, end: src.count))
        return tokens
    }

    mutating func lexComment(from start: Int) throws {
        var i = start + 2
        while i < src.count, !starts("*/", at: i) { i += 1 }
        guard i < src.count else {
            pos = start
            throw error("unclosed comment")
        }
        i += 2
        let (found, trim) = atRightDelim(i)
        guard found else {
            pos = i
            throw error("comment ends before closing delimiter")
        }
        pos = i + (trim ? 2 : 0) + 2
        if trim { skipLeadingSpace() }
    }

    mutating func lexInsideAction() throws {
        while true {
            let (found, trim) = atRightDelim(pos)
            if found {
                if parenDepth > 0 { throw error("unclosed left paren") }
                let start = pos
                pos += (trim ? 2 : 0) + 2
                emit(.rightDelim, start)
                if trim { skipLeadingSpace() }
                return
            }
            guard pos < src.count else { throw error("unclosed action") }
            let start = pos
            let c = src[pos]
            switch c {
            case _ where isSpaceByte(c):
                var j = pos
                while j < src.count, isSpaceByte(src[j]) { j += 1 }
                // Leave the last space when it begins a " -}}" trim marker
                // (the run is then at least two long: the top of the loop
                // already caught a marker right at pos).
                if atRightDelim(j - 1).trim { j -= 1 }
                pos = j
                emit(.space, start)
            case UInt8(ascii: "="):
                pos += 1
                emit(.assign, start)
            case UInt8(ascii: ":"):
                guard starts(":=", at: pos) else { throw error("expected :=") }
                pos += 2
                emit(.declare, start)
            case UInt8(ascii: "|"):
                pos += 1
                emit(.pipe, start)
            case UInt8(ascii: ","):
                pos += 1
                emit(.comma, start)
            case UInt8(ascii: "("):
                pos += 1
                parenDepth += 1
                emit(.leftParen, start)
            case UInt8(ascii: ")"):
                pos += 1
                parenDepth -= 1
                if parenDepth < 0 { throw error("unexpected right paren") }
                emit(.rightParen, start)
            case UInt8(ascii: "\""):
                emit(.string(try lexQuote()), start)
            case UInt8(ascii: "`"):
                emit(.string(try lexRawQuote()), start)
            case UInt8(ascii: "$"):
                pos += 1
                while pos < src.count, isAlnumByte(src[pos]) { pos += 1 }
                try checkTerminator()
                emit(.variable(String(decoding: src[start..<pos], as: UTF8.self)), start)
            case UInt8(ascii: "."):
                if pos + 1 < src.count, isDigitByte(src[pos + 1]) {
                    try lexNumber()
                } else if pos + 1 < src.count, isAlnumByte(src[pos + 1]) {
                    pos += 1
                    while pos < src.count, isAlnumByte(src[pos]) { pos += 1 }
                    try checkTerminator()
                    emit(.field(String(decoding: src[start + 1..<pos], as: UTF8.self)), start)
                } else {
                    pos += 1
                    emit(.dot, start)
                }
            case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                try lexNumber()
            case _ where isAlnumByte(c):
                while pos < src.count, isAlnumByte(src[pos]) { pos += 1 }
                try checkTerminator()
                let word = String(decoding: src[start..<pos], as: UTF8.self)
                switch word {
                case "true", "false": emit(.bool(word == "true"), start)
                case "nil": emit(.nilValue, start)
                case _ where keywords.contains(word): emit(.keyword(word), start)
                default: emit(.identifier(word), start)
                }
            default:
                throw error("unrecognized character in action: \(describeScalar(at: pos))")
            }
        }
    }

    /// Go's %#U: U+0040 '@'.
    func describeScalar(at i: Int) -> String {
        let scalar = String(decoding: src[i..<min(i + 4, src.count)], as: UTF8.self).unicodeScalars.first ?? "\u{FFFD}"
        var hex = String(scalar.value, radix: 16, uppercase: true)
        while hex.count < 4 { hex = "0" + hex }
        return "U+\(hex) '\(scalar)'"
    }

    /// Words must be followed by something that can end an operand.
    func checkTerminator() throws {
        guard pos < src.count else { return }
        let c = src[pos]
        if isSpaceByte(c) || atRightDelim(pos).found { return }
        if [".", ",", "|", ":", ")", "("].contains(Character(Unicode.Scalar(c))) { return }
        throw error("bad character \(describeScalar(at: pos))")
    }

    mutating func lexNumber() throws {
        let start = pos
        if src[pos] == UInt8(ascii: "+") || src[pos] == UInt8(ascii: "-") { pos += 1 }
        while pos < src.count {
            let c = src[pos]
            if isAlnumByte(c) || c == UInt8(ascii: ".") {
                pos += 1
            } else if (c == UInt8(ascii: "+") || c == UInt8(ascii: "-")),
                [UInt8(ascii: "e"), UInt8(ascii: "E")].contains(src[pos - 1])
            {
                pos += 1
            } else {
                break
            }
        }
        let text = String(decoding: src[start..<pos], as: UTF8.self)
        guard parseNumber(text) != nil else {
            pos = start
            throw error("bad number syntax: \"\(text)\"")
        }
        emit(.number(text), start)
    }

    mutating func lexQuote() throws -> String {
        let start = pos
        pos += 1
        var raw: [UInt8] = []
        while true {
            guard pos < src.count, src[pos] != 0x0A else {
                pos = start
                throw error("unterminated quoted string")
            }
            let c = src[pos]
            pos += 1
            if c == UInt8(ascii: "\"") { break }
            raw.append(c)
            if c == UInt8(ascii: "\\"), pos < src.count, src[pos] != 0x0A {
                raw.append(src[pos])
                pos += 1
            }
        }
        guard let value = unquote(raw) else {
            throw parseError(src, start, "invalid syntax")
        }
        return value
    }

    mutating func lexRawQuote() throws -> String {
        let start = pos
        pos += 1
        while pos < src.count, src[pos] != UInt8(ascii: "`") { pos += 1 }
        guard pos < src.count else {
            pos = start
            throw error("unterminated raw quoted string")
        }
        pos += 1
        // strconv.Unquote drops carriage returns from raw strings.
        return String(decoding: src[start + 1..<pos - 1].filter { $0 != 0x0D }, as: UTF8.self)
    }
}

/// Go number constants the templates need: decimal/hex/octal/binary
/// integers (with _ separators) and floats.
func parseNumber(_ text: String) -> TemplateValue? {
    var s = Substring(text.filter { $0 != "_" })
    var negative = false
    if s.hasPrefix("-") || s.hasPrefix("+") {
        negative = s.hasPrefix("-")
        s = s.dropFirst()
    }
    let lower = s.lowercased()
    var radix = 10
    var digits = Substring(lower)
    if lower.hasPrefix("0x") { radix = 16; digits = digits.dropFirst(2) }
    else if lower.hasPrefix("0b") { radix = 2; digits = digits.dropFirst(2) }
    else if lower.hasPrefix("0o") { radix = 8; digits = digits.dropFirst(2) }
    else if lower.count > 1, lower.hasPrefix("0"), lower.allSatisfy(\.isNumber) { radix = 8; digits = digits.dropFirst() }
    if !digits.isEmpty, let i = Int(digits, radix: radix) { return .int(negative ? -i : i) }
    if radix == 10, !digits.isEmpty, digits.first != "e", let d = Double(String(digits)), d.isFinite {
        return .double(negative ? -d : d)
    }
    return nil
}

/// strconv.Unquote for the body of a double-quoted Go string.
func unquote(_ raw: [UInt8]) -> String? {
    var out: [UInt8] = []
    var i = 0
    func appendScalar(_ v: UInt32) -> Bool {
        guard let s = Unicode.Scalar(v) else { return false }
        out.append(contentsOf: Array(String(s).utf8))
        return true
    }
    func hexValue(_ count: Int) -> UInt32? {
        guard i + count <= raw.count else { return nil }
        var v: UInt32 = 0
        for b in raw[i..<i + count] {
            guard let d = hexDigit(b) else { return nil }
            v = v << 4 | UInt32(d)
        }
        i += count
        return v
    }
    while i < raw.count {
        let c = raw[i]
        i += 1
        guard c == UInt8(ascii: "\\") else {
            out.append(c)
            continue
        }
        guard i < raw.count else { return nil }
        let e = raw[i]
        i += 1
        switch e {
        case UInt8(ascii: "a"): out.append(0x07)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "v"): out.append(0x0B)
        case UInt8(ascii: "\\"), UInt8(ascii: "\""): out.append(e)
        case UInt8(ascii: "x"):
            guard let v = hexValue(2) else { return nil }
            out.append(UInt8(v))
        case UInt8(ascii: "u"):
            guard let v = hexValue(4), appendScalar(v) else { return nil }
        case UInt8(ascii: "U"):
            guard let v = hexValue(8), appendScalar(v) else { return nil }
        case UInt8(ascii: "0")...UInt8(ascii: "7"):
            guard i + 2 <= raw.count else { return nil }
            var v = UInt32(e - 48)
            for b in raw[i..<i + 2] {
                guard b >= 48, b <= 55 else { return nil }
                v = v * 8 + UInt32(b - 48)
            }
            guard v < 256 else { return nil }
            i += 2
            out.append(UInt8(v))
        default: return nil
        }
    }
    return String(decoding: out, as: UTF8.self)
}

// MARK: - Syntax tree

indirect enum Node: Sendable {
    case text(String)
    case action(Pipeline)
    case ifNode(Pipeline, [Node], [Node])
    case rangeNode(Pipeline, [Node], [Node])
    case withNode(Pipeline, [Node], [Node])
}

struct Pipeline: Sendable {
    var pos: Int
    var decls: [String] = []
    var isAssign = false
    var cmds: [Command] = []

    var text: String {
        var s = decls.isEmpty ? "" : decls.joined(separator: ", ") + (isAssign ? " = " : " := ")
        s += cmds.map(\.text).joined(separator: " | ")
        return s
    }
}

struct Command: Sendable {
    var pos: Int
    var args: [Operand] = []
    var text: String { args.map(\.text).joined(separator: " ") }
}

struct Operand: Sendable {
    indirect enum Kind: Sendable {
        case field([String])
        case dot
        case variable(String, [String])
        case function(String)
        case literal(TemplateValue)
        case nilLiteral
        case pipeline(Pipeline, [String])
    }
    var kind: Kind
    var pos: Int
    var text: String
}

/// The functions a template may call: docker's set plus Go's builtins it relies on.
let knownFunctions: Set<String> = [
    "json", "split", "join", "title", "lower", "upper", "pad", "truncate",
    "index", "printf", "print", "println", "len", "not", "and", "or",
    "eq", "ne", "lt", "le", "gt", "ge",
]

struct Parser {
    let src: [UInt8]
    let tokens: [Token]
    var i = 0
    var vars: [String] = ["$"]

    init(src: [UInt8], tokens: [Token]) {
        self.src = src
        self.tokens = tokens
    }

    func error(_ message: String, at pos: Int? = nil) -> FormattingError {
        parseError(src, pos ?? tokens[max(0, min(i - 1, tokens.count - 1))].pos, message)
    }

    var peek: Token { tokens[i] }
    mutating func next() -> Token {
        let t = tokens[i]
        if i < tokens.count - 1 { i += 1 }
        return t
    }
    mutating func skipSpace() {
        while case .space = tokens[i].kind { i += 1 }
    }
    mutating func peekNonSpace() -> Token {
        skipSpace()
        return tokens[i]
    }
    mutating func nextNonSpace() -> Token {
        skipSpace()
        return next()
    }

    func describe(_ t: Token) -> String {
        switch t.kind {
        case .eof: return "EOF"
        case .keyword(let k): return "<\(k)>"
        default:
            let text = String(decoding: src[t.pos..<t.end], as: UTF8.self)
            return "\"" + (text.count > 10 ? String(text.prefix(10)) + "\"..." : text + "\"")
        }
    }

    func unexpected(_ t: Token, _ context: String) -> FormattingError {
        error("unexpected \(describe(t)) in \(context)", at: t.pos)
    }

    mutating func parseTemplate() throws -> [Node] {
        let (nodes, terminator) = try parseList(topLevel: true)
        if let terminator { throw error("unexpected {{\(terminator)}}") }
        return nodes
    }

    /// Nodes up to a matching {{end}} or {{else}}, which is returned (nil at EOF on top level).
    mutating func parseList(topLevel: Bool = false) throws -> ([Node], String?) {
        var nodes: [Node] = []
        while true {
            let t = next()
            switch t.kind {
            case .eof:
                if topLevel { return (nodes, nil) }
                throw error("unexpected EOF", at: t.pos)
            case .text(let s):
                nodes.append(.text(s))
            case .leftDelim:
                switch try parseAction() {
                case .node(let n): nodes.append(n)
                case .end: return (nodes, "end")
                case .else: return (nodes, "else")
                }
            default:
                throw unexpected(t, "input")
            }
        }
    }

    enum ActionResult { case node(Node), end, `else` }

    mutating func parseAction() throws -> ActionResult {
        let t = nextNonSpace()
        if case .keyword(let k) = t.kind {
            switch k {
            case "end":
                let close = nextNonSpace()
                guard close.kind == .rightDelim else { throw unexpected(close, "end") }
                return .end
            case "else":
                // "{{else if" leaves "if ..." for the caller to parse as a nested if.
                if case .keyword(let n) = peekNonSpace().kind, n == "if" || n == "with" { return .else }
                let close = nextNonSpace()
                guard close.kind == .rightDelim else { throw unexpected(close, "else") }
                return .else
            case "if", "range", "with":
                return .node(try parseControl(k))
            default:
                throw error("{{\(k)}} is not supported", at: t.pos)
            }
        }
        i -= 1
        let pipe = try parsePipeline("command", end: .rightDelim)
        return .node(.action(pipe))
    }

    mutating func parseControl(_ context: String) throws -> Node {
        let mark = vars.count
        defer { vars.removeLast(vars.count - mark) }
        let pipe = try parsePipeline(context, end: .rightDelim)
        let (body, terminator) = try parseList()
        var elseBody: [Node] = []
        if terminator == "else" {
            if case .keyword(let k) = peekNonSpace().kind, (k == "if" && context == "if") || (k == "with" && context == "with") {
                // {{else if x}} is {{else}}{{if x}}...{{end}} sharing one {{end}}.
                _ = next()
                elseBody = [try parseControl(k)]
            } else {
                let (list, end) = try parseList()
                guard end == "end" else { throw error("expected end; found {{\(end ?? "EOF")}}") }
                elseBody = list
            }
        }
        switch context {
        case "if": return .ifNode(pipe, body, elseBody)
        case "range": return .rangeNode(pipe, body, elseBody)
        default: return .withNode(pipe, body, elseBody)
        }
    }

    mutating func parsePipeline(_ context: String, end: Token.Kind) throws -> Pipeline {
        var pipe = Pipeline(pos: peekNonSpace().pos)
        // Declarations: "$x :=", "$x =", and in range "$i, $v :=".
        decls: while case .variable(let name) = peekNonSpace().kind {
            let save = i
            _ = next()
            let after = peekNonSpace()
            switch after.kind {
            case .declare, .assign:
                _ = next()
                pipe.isAssign = after.kind == .assign
                if pipe.isAssign, !vars.contains(name) { throw error("undefined variable \"\(name)\"") }
                pipe.decls.append(name)
                vars.append(name)
                break decls
            case .comma:
                _ = next()
                pipe.decls.append(name)
                vars.append(name)
                if context == "range", pipe.decls.count < 2, case .variable = peekNonSpace().kind { continue decls }
                throw error("too many declarations in \(context)")
            default:
                i = save  // "$x" is an operand, not a declaration
                break decls
            }
        }
        while true {
            let t = peekNonSpace()
            if t.kind == end {
                _ = next()
                if pipe.cmds.isEmpty { throw error("missing value for \(context)", at: t.pos) }
                // Only something callable can take the previous stage's value.
                for (n, cmd) in pipe.cmds.enumerated().dropFirst() {
                    switch cmd.args[0].kind {
                    case .literal, .nilLiteral, .dot: throw error("non executable command in pipeline stage \(n + 1)")
                    default: continue
                    }
                }
                return pipe
            }
            switch t.kind {
            case .bool, .dot, .field, .identifier, .number, .nilValue, .string, .variable, .leftParen:
                pipe.cmds.append(try parseCommand())
            default:
                throw unexpected(t, context)
            }
        }
    }

    mutating func parseCommand() throws -> Command {
        var cmd = Command(pos: peekNonSpace().pos)
        while true {
            skipSpace()
            if let operand = try parseOperand() { cmd.args.append(operand) }
            let t = next()
            switch t.kind {
            case .space: continue
            case .rightDelim, .rightParen: i -= 1
            case .pipe: break
            default: throw unexpected(t, "operand")
            }
            break
        }
        if cmd.args.isEmpty { throw error("empty command") }
        return cmd
    }

    mutating func parseOperand() throws -> Operand? {
        guard var node = try parseTerm() else { return nil }
        guard case .field = peek.kind else { return node }
        // Fields written right after a term form a chain: .A.B, $x.A, (pipe).A
        let chainPos = peek.pos
        var fields: [String] = []
        var end = peek.end
        while case .field(let f) = peek.kind {
            fields.append(f)
            end = peek.end
            _ = next()
        }
        let text = node.text + fields.map { "." + $0 }.joined()
        switch node.kind {
        case .field(let first): node = Operand(kind: .field(first + fields), pos: chainPos, text: text)
        case .variable(let v, let first): node = Operand(kind: .variable(v, first + fields), pos: chainPos, text: text)
        case .pipeline(let p, let first): node = Operand(kind: .pipeline(p, first + fields), pos: chainPos, text: text)
        default: throw error("unexpected . after term \"\(node.text)\"", at: end)
        }
        return node
    }

    mutating func parseTerm() throws -> Operand? {
        let t = nextNonSpace()
        let text = String(decoding: src[t.pos..<t.end], as: UTF8.self)
        switch t.kind {
        case .identifier(let name):
            guard knownFunctions.contains(name) else { throw error("function \"\(name)\" not defined", at: t.pos) }
            return Operand(kind: .function(name), pos: t.pos, text: text)
        case .dot: return Operand(kind: .dot, pos: t.pos, text: text)
        case .nilValue: return Operand(kind: .nilLiteral, pos: t.pos, text: text)
        case .variable(let name):
            guard vars.contains(name) else { throw error("undefined variable \"\(name)\"", at: t.pos) }
            return Operand(kind: .variable(name, []), pos: t.pos, text: text)
        case .field(let name): return Operand(kind: .field([name]), pos: t.pos, text: text)
        case .bool(let b): return Operand(kind: .literal(.bool(b)), pos: t.pos, text: text)
        case .number(let n): return Operand(kind: .literal(parseNumber(n) ?? .int(0)), pos: t.pos, text: text)
        case .string(let s): return Operand(kind: .literal(.string(s)), pos: t.pos, text: text)
        case .leftParen:
            let pipe = try parsePipeline("parenthesized pipeline", end: .rightParen)
            return Operand(kind: .pipeline(pipe, []), pos: t.pos, text: "(" + pipe.text + ")")
        default:
            i -= 1
            return nil
        }
    }
}
