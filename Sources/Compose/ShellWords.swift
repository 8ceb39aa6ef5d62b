import SwarmAPI
/// Splits a `command:` or `entrypoint:` string into words as Docker's
/// loader does (go-shellwords): blanks separate words, single quotes keep
/// everything, double quotes keep all but `\"` and `\\`, a backslash outside
/// quotes escapes the next character. Nil when a quote is not closed.
enum ShellWords {
    static func split(_ text: String) -> [String]? {
        var words: [String] = []
        var word = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for character in text {
            if escaped {
                if quote == "\"" && character != "\"" && character != "\\" && character != "$" && character != "`" { word.append("\\") }
                word.append(character); escaped = false; inWord = true
                continue
            }
            if character == "\\" && quote != "'" { escaped = true; continue }
            if let open = quote {
                if character == open { quote = nil } else { word.append(character) }
                continue
            }
            switch character {
            case "'", "\"": quote = character; inWord = true
            case " ", "\t", "\n", "\r":
                if inWord { words.append(word); word = ""; inWord = false }
            default: word.append(character); inWord = true
            }
        }
        guard quote == nil, !escaped else { return nil }
        if inWord { words.append(word) }
        return words
    }
}
