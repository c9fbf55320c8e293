import ArgumentParser
import MusterCore
import MusterJournal
import MusterRuntime

/// Every exit status of `muster`, in one place (the README's "Exit statuses" table is this one). Errors reach
/// the CLI with a code (`Rejection.Code`, `JournalError.Code`, the runtime's cases); only this type turns codes
/// into statuses.
enum ExitStatus {
    /// Done.
    static let success: Int32 = 0
    /// Refused or failed: a rule refused the command (the engine's rules for a playbook, the improvement log's
    /// rules, a person the directory does not know), `verify` found a broken chain, `validate` found errors, a
    /// file the command was given does not load, a test message failed, an output could not be written.
    static let refused: Int32 = 1
    /// Could not act on the journal or the run: no journal, no such run, an ambiguous default run, a damaged, newer
    /// or read-only journal, a run that kept changing under the command; `incident declare` with a playbook that
    /// does not load; a bad `incident` option value; a mistyped command.
    static let cannotAct: Int32 = 2
    /// Usage (swift-argument-parser's own: an unknown option, a missing argument).
    static let usage: Int32 = 64

    /// A rule's refusal. Every rejection code is a refusal (the command reached the rules, and they said no); a
    /// code that should exit otherwise gets its case here.
    static func of(_ code: Rejection.Code) -> Int32 { refused }

    /// The journal's errors: it could not be used as asked, whichever code.
    static func of(_ code: JournalError.Code) -> Int32 { cannotAct }

    /// `muster people`: the directory refusing a person (a field it does not accept, a deputy still needed) is a
    /// rule's refusal; any other journal error could not act.
    static func of(directory error: JournalError) -> Int32 {
        switch error {
        case .invalidPerson, .personIsDeputy: refused
        default: of(error.code)
        }
    }

    static func of(_ error: RuntimeError) -> Int32 {
        switch error {
        case .journal(let journal): of(journal.code)
        case .invalidPlaybook, .unreadableStoredPlaybook, .playbookNotFound, .noRuns, .ambiguousDefaultRun,
             .invalidArgument:
            cannotAct
        }
    }
}
