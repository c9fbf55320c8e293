import MusterCore

extension Journal {
    private static let outboxColumns = """
        id, run_id, seq, notification_id, channel, payload, status, attempts, next_attempt_ms, last_error,
        idempotency_key, updated_at
        """

    private static func outboxItem(_ row: SQLRow) -> OutboxItem {
        OutboxItem(
            id: row[0], runID: row[1], seq: row[2], notificationID: row[3], channel: row[4], payload: row[5],
            status: OutboxStatus(rawValue: row[6]) ?? .failed, attempts: row[7],
            nextAttempt: Instant(millisecondsSinceEpoch: row[8]), lastError: row[9], idempotencyKey: row[10],
            updatedAt: Instant(millisecondsSinceEpoch: row[11]))
    }

    /// The ids of the first ?3 items due at ?1 (a `sending` item: claimed at or before ?2), by next attempt, then id.
    /// One branch per status, each read in order from `outbox_by_due` (status, next_attempt_ms, and the id
    /// every index ends with) and stopped after ?3 rows, then merged: with the three conditions in one `OR`,
    /// SQLite read and sorted EVERY due item for each claim, so a backlog of n items cost O(n) per batch.
    private static let dueIDs = """
        SELECT id FROM (
            SELECT * FROM (SELECT id, next_attempt_ms FROM outbox WHERE status = 'pending' AND next_attempt_ms <= ?1
                           ORDER BY next_attempt_ms, id LIMIT ?3) AS pending_due
            UNION ALL
            SELECT * FROM (SELECT id, next_attempt_ms FROM outbox WHERE status = 'failed' AND next_attempt_ms <= ?1
                           ORDER BY next_attempt_ms, id LIMIT ?3) AS failed_due
            UNION ALL
            SELECT * FROM (SELECT id, next_attempt_ms FROM outbox WHERE status = 'sending' AND updated_at <= ?2
                           ORDER BY next_attempt_ms, id LIMIT ?3) AS lease_expired
        ) AS due ORDER BY next_attempt_ms, id LIMIT ?3
        """

    /// Items due for an attempt at `now`, earliest first: `pending` and `failed` items whose next attempt has come,
    /// and `sending` items claimed more than `lease` ago (their worker died between claim and outcome:
    /// at-least-once delivery sends them again, with the same idempotency key).
    public func dueOutbox(now: Instant, limit: Int = 100, lease: TimeSpan = .minutes(5)) throws(JournalError) -> [OutboxItem] {
        try read { db in
            try db.all("""
                SELECT \(Journal.outboxColumns) FROM outbox WHERE id IN (\(Journal.dueIDs))
                ORDER BY next_attempt_ms, id
                """, [now.millisecondsSinceEpoch, (now - lease).millisecondsSinceEpoch, limit]).map(Journal.outboxItem)
        }
    }

    /// Takes the due items (as `dueOutbox`) and marks them `sending` (attempts + 1) in one statement, so two
    /// workers do not both pick the same item. Earliest first.
    ///
    /// `worker` names the claimer (`claimed_by`): its outcomes are recorded only while the item is still its claim
    /// (`OutboxUpdate.claimedBy`), so a worker whose lease ran out cannot settle an item another worker took since.
    public func claimOutbox(now: Instant, limit: Int = 100, lease: TimeSpan = .minutes(5), worker: String? = nil) throws(JournalError) -> [OutboxItem] {
        try write { db in try Journal.claim(db, now: now, limit: limit, lease: lease, worker: worker) }
    }

    static func claim(_ db: any SQLSession, now: Instant, limit: Int, lease: TimeSpan, worker: String? = nil) throws -> [OutboxItem] {
        // The condition is repeated on the updated row itself: on PostgreSQL a claim that waited for another
        // worker's claim of the same row re-checks it (now `sending`, just claimed) and leaves it.
        var items: [OutboxItem] = []
        items.reserveCapacity(max(0, limit))
        try db.forEach("""
            UPDATE outbox SET status = 'sending', attempts = attempts + 1, updated_at = ?1, claimed_by = ?4, lease_until_ms = ?5
            WHERE id IN (\(Journal.dueIDs))
              AND (status IN ('pending', 'failed') AND next_attempt_ms <= ?1 OR status = 'sending' AND updated_at <= ?2)
            RETURNING \(Journal.outboxColumns)
            """, [now.millisecondsSinceEpoch, (now - lease).millisecondsSinceEpoch, limit, worker, (now + lease).millisecondsSinceEpoch]) {
            items.append(Journal.outboxItem($0))
        }
        // RETURNING gives no order; the claim does not change `next_attempt_ms`.
        return items.sorted { ($0.nextAttempt, $0.id) < ($1.nextAttempt, $1.id) }
    }

    /// Moves an item to `status` (see `OutboxStatus.successors`; anything else is refused). Moving to `sending`
    /// counts an attempt. `nextAttempt` applies to `failed` and `pending` (default: `now`); `error` replaces
    /// the last error when given.
    @discardableResult
    public func markOutbox(id: Int64, status: OutboxStatus, at now: Instant, error: String? = nil, nextAttempt: Instant? = nil) throws(JournalError) -> OutboxItem {
        try write { db in
            guard let row = try db.one("SELECT \(Journal.outboxColumns) FROM outbox WHERE id = ?", [id]) else {
                throw JournalError.unknownOutboxItem(id)
            }
            var item = Journal.outboxItem(row)
            guard item.status.successors.contains(status) else {
                throw JournalError.invalidOutboxTransition(id: id, from: item.status, to: status)
            }
            if status == .sending { item.attempts += 1 }
            if status == .failed || status == .pending { item.nextAttempt = nextAttempt ?? now }
            if let error { item.lastError = error }
            item.status = status
            item.updatedAt = now
            try db.execute(
                "UPDATE outbox SET status = ?, attempts = ?, next_attempt_ms = ?, last_error = ?, updated_at = ? WHERE id = ?",
                [status.rawValue, item.attempts, item.nextAttempt.millisecondsSinceEpoch, item.lastError,
                            now.millisecondsSinceEpoch, id])
            return item
        }
    }

    /// One item by id.
    public func outboxItem(id: Int64) throws(JournalError) -> OutboxItem {
        try read { db in
            guard let row = try db.one("SELECT \(Journal.outboxColumns) FROM outbox WHERE id = ?", [id]) else {
                throw JournalError.unknownOutboxItem(id)
            }
            return Journal.outboxItem(row)
        }
    }

    /// A run's outbox items in the order they were written.
    public func outbox(runID: String) throws(JournalError) -> [OutboxItem] {
        try read { db in try Journal.outbox(db, runID: runID) }
    }

    static func outbox(_ db: any SQLSession, runID: String) throws -> [OutboxItem] {
        try db.all("SELECT \(Journal.outboxColumns) FROM outbox WHERE run_id = ? ORDER BY id", [runID]).map(Journal.outboxItem)
    }

    /// Every dead-lettered item, oldest first.
    public func deadLetters() throws(JournalError) -> [OutboxItem] {
        try read { db in
            try db.all("SELECT \(Journal.outboxColumns) FROM outbox WHERE status = 'dead' ORDER BY id").map(Journal.outboxItem)
        }
    }
}
