/// Parses timer anchors (`at:`): `run.start`, `run.start + 2h`, `services.ID.rto - 1h`, `services.ID.mtpd`
/// (objectives `rto`, `rpo`, `mtpd`). The offset is a duration as written elsewhere (`30m`, `1h30m`).
public enum TimeExpressionParser {
    public static func parse(_ text: String, at location: SourceLocation) throws(Diagnostic) -> TimeExpression {
        let chars = Array(text.unicodeScalars)
        var i = 0
        func at(_ offset: Int) -> SourceLocation { location.advanced(byColumns: offset) }
        func skipSpaces() { while i < chars.count, chars[i] == " " || chars[i] == "\t" { i += 1 } }
        func word(_ allowed: (Unicode.Scalar) -> Bool) -> String {
            var out = String.UnicodeScalarView()
            while i < chars.count, allowed(chars[i]) {
                out.append(chars[i])
                i += 1
            }
            return String(out)
        }
        func isLetter(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_" }
        func isIDScalar(_ c: Unicode.Scalar) -> Bool { isLetter(c) || ("0"..."9").contains(c) || c == "-" }
        let expected = "expected run.start or services.ID.rto, .rpo or .mtpd"

        skipSpaces()
        let rootStart = i
        let root = word(isLetter)
        guard i < chars.count, chars[i] == ".", root == "run" || root == "services" else {
            let rest = String(String.UnicodeScalarView(chars[rootStart...])).trimmingTrailingSpaces()
            if rest.isEmpty { throw error("the expression is empty (\(expected))", at: at(rootStart)) }
            let hint = Suggestion.hint(for: root, in: ["run", "services"])
            throw error("\(expected), found '\(rest)'\(hint)", at: at(rootStart))
        }
        i += 1
        let base: TimeExpression.Base
        let baseText: String
        if root == "run" {
            let propertyStart = i
            let property = word(isLetter)
            guard property == "start" else {
                throw error("'run.\(property)' is not a time (write run.start)", at: at(propertyStart))
            }
            base = .runStart
            baseText = "run.start"
        } else {
            let idStart = i
            let id = word(isIDScalar)
            guard !id.isEmpty, i < chars.count, chars[i] == "." else {
                throw error("\(expected), found 'services.\(id)'", at: at(rootStart))
            }
            i += 1
            let objectiveStart = i
            let objective = word(isLetter)
            guard let kind = Service.Objective(rawValue: objective) else {
                let names = Service.Objective.allCases.map(\.rawValue)
                let hint = Suggestion.hint(for: objective, in: names)
                throw error(
                    "'\(objective)' is not an objective\(hint.isEmpty ? " (write rto, rpo or mtpd)" : hint)",
                    at: at(objectiveStart))
            }
            base = .objective(service: Located(id, at: at(idStart)), kind)
            baseText = "services.\(id).\(objective)"
        }
        skipSpaces()
        if i == chars.count { return TimeExpression(base: base) }
        let opIndex = i
        let sign: Int64
        switch chars[i] {
        case "+": sign = 1
        case "-": sign = -1
        default:
            let rest = String(String.UnicodeScalarView(chars[i...])).trimmingTrailingSpaces()
            throw error("expected '+' or '-' after '\(baseText)', found '\(rest)'", at: at(i))
        }
        i += 1
        skipSpaces()
        let spanStart = i
        let spanText = String(String.UnicodeScalarView(chars[i...])).trimmingTrailingSpaces()
        if spanText.isEmpty {
            throw error("expected a duration after '\(chars[opIndex])' (write 30m, 4h, 1h30m, 2d)", at: at(spanStart))
        }
        guard let span = TimeSpan(parsing: spanText) else {
            throw error("'\(spanText)' is not a duration (write 30m, 4h, 1h30m, 2d)", at: at(spanStart))
        }
        return TimeExpression(base: base, offset: TimeSpan(milliseconds: sign * span.milliseconds))
    }

    static func error(_ message: String, at location: SourceLocation) -> Diagnostic {
        .error("invalid-time-expression", "invalid time expression: \(message)", at: location)
    }
}

extension String {
    /// One backward scan: dropping one character at a time was quadratic (`Collection.dropLast` walks from the
    /// start), and a 64 KB anchor of spaces took 4 s (found by `muster-fuzz time`).
    func trimmingTrailingSpaces() -> String {
        let scalars = unicodeScalars
        guard let last = scalars.lastIndex(where: { $0 != " " && $0 != "\t" }) else { return "" }
        return String(scalars[...last])
    }
}
