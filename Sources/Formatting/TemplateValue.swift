/// A value a template is executed against: the dynamic data docker's Go
/// templates see through reflection, reduced to what JSON can express.
/// Objects keep their keys in the given order, because Go encodes struct
/// fields in declaration order (`{{json .Spec}}` in `inspect`).
public enum TemplateValue: Sendable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case null
    case array([TemplateValue])
    case object([(key: String, value: TemplateValue)])

    /// An object with keys sorted, as Go's encoding/json and fmt order maps.
    public init(_ dictionary: [String: String]) {
        self = .object(dictionary.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
    }

    /// An object with keys sorted, as Go's encoding/json and fmt order maps.
    public init(_ dictionary: [String: TemplateValue]) {
        self = .object(dictionary.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }

    /// The value under `key` if this is an object holding it.
    public subscript(key: String) -> TemplateValue? {
        guard case .object(let fields) = self else { return nil }
        return fields.first { $0.key == key }?.value
    }

    /// The string payload, if this is a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}

extension TemplateValue: Equatable {
    public static func == (lhs: TemplateValue, rhs: TemplateValue) -> Bool {
        switch (lhs, rhs) {
        case (.string(let a), .string(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b
        case (.bool(let a), .bool(let b)): return a == b
        case (.null, .null): return true
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }
}

extension TemplateValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByNilLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(arrayLiteral elements: TemplateValue...) { self = .array(elements) }
    /// Literal order is kept: `["ID": "x", "Name": "web"]` is an ordered object.
    public init(dictionaryLiteral elements: (String, TemplateValue)...) {
        self = .object(elements.map { (key: $0.0, value: $0.1) })
    }
}

// MARK: - JSON encoding (Go encoding/json)

extension TemplateValue {
    /// Compact JSON as Go's encoding/json writes it. `escapeHTML` turns
    /// `<`, `>` and `&` into `\u003c` etc., which json.Marshal does by default
    /// and docker's `json` template function switches off.
    public func json(escapeHTML: Bool = false) -> String {
        var out = ""
        appendJSON(to: &out, escapeHTML: escapeHTML)
        return out
    }

    func appendJSON(to out: inout String, escapeHTML: Bool) {
        switch self {
        case .string(let s): appendJSONString(s, to: &out, escapeHTML: escapeHTML)
        case .int(let i): out += String(i)
        case .double(let d): out += GoFloat.json(d)
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.appendJSON(to: &out, escapeHTML: escapeHTML)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (i, field) in fields.enumerated() {
                if i > 0 { out += "," }
                appendJSONString(field.key, to: &out, escapeHTML: escapeHTML)
                out += ":"
                field.value.appendJSON(to: &out, escapeHTML: escapeHTML)
            }
            out += "}"
        }
    }
}

func appendJSONString(_ s: String, to out: inout String, escapeHTML: Bool) {
    let hex: [Character] = Array("0123456789abcdef")
    out += "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        // Go 1.22+ writes these two as short escapes too.
        case "\u{8}": out += "\\b"
        case "\u{C}": out += "\\f"
        // Go always escapes the JavaScript line separators.
        case "\u{2028}": out += "\\u2028"
        case "\u{2029}": out += "\\u2029"
        default:
            if scalar.value < 0x20 || (escapeHTML && (scalar == "<" || scalar == ">" || scalar == "&")) {
                out += "\\u00" + String(hex[Int(scalar.value >> 4)]) + String(hex[Int(scalar.value & 0xF)])
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    out += "\""
}

// MARK: - Go fmt %v printing

extension TemplateValue {
    /// The text Go's fmt prints for this value with `%v`, which is what a
    /// template action like `{{.Field}}` writes.
    var goString: String {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return GoFloat.formatG(d)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "<nil>"
        case .array(let items): return "[" + items.map(\.goString).joined(separator: " ") + "]"
        case .object(let fields):
            // fmt prints maps with sorted keys.
            let sorted = fields.sorted { $0.key < $1.key }
            return "map[" + sorted.map { $0.key + ":" + $0.value.goString }.joined(separator: " ") + "]"
        }
    }

    /// Go's type name, used in fmt's `%!d(string=x)` and in error messages.
    var goTypeName: String {
        switch self {
        case .string: return "string"
        case .int: return "int"
        case .double: return "float64"
        case .bool: return "bool"
        case .null: return "<nil>"
        case .array: return "[]interface {}"
        case .object: return "map[string]interface {}"
        }
    }

    /// Go's template truth: false, 0, nil and empty are false.
    var isTruthy: Bool {
        switch self {
        case .string(let s): return !s.isEmpty
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .bool(let b): return b
        case .null: return false
        case .array(let a): return !a.isEmpty
        case .object(let o): return !o.isEmpty
        }
    }
}

/// Go's float formatting, built from Swift's shortest round-trip digits
/// (the same digits Go's strconv picks with precision -1).
enum GoFloat {
    /// Digits without leading/trailing zeros and the decimal point position:
    /// value = 0.DIGITS × 10^dp.
    static func decompose(_ d: Double) -> (negative: Bool, digits: [Character], dp: Int) {
        var text = Substring(d.magnitude.description)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = text[..<e]
        }
        var intPart = text
        var fracPart: Substring = ""
        if let dot = text.firstIndex(of: ".") {
            intPart = text[..<dot]
            fracPart = text[text.index(after: dot)...]
        }
        var digits = Array(intPart + fracPart)
        var dp = intPart.count + exponent
        while let first = digits.first, first == "0" {
            digits.removeFirst()
            dp -= 1
        }
        while let last = digits.last, last == "0" { digits.removeLast() }
        if digits.isEmpty { dp = 0 }
        return (d.sign == .minus, digits, dp)
    }

    static func fixed(_ digits: [Character], _ dp: Int) -> String {
        if digits.isEmpty { return "0" }
        if dp <= 0 { return "0." + String(repeating: "0", count: -dp) + String(digits) }
        if dp >= digits.count { return String(digits) + String(repeating: "0", count: dp - digits.count) }
        return String(digits[..<dp]) + "." + String(digits[dp...])
    }

    /// `d.ddde±XX`; fmt pads the exponent to two digits, and encoding/json
    /// then strips that padding again from negative exponents (1e-7).
    static func exponential(_ digits: [Character], _ dp: Int, shortNegativeExponent: Bool = false) -> String {
        let digits = digits.isEmpty ? ["0"] : digits
        var s = String(digits[0])
        if digits.count > 1 { s += "." + String(digits[1...]) }
        let exp = digits == ["0"] ? 0 : dp - 1
        let magnitude = String(abs(exp))
        let pad = magnitude.count < 2 && !(exp < 0 && shortNegativeExponent)
        return s + "e" + (exp < 0 ? "-" : "+") + (pad ? "0" : "") + magnitude
    }

    /// fmt's `%v`: strconv 'g' with shortest precision.
    static func formatG(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Inf" : "+Inf" }
        let (neg, digits, dp) = decompose(d)
        let exp = dp - 1
        let body = (exp < -4 || exp >= 6) && !digits.isEmpty ? exponential(digits, dp) : fixed(digits, dp)
        return (neg ? "-" : "") + body
    }

    /// encoding/json: 'f' unless very small or large, then 'e' with a
    /// one-digit negative exponent kept short (1e-7, not 1e-07).
    static func json(_ d: Double) -> String {
        if !d.isFinite { return "null" }  // Go refuses to encode these.
        let (neg, digits, dp) = decompose(d)
        let a = d.magnitude
        let exponentForm = a != 0 && (a < 1e-6 || a >= 1e21)
        let body = exponentForm ? exponential(digits, dp, shortNegativeExponent: true) : fixed(digits, dp)
        return (neg ? "-" : "") + body
    }
}
