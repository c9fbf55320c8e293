import Foundation
import GRDB
import MusterCore
import Testing
@testable import MusterJournal

@Suite("Journal format 2: the improvement log")
struct ImprovementLogJournalTests {
    @Test("a format 1 journal is migrated to format 2 on open, its runs untouched")
    func migratesV1() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let queue = try DatabaseQueue(path: folder.database)
        var v1Only = DatabaseMigrator()
        v1Only.registerMigration("v1", migrate: Schema.v1)
        try v1Only.migrate(queue)
        try queue.close()
        do {
            let journal = try Journal.open(path: folder.database)
            try journal.createRun(header(), events: startEvents())
            try journal.close()
        }
        // Pretend the run was written by a format-1 muster: reopen and check the migration left it intact.
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        #expect(try journal.verify(runID: "r-7f3a2c").isIntact)
        let version = try DatabaseQueue(path: folder.database).read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'format_version'") }
        #expect(version == "\(Journal.formatVersion)")
        #expect(Journal.formatVersion == 8)
    }

    @Test("improvement events are hash-chained, verified, append-only, and conflicts are refused")
    func chain() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        let first = try journal.appendImprovement(expectedSequence: 0, at: t0, actor: "Dana", actionID: "A-1", type: "action-created", payload: #"{ "created": {"draft": {"title": "x"}} }"#)
        #expect(first.prevHash == Chain.improvementLogStart)
        #expect(first.payload == #"{"created":{"draft":{"title":"x"}}}"#)
        let second = try journal.appendImprovement(expectedSequence: 1, at: t0 + .minutes(1), actor: "Dana", actionID: "A-1", type: "action-started", payload: #"{"started":{}}"#)
        #expect(second.prevHash == first.hash)
        #expect(throws: JournalError.sequenceConflict(expected: 1, actual: 2)) {
            try journal.appendImprovement(expectedSequence: 1, at: t0, actor: "Eve", actionID: "A-1", type: "action-closed", payload: "{}")
        }
        #expect(try journal.improvementEvents().map(\.seq) == [1, 2])
        let report = try journal.verifyImprovementLog()
        #expect(report.isIntact)
        #expect(report.eventCount == 2)
        #expect(report.headHash == second.hash)

        // The database refuses edits; with the trigger dropped, verification finds the edit.
        let queue = try DatabaseQueue(path: folder.database)
        defer { try? queue.close() }
        #expect(throws: DatabaseError.self) {
            try queue.write { db in try db.execute(sql: "UPDATE improvement_events SET actor = 'Eve' WHERE seq = 1") }
        }
        try queue.write { db in
            try db.execute(sql: "DROP TRIGGER improvement_events_append_only_update")
            try db.execute(sql: "UPDATE improvement_events SET actor = 'Eve' WHERE seq = 1")
        }
        let tampered = try journal.verifyImprovementLog()
        #expect(tampered.firstBroken?.seq == 1)
        #expect(tampered.warnings.contains { $0.contains("improvement_events_append_only_update") })
    }

    @Test("the improvement-log hash is the documented canonical array (checked with Python)")
    func documentedHash() throws {
        let hash = Chain.improvementHash(seq: 1, atMS: 1_772_818_800_000, actor: "Dana", actionID: "A-1", type: "action-started", payload: #"{"started":{}}"#, prevHash: Chain.improvementLogStart)
        let script = #"""
import hashlib, json, sys
canon = lambda v: json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
start = hashlib.sha256(canon(["muster-improvement-log/1"])).hexdigest()
print(hashlib.sha256(canon(["muster-action/1", 1, 1772818800000, "Dana", "A-1", "action-started", {"started": {}}, start])).hexdigest())
"""#
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(out.trimmingCharacters(in: .whitespacesAndNewlines) == hash)
    }
}
