extension JournalError {
    /// A machine-readable name for what went wrong (like postgres-nio's `PSQLError.Code`): stable, unlike the
    /// description. The CLI maps it to an exit status in one place (`ExitStatus`), the server to an HTTP status.
    public struct Code: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// No journal file where one was expected.
        public static let missing = Code(rawValue: "journal-missing")
        /// Not an SQLite database, not a Muster journal, or not openable.
        public static let unreadable = Code(rawValue: "journal-unreadable")
        /// Written by a newer Muster (the file was not modified).
        public static let newerFormat = Code(rawValue: "journal-newer-format")
        /// A PostgreSQL journal at an older format (`muster db init` upgrades it).
        public static let olderFormat = Code(rawValue: "journal-older-format")
        /// The database server cannot be reached: nothing was written.
        public static let unavailable = Code(rawValue: "journal-unavailable")
        /// A write to a journal open read-only.
        public static let readOnly = Code(rawValue: "journal-read-only")
        /// Another writer appended first: retry against the new state.
        public static let conflict = Code(rawValue: "journal-conflict")
        /// No run, outbox item or user by that name, or a run prefix matching several.
        public static let notFound = Code(rawValue: "not-found")
        public static let ambiguous = Code(rawValue: "ambiguous")
        /// Something of that name exists already (a run id, a user).
        public static let exists = Code(rawValue: "exists")
        /// A value the journal does not accept (a run header, an outbox item or move, a user name).
        public static let invalid = Code(rawValue: "invalid")
        /// An idempotency key already used for another request.
        public static let keyReused = Code(rawValue: "idempotency-key-reused")
        /// Stored data that does not read back, or any other database failure.
        public static let damaged = Code(rawValue: "journal-damaged")
    }

    public var code: Code {
        switch self {
        case .missing: .missing
        case .notADatabase, .notAJournal, .cannotOpen, .settingRefused: .unreadable
        case .newerFormat: .newerFormat
        case .olderFormat: .olderFormat
        case .unavailable: .unavailable
        case .readOnly: .readOnly
        case .sequenceConflict: .conflict
        case .unknownRun, .unknownOutboxItem, .unknownUser, .notRevoked, .unknownPerson: .notFound
        case .ambiguousRun: .ambiguous
        case .runExists, .userExists: .exists
        case .invalidRunHeader, .invalidOutbox, .invalidOutboxTransition, .invalidUserName, .invalidPerson, .personIsDeputy: .invalid
        case .idempotencyKeyUsed: .keyReused
        case .undecodableEvent, .database: .damaged
        }
    }
}
