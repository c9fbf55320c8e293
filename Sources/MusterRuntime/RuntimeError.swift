import MusterCore
import MusterJournal

/// What the runtime cannot do, each with one line a person can act on (`description`).
/// A refused command is not an error: it comes back as `CommandResult.rejection`.
public enum RuntimeError: Error, Sendable, CustomStringConvertible {
    /// The journal refused (missing or damaged database, unknown run, newer format, ...).
    case journal(JournalError)
    /// The playbook file has errors: the run was not declared.
    case invalidPlaybook(path: String, diagnostics: [Diagnostic])
    /// The playbook text stored with a run no longer decodes (a run written by another muster).
    case unreadableStoredPlaybook(runID: String, diagnostics: [Diagnostic])
    /// No playbook file by that path or id.
    case playbookNotFound(String, searched: String, known: [String])
    /// No run at all in the journal.
    case noRuns(path: String)
    /// No run was named and several are open.
    case ambiguousDefaultRun(open: [RunRecord])
    /// Something the caller passed is malformed (a time, a severity).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .journal(let error):
            return error.description
        case let .invalidPlaybook(path, diagnostics):
            let errors = diagnostics.filter { $0.severity == .error }.count
            return "playbook \(path) has \(errors) error\(errors == 1 ? "" : "s"): fix \(errors == 1 ? "it" : "them") and declare again (muster validate \(path))"
        case let .unreadableStoredPlaybook(runID, diagnostics):
            let first = diagnostics.first { $0.severity == .error }.map { ": \($0.message)" } ?? ""
            return "the playbook stored with run \(runID) cannot be read by this muster\(first)"
        case let .playbookNotFound(name, searched, known):
            let hint = Suggestion.hint(for: name, in: known)
            return "no playbook '\(name)': not a file, and no playbook with that id in \(searched)\(hint)"
        case .noRuns(let path):
            return "no run in \(path) yet: declare one with 'muster incident declare PLAYBOOK --title TITLE'"
        case .ambiguousDefaultRun(let open):
            let list = open.map { "\($0.id) '\($0.title)' (declared \($0.createdAt.iso8601))" }.joined(separator: ", ")
            return "\(open.count) runs are open: \(list); say which one with --run RUN"
        case .invalidArgument(let message):
            return message
        }
    }

    /// The diagnostics to print under the one-line message (invalid playbooks).
    public var diagnostics: [Diagnostic] {
        switch self {
        case .invalidPlaybook(_, let diagnostics), .unreadableStoredPlaybook(_, let diagnostics): diagnostics
        default: []
        }
    }
}
