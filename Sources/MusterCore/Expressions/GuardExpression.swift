/// A transition guard (`when:`): a small boolean language over the run.
///
///     tasks.ID.done | tasks.ID.skipped | all_tasks_done | roles.ID.assigned | decisions.ID.made
///     decisions.ID == "option" | severity == "P1" | mode == "exercise"   (and !=)
///     rollcall.ID.accounted OP N[%] | rollcall.ID.count(OPTION) OP N[%] | rollcall.ID.overdue
///     acks.ID.acknowledged | acks.ID.exhausted                (OP: >= > <= < == !=)
///     true | false | not X | X and Y | X or Y | ( X )
///
/// `and` binds tighter than `or`; `not` tighter than both.
public indirect enum GuardExpression: Sendable, Hashable {
    case literal(Bool)
    case taskDone(Located<String>)
    case taskSkipped(Located<String>)
    /// Every task of the current state is done or skipped.
    case allTasksDone
    case roleAssigned(Located<String>)
    case decisionMade(Located<String>)
    case comparison(Subject, Comparison, Located<String>)
    /// `rollcall.ID.accounted >= 95%`, `rollcall.ID.count(help) > 0`.
    case rollCallMeasure(Located<String>, RollCallMeasure, NumericComparison, Located<Quantity>)
    /// `rollcall.ID.overdue`: its `within` passed before everyone was accounted for.
    case rollCallOverdue(Located<String>)
    /// `acks.ID.acknowledged`, `acks.ID.exhausted`.
    case ack(Located<String>, AckProperty)
    case not(GuardExpression)
    case and(GuardExpression, GuardExpression)
    case or(GuardExpression, GuardExpression)

    public enum Subject: Sendable, Hashable {
        case decision(Located<String>)
        case severity
        case mode
    }

    public enum Comparison: String, Sendable, Hashable {
        case equal = "=="
        case notEqual = "!="
    }

    /// What a roll call guard counts: people accounted for (answered anything or marked), or people whose last
    /// answer is one option.
    public enum RollCallMeasure: Sendable, Hashable {
        case accounted
        case count(option: Located<String>)
    }

    public enum NumericComparison: String, Sendable, Hashable, CaseIterable {
        case atLeast = ">="
        case greater = ">"
        case atMost = "<="
        case less = "<"
        case equal = "=="
        case notEqual = "!="

        public func holds(_ a: Int64, _ b: Int64) -> Bool {
            switch self {
            case .atLeast: a >= b
            case .greater: a > b
            case .atMost: a <= b
            case .less: a < b
            case .equal: a == b
            case .notEqual: a != b
            }
        }
    }

    /// A number of people, or a share of the roll call's people in whole percent.
    public enum Quantity: Sendable, Hashable {
        case people(Int)
        case percent(Int)

        public var text: String {
            switch self {
            case .people(let n): "\(n)"
            case .percent(let p): "\(p)%"
            }
        }
    }

    public enum AckProperty: String, Sendable, Hashable, CaseIterable {
        /// Someone acknowledged the page.
        case acknowledged
        /// Every escalation step was paged without an acknowledgement.
        case exhausted
    }
}

/// A message with `{{variable}}` placeholders, such as `Triage still open after {{timer.elapsed}}`.
public struct Template: Sendable, Hashable {
    public enum Part: Sendable, Hashable {
        case text(String)
        /// The dotted path inside the braces (`run.title`, `roles.it_ops`), located at its first character.
        case variable(Located<String>)
    }

    /// The text as written.
    public var source: String
    public var parts: [Part]

    public init(source: String, parts: [Part]) {
        self.source = source
        self.parts = parts
    }

    public var variables: [Located<String>] {
        parts.compactMap { if case .variable(let v) = $0 { v } else { nil } }
    }
}

extension GuardExpression {
    /// The guard written back in the playbook language, with only the parentheses it needs:
    /// `tasks.confirm.done and not (roles.comms.assigned or severity == "P1")`. One form for messages and renderers.
    public var text: String { written(insidePrecedence: 0) }

    /// `or` binds loosest (1), then `and` (2), then `not` (3): a subexpression is parenthesised only when it
    /// binds more loosely than where it stands.
    private func written(insidePrecedence parent: Int) -> String {
        switch self {
        case .literal(let b): return b ? "true" : "false"
        case .taskDone(let t): return "tasks.\(t.value).done"
        case .taskSkipped(let t): return "tasks.\(t.value).skipped"
        case .allTasksDone: return "all_tasks_done"
        case .roleAssigned(let r): return "roles.\(r.value).assigned"
        case .decisionMade(let d): return "decisions.\(d.value).made"
        case .comparison(let subject, let comparison, let value):
            let lhs: String
            switch subject {
            case .decision(let d): lhs = "decisions.\(d.value)"
            case .severity: lhs = "severity"
            case .mode: lhs = "mode"
            }
            return "\(lhs) \(comparison.rawValue) \"\(value.value)\""
        case .rollCallMeasure(let id, let measure, let comparison, let quantity):
            let lhs = switch measure {
            case .accounted: "rollcall.\(id.value).accounted"
            case .count(let option): "rollcall.\(id.value).count(\(option.value))"
            }
            return "\(lhs) \(comparison.rawValue) \(quantity.value.text)"
        case .rollCallOverdue(let id): return "rollcall.\(id.value).overdue"
        case .ack(let id, let property): return "acks.\(id.value).\(property.rawValue)"
        case .not(let x): return "not " + x.written(insidePrecedence: 3)
        case .and(let x, let y):
            let s = x.written(insidePrecedence: 2) + " and " + y.written(insidePrecedence: 2)
            return parent > 2 ? "(\(s))" : s
        case .or(let x, let y):
            let s = x.written(insidePrecedence: 1) + " or " + y.written(insidePrecedence: 1)
            return parent > 1 ? "(\(s))" : s
        }
    }
}
