/// Parses messages with `{{ path }}` placeholders into a `Template`. Whitespace inside the braces is allowed;
/// a path is dotted words of letters, digits, `_` and `-` (`run.title`, `services.file-shares.rto`).
/// Whether a variable exists is the validator's question, not the parser's.
public enum TemplateParser {
    public static func parse(_ text: String, at location: SourceLocation) throws(Diagnostic) -> Template {
        let chars = Array(text.unicodeScalars)
        var parts: [Template.Part] = []
        var pending = String.UnicodeScalarView()
        var i = 0
        func flush() {
            if !pending.isEmpty {
                parts.append(.text(String(pending)))
                pending = String.UnicodeScalarView()
            }
        }
        while i < chars.count {
            guard chars[i] == "{", i + 1 < chars.count, chars[i + 1] == "{" else {
                pending.append(chars[i])
                i += 1
                continue
            }
            let open = i
            var close = i + 2
            while close + 1 < chars.count, !(chars[close] == "}" && chars[close + 1] == "}") { close += 1 }
            guard close + 1 < chars.count else {
                throw error("'{{' is not closed (add '}}')", at: location.advanced(byColumns: open))
            }
            var start = open + 2, end = close
            while start < end, isSpace(chars[start]) { start += 1 }
            while end > start, isSpace(chars[end - 1]) { end -= 1 }
            let name = String(String.UnicodeScalarView(chars[start..<end]))
            if name.isEmpty {
                throw error("empty placeholder (write a variable such as {{run.title}})", at: location.advanced(byColumns: open))
            }
            if let nested = (start..<end).first(where: { chars[$0] == "{" && $0 + 1 < end && chars[$0 + 1] == "{" }) {
                throw error("unexpected '{{' inside a placeholder (a variable is a dotted name such as run.title)", at: location.advanced(byColumns: nested))
            }
            if let bad = chars[start..<end].firstIndex(where: { !isPathScalar($0) }) {
                throw error("unexpected '\(chars[bad])' in variable '\(name)' (a variable is a dotted name such as run.title)", at: location.advanced(byColumns: bad))
            }
            if name.hasPrefix(".") || name.hasSuffix(".") || name.contains("..") {
                throw error("'\(name)' is not a variable name (a variable is a dotted name such as run.title)", at: location.advanced(byColumns: start))
            }
            flush()
            parts.append(.variable(Located(name, at: location.advanced(byColumns: start))))
            i = close + 2
        }
        flush()
        return Template(source: text, parts: parts)
    }

    static func error(_ message: String, at location: SourceLocation) -> Diagnostic {
        .error("invalid-template", "invalid template: \(message)", at: location)
    }

    static func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" }

    static func isPathScalar(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "_" || c == "-" || c == "."
    }
}
