extension StringProtocol {
    /// Without leading and trailing whitespace and newlines: Foundation's
    /// `trimmingCharacters(in: .whitespacesAndNewlines)`, which
    /// FoundationEssentials lacks (and the CLI links nothing more).
    public var trimmed: String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[first...last])
    }
}
