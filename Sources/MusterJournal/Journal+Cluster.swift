import Foundation
import MusterCore

// What several servers on one journal need so that nothing happens twice: idempotency keys stored with the
// events they produced, and leases timed by the database's clock (format 6).

/// A client's idempotency key for one command, with what identifies the request it came with.
public struct CommandKey: Sendable, Hashable {
    /// Who sent it: keys are per user, so one person's key never answers another's request.
    public var user: String
    public var key: String
    /// A digest of the request (method, path and body): the same key with another request is refused.
    public var requestHash: String

    public init(user: String, key: String, requestHash: String) {
        self.user = user
        self.key = key
        self.requestHash = requestHash
    }

    /// Whether `key` is acceptable: 1 to 255 visible ASCII characters.
    public static func isValid(_ key: String) -> Bool {
        !key.isEmpty && key.utf8.count <= 255 && key.utf8.allSatisfy { $0 > 32 && $0 < 127 }
    }
}

/// A key as the journal stored it: the run and the seqs its command wrote, and the engine's rejection if it was one.
public struct StoredCommandKey: Sendable, Hashable {
    public var user: String
    public var key: String
    public var requestHash: String
    public var runID: String
    public var sequences: ClosedRange<Int>
    /// `code` and `reason` of the rejection the command got (its seqs are then the timers it fired first).
    public var rejection: (code: String, reason: String)? { KeyedEntries.rejection(storedRejection) }
    var storedRejection: String?
    public var at: Instant
}

/// The entries of one keyed command within an append: which of the appended entries are its own.
public struct KeyedEntries: Sendable, Hashable {
    public var key: CommandKey
    /// Indexes into the appended entries (non-empty: a command that wrote nothing stores no key).
    public var entries: Range<Int>
    /// The engine's rejection code and reason, when the command was rejected (after its timers fired).
    public var rejection: (code: String, reason: String)? {
        get { Self.rejection(storedRejection) }
        set { storedRejection = newValue.map { "\($0.code)\n\($0.reason)" } }
    }
    /// As the `rejection` column holds it: code, a line break, reason.
    var storedRejection: String?

    static func rejection(_ stored: String?) -> (code: String, reason: String)? {
        guard let stored, let cut = stored.firstIndex(of: "\n") else { return nil }
        return (String(stored[..<cut]), String(stored[stored.index(after: cut)...]))
    }

    public init(key: CommandKey, entries: Range<Int>, rejection: (code: String, reason: String)? = nil) {
        self.key = key
        self.entries = entries
        self.rejection = rejection
    }
}

/// Who holds a lease and until when, on the database's clock.
public struct Lease: Sendable, Hashable {
    public var name: String
    public var holder: String
    public var expires: Instant
    /// When the current holder took it (unchanged by renewals).
    public var since: Instant
}

extension SQLDialect {
    /// The database's clock in milliseconds since 1970: every server reads the same clock, whatever its own says.
    var nowMS: String {
        switch self {
        case .sqlite: "CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)"
        case .postgres: "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
        }
    }
}

extension Journal {
    // MARK: - The database's clock

    /// The database's current time. On SQLite it is this host's clock (every process shares the file's host).
    public func databaseTime() throws(JournalError) -> Instant {
        try read { db in Instant(millisecondsSinceEpoch: try db.value(Int64.self, "SELECT \(db.dialect.nowMS)") ?? 0) }
    }

    // MARK: - Leases

    /// Takes or renews the lease `name` for `holder` for `duration`, on the database's clock: granted when nobody
    /// holds it, when `holder` already does, or when the holder's lease ran out. Returns the lease as it stands
    /// after the call; `holder` has it when `result.holder == holder`.
    @discardableResult
    public func acquireLease(_ name: String, holder: String, for duration: TimeSpan) throws(JournalError) -> Lease {
        try write { db in
            let now = db.dialect.nowMS
            if let row = try db.one("""
                INSERT INTO leases (name, holder, expires_ms, since_ms) VALUES (?, ?, \(now) + ?, \(now))
                ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms,
                    since_ms = CASE WHEN leases.holder = excluded.holder THEN leases.since_ms ELSE excluded.since_ms END
                WHERE leases.holder = excluded.holder OR leases.expires_ms <= excluded.since_ms
                RETURNING name, holder, expires_ms, since_ms
                """, [name, holder, duration.milliseconds]) {
                return Journal.lease(row)
            }
            guard let row = try db.one("SELECT name, holder, expires_ms, since_ms FROM leases WHERE name = ?", [name]) else {
                throw JournalError.database(path: path, detail: "lease \(name) vanished while it was taken")
            }
            return Journal.lease(row)
        }
    }

    /// Gives the lease up (graceful shutdown), so that another server takes it at once; nothing when `holder`
    /// does not hold it.
    public func releaseLease(_ name: String, holder: String) throws(JournalError) {
        _ = try write { db in try db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", [name, holder]) }
    }

    /// The leases whose name starts with `prefix`, by name.
    public func leases(prefix: String = "") throws(JournalError) -> [Lease] {
        try read { db in
            try db.all("SELECT name, holder, expires_ms, since_ms FROM leases ORDER BY name").map(Journal.lease)
                .filter { $0.name.hasPrefix(prefix) }  // a handful of rows: one per server-driven exercise, and the pump
        }
    }

    /// Whether a lease is held by someone right now (not run out), on the database's clock.
    public func liveLease(_ name: String) throws(JournalError) -> Lease? {
        try read { db in
            try db.one("SELECT name, holder, expires_ms, since_ms FROM leases WHERE name = ? AND expires_ms > \(db.dialect.nowMS)", [name])
                .map(Journal.lease)
        }
    }

    private static func lease(_ row: SQLRow) -> Lease {
        Lease(name: row[0], holder: row[1], expires: Instant(millisecondsSinceEpoch: row[2]), since: Instant(millisecondsSinceEpoch: row[3]))
    }

    // MARK: - Idempotency keys

    /// The stored keys among `keys` (by key), for one user.
    public func commandKeys(user: String, _ keys: [String]) throws(JournalError) -> [String: StoredCommandKey] {
        guard !keys.isEmpty else { return [:] }
        return try read { db in try Journal.commandKeys(db, user: user, keys) }
    }

    static func commandKeys(_ db: any SQLSession, user: String, _ keys: [String]) throws -> [String: StoredCommandKey] {
        var found: [String: StoredCommandKey] = [:]
        let marks = keys.map { _ in "?" }.joined(separator: ", ")
        try db.forEach("""
            SELECT user_name, key, request_hash, run_id, first_seq, last_seq, rejection, at_ms FROM command_keys
            WHERE user_name = ? AND key IN (\(marks))
            """, SQLArguments([.text(user)] + keys.map { .text($0) })) { row in
            let first: Int = row[4]
            let last: Int = row[5]
            let stored = StoredCommandKey(user: row[0], key: row[1], requestHash: row[2], runID: row[3], sequences: first...max(first, last),
                                          storedRejection: row[6], at: Instant(millisecondsSinceEpoch: row[7]))
            found[stored.key] = stored
        }
        return found
    }

    /// Inside the append's transaction: one row per keyed command, naming the seqs its entries got. A key stored
    /// meanwhile (by a request for another run, say) refuses the whole append.
    static func storeKeys(_ db: any SQLSession, _ keys: [KeyedEntries], runID: String, result: AppendResult, at: Instant) throws {
        guard !keys.isEmpty, let sequences = result.sequences else { return }
        for keyed in keys where !keyed.entries.isEmpty {
            let first = sequences.lowerBound + keyed.entries.lowerBound
            let changed = try db.execute("""
                INSERT INTO command_keys (user_name, key, request_hash, run_id, first_seq, last_seq, rejection, at_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_name, key) DO NOTHING
                """, [keyed.key.user, keyed.key.key, keyed.key.requestHash, runID, first, first + keyed.entries.count - 1,
                      keyed.storedRejection, at.millisecondsSinceEpoch])
            if changed != 1 { throw JournalError.idempotencyKeyUsed(user: keyed.key.user, key: keyed.key.key) }
        }
    }

    /// Forgets keys older than `before` (a retry comes within minutes; a day's keys are plenty). Returns how many.
    @discardableResult
    public func pruneCommandKeys(before: Instant) throws(JournalError) -> Int {
        // Chat commands' keys stay: `slack:…` and `mattermost:…` say which platform the events came through.
        try write { db in
            try db.execute("DELETE FROM command_keys WHERE at_ms < ? AND key NOT LIKE 'slack:%' AND key NOT LIKE 'mattermost:%'",
                           [before.millisecondsSinceEpoch])
        }
    }
}

/// What a writer deciding under the run's lock appends (see `Journal.appendDeciding`).
public struct PendingAppend: Sendable {
    public var entries: [JournalEntry]
    public var outbox: [OutboxRequest]
    public var keys: [KeyedEntries]

    public init(entries: [JournalEntry], outbox: [OutboxRequest] = [], keys: [KeyedEntries] = []) {
        self.entries = entries
        self.outbox = outbox
        self.keys = keys
    }
}

extension Journal {
    /// Decides under the run's lock: locks the run, reads the events appended after `known` (by anyone since the
    /// caller's copy), looks up the stored keys among `keys` (per user), hands both to `decide`, and appends what it
    /// returns, in ONE transaction. A writer never loses a race: it waits its turn for the run's lock (PostgreSQL
    /// queues row-lock waiters in order) and decides on the newest state, so two servers appending to one run take
    /// turns instead of deciding again and again. `decide` runs inside the transaction: it must be quick and pure
    /// (it may run again if the transaction is retried). Nil from it appends nothing. A journal whose head is
    /// behind `known` throws `sequenceConflict` (the caller's copy is ahead of the journal: read the run again).
    public func appendDeciding(
        runID: String, after known: Int, keys: [CommandKey] = [],
        _ decide: (_ newer: [RunEvent], _ storedKeys: [String: StoredCommandKey]) throws -> PendingAppend?
    ) throws(JournalError) -> AppendResult? {
        let path = self.path
        return try write { db in
            try db.lockRun(runID)
            let head = try Journal.head(db, runID: runID, path: path)
            // Behind the caller's copy: commits it saw are gone (a failover to a standby that lacked them, a
            // restore). The caller must read the run again; nothing is written.
            if head.sequence < known { throw JournalError.sequenceConflict(expected: known, actual: head.sequence) }
            let newer = head.sequence > known ? try Journal.events(db, runID: runID, after: known, path: path) : []
            var stored: [String: StoredCommandKey] = [:]
            for (user, group) in Dictionary(grouping: keys, by: \.user) {
                for (key, found) in try Journal.commandKeys(db, user: user, group.map(\.key)) { stored[user + "\n" + key] = found }
            }
            guard let pending = try decide(newer, stored), !pending.entries.isEmpty else { return nil }
            let rows = try prepare(runID: runID, entries: pending.entries)
            let result = try insert(db, runID: runID, after: head, rows: rows, outbox: pending.outbox)
            try Journal.storeKeys(db, pending.keys, runID: runID, result: result, at: pending.entries.last!.event.at)
            return result
        }
    }
}
