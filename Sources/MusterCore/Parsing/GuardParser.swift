/// Parses transition guards (`when:`) into a `GuardExpression`, with the position of every name.
///
///     guard   := or
///     or      := and ("or" and)*
///     and     := unary ("and" unary)*
///     unary   := "not" unary | primary
///     primary := "(" guard ")" | "true" | "false" | "all_tasks_done"
///              | tasks.ID.done | tasks.ID.skipped | roles.ID.assigned | decisions.ID.made
///              | (decisions.ID | severity | mode) ("==" | "!=") STRING
///              | rollcall.ID.accounted OP NUMBER ["%"] | rollcall.ID.count "(" OPTION ")" OP NUMBER ["%"]
///              | rollcall.ID.overdue | acks.ID.acknowledged | acks.ID.exhausted
///     OP      := ">=" | ">" | "<=" | "<" | "==" | "!="
///
/// Strings are quoted with `"` or `'`. Errors point at the column inside the guard where the problem is.
/// The parser is recursive, as is everything that walks a guard (evaluation, rendering, the validator), so a guard
/// is bounded: at most `maxDepth` parentheses and `not`s inside each other, at most `maxConditions` conditions.
public enum GuardParser {
    /// Parentheses and `not` nested inside each other (10,000 of them overflowed the stack).
    public static let maxDepth = 64
    /// Conditions joined in one guard: each `and`/`or` deepens the tree the walkers recurse on.
    public static let maxConditions = 256

    public static func parse(_ text: String, at location: SourceLocation) throws(Diagnostic) -> GuardExpression {
        var parser = try Parser(text: text, at: location)
        return try parser.parseGuard()
    }

    static let severities = Severity.allCases.map(\.rawValue)
    static let modes = ["live", "exercise"]

    struct Token {
        enum Kind: Equatable {
            case word(String)
            case string(String)
            case leftParen, rightParen
            case equal, notEqual
            case less, lessEqual, greater, greaterEqual
            case percent
            case and, or, not
            case end
        }

        var kind: Kind
        /// Offset in Unicode scalars from the start of the guard text.
        var offset: Int

        /// How the token reads in a message.
        var spelling: String {
            switch kind {
            case .word(let w): w
            case .string(let s): "\"\(s)\""
            case .leftParen: "("
            case .rightParen: ")"
            case .equal: "=="
            case .notEqual: "!="
            case .less: "<"
            case .lessEqual: "<="
            case .greater: ">"
            case .greaterEqual: ">="
            case .percent: "%"
            case .and: "and"
            case .or: "or"
            case .not: "not"
            case .end: "the end"
            }
        }
    }

    static func error(_ message: String, at location: SourceLocation) -> Diagnostic {
        .error("invalid-guard", "invalid guard: \(message)", at: location)
    }

    static func isWordScalar(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "_" || c == "-" || c == "."
    }

    static func tokenize(_ text: String, at location: SourceLocation) throws(Diagnostic) -> [Token] {
        let chars = Array(text.unicodeScalars)
        var tokens: [Token] = []
        var i = 0
        func at(_ offset: Int) -> SourceLocation { location.advanced(byColumns: offset) }
        while i < chars.count {
            let c = chars[i]
            if c == " " || c == "\t" || c == "\n" || c == "\r" {
                i += 1
                continue
            }
            let next: Unicode.Scalar? = i + 1 < chars.count ? chars[i + 1] : nil
            switch c {
            case "(":
                tokens.append(Token(kind: .leftParen, offset: i))
                i += 1
            case ")":
                tokens.append(Token(kind: .rightParen, offset: i))
                i += 1
            case "=":
                guard next == "=" else { throw error("unexpected '=' (write '==' to compare)", at: at(i)) }
                tokens.append(Token(kind: .equal, offset: i))
                i += 2
            case "!":
                guard next == "=" else { throw error("unexpected '!' (write 'not')", at: at(i)) }
                tokens.append(Token(kind: .notEqual, offset: i))
                i += 2
            case "<", ">":
                let orEqual = next == "="
                let kind: Token.Kind = c == "<" ? (orEqual ? .lessEqual : .less) : (orEqual ? .greaterEqual : .greater)
                tokens.append(Token(kind: kind, offset: i))
                i += orEqual ? 2 : 1
            case "%":
                tokens.append(Token(kind: .percent, offset: i))
                i += 1
            case "&":
                throw error("unexpected '\(next == "&" ? "&&" : "&")' (write 'and')", at: at(i))
            case "|":
                throw error("unexpected '\(next == "|" ? "||" : "|")' (write 'or')", at: at(i))
            case "\"", "'":
                var j = i + 1
                var value = String.UnicodeScalarView()
                while j < chars.count, chars[j] != c {
                    value.append(chars[j])
                    j += 1
                }
                guard j < chars.count else {
                    throw error("unterminated string (missing closing '\(c)')", at: at(i))
                }
                tokens.append(Token(kind: .string(String(value)), offset: i))
                i = j + 1
            default:
                guard isWordScalar(c) else {
                    throw error("unexpected character '\(c)'", at: at(i))
                }
                var j = i
                var word = String.UnicodeScalarView()
                while j < chars.count, isWordScalar(chars[j]) {
                    word.append(chars[j])
                    j += 1
                }
                let w = String(word)
                let kind: Token.Kind = switch w {
                case "and": .and
                case "or": .or
                case "not": .not
                default: .word(w)
                }
                tokens.append(Token(kind: kind, offset: i))
                i = j
            }
        }
        tokens.append(Token(kind: .end, offset: chars.count))
        return tokens
    }

    struct Parser {
        let tokens: [Token]
        let location: SourceLocation
        var index = 0
        /// Open parentheses and `not`s around the current token.
        var depth = 0
        var conditions = 0

        init(text: String, at location: SourceLocation) throws(Diagnostic) {
            self.tokens = try GuardParser.tokenize(text, at: location)
            self.location = location
        }

        var current: Token { tokens[index] }
        func at(_ token: Token) -> SourceLocation { location.advanced(byColumns: token.offset) }
        func at(_ offset: Int) -> SourceLocation { location.advanced(byColumns: offset) }

        mutating func parseGuard() throws(Diagnostic) -> GuardExpression {
            if current.kind == .end { throw GuardParser.error("the guard is empty", at: at(current)) }
            let expression = try parseOr(after: nil)
            switch current.kind {
            case .end:
                return expression
            case .rightParen:
                throw GuardParser.error("unexpected ')' without a matching '('", at: at(current))
            default:
                throw GuardParser.error(
                    "unexpected '\(current.spelling)' after a complete condition (join conditions with 'and' or 'or')",
                    at: at(current))
            }
        }

        /// `after` names the token before the operand, for "expected an operand after 'and'".
        mutating func parseOr(after: Token?) throws(Diagnostic) -> GuardExpression {
            var left = try parseAnd(after: after)
            while current.kind == .or {
                let op = current
                index += 1
                left = .or(left, try parseAnd(after: op))
            }
            return left
        }

        mutating func parseAnd(after: Token?) throws(Diagnostic) -> GuardExpression {
            var left = try parseUnary(after: after)
            while current.kind == .and {
                let op = current
                index += 1
                left = .and(left, try parseUnary(after: op))
            }
            return left
        }

        mutating func parseUnary(after: Token?) throws(Diagnostic) -> GuardExpression {
            if current.kind == .not {
                let op = current
                try enter(op)
                defer { depth -= 1 }
                index += 1
                return .not(try parseUnary(after: op))
            }
            return try parsePrimary(after: after)
        }

        /// One level deeper, at a `(` or a `not`; refused past `maxDepth`.
        mutating func enter(_ token: Token) throws(Diagnostic) {
            depth += 1
            guard depth <= GuardParser.maxDepth else {
                throw GuardParser.error(
                    "'\(token.spelling)' nested more than \(GuardParser.maxDepth) levels deep (simplify the guard)", at: at(token))
            }
        }

        func expectedOperand(after: Token?) -> Diagnostic {
            let found = current.kind == .end ? "" : ", found '\(current.spelling)'"
            if let after {
                return GuardParser.error("expected an operand after '\(after.spelling)'\(found)", at: at(current))
            }
            return GuardParser.error("expected a condition\(found)", at: at(current))
        }

        mutating func parsePrimary(after: Token?) throws(Diagnostic) -> GuardExpression {
            let token = current
            switch token.kind {
            case .leftParen:
                try enter(token)
                defer { depth -= 1 }
                index += 1
                let inner = try parseOr(after: token)
                guard current.kind == .rightParen else {
                    let open = at(token)
                    let found = current.kind == .end ? "" : ", found '\(current.spelling)'"
                    throw GuardParser.error(
                        "expected ')' to close the '(' at \(open.line):\(open.column)\(found)", at: at(current))
                }
                index += 1
                return inner
            case .word(let word):
                conditions += 1
                guard conditions <= GuardParser.maxConditions else {
                    throw GuardParser.error("more than \(GuardParser.maxConditions) conditions in one guard (split the transition)", at: at(token))
                }
                index += 1
                return try condition(word, at: token.offset)
            default:
                throw expectedOperand(after: after)
            }
        }

        /// A name such as `tasks.confirm.done`, possibly followed by a comparison.
        mutating func condition(_ word: String, at offset: Int) throws(Diagnostic) -> GuardExpression {
            let segments = word.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            // Offsets of each segment inside the guard text.
            var segmentOffsets: [Int] = []
            var running = offset
            for segment in segments {
                segmentOffsets.append(running)
                running += segment.unicodeScalars.count + 1
            }
            func located(_ i: Int) -> Located<String> { Located(segments[i], at: at(segmentOffsets[i])) }
            let comparable: GuardExpression.Subject?
            switch segments[0] {
            case "true" where segments.count == 1: return .literal(true)
            case "false" where segments.count == 1: return .literal(false)
            case "all_tasks_done" where segments.count == 1: return .allTasksDone
            case "severity" where segments.count == 1: comparable = .severity
            case "mode" where segments.count == 1: comparable = .mode
            case "tasks":
                guard segments.count == 3, !segments[1].isEmpty, segments[2] == "done" || segments[2] == "skipped" else {
                    throw notACondition(word, segments, at: offset, forms: ["done", "skipped"], pattern: "tasks.ID.done or tasks.ID.skipped")
                }
                try noComparison(word)
                return segments[2] == "done" ? .taskDone(located(1)) : .taskSkipped(located(1))
            case "roles":
                guard segments.count == 3, !segments[1].isEmpty, segments[2] == "assigned" else {
                    throw notACondition(word, segments, at: offset, forms: ["assigned"], pattern: "roles.ID.assigned")
                }
                try noComparison(word)
                return .roleAssigned(located(1))
            case "rollcall":
                let id = segments.count > 1 ? located(1) : Located("", at: at(offset))
                return try rollCallCondition(word, segments, at: offset, id: id)
            case "acks":
                guard segments.count == 3, !segments[1].isEmpty, let property = GuardExpression.AckProperty(rawValue: segments[2]) else {
                    throw notACondition(word, segments, at: offset, forms: GuardExpression.AckProperty.allCases.map(\.rawValue),
                                        pattern: "acks.ID.acknowledged or acks.ID.exhausted")
                }
                try noComparison(word)
                return .ack(located(1), property)
            case "decisions":
                if segments.count == 3, !segments[1].isEmpty, segments[2] == "made" {
                    try noComparison(word)
                    return .decisionMade(located(1))
                }
                guard segments.count == 2, !segments[1].isEmpty else {
                    throw notACondition(word, segments, at: offset, forms: ["made"], pattern: "decisions.ID.made or decisions.ID == \"option\"")
                }
                comparable = .decision(located(1))
            default:
                let names = ["true", "false", "all_tasks_done", "severity", "mode", "tasks", "roles", "decisions", "rollcall", "acks",
                             "and", "or", "not"]
                let hint = Suggestion.hint(for: segments[0], in: names)
                throw GuardParser.error(
                    "unknown name '\(word)'\(hint.isEmpty ? " (a guard uses tasks, roles, decisions, rollcall, acks, severity, mode, all_tasks_done, true or false)" : hint)",
                    at: at(offset))
            }
            guard let subject = comparable else { preconditionFailure("every case returns or sets a subject") }
            let op = current
            let comparison: GuardExpression.Comparison
            switch op.kind {
            case .equal: comparison = .equal
            case .notEqual: comparison = .notEqual
            default:
                let example = switch subject {
                case .severity: "severity == \"P1\""
                case .mode: "mode == \"exercise\""
                case .decision(let id): "\(word) == \"option\" or decisions.\(id.value).made"
                }
                throw GuardParser.error("'\(word)' must be compared with '==' or '!=' (write \(example))", at: at(op))
            }
            index += 1
            let valueToken = current
            guard case .string(let value) = valueToken.kind else {
                let found = valueToken.kind == .end ? "" : ", found '\(valueToken.spelling)'"
                throw GuardParser.error("expected a quoted value after '\(op.spelling)'\(found)", at: at(valueToken))
            }
            index += 1
            // The value's position is its first character, inside the quotes.
            let located = Located(value, at: at(valueToken.offset + 1))
            switch subject {
            case .severity where !GuardParser.severities.contains(value):
                throw GuardParser.error("'\(value)' is not a severity\(Severity.hint(for: value))", at: located.location)
            case .mode where !GuardParser.modes.contains(value):
                throw GuardParser.error(
                    "'\(value)' is not a run mode\(hintOr(value, GuardParser.modes, "write live or exercise"))",
                    at: located.location)
            default:
                return .comparison(subject, comparison, located)
            }
        }

        /// `rollcall.ID.accounted >= 95%`, `rollcall.ID.count(help) > 0`, `rollcall.ID.overdue`.
        mutating func rollCallCondition(
            _ word: String, _ segments: [String], at offset: Int, id: Located<String>
        ) throws(Diagnostic) -> GuardExpression {
            let forms = ["accounted", "count", "overdue"]
            let pattern = "rollcall.ID.accounted >= 95%, rollcall.ID.count(OPTION) > 0 or rollcall.ID.overdue"
            guard segments.count == 3, !segments[1].isEmpty, forms.contains(segments[2]) else {
                throw notACondition(word, segments, at: offset, forms: forms, pattern: pattern)
            }
            let measure: GuardExpression.RollCallMeasure
            switch segments[2] {
            case "overdue":
                try noComparison(word)
                return .rollCallOverdue(id)
            case "count":
                guard current.kind == .leftParen else {
                    throw GuardParser.error("'\(word)' needs an option in parentheses (write \(word)(OPTION) > 0)", at: at(current))
                }
                index += 1
                guard case .word(let option) = current.kind else {
                    let found = current.kind == .end ? "" : ", found '\(current.spelling)'"
                    throw GuardParser.error("expected an option of roll call '\(id.value)' inside '(...)'\(found)", at: at(current))
                }
                let optionToken = current
                index += 1
                guard current.kind == .rightParen else {
                    let found = current.kind == .end ? "" : ", found '\(current.spelling)'"
                    throw GuardParser.error("expected ')' after the option '\(option)'\(found)", at: at(current))
                }
                index += 1
                measure = .count(option: Located(option, at: at(optionToken)))
            default:
                measure = .accounted
            }
            let op = current
            let comparison: GuardExpression.NumericComparison
            switch op.kind {
            case .greaterEqual: comparison = .atLeast
            case .greater: comparison = .greater
            case .lessEqual: comparison = .atMost
            case .less: comparison = .less
            case .equal: comparison = .equal
            case .notEqual: comparison = .notEqual
            default:
                let found = op.kind == .end ? "" : ", found '\(op.spelling)'"
                let lhs = if case .count(let option) = measure { "\(word)(\(option.value))" } else { word }
                throw GuardParser.error(
                    "'\(lhs)' must be compared with a number of people or a percentage (write >= 95% or > 0)\(found)",
                    at: at(op))
            }
            index += 1
            let valueToken = current
            guard case .word(let digits) = valueToken.kind, let n = Int(digits) else {
                let found = valueToken.kind == .end ? "" : ", found '\(valueToken.spelling)'"
                throw GuardParser.error("expected a number or a percentage after '\(op.spelling)' (such as 95% or 0)\(found)", at: at(valueToken))
            }
            index += 1
            var quantity = GuardExpression.Quantity.people(n)
            if current.kind == .percent {
                quantity = .percent(n)
                index += 1
            }
            return .rollCallMeasure(id, measure, comparison, Located(quantity, at: at(valueToken)))
        }

        func hintOr(_ word: String, _ candidates: [String], _ fallback: String) -> String {
            let hint = Suggestion.hint(for: word, in: candidates)
            return hint.isEmpty ? " (\(fallback))" : hint
        }

        func noComparison(_ word: String) throws(Diagnostic) {
            if current.kind == .equal || current.kind == .notEqual {
                throw GuardParser.error(
                    "'\(word)' is true or false and cannot be compared (only decisions.ID, severity, mode and roll call counts can)",
                    at: at(current))
            }
        }

        func notACondition(_ word: String, _ segments: [String], at offset: Int, forms: [String], pattern: String) -> Diagnostic {
            // Point at the last segment when the shape is right but the property is wrong.
            if segments.count == 3, !segments[1].isEmpty, let hint = Suggestion.closest(to: segments[2], in: forms) {
                let start = offset + segments[0].unicodeScalars.count + segments[1].unicodeScalars.count + 2
                return GuardParser.error(
                    "'\(word)' is not a condition (did you mean '\(segments[0]).\(segments[1]).\(hint)'?)", at: at(start))
            }
            return GuardParser.error("'\(word)' is not a condition (write \(pattern))", at: at(offset))
        }
    }
}
