import Foundation
import MusterCore

extension Journal {
    // MARK: - Writing

    /// A fresh short run id (`r-` and six hex digits) not yet used in this journal.
    public func makeRunID() throws(JournalError) -> String {
        var generator = SystemRandomNumberGenerator()
        for attempt in 0..<64 {
            let digits = attempt < 48 ? 6 : 10
            let value = UInt64.random(in: 0..<(1 << (4 * UInt64(digits))), using: &generator)
            var hex = String(value, radix: 16)
            hex = String(repeating: "0", count: digits - hex.count) + hex
            let id = "r-" + hex
            let taken = try read { db in try db.value(Bool.self, "SELECT EXISTS (SELECT 1 FROM runs WHERE id = ?)", [id]) ?? false }
            if !taken { return id }
        }
        throw .database(path: path, detail: "could not find a free run id")
    }

    /// Records a new run: its header, its access row (`header.restricted`, on the access log) and its first events
    /// (and any outbox rows they cause) in one transaction, so no reader ever sees the run without its access.
    @discardableResult
    public func createRun(_ header: RunHeader, events: [RunEvent], outbox: [OutboxRequest] = [],
                          keys: [KeyedEntries] = []) throws(JournalError) -> AppendResult {
        try createRun(header, entries: events.map { JournalEntry($0) }, outbox: outbox, keys: keys)
    }

    /// With `keys`, each keyed command's idempotency key is stored in the same transaction (see `append`).
    @discardableResult
    public func createRun(_ header: RunHeader, entries: [JournalEntry], outbox: [OutboxRequest] = [],
                          keys: [KeyedEntries] = []) throws(JournalError) -> AppendResult {
        guard !header.id.isEmpty, header.id.count <= 64,
              header.id.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" })
        else { throw .invalidRunHeader("run id '\(header.id)' must be 1 to 64 of a-z, 0-9, '-' and '_'") }
        let rows = try prepare(runID: header.id, entries: entries)
        let sha = header.playbookSHA256
        return try write { db in
            if try db.value(Bool.self, "SELECT EXISTS (SELECT 1 FROM runs WHERE id = ?)", [header.id]) == true {
                throw JournalError.runExists(header.id)
            }
            do {
                try db.execute("""
                    INSERT INTO runs (id, playbook_id, playbook_version, playbook_sha256, playbook_text, mode, title, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """, [header.id, header.playbookID, header.playbookVersion, sha, header.playbookText,
                          header.mode.rawValue, header.title, header.createdAt.millisecondsSinceEpoch])
            } catch let error as PostgresError where error.sqlState == PostgresError.uniqueViolation {
                // Another process created the same id after the check above (PostgreSQL does not serialize them).
                throw JournalError.runExists(header.id)
            }
            let actor = entries.first?.event.actor ?? Journal.systemActor
            try db.execute("INSERT INTO run_access (run_id, restricted, set_by, set_at) VALUES (?, ?, ?, ?)",
                           [header.id, header.restricted ? 1 : 0, actor, header.createdAt.millisecondsSinceEpoch])
            try Journal.appendAccess(db, .runAccess(runID: header.id, restricted: header.restricted), actor: actor, at: header.createdAt)
            let start = Head(sequence: 0, hash: Chain.headerHash(
                runID: header.id, playbookID: header.playbookID, playbookVersion: header.playbookVersion, playbookSHA256: sha))
            let result = try insert(db, runID: header.id, after: start, rows: rows, outbox: outbox)
            try Journal.storeKeys(db, keys, runID: header.id, result: result, at: header.createdAt)
            return result
        }
    }

    /// Appends events (and the outbox rows they cause) to a run in ONE write transaction, provided the run's
    /// last seq is still `expectedSequence`; otherwise nothing is written and `.sequenceConflict` is thrown.
    @discardableResult
    public func append(runID: String, expectedSequence: Int, events: [RunEvent], outbox: [OutboxRequest] = [],
                       keys: [KeyedEntries] = []) throws(JournalError) -> AppendResult {
        try append(runID: runID, expectedSequence: expectedSequence, entries: events.map { JournalEntry($0) }, outbox: outbox, keys: keys)
    }

    /// With `keys`, each keyed command's idempotency key is stored with the seqs of its entries in the same
    /// transaction: a key stored meanwhile refuses the whole append (`.idempotencyKeyUsed`, nothing written).
    @discardableResult
    public func append(runID: String, expectedSequence: Int, entries: [JournalEntry], outbox: [OutboxRequest] = [],
                       keys: [KeyedEntries] = []) throws(JournalError) -> AppendResult {
        let rows = try prepare(runID: runID, entries: entries)
        let path = self.path
        let at = entries.last.map(\.event.at) ?? Instant(millisecondsSinceEpoch: 0)
        return try write { db in
            try db.lockRun(runID)
            let head = try Journal.head(db, runID: runID, path: path)
            guard head.sequence == expectedSequence else {
                throw JournalError.sequenceConflict(expected: expectedSequence, actual: head.sequence)
            }
            let result = try insert(db, runID: runID, after: head, rows: rows, outbox: outbox)
            try Journal.storeKeys(db, keys, runID: runID, result: result, at: at)
            return result
        }
    }

    /// An event ready to insert except for its seq and hashes (encoding happens before the write lock is taken).
    struct PreparedRow {
        var atMS: Int64
        var scenarioMS: Int64?
        var actor: String
        var role: String?
        var type: String
        var payload: String
        var notificationID: String?
        /// What the event changes in the run's `run_summary` row (state, holders, closed), if anything.
        var change: RunDigest.Change?
    }

    func prepare(runID: String, entries: [JournalEntry]) throws(JournalError) -> [PreparedRow] {
        var rows: [PreparedRow] = []
        rows.reserveCapacity(entries.count)
        // Delivery attempts, task completions and skips, notes and raised events are written directly; all
        // others in one encoder call, and one by one only to name the event that cannot be encoded.
        var payloads = entries.map { CanonicalJSON.directPayload($0.event.body) }
        let encoded = payloads.indices.filter { payloads[$0] == nil }
        if !encoded.isEmpty, let bodies = try? CanonicalJSON.encodeEach(encoded.map { entries[$0].event.body }) {
            for (index, payload) in zip(encoded, bodies) { payloads[index] = payload }
        }
        for (index, entry) in entries.enumerated() {
            let payload: String
            if let known = payloads[index] { payload = known } else {
                do { payload = try CanonicalJSON.encode(entry.event.body) } catch {
                    throw .database(path: path, detail: "cannot encode a \(entry.event.body.typeName) event: \(error)")
                }
            }
            var notificationID: String?
            if case .notificationQueued(let n) = entry.event.body { notificationID = n.id }
            rows.append(PreparedRow(
                atMS: entry.event.at.millisecondsSinceEpoch, scenarioMS: entry.scenarioTime?.millisecondsSinceEpoch,
                actor: entry.event.actor, role: entry.event.role, type: entry.event.body.typeName,
                payload: payload, notificationID: notificationID, change: RunDigest.Change(entry.event.body)))
        }
        return rows
    }

    func insert(_ db: any SQLSession, runID: String, after head: Head, rows: [PreparedRow], outbox: [OutboxRequest]) throws -> AppendResult {
        var prev = head.hash
        var seq = head.sequence
        var written: [WrittenEvent] = []
        written.reserveCapacity(rows.count)
        var eventRows: [EventRow] = []
        eventRows.reserveCapacity(rows.count)
        for row in rows {
            seq += 1
            let hash = Chain.eventHash(
                runID: runID, seq: seq, atMS: row.atMS, scenarioMS: row.scenarioMS, actor: row.actor,
                role: row.role, type: row.type, payload: row.payload, prevHash: prev)
            eventRows.append(EventRow(runID: runID, seq: seq, atMS: row.atMS, scenarioMS: row.scenarioMS, actor: row.actor, role: row.role,
                                      type: row.type, payload: row.payload, prevHash: prev, hash: hash))
            written.append(WrittenEvent(seq: seq, payload: row.payload, hash: hash))
            prev = hash
        }
        if !eventRows.isEmpty { try db.insertEvents(eventRows, announce: true) }
        // The run's summary row, in the same transaction as the events that change it (and created with the run).
        if head.sequence == 0 || rows.contains(where: { $0.change != nil }) {
            var digest = try RunDigest.load(db, runID: runID)
            for row in rows { if let change = row.change { digest.apply(change, atMS: row.atMS) } }
            try digest.save(db, runID: runID)
        }
        var ids: [Int64] = []
        if !outbox.isEmpty {
            for request in outbox {
                let index: Int
                if let causeIndex = request.causeIndex {
                    guard rows.indices.contains(causeIndex) else {
                        throw JournalError.invalidOutbox("notification \(request.notificationID): cause index \(causeIndex) is not one of the \(rows.count) events appended")
                    }
                    index = causeIndex
                } else if let found = rows.firstIndex(where: { $0.notificationID == request.notificationID }) {
                    index = found
                } else {
                    throw JournalError.invalidOutbox("notification \(request.notificationID): no notification-queued event for it in the same append")
                }
                guard [.pending, .skipped].contains(request.status) else {
                    throw JournalError.invalidOutbox("notification \(request.notificationID): a new item is pending or skipped, not \(request.status.rawValue)")
                }
                let payload = try CanonicalJSON.canonicalize(Array(request.payload.utf8))
                let cause = rows[index]
                let due = request.notBefore?.millisecondsSinceEpoch ?? cause.atMS
                let id = try db.value(Int64.self, """
                    INSERT INTO outbox (run_id, seq, notification_id, channel, payload, status, attempts, next_attempt_ms,
                                        last_error, idempotency_key, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?) RETURNING id
                    """, [
                    runID, head.sequence + 1 + index, request.notificationID, request.channel, payload,
                    request.status.rawValue, due, request.note,
                    request.idempotencyKey ?? "\(runID)/\(request.notificationID)", cause.atMS,
                ])
                guard let id else { throw JournalError.invalidOutbox("notification \(request.notificationID): the database returned no id") }
                ids.append(id)
            }
        }
        return AppendResult(
            sequences: rows.isEmpty ? nil : (head.sequence + 1)...seq,
            head: Head(sequence: seq, hash: prev),
            outboxIDs: ids,
            written: written)
    }

    // MARK: - Reading

    /// The run's last seq and hash (seq 0 and the header's hash when it has no event).
    public func head(runID: String) throws(JournalError) -> Head {
        let path = self.path
        return try read { db in try Journal.head(db, runID: runID, path: path) }
    }

    static func head(_ db: any SQLSession, runID: String, path: String) throws -> Head {
        if let row = try db.one("SELECT seq, hash FROM events WHERE run_id = ? ORDER BY seq DESC LIMIT 1", [runID]) {
            return Head(sequence: row[0], hash: row[1])
        }
        guard let run = try db.one("SELECT playbook_id, playbook_version, playbook_sha256 FROM runs WHERE id = ?", [runID]) else {
            throw JournalError.unknownRun(runID, path: path)
        }
        return Head(sequence: 0, hash: Chain.headerHash(runID: runID, playbookID: run[0], playbookVersion: run[1], playbookSHA256: run[2]))
    }

    /// The run's events in seq order, decoded back to `RunEvent`s (all of them, or those after seq `after`).
    public func events(runID: String, after: Int = 0) throws(JournalError) -> [RunEvent] {
        let path = self.path
        return try read { db in try Journal.events(db, runID: runID, after: after, path: path) }
    }

    /// A run's events and its outbox items read together, from one snapshot: what a notification list needs, so
    /// that an item's status and the events about it never disagree (read apart, a delivery committed in between
    /// showed an item as dead-lettered by its events but still sending by its row).
    public func eventsAndOutbox(runID: String) throws(JournalError) -> (events: [RunEvent], outbox: [OutboxItem]) {
        let path = self.path
        return try read { db in
            (try Journal.events(db, runID: runID, after: 0, path: path), try Journal.outbox(db, runID: runID))
        }
    }

    static func events(_ db: any SQLSession, runID: String, after: Int, path: String) throws -> [RunEvent] {
        var ats: [Int64] = []
        var actors: [String] = []
        var roles: [String?] = []
        var seqs: [Int] = []
        var joined = "["
        let rows = try db.all("SELECT seq, at_ms, actor, role, payload FROM events WHERE run_id = ? AND seq > ? ORDER BY seq", [runID, after])
        for row in rows {
            seqs.append(row[0])
            ats.append(row[1])
            actors.append(row[2])
            roles.append(row[3])
            if seqs.count > 1 { joined += "," }
            joined += row[4] as String
        }
        joined += "]"
        if seqs.isEmpty {
            _ = try Journal.head(db, runID: runID, path: path)  // unknown run?
            return []
        }
        let bodies = try Journal.decodeBodies(joined, db, runID: runID, after: after)
        return bodies.indices.map { i in
            RunEvent(at: Instant(millisecondsSinceEpoch: ats[i]), actor: actors[i], role: roles[i], bodies[i])
        }
    }

    /// The payloads of a run's rows after `after`, joined as one JSON array, decoded in one call: far cheaper than
    /// one decoder call per row (replay and the live stream read every row). On failure, names the first bad row.
    static func decodeBodies(_ joinedArray: String, _ db: any SQLSession, runID: String, after: Int) throws -> [RunEvent.Body] {
        do {
            return try JSONDecoder().decode([RunEvent.Body].self, from: Data(joinedArray.utf8))
        } catch {
            throw try Journal.undecodable(db, runID: runID, after: after, fallback: error)
        }
    }

    /// Finds the first row whose payload does not decode, for a precise error.
    static func undecodable(_ db: any SQLSession, runID: String, after: Int, fallback: any Error) throws -> JournalError {
        let rows = try db.all("SELECT seq, payload FROM events WHERE run_id = ? AND seq > ? ORDER BY seq", [runID, after])
        for row in rows {
            let seq: Int = row[0]
            let payload: String = row[1]
            do { _ = try JSONDecoder().decode(RunEvent.Body.self, from: Data(payload.utf8)) } catch {
                return .undecodableEvent(runID: runID, seq: seq, detail: describe(error))
            }
        }
        return .undecodableEvent(runID: runID, seq: after + 1, detail: describe(fallback))
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context), DecodingError.keyNotFound(_, let context),
             DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }

    /// Each event's scenario time (exercises), in seq order: nil where none was recorded.
    public func scenarioTimes(runID: String) throws(JournalError) -> [Instant?] {
        try read { db in
            try db.column(Int64?.self, "SELECT scenario_ms FROM events WHERE run_id = ? ORDER BY seq", [runID])
                .map { $0.map { Instant(millisecondsSinceEpoch: $0) } }
        }
    }

    /// The stored rows of a run, with seqs, hashes and payload text (for timelines and exports).
    public func storedEvents(runID: String, after: Int = 0) throws(JournalError) -> [StoredEvent] {
        let path = self.path
        return try read { db in
            struct Fields { var seq: Int; var at: Int64; var scenario: Int64?; var actor: String; var role: String?; var type: String
                            var payload: String; var prevHash: String; var hash: String }
            var fields: [Fields] = []
            var joined = "["
            let rows = try db.all("""
                SELECT seq, at_ms, scenario_ms, actor, role, type, payload, prev_hash, hash
                FROM events WHERE run_id = ? AND seq > ? ORDER BY seq
                """, [runID, after])
            for row in rows {
                let f = Fields(seq: row[0], at: row[1], scenario: row[2], actor: row[3], role: row[4], type: row[5], payload: row[6],
                               prevHash: row[7], hash: row[8])
                if !fields.isEmpty { joined += "," }
                joined += f.payload
                fields.append(f)
            }
            joined += "]"
            if fields.isEmpty {
                _ = try Journal.head(db, runID: runID, path: path)  // unknown run?
                return []
            }
            let bodies = try Journal.decodeBodies(joined, db, runID: runID, after: after)
            return zip(fields, bodies).map { f, body in
                StoredEvent(
                    runID: runID, seq: f.seq,
                    event: RunEvent(at: Instant(millisecondsSinceEpoch: f.at), actor: f.actor, role: f.role, body),
                    scenarioTime: f.scenario.map { Instant(millisecondsSinceEpoch: $0) },
                    type: f.type, payload: f.payload, prevHash: f.prevHash, hash: f.hash)
            }
        }
    }

    private static let runColumns = """
        r.id, r.playbook_id, r.playbook_version, r.playbook_sha256, r.playbook_text, r.mode, r.title, r.created_at,
        COALESCE((SELECT MAX(seq) FROM events e WHERE e.run_id = r.id), 0)
        """

    private static func runRecord(_ row: SQLRow) -> RunRecord {
        RunRecord(
            id: row[0], playbookID: row[1], playbookVersion: row[2], playbookSHA256: row[3], playbookText: row[4],
            mode: RunMode(rawValue: row[5]) ?? .live, title: row[6],
            createdAt: Instant(millisecondsSinceEpoch: row[7]), lastSequence: row[8])
    }

    /// All runs, oldest first.
    public func runs() throws(JournalError) -> [RunRecord] {
        try read { db in try Journal.runs(db) }
    }

    static func runs(_ db: any SQLSession) throws -> [RunRecord] {
        try db.all("SELECT \(Journal.runColumns) FROM runs r ORDER BY r.created_at, r.\(db.dialect.runInsertionOrder)").map(Journal.runRecord)
    }

    /// The most recently created run, or nil in an empty journal.
    public func latestRun() throws(JournalError) -> RunRecord? {
        try read { db in
            try db.one("SELECT \(Journal.runColumns) FROM runs r ORDER BY r.created_at DESC, r.\(db.dialect.runInsertionOrder) DESC LIMIT 1").map(Journal.runRecord)
        }
    }

    /// One run by its exact id.
    public func run(_ id: String) throws(JournalError) -> RunRecord {
        let path = self.path
        return try read { db in
            guard let row = try db.one("SELECT \(Journal.runColumns) FROM runs r WHERE r.id = ?", [id]) else {
                throw JournalError.unknownRun(id, path: path)
            }
            return Journal.runRecord(row)
        }
    }

    /// The run a person means by `prefix`: an exact id, or the one id starting with `prefix` (the `r-` may be
    /// left out). Several matches: `.ambiguousRun` listing them; none: `.unknownRun`.
    public func resolveRun(prefix: String) throws(JournalError) -> RunRecord {
        let path = self.path
        let wanted = prefix.trimmingCharacters(in: .whitespaces)
        return try read { db in
            guard !wanted.isEmpty else { throw JournalError.unknownRun(prefix, path: path) }
            var prefixes = [wanted]
            if !wanted.hasPrefix("r-") { prefixes.append("r-" + wanted) }
            for candidate in prefixes {
                if let row = try db.one("SELECT \(Journal.runColumns) FROM runs r WHERE r.id = ?", [candidate]) {
                    return Journal.runRecord(row)
                }
            }
            var matches: [String] = []
            for candidate in prefixes {
                matches += try db.column(String.self, "SELECT id FROM runs WHERE substr(id, 1, length(?1)) = ?1 ORDER BY id", [candidate])
            }
            matches = Array(Set(matches)).sorted()
            switch matches.count {
            case 0: throw JournalError.unknownRun(prefix, path: path)
            case 1:
                let row = try db.one("SELECT \(Journal.runColumns) FROM runs r WHERE r.id = ?", [matches[0]])!
                return Journal.runRecord(row)
            default: throw JournalError.ambiguousRun(prefix, candidates: matches)
            }
        }
    }
}
