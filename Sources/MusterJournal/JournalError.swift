/// Everything the journal refuses, each with one line a person can act on (`description`).
public enum JournalError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file exists but is not an SQLite database (or is damaged beyond opening).
    case notADatabase(path: String, detail: String)
    /// An SQLite database, but not one Muster created (it has tables and no journal `meta`).
    case notAJournal(path: String)
    /// Written by a newer Muster: refused without being modified.
    case newerFormat(path: String, found: Int, supported: Int)
    /// No journal file (and the caller asked not to create one).
    case missing(path: String)
    /// The database could not be opened or created.
    case cannotOpen(path: String, detail: String)
    /// `PRAGMA synchronous` or `journal_mode` did not take the value asked for.
    case settingRefused(path: String, detail: String)
    /// Another writer appended to the run after the caller read its head.
    case sequenceConflict(expected: Int, actual: Int)
    case unknownRun(String, path: String)
    case ambiguousRun(String, candidates: [String])
    case runExists(String)
    case invalidRunHeader(String)
    /// A stored event whose payload does not decode (the chain may still be intact: a newer event kind).
    case undecodableEvent(runID: String, seq: Int, detail: String)
    case invalidOutbox(String)
    case unknownOutboxItem(Int64)
    case invalidOutboxTransition(id: Int64, from: OutboxStatus, to: OutboxStatus)
    /// `users add` with a name that exists (revoked names are not reused).
    case userExists(String)
    /// No active user of that name.
    case unknownUser(String)
    /// `reinstateUser` of a name that is not a revoked user.
    case notRevoked(String)
    /// A user name outside the safe set (`UserName.problem`), or the reserved `muster`.
    case invalidUserName(String, reason: String)
    /// A person the directory does not accept, naming the field (and the record, in an import).
    case invalidPerson(PersonProblem)
    /// No person of that name in the directory.
    case unknownPerson(String)
    /// `removePerson` of someone who is still another person's deputy.
    case personIsDeputy(String, of: [String])
    /// Any other database failure, with SQLite's message.
    case database(path: String, detail: String)
    /// The database server cannot be reached (or the connection was lost): nothing was written by this call.
    case unavailable(path: String, detail: String)
    /// A PostgreSQL journal at an older format: `muster db init` upgrades it (never done implicitly, since other
    /// servers may still run the older muster on it).
    case olderFormat(path: String, found: Int, supported: Int)
    /// An idempotency key already stored for another request (another run, or a request made meanwhile).
    case idempotencyKeyUsed(user: String, key: String)
    /// A write to a journal opened read-only (`Journal.openForReading` on a file this process may not write).
    case readOnly(path: String)

    public var description: String {
        switch self {
        case let .idempotencyKeyUsed(user, key):
            "idempotency key '\(key)' of \(user) was already used for another request: nothing was written"
        case let .readOnly(path):
            "\(path) is open read-only (this process may not write it or its folder): nothing was changed"
        case let .unavailable(path, detail):
            "\(path): the database cannot be reached: \(detail)"
        case let .olderFormat(path, found, supported):
            "\(path): journal format version \(found) is older than this muster's (\(supported)); upgrade it with: muster db init"
        case let .notADatabase(path, detail):
            "\(path): not a Muster journal: the file is not an SQLite database (\(detail))"
        case let .notAJournal(path):
            "\(path): not a Muster journal: the database has tables but no journal format record"
        case let .newerFormat(path, found, supported):
            "\(path): journal format version \(found) is newer than this muster supports (\(supported)); upgrade muster (the file was not modified)"
        case let .missing(path) where path.contains("://") || path.contains("dbname="):
            "no Muster journal in \(path) yet: create it with muster db init (or start a run)"
        case let .missing(path):
            "no journal at \(path): no run has been started here (set MUSTER_HOME to use another folder)"
        case let .cannotOpen(path, detail):
            "\(path): cannot open the journal: \(detail)"
        case let .settingRefused(path, detail):
            "\(path): \(detail)"
        case let .sequenceConflict(expected, actual):
            "the run changed meanwhile: expected to append after event \(expected), but the run is at event \(actual); retry against the new state"
        case let .unknownRun(id, path):
            "no run '\(id)' in \(path)"
        case let .ambiguousRun(prefix, candidates):
            "run id '\(prefix)' is ambiguous: it matches \(candidates.joined(separator: ", "))"
        case let .runExists(id):
            "a run with id '\(id)' already exists"
        case let .invalidRunHeader(detail):
            "invalid run header: \(detail)"
        case let .undecodableEvent(runID, seq, detail):
            "run \(runID) event \(seq) cannot be read: \(detail)"
        case let .invalidOutbox(detail):
            "invalid outbox item: \(detail)"
        case let .unknownOutboxItem(id):
            "no outbox item \(id)"
        case let .invalidOutboxTransition(id, from, to):
            "outbox item \(id) cannot go from \(from.rawValue) to \(to.rawValue)"
        case let .userExists(name):
            "a user named '\(name)' exists already (revoked names are not reused)"
        case let .unknownUser(name):
            "no active user named '\(name)'"
        case let .notRevoked(name):
            "no revoked user named '\(name)' (muster users reinstate takes back a revocation; muster users rotate gives an active user a new token)"
        case let .invalidUserName(_, reason):
            reason
        case let .invalidPerson(problem):
            problem.description
        case let .unknownPerson(name):
            "no person named '\(name)' in the directory"
        case let .personIsDeputy(name, people):
            "\(name) is the deputy of \(people.joined(separator: ", ")): give them another deputy first (nothing was removed)"
        case let .database(path, detail):
            "\(path): \(detail)"
        }
    }
}
