import Foundation
import MusterCore

/// A change of one outbox item's status, written in the same transaction as the events that record it.
public struct OutboxUpdate: Sendable, Hashable {
    public var id: Int64
    public var status: OutboxStatus
    /// Replaces the item's last error when given (already redacted by the caller).
    public var error: String?
    /// For `failed` and `pending`: no attempt before this instant (default: the update's time).
    public var nextAttempt: Instant?
    /// The statuses the item must be in for the update to apply (for the worker: `sending`, its claim);
    /// nil accepts any status from which `status` may follow.
    public var expected: Set<OutboxStatus>?
    /// The worker whose claim this settles: applied only while the item is still claimed by it (nil: anyone's).
    public var claimedBy: String?

    public init(id: Int64, status: OutboxStatus, error: String? = nil, nextAttempt: Instant? = nil, expected: Set<OutboxStatus>? = nil,
                claimedBy: String? = nil) {
        self.id = id
        self.status = status
        self.error = error
        self.nextAttempt = nextAttempt
        self.expected = expected
        self.claimedBy = claimedBy
    }
}

extension Journal {
    private static let listColumns = """
        id, run_id, seq, notification_id, channel, payload, status, attempts, next_attempt_ms, last_error,
        idempotency_key, updated_at
        """

    /// Appends events to a run AND changes outbox items' statuses in ONE write transaction, provided the run's
    /// last seq is still `expectedSequence` (else `.sequenceConflict`, nothing written). Each update must be a
    /// permitted move (`OutboxStatus.successors`) from a status in its `expected` set, else
    /// `.invalidOutboxTransition` and nothing is written. Moving to `sending` counts an attempt.
    /// This is how delivery outcomes are recorded: the attempt's event and the item's new status together.
    @discardableResult
    public func append(
        runID: String, expectedSequence: Int, events: [RunEvent], outboxUpdates: [OutboxUpdate], at now: Instant
    ) throws(JournalError) -> AppendResult {
        let rows = try prepare(runID: runID, entries: events.map { JournalEntry($0) })
        return try write { db in
            try record(db, runID: runID, expectedSequence: expectedSequence, rows: rows, outboxUpdates: outboxUpdates, at: now)
        }
    }

    /// Inside a write transaction: checks the expected sequence, applies the status changes, inserts the events.
    private func record(
        _ db: any SQLSession, runID: String, expectedSequence: Int, rows: [PreparedRow], outboxUpdates: [OutboxUpdate], at now: Instant
    ) throws -> AppendResult {
        try db.lockRun(runID)
        let head = try Journal.head(db, runID: runID, path: path)
        guard head.sequence == expectedSequence else {
            throw JournalError.sequenceConflict(expected: expectedSequence, actual: head.sequence)
        }
        try Journal.apply(outboxUpdates, runID: runID, at: now, db)
        return try insert(db, runID: runID, after: head, rows: rows, outbox: [])
    }

    /// `append(runID:expectedSequence:events:outboxUpdates:at:)` followed by `claimOutbox(now:limit:lease:)`
    /// with `claim`'s values, in ONE write transaction (one commit, one sync of the WAL instead of two): for a
    /// worker that records one batch and takes the next. The claim is made only with the append; when the
    /// append is refused, nothing is written, nothing is claimed, and the error is the append's.
    @discardableResult
    public func append(
        runID: String, expectedSequence: Int, events: [RunEvent], outboxUpdates: [OutboxUpdate], at now: Instant,
        thenClaim claim: OutboxClaim
    ) throws(JournalError) -> (result: AppendResult, claimed: [OutboxItem]) {
        let rows = try prepare(runID: runID, entries: events.map { JournalEntry($0) })
        return try write { db in
            let result = try record(db, runID: runID, expectedSequence: expectedSequence, rows: rows, outboxUpdates: outboxUpdates, at: now)
            return (result, try Journal.claim(db, now: claim.now, limit: claim.limit, lease: claim.lease, worker: claim.worker))
        }
    }

    /// Applies the updates in order. Consecutive updates that differ only by item (a batch of deliveries
    /// that all went through, say) are made by one statement over all their ids, inside a savepoint: when
    /// it does not change exactly one row per update, it is undone and the updates are made one by one,
    /// which says which one could not be made. The result is the same as one `apply` per update.
    private static func apply(_ changes: [OutboxUpdate], runID: String, at now: Instant, _ db: any SQLSession) throws {
        var start = 0
        while start < changes.count {
            let first = changes[start]
            var end = start + 1
            while end < changes.count, changes[end].status == first.status, changes[end].error == first.error,
                  changes[end].nextAttempt == first.nextAttempt, changes[end].expected == first.expected, changes[end].claimedBy == first.claimedBy {
                end += 1
            }
            let group = changes[start..<end]
            var applied = false
            let from = predecessors(of: first)
            if group.count > 1, !from.isEmpty {
                applied = try db.savepoint {
                    let changed = try db.execute("""
                        UPDATE outbox SET status = ?, attempts = attempts + ?, next_attempt_ms = COALESCE(?, next_attempt_ms),
                                          last_error = COALESCE(?, last_error), updated_at = ?
                        WHERE \(db.dialect.inIntegerList("id")) AND run_id = ?
                          AND status IN (\(from.map { "'\($0.rawValue)'" }.joined(separator: ", ")))\(claimGuard(first))
                        """, [first.status.rawValue, first.status == .sending ? 1 : 0, nextAttemptMS(first, now), first.error,
                              now.millisecondsSinceEpoch, db.dialect.integerList(group.map(\.id)), runID] + claimArguments(first))
                    return changed == group.count
                }
            }
            if !applied {
                for change in group { try Journal.apply(change, runID: runID, at: now, db) }
            }
            start = end
        }
    }

    /// The statuses `change` may move its item from: those its status may follow, within `expected`.
    private static func predecessors(of change: OutboxUpdate) -> [OutboxStatus] {
        OutboxStatus.allCases.filter { $0.successors.contains(change.status) && (change.expected?.contains($0) ?? true) }
    }

    /// The condition that the item is still `change.claimedBy`'s claim (nothing when the update is anyone's).
    private static func claimGuard(_ change: OutboxUpdate) -> String { change.claimedBy == nil ? "" : " AND claimed_by = ?" }
    private static func claimArguments(_ change: OutboxUpdate) -> SQLArguments { change.claimedBy.map { [$0] } ?? [] }

    private static func nextAttemptMS(_ change: OutboxUpdate, _ now: Instant) -> Int64? {
        change.status == .failed || change.status == .pending ? (change.nextAttempt ?? now).millisecondsSinceEpoch : nil
    }

    /// One status change in one statement, guarded by the statuses it may come from (`expected`, and those
    /// `change.status` may follow); when nothing matched, the row is read to say why.
    private static func apply(_ change: OutboxUpdate, runID: String, at now: Instant, _ db: any SQLSession) throws {
        let from = predecessors(of: change)
        if !from.isEmpty {
            // The statuses are the enum's raw values (fixed words), so one prepared statement per set.
            let changed = try db.execute("""
                UPDATE outbox SET status = ?, attempts = attempts + ?, next_attempt_ms = COALESCE(?, next_attempt_ms),
                                  last_error = COALESCE(?, last_error), updated_at = ?
                WHERE id = ? AND run_id = ? AND status IN (\(from.map { "'\($0.rawValue)'" }.joined(separator: ", ")))\(claimGuard(change))
                """, [change.status.rawValue, change.status == .sending ? 1 : 0, nextAttemptMS(change, now), change.error,
                      now.millisecondsSinceEpoch, change.id, runID] + claimArguments(change))
            if changed == 1 { return }
        }
        guard let row = try db.one("SELECT run_id, status FROM outbox WHERE id = ?", [change.id]) else {
            throw JournalError.unknownOutboxItem(change.id)
        }
        let itemRun: String = row[0]
        guard itemRun == runID else { throw JournalError.invalidOutbox("item \(change.id) belongs to run \(itemRun), not \(runID)") }
        throw JournalError.invalidOutboxTransition(id: change.id, from: OutboxStatus(rawValue: row[1]) ?? .failed, to: change.status)
    }

    /// Outbox items, oldest first: all of them, or those with one of `statuses`, of one run when `runID` is given.
    public func outboxItems(statuses: Set<OutboxStatus>? = nil, runID: String? = nil, limit: Int? = nil) throws(JournalError) -> [OutboxItem] {
        var conditions: [String] = []
        var arguments: SQLArguments = []
        if let statuses {
            guard !statuses.isEmpty else { return [] }
            conditions.append("status IN (\(statuses.map { _ in "?" }.joined(separator: ", ")))")
            arguments = arguments + SQLArguments(statuses.map(\.rawValue).sorted().map { .text($0) })
        }
        if let runID {
            conditions.append("run_id = ?")
            arguments = arguments + [runID]
        }
        var sql = "SELECT \(Journal.listColumns) FROM outbox"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY id"
        if let limit { sql += " LIMIT \(max(0, limit))" }
        return try read { db in
            try db.all(sql, arguments).map { row in
                OutboxItem(
                    id: row[0], runID: row[1], seq: row[2], notificationID: row[3], channel: row[4], payload: row[5],
                    status: OutboxStatus(rawValue: row[6]) ?? .failed, attempts: row[7],
                    nextAttempt: Instant(millisecondsSinceEpoch: row[8]), lastError: row[9], idempotencyKey: row[10],
                    updatedAt: Instant(millisecondsSinceEpoch: row[11]))
            }
        }
    }

    /// The earliest `next_attempt` of a pending or failed item (when the worker should run next), or nil.
    public func nextOutboxAttempt() throws(JournalError) -> Instant? {
        try read { db in
            try db.value(Int64.self, "SELECT MIN(next_attempt_ms) FROM outbox WHERE status IN ('pending', 'failed')")
                .map { Instant(millisecondsSinceEpoch: $0) }
        }
    }
}

/// One event as a reader that needs only some kinds of event sees it: its time, and its body when its type
/// was asked for.
public struct EventSummary: Sendable {
    public var at: Instant
    /// Decoded only for the types asked for; nil for the others.
    public var body: RunEvent.Body?
}

extension Journal {
    /// A run's events after seq `after`, in seq order, with only the bodies of the event types in `types`
    /// (`RunEvent.Body.typeName`) decoded. For the delivery worker, which needs every event's time but the
    /// bodies of only a few kinds: decoding every body of a run with thousands of notifications cost more
    /// than delivering them.
    public func eventSummaries(runID: String, after: Int = 0, decoding types: Set<String>) throws(JournalError) -> [EventSummary] {
        let path = self.path
        let wanted = types.sorted()
        return try read { db in
            var summaries: [EventSummary] = []
            var decodeAt: [Int] = []
            var joined = "["
            let condition = wanted.isEmpty ? "1 = 0" : "type IN (\(wanted.map { _ in "?" }.joined(separator: ", ")))"
            let arguments = SQLArguments(wanted.map { .text($0) }) + [runID, after]
            let rows = try db.all("""
                SELECT at_ms, CASE WHEN \(condition) THEN payload END FROM events
                WHERE run_id = ? AND seq > ? ORDER BY seq
                """, arguments)
            for row in rows {
                if let payload: String = row[1] {
                    if !decodeAt.isEmpty { joined += "," }
                    joined += payload
                    decodeAt.append(summaries.count)
                }
                summaries.append(EventSummary(at: Instant(millisecondsSinceEpoch: row[0]), body: nil))
            }
            joined += "]"
            if summaries.isEmpty {
                _ = try Journal.head(db, runID: runID, path: path)  // unknown run?
                return []
            }
            if !decodeAt.isEmpty {
                // One decoder call for all of them, as `events` does.
                let bodies = try Journal.decodeBodies(joined, db, runID: runID, after: after)
                for (index, body) in zip(decodeAt, bodies) { summaries[index].body = body }
            }
            return summaries
        }
    }
}

/// What `claimOutbox(now:limit:lease:)` takes, for a claim made in the same transaction as an append.
public struct OutboxClaim: Sendable, Hashable {
    public var now: Instant
    public var limit: Int
    public var lease: TimeSpan
    /// The claiming worker (`claimOutbox`'s `worker`).
    public var worker: String?

    public init(now: Instant, limit: Int, lease: TimeSpan, worker: String? = nil) {
        self.now = now
        self.limit = limit
        self.lease = lease
        self.worker = worker
    }
}
