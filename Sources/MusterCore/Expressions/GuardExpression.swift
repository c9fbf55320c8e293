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
