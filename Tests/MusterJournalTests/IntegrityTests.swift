import Foundation
import GRDB
import MusterCore
import Testing
@testable import MusterJournal

@Suite("Journal integrity: append-only, tamper evidence, bad files")
struct IntegrityTests {
    /// A journal with one run of 3 + 10 events, closed.
    func makeJournal(_ folder: TempFolder) throws {
        let journal = try Journal.open(path: folder.database)
        try journal.createRun(header(), events: startEvents())
        try journal.append(runID: "r-7f3a2c", expectedSequence: 3, events: (1...10).map { note("note \($0)") })
        try journal.close()
    }

    @Test("the database itself refuses UPDATE and DELETE on events and runs, and deleting outbox rows")
    func appendOnlyTriggers() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let journal = try Journal.open(path: folder.database)
        try journal.createRun(header(), events: startEvents() + [queued("n1")], outbox: [try OutboxRequest(Notification(id: "n1", channel: "ops", message: "m", trigger: "t"))])
        try journal.close()
        let queue = try DatabaseQueue(path: folder.database)
        defer { try? queue.close() }
        let refused = [
            "UPDATE events SET payload = '{}' WHERE seq = 2",
            "DELETE FROM events WHERE seq = 4",
            "DELETE FROM events",
            "UPDATE runs SET title = 'x'",
            "DELETE FROM runs",
            "DELETE FROM outbox",
            "UPDATE outbox SET payload = '{}'",
            "UPDATE outbox SET channel = 'other'",
            "INSERT INTO events (run_id, seq, at_ms, actor, type, payload, prev_hash, hash) VALUES ('r-7f3a2c', 9, 0, 'x', 'note-added', '{}', '', '')",
        ]
        for sql in refused {
            #expect(Comment(rawValue: sql)) {
                try queue.write { db in try db.execute(sql: sql) }
            } throws: { error in
                (error as? DatabaseError)?.message?.contains("muster journal:") == true
            }
        }
        // Status changes are the outbox's one way to change.
        try queue.write { db in try db.execute(sql: "UPDATE outbox SET status = 'sent', attempts = 1") }
        let reopened = try Journal.open(path: folder.database)
        defer { try? reopened.close() }
        #expect(try reopened.verify(runID: "r-7f3a2c").isIntact)
        #expect(try reopened.events(runID: "r-7f3a2c").count == 4)
    }

    @Test("a payload edited with the sqlite3 tool is reported by verify at its seq")
    func tamperedPayload() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        try makeJournal(folder)
        // What someone with the file would do: drop the guard, edit the row.
        try SQLiteCLI.run(folder.database, """
            DROP TRIGGER events_append_only_update;
            UPDATE events SET payload = replace(payload, 'note 4', 'note 4 (edited)') WHERE run_id = 'r-7f3a2c' AND seq = 7;
            """)
        #expect(try SQLiteCLI.run(folder.database, "SELECT payload FROM events WHERE seq = 7").contains("edited"))
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        let report = try journal.verify(runID: "r-7f3a2c")
        #expect(!report.isIntact)
        #expect(report.firstBroken?.seq == 7)
        guard case .hashMismatch = report.firstBroken?.problem else {
            Issue.record("expected a hash mismatch, got \(String(describing: report.firstBroken))")
            return
        }
        #expect(report.eventCount == 6)
        #expect("\(report)".contains("chain broken at event 7: hash mismatch: the row was altered"))
        #expect(report.warnings.contains { $0.contains("events_append_only_update") })
    }

    @Test("other columns edited with the sqlite3 tool are caught too: time, actor, role, type, scenario time")
    func tamperedColumns() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        try makeJournal(folder)
        try SQLiteCLI.run(folder.database, "DROP TRIGGER events_append_only_update;")
        for (seq, assignment) in [(2, "at_ms = at_ms + 1"), (5, "actor = 'Mallory'"), (4, "role = 'incident_commander'"), (3, "scenario_ms = 0"), (6, "type = 'lesson-recorded'")] {
            let copy = folder.file("copy-\(seq).db")
            try SQLiteCLI.run(folder.database, "VACUUM INTO '\(copy)'")
            try SQLiteCLI.run(copy, "UPDATE events SET \(assignment) WHERE seq = \(seq)")
            let journal = try Journal.open(path: copy)
            defer { try? journal.close() }
            let report = try journal.verify(runID: "r-7f3a2c")
            #expect(report.firstBroken?.seq == seq, "\(assignment)")
        }
    }

    @Test("a deleted row is reported as a gap at the missing seq")
    func deletedRow() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        try makeJournal(folder)
        try SQLiteCLI.run(folder.database, """
            DROP TRIGGER events_append_only_delete;
            DELETE FROM events WHERE run_id = 'r-7f3a2c' AND seq = 5;
            """)
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        let report = try journal.verify(runID: "r-7f3a2c")
        #expect(report.firstBroken == BrokenLink(seq: 5, problem: .sequenceGap(expected: 5, found: 6)))
        #expect("\(report)".contains("event 5 is missing"))
    }

    @Test("a row rewritten with a correctly recomputed hash is caught at the next link")
    func rewrittenRow() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        try makeJournal(folder)
        let journal = try Journal.open(path: folder.database)
        let row = try journal.storedEvents(runID: "r-7f3a2c")[7]  // seq 8
        try journal.close()
        let payload = row.payload.replacingOccurrences(of: "note 5", with: "nothing happened")
        let forged = Chain.eventHash(
            runID: row.runID, seq: row.seq, atMS: row.event.at.millisecondsSinceEpoch, scenarioMS: nil,
            actor: row.event.actor, role: row.event.role, type: row.type, payload: payload, prevHash: row.prevHash)
        try SQLiteCLI.run(folder.database, """
            DROP TRIGGER events_append_only_update;
            UPDATE events SET payload = '\(payload)', hash = '\(forged)' WHERE run_id = 'r-7f3a2c' AND seq = 8;
            """)
        let reopened = try Journal.open(path: folder.database)
        defer { try? reopened.close() }
        let report = try reopened.verify(runID: "r-7f3a2c")
        #expect(report.firstBroken?.seq == 9)
        guard case .prevHashMismatch(let stored, let expected)? = report.firstBroken?.problem else {
            Issue.record("expected a prev_hash mismatch, got \(String(describing: report.firstBroken))")
            return
        }
        #expect(stored == row.hash)
        #expect(expected == forged)
    }

    @Test("altered playbook text in the run header is reported at seq 0")
    func alteredPlaybook() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        try makeJournal(folder)
        try SQLiteCLI.run(folder.database, """
            DROP TRIGGER runs_append_only_update;
            UPDATE runs SET playbook_text = playbook_text || '# edited';
            """)
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        let report = try journal.verify(runID: "r-7f3a2c")
        #expect(report.firstBroken?.seq == 0)
        guard case .playbookAltered? = report.firstBroken?.problem else {
            Issue.record("expected playbookAltered, got \(String(describing: report.firstBroken))")
            return
        }
    }

    @Test("a journal written by a newer format version is refused and left byte-identical")
    func newerFormat() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        try makeJournal(folder)
        let queue = try DatabaseQueue(path: folder.database)
        try queue.write { db in try db.execute(sql: "UPDATE meta SET value = '\(Journal.formatVersion + 1)' WHERE key = 'format_version'") }
        try queue.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: folder.database))
        let filesBefore = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        for durability in [Journal.Durability.full, .normal] {
            #expect(throws: JournalError.newerFormat(path: folder.database, found: Journal.formatVersion + 1, supported: Journal.formatVersion)) {
                try Journal.open(path: folder.database, durability: durability)
            }
        }
        #expect(throws: JournalError.newerFormat(path: folder.database, found: Journal.formatVersion + 1, supported: Journal.formatVersion)) {
            try Journal.open(home: folder.path)
        }
        #expect("\(JournalError.newerFormat(path: folder.database, found: Journal.formatVersion + 1, supported: Journal.formatVersion))".contains("newer than this muster supports"))
        let after = try Data(contentsOf: URL(fileURLWithPath: folder.database))
        #expect(before == after)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == filesBefore)
    }

    @Test("a file that is not an SQLite database is refused with its path, and left alone")
    func notADatabase() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let text = Data("these are my incident notes, not a database\n".utf8) + Data(repeating: 0x41, count: 4096)
        try text.write(to: URL(fileURLWithPath: folder.database))
        #expect {
            try Journal.open(path: folder.database)
        } throws: { error in
            guard case .notADatabase(let path, _) = error as? JournalError else { return false }
            return path == folder.database && "\(error)".hasPrefix(folder.database + ": not a Muster journal")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.database)) == text)
        // Short garbage too.
        let short = folder.file("short.db")
        try Data("hi".utf8).write(to: URL(fileURLWithPath: short))
        #expect(throws: JournalError.self) { try Journal.open(path: short) }
    }

    @Test("a damaged database (valid header, garbage pages) gives a clear error naming the path")
    func damagedDatabase() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        try makeJournal(folder)
        // The database file alone, as when it is copied somewhere (close() checkpointed the WAL into it).
        try? FileManager.default.removeItem(atPath: folder.database + "-wal")
        try? FileManager.default.removeItem(atPath: folder.database + "-shm")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: folder.database))
        for i in 100..<bytes.count { bytes[i] = 0xFF }
        try bytes.write(to: URL(fileURLWithPath: folder.database))
        #expect {
            try Journal.open(path: folder.database)
        } throws: { error in
            guard let error = error as? JournalError else { return false }
            return "\(error)".hasPrefix(folder.database + ":")
        }
    }

    @Test("an SQLite database that Muster did not create is refused, not migrated")
    func foreignDatabase() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let queue = try DatabaseQueue(path: folder.database)
        try queue.write { db in try db.execute(sql: "CREATE TABLE invoices (id INTEGER PRIMARY KEY)") }
        try queue.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: folder.database))
        #expect(throws: JournalError.notAJournal(path: folder.database)) { try Journal.open(path: folder.database) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.database)) == before)
    }

    @Test("an empty file is a new journal")
    func emptyFile() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        _ = FileManager.default.createFile(atPath: folder.database, contents: Data())
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        #expect(try journal.runs().isEmpty)
    }
}
