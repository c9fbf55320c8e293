/// A transition guard (`when:`): a small boolean language over the run.
///
///     tasks.ID.done | tasks.ID.skipped | all_tasks_done | roles.ID.assigned | decisions.ID.made
///     decisions.ID == "option" | severity == "P1" | mode == "exercise"   (and !=)
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
