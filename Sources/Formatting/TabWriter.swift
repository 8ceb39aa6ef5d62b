/// Go's text/tabwriter (docker's copy of it), producing a String.
///
/// Text is cut into cells at '\t'; lines end at '\n'. A column is a run of
/// adjacent lines that all have a tab-terminated cell at that index; its
/// width is the widest cell plus `padding`, at least `minWidth`. The last
/// cell of a line is not tab-terminated, so it belongs to no column and is
/// never padded. A line without any tab ends all columns (Go flushes there).
///
/// docker's tables use `TabWriter()`: minwidth 10, tabwidth 1, padding 3,
/// pad with spaces, no flags.
public struct TabWriter: Sendable {
    public let minWidth: Int
    public let tabWidth: Int
    public let padding: Int
    public let padChar: Character

    struct Cell: Sendable {
        var text: String
        var width: Int
        var terminatedByTab: Bool
    }

    private var lines: [[Cell]] = [[]]
    private var cell = ""  // the incomplete cell being collected
    private var widths: [Int] = []  // widths of the enclosing columns while formatting
    private var output = ""

    public init(minWidth: Int = 10, tabWidth: Int = 1, padding: Int = 3, padChar: Character = " ") {
        self.minWidth = minWidth
        self.tabWidth = tabWidth
        self.padding = padding
        self.padChar = padChar
    }

    /// Formats `text` in one go with docker's table settings.
    public static func format(_ text: String) -> String {
        var writer = TabWriter()
        writer.write(text)
        return writer.flush()
    }

    public mutating func write(_ text: String) {
        // Scalars, not Characters: "\r\n" is one Character but two separate bytes to Go.
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\t", "\u{B}", "\n", "\u{C}":
                let cells = terminateCell(tab: scalar == "\t")
                if scalar == "\n" || scalar == "\u{C}" {
                    lines.append([])
                    // A line of one cell cannot affect later columns, so Go flushes here.
                    if scalar == "\u{C}" || cells == 1 { flushBuffered() }
                }
            default:
                cell.unicodeScalars.append(scalar)
            }
        }
    }

    /// Formats everything buffered and returns all output not yet returned.
    public mutating func flush() -> String {
        flushBuffered()
        defer { output = "" }
        return output
    }

    private mutating func terminateCell(tab: Bool) -> Int {
        lines[lines.count - 1].append(Cell(text: cell, width: displayWidth(cell), terminatedByTab: tab))
        cell = ""
        return lines[lines.count - 1].count
    }

    private mutating func flushBuffered() {
        if !cell.isEmpty { _ = terminateCell(tab: false) }
        format(0, lines.count)
        lines = [[]]
        widths = []
    }

    /// Go's recursive column formatting: find a block of lines sharing the
    /// next column, size it, and format the block's columns to its right.
    private mutating func format(_ start: Int, _ end: Int) {
        var line0 = start
        let column = widths.count
        var this = start
        while this < end {
            if column >= lines[this].count - 1 {
                this += 1
                continue
            }
            writeLines(line0, this)
            line0 = this
            var width = minWidth
            while this < end, column < lines[this].count - 1 {
                width = max(width, lines[this][column].width + padding)
                this += 1
            }
            widths.append(width)
            format(line0, this)
            widths.removeLast()
            line0 = this
        }
        writeLines(line0, end)
    }

    private mutating func writeLines(_ start: Int, _ end: Int) {
        for i in start..<end {
            for (j, c) in lines[i].enumerated() {
                output += c.text
                if j < widths.count { writePadding(c.width, widths[j]) }
            }
            // The last buffered line has no newline yet.
            if i + 1 == lines.count { output += cell } else { output += "\n" }
        }
    }

    private mutating func writePadding(_ textWidth: Int, _ cellWidth: Int) {
        if padChar == "\t" {
            guard tabWidth > 0 else { return }
            // Round the cell up to a tab stop and fill with tabs.
            let rounded = (cellWidth + tabWidth - 1) / tabWidth * tabWidth
            output += String(repeating: "\t", count: (rounded - textWidth + tabWidth - 1) / tabWidth)
            return
        }
        output += String(repeating: padChar, count: max(0, cellWidth - textWidth))
    }
}

/// Terminal columns a string takes, like go-runewidth which docker's
/// tabwriter uses: East Asian wide characters count 2, combining marks
/// and controls 0.
func displayWidth(_ s: String) -> Int {
    var width = 0
    for scalar in s.unicodeScalars {
        let v = scalar.value
        if v < 0x20 || (0x7F..<0xA0).contains(v) { continue }
        if v < 0x300 { width += 1; continue }  // fast path for Latin text
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: continue
        default: break
        }
        width += isWide(v) ? 2 : 1
    }
    return width
}

private func isWide(_ v: UInt32) -> Bool {
    switch v {
    case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
        0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
        0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD:
        return true
    default:
        return false
    }
}
