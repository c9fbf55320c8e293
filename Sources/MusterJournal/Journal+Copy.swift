import MusterCore

/// What `copyJournal` did.
public struct JournalCopyReport: Sendable, Hashable {
    /// Runs copied now, and runs already in the target (a resumed copy) left as they were.
    public var runsCopied = 0
    public var runsAlreadyThere = 0
    public var eventsCopied = 0
    public var outboxItemsCopied = 0
    public var usersCopied = 0
    public var accessEventsCopied = 0
    public var improvementEventsCopied = 0
    public var peopleCopied = 0
    public var answerLinksCopied = 0
    /// Every chain of the target, verified after the copy: run chains, the access log and the improvement log.
    public var verifications: [VerificationReport] = []
    /// Runs whose head in the target differs from the source's (a run that changed in the source meanwhile).
    public var headMismatches: [String] = []

    public var isIntact: Bool { verifications.allSatisfy(\.isIntact) && headMismatches.isEmpty }
}

extension Journal {
    /// Tables copied row for row, with their integer columns (PostgreSQL returns every value as text, and takes a
    /// BIGINT only as an integer parameter).
    private static let copiedTables: [(table: String, columns: [String], integers: Set<String>, order: String)] = [
        ("users", ["name", "token_sha256", "admin", "created_at", "revoked_at"], ["admin", "created_at", "revoked_at"], "name"),
        ("access_events", ["seq", "at_ms", "actor", "subject", "type", "payload", "prev_hash", "hash"], ["seq", "at_ms"], "seq"),
        ("improvement_events", ["seq", "at_ms", "actor", "action_id", "type", "payload", "prev_hash", "hash"], ["seq", "at_ms"], "seq"),
        ("people", ["name", "name_key", "email", "phone", "slack_id", "mattermost_user", "groups", "site", "deputy", "added_at", "updated_at"],
         ["added_at", "updated_at"], "name"),
        ("answer_links", ["token_sha256", "run_id", "person", "kind", "question", "notification_id", "message", "created_ms", "expires_ms"],
         ["created_ms", "expires_ms"], "token_sha256"),
    ]

    private static let outboxColumnsCopied = ["id", "run_id", "seq", "notification_id", "channel", "payload", "status", "attempts",
                                              "next_attempt_ms", "last_error", "idempotency_key", "updated_at"]
    private static let outboxIntegers: Set<String> = ["id", "seq", "attempts", "next_attempt_ms", "updated_at"]

    private static func typed(_ row: SQLRow, columns: [String], integers: Set<String>) -> SQLArguments {
        SQLArguments(zip(columns, row.values).map { column, value in
            guard integers.contains(column), case .text(let text) = value, let number = Int64(text) else { return value }
            return .integer(number)
        })
    }

    private static func insertSQL(_ table: String, _ columns: [String]) -> String {
        "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))"
    }

    /// Copies everything in `source` into this (empty) journal: users, the access log, the improvement log, the people, and
    /// each run with its access row, events (the same bytes, so the same hashes), summary and outbox items (the
    /// same ids and statuses). Each run is copied in a transaction of its own, so an interrupted copy leaves
    /// whole runs; `resume` continues one (runs already here are left, log entries already here are skipped).
    /// Without `resume`, a target holding any run, user or log entry is refused. Every chain is verified after.
    public func copyJournal(from source: Journal, resume: Bool = false, progress: (String) -> Void = { _ in }) throws(JournalError) -> JournalCopyReport {
        guard !isReadOnly else { throw .readOnly(path: path) }
        var report = JournalCopyReport()
        let sourceRuns = try source.runs()
        let present = try read { db in
            (runs: Set(try db.column(String.self, "SELECT id FROM runs")),
             users: try db.value(Int.self, "SELECT count(*) FROM users") ?? 0,
             logs: (try db.value(Int.self, "SELECT count(*) FROM access_events") ?? 0) + (try db.value(Int.self, "SELECT count(*) FROM improvement_events") ?? 0))
        }
        if !resume, !present.runs.isEmpty || present.users > 0 || present.logs > 0 {
            throw .database(path: path, detail: "the target journal is not empty (\(present.runs.count) runs, \(present.users) users, "
                + "\(present.logs) log entries): copy into an empty one, or pass --resume to continue an interrupted copy")
        }
        // Users and the two journal-wide logs, in one transaction: what the target lacks of each.
        let logRows = try source.read { db in
            try Journal.copiedTables.map { table in
                try db.all("SELECT \(table.columns.joined(separator: ", ")) FROM \(table.table) ORDER BY \(table.order)")
            }
        }
        try write { db in
            for (table, rows) in zip(Journal.copiedTables, logRows) {
                let keyColumn = table.order
                let existing = Set(try db.column(String.self, "SELECT \(keyColumn) FROM \(table.table)"))
                var copied = 0
                for row in rows {
                    let key: String = row[0]
                    if existing.contains(key) { continue }
                    try db.execute(Journal.insertSQL(table.table, table.columns), Journal.typed(row, columns: table.columns, integers: table.integers))
                    copied += 1
                }
                switch table.table {
                case "users": report.usersCopied = copied
                case "access_events": report.accessEventsCopied = copied
                case "people": report.peopleCopied = copied
                case "answer_links": report.answerLinksCopied = copied
                default: report.improvementEventsCopied = copied
                }
            }
        }
        for run in sourceRuns {
            if present.runs.contains(run.id) {
                report.runsAlreadyThere += 1
                continue
            }
            let copied = try copyRun(run.id, from: source)
            report.runsCopied += 1
            report.eventsCopied += copied.events
            report.outboxItemsCopied += copied.outbox
            progress("copied run \(run.id): \(copied.events) events, \(copied.outbox) outbox items")
        }
        try write { db in
            if db.dialect == .postgres {
                // Identity values continue after the copied ids.
                try db.execute("SELECT setval(pg_get_serial_sequence('outbox', 'id'), GREATEST((SELECT MAX(id) FROM outbox), 1))", [])
            }
        }
        for run in sourceRuns {
            let verification = try verify(runID: run.id)
            report.verifications.append(verification)
            if verification.headHash != (try source.head(runID: run.id)).hash { report.headMismatches.append(run.id) }
        }
        report.verifications.append(try verifyAccessLog())
        report.verifications.append(try verifyImprovementLog())
        return report
    }

    private func copyRun(_ runID: String, from source: Journal) throws(JournalError) -> (events: Int, outbox: Int) {
        let runColumns = ["id", "playbook_id", "playbook_version", "playbook_sha256", "playbook_text", "mode", "title", "created_at"]
        let rows = try source.read { db in
            (run: try db.one("SELECT \(runColumns.joined(separator: ", ")) FROM runs WHERE id = ?", [runID]),
             access: try db.one("SELECT run_id, restricted, set_by, set_at FROM run_access WHERE run_id = ?", [runID]),
             summary: try db.one("SELECT run_id, state, holders, closed_at FROM run_summary WHERE run_id = ?", [runID]),
             events: try db.all("""
                SELECT run_id, seq, at_ms, scenario_ms, actor, role, type, payload, prev_hash, hash FROM events WHERE run_id = ? ORDER BY seq
                """, [runID]),
             outbox: try db.all("SELECT \(Journal.outboxColumnsCopied.joined(separator: ", ")) FROM outbox WHERE run_id = ? ORDER BY id", [runID]))
        }
        guard let run = rows.run else { throw .unknownRun(runID, path: source.path) }
        try write { db in
            try db.execute(Journal.insertSQL("runs", runColumns), Journal.typed(run, columns: runColumns, integers: ["playbook_version", "created_at"]))
            if let access = rows.access {
                try db.execute(Journal.insertSQL("run_access", ["run_id", "restricted", "set_by", "set_at"]),
                               Journal.typed(access, columns: ["run_id", "restricted", "set_by", "set_at"], integers: ["restricted", "set_at"]))
            }
            let events = rows.events.map { row in
                EventRow(runID: row[0], seq: row[1], atMS: row[2], scenarioMS: row[3], actor: row[4], role: row[5], type: row[6],
                         payload: row[7], prevHash: row[8], hash: row[9])
            }
            if !events.isEmpty { try db.insertEvents(events, announce: false) }
            if let summary = rows.summary {
                try db.execute(Journal.insertSQL("run_summary", ["run_id", "state", "holders", "closed_at"]),
                               Journal.typed(summary, columns: ["run_id", "state", "holders", "closed_at"], integers: ["closed_at"]))
            }
            for item in rows.outbox {
                try db.execute(Journal.insertSQL("outbox", Journal.outboxColumnsCopied),
                               Journal.typed(item, columns: Journal.outboxColumnsCopied, integers: Journal.outboxIntegers))
            }
        }
        return (rows.events.count, rows.outbox.count)
    }
}
