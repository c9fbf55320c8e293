import MusterCore

/// What a journal holds, for `muster db status`.
public struct JournalStatistics: Sendable, Hashable {
    public var backend: JournalLocation.Backend
    public var location: String
    public var formatVersion: Int
    public var runs: Int
    public var events: Int
    public var outboxItems: Int
    public var users: Int
    public var improvementEvents: Int
}

extension Journal {
    /// Whether this journal can take writes now: the database answers, and (PostgreSQL) it is a primary, not a
    /// standby in recovery. For a server's health check.
    public func isWritable() throws(JournalError) -> Bool {
        guard !isReadOnly else { return false }
        return try read { db in
            db.dialect == .postgres ? try db.value(Bool.self, "SELECT NOT pg_is_in_recovery()") ?? false : try db.value(Int.self, "SELECT 1") == 1
        }
    }

    public func statistics() throws(JournalError) -> JournalStatistics {
        let location = self.location
        return try read { db in
            func count(_ table: String) throws -> Int { try db.value(Int.self, "SELECT count(*) FROM \(table)") ?? 0 }
            return JournalStatistics(
                backend: location.backend, location: location.description,
                formatVersion: Int(try db.value(String.self, "SELECT value FROM meta WHERE key = 'format_version'") ?? "") ?? 0,
                runs: try count("runs"), events: try count("events"), outboxItems: try count("outbox"), users: try count("users"),
                improvementEvents: try count("improvement_events"))
        }
    }
}
