import MusterCore

/// One stored event of the improvement log (an improvement action's change).
public struct ImprovementRecord: Sendable, Hashable {
    public var seq: Int
    public var at: Instant
    public var actor: String
    public var actionID: String
    public var type: String
    /// Canonical JSON of the change, as stored and hashed.
    public var payload: String
    public var prevHash: String
    public var hash: String
}

extension Chain {
    static let improvementLogTag = "muster-improvement-log/1"
    static let improvementEventTag = "muster-action/1"

    /// The `prev_hash` of the improvement log's first event: SHA-256 of `["muster-improvement-log/1"]`.
    static var improvementLogStart: String { logStart(tag: improvementLogTag) }

    /// SHA-256 of `["muster-action/1",SEQ,AT_MS,ACTOR,ACTION_ID,TYPE,PAYLOAD,PREV_HASH]` in canonical JSON.
    static func improvementHash(seq: Int, atMS: Int64, actor: String, actionID: String, type: String, payload: String, prevHash: String) -> String {
        logEntryHash(tag: improvementEventTag, seq: seq, atMS: atMS, actor: actor, subject: actionID, type: type, payload: payload, prevHash: prevHash)
    }

    /// The `prev_hash` of a log's first entry: SHA-256 of `[TAG]` in canonical JSON.
    static func logStart(tag: String) -> String {
        var out: [UInt8] = [0x5B]
        CanonicalJSON.writeString(tag, to: &out)
        out.append(0x5D)
        return Digest256.hex(of: out)
    }

    /// SHA-256 of `[TAG,SEQ,AT_MS,ACTOR,SUBJECT,TYPE,PAYLOAD,PREV_HASH]` in canonical JSON: an entry of a journal-wide
    /// log (the improvement log, the access log), PAYLOAD embedded as stored (canonical JSON itself).
    static func logEntryHash(tag: String, seq: Int, atMS: Int64, actor: String, subject: String, type: String, payload: String, prevHash: String) -> String {
        var out: [UInt8] = [0x5B]
        CanonicalJSON.writeString(tag, to: &out)
        out.append(0x2C)
        out.append(contentsOf: Array(String(seq).utf8))
        out.append(0x2C)
        out.append(contentsOf: Array(String(atMS).utf8))
        out.append(0x2C)
        CanonicalJSON.writeString(actor, to: &out)
        out.append(0x2C)
        CanonicalJSON.writeString(subject, to: &out)
        out.append(0x2C)
        CanonicalJSON.writeString(type, to: &out)
        out.append(0x2C)
        out.append(contentsOf: payload.utf8)
        out.append(0x2C)
        CanonicalJSON.writeString(prevHash, to: &out)
        out.append(0x5D)
        return Digest256.hex(of: out)
    }
}

extension Journal {
    /// Appends one improvement-log event (payload: JSON text, stored canonically) provided the log's last seq is
    /// still `expectedSequence`; otherwise nothing is written and `.sequenceConflict` is thrown.
    @discardableResult
    public func appendImprovement(
        expectedSequence: Int, at: Instant, actor: String, actionID: String, type: String, payload: String
    ) throws(JournalError) -> ImprovementRecord {
        let canonical: String
        do { canonical = try CanonicalJSON.canonicalize(Array(payload.utf8)) } catch {
            throw .database(path: path, detail: "improvement event payload is not JSON: \(error)")
        }
        return try write { db in
            try db.lockLog("improvement_events")
            let head = try db.one("SELECT seq, hash FROM improvement_events ORDER BY seq DESC LIMIT 1")
            let seq: Int = head?[0] ?? 0
            guard seq == expectedSequence else { throw JournalError.sequenceConflict(expected: expectedSequence, actual: seq) }
            let prev: String = head?[1] ?? Chain.improvementLogStart
            let hash = Chain.improvementHash(seq: seq + 1, atMS: at.millisecondsSinceEpoch, actor: actor, actionID: actionID,
                                             type: type, payload: canonical, prevHash: prev)
            try db.execute("""
                INSERT INTO improvement_events (seq, at_ms, actor, action_id, type, payload, prev_hash, hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, [seq + 1, at.millisecondsSinceEpoch, actor, actionID, type, canonical, prev, hash])
            return ImprovementRecord(seq: seq + 1, at: at, actor: actor, actionID: actionID, type: type, payload: canonical, prevHash: prev, hash: hash)
        }
    }

    /// The whole improvement log in seq order.
    public func improvementEvents() throws(JournalError) -> [ImprovementRecord] {
        try read { db in
            try db.all("SELECT seq, at_ms, actor, action_id, type, payload, prev_hash, hash FROM improvement_events ORDER BY seq").map {
                ImprovementRecord(seq: $0[0], at: Instant(millisecondsSinceEpoch: $0[1]), actor: $0[2], actionID: $0[3], type: $0[4],
                                  payload: $0[5], prevHash: $0[6], hash: $0[7])
            }
        }
    }

    /// Walks the improvement log's chain like `verify(runID:)` walks a run's.
    public func verifyImprovementLog() throws(JournalError) -> VerificationReport {
        try read { db in
            var report = VerificationReport(runID: "improvement-log", eventCount: 0, headHash: Chain.improvementLogStart, firstBroken: nil, warnings: [])
            let present = try db.triggerNames()
            for trigger in Schema.improvementTriggers where !present.contains(trigger) {
                report.warnings.append("the append-only trigger \(trigger) is missing: the database was modified outside Muster")
            }
            var expected = 1
            let rows = try db.all("SELECT seq, at_ms, actor, action_id, type, payload, prev_hash, hash FROM improvement_events ORDER BY seq")
            for row in rows {
                let seq: Int = row[0]
                guard seq == expected else {
                    report.firstBroken = BrokenLink(seq: expected, problem: .sequenceGap(expected: expected, found: seq))
                    return report
                }
                let stored: String = row[7]
                let prev: String = row[6]
                let computed = Chain.improvementHash(seq: seq, atMS: row[1], actor: row[2], actionID: row[3], type: row[4], payload: row[5], prevHash: prev)
                guard computed == stored else {
                    report.firstBroken = BrokenLink(seq: seq, problem: .hashMismatch(stored: stored, computed: computed))
                    return report
                }
                guard prev == report.headHash else {
                    report.firstBroken = BrokenLink(seq: seq, problem: .prevHashMismatch(stored: prev, expected: report.headHash))
                    return report
                }
                report.eventCount += 1
                report.headHash = stored
                expected += 1
            }
            return report
        }
    }
}
