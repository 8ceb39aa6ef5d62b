/// docker's CLI turns the two characters `\t` and `\n` in a `--format` value
/// into a tab and a newline before parsing, so shells need no $'...' quoting.
public func expandFormatEscapes(_ format: String) -> String {
    var out = ""
    var chars = Substring(format)
    while let c = chars.popFirst() {
        if c == "\\", let next = chars.first, next == "t" || next == "n" {
            out += next == "t" ? "\t" : "\n"
            chars.removeFirst()
        } else {
            out.append(c)
        }
    }
    return out
}

/// Renders list rows the way docker's `ls`/`ps` commands do for `--format`:
///
/// - nil, "" or "table": `defaultTableFormat` (the command's default, which
///   itself starts with "table").
/// - "json": `{{json .}}`, one object per line.
/// - "table …": a header row (the template run on `headers`, with json,
///   upper, join etc. passing the header through), then one row per item,
///   aligned by `TabWriter`. The header is printed even with no items.
/// - anything else: the template once per item, each followed by a newline.
///
/// Row keys are sorted first, as docker's rows marshal to a Go map
/// (`--format json` prints `{"ID":…,"Image":…,"Mode":…}`).
/// Errors read like docker's: `template parsing error: template: :1:2: …`.
public func renderList(
    items: [TemplateValue], format: String?, defaultTableFormat: String, headers: [String: String],
    typeName: String = "object"
) throws -> String {
    var format = format ?? ""
    if format.isEmpty || format == "table" { format = defaultTableFormat }
    if format == "json" { format = "{{json .}}" }
    let isTable = format.hasPrefix("table")
    var body = Substring(isTable ? String(format.dropFirst("table".count)) : format)
    // strings.Trim(format, " "): spaces only.
    while body.first == " " { body.removeFirst() }
    while body.last == " " { body.removeLast() }

    let template: Template
    do {
        template = try Template(parse: expandFormatEscapes(String(body)))
    } catch let error as FormattingError {
        throw FormattingError("template parsing error: " + error.message)
    }

    var options = ExecOptions()
    options.typeName = typeName
    options.escapeHTMLInObjects = true
    var rows = ""
    for item in items {
        var row = item
        if case .object(let fields) = item { row = .object(fields.sorted { $0.key < $1.key }) }
        do {
            rows += try template.execute(row, options: options)
        } catch let error as FormattingError {
            throw FormattingError("template parsing error: " + error.message)
        }
        rows += "\n"
    }
    guard isTable else { return rows }

    let header = template.executeHeader(TemplateValue(headers))
    return TabWriter.format(header + "\n" + rows)
}
