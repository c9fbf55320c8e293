import Foundation
import GRDB
import MusterCore
import Testing
@testable import MusterJournal

@Suite("Journal format 5: run summaries")
struct RunSummaryTests {
    func closing(at: Instant = t0 + .minutes(30)) -> RunEvent {
        RunEvent(at: at, actor: "Dana", role: "incident_commander", .runClosed(reason: "drill"))
    }

    @Test("state, holders and closing are kept with the events that change them; open runs come from the index")
    func kept() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        try journal.createRun(header("r-aaaaaa"), events: startEvents("r-aaaaaa"))
        try journal.createRun(header("r-bbbbbb", at: t0 + .seconds(1)), events: startEvents("r-bbbbbb"))
        try journal.append(runID: "r-aaaaaa", expectedSequence: 3, events: [
            RunEvent(at: t0 + .minutes(1), actor: "Dana", role: "incident_commander", .roleAssigned(role: "it_ops", person: "Lee")),
            RunEvent(at: t0 + .minutes(2), actor: "Dana", role: "incident_commander", .roleAssigned(role: "comms", person: "Sam")),
            RunEvent(at: t0 + .minutes(3), actor: "Dana", role: "incident_commander", .roleRelieved(role: "comms", person: "Sam", handover: nil)),
            RunEvent(at: t0 + .minutes(4), actor: "Dana", role: "incident_commander", .stateEntered(state: "contain", from: "detect", cause: .guardHeld)),
            note("n"),
        ])
        try journal.append(runID: "r-bbbbbb", expectedSequence: 3, events: [closing(), note("after closing"), closing(at: t0 + .minutes(40))])
        let listed = try journal.runListings()
        #expect(listed.map(\.id) == ["r-aaaaaa", "r-bbbbbb"])
        #expect(listed[0].holders == ["incident_commander": "Dana", "it_ops": "Lee"])
        #expect(listed[0].state == "contain")
        #expect(listed[0].closedAt == nil)
        #expect(listed[0].lastSequence == 8)
        #expect(listed[1].closedAt == t0 + .minutes(30))  // the first closing counts
        #expect(try journal.closedRunIDs() == ["r-bbbbbb"])
        #expect(try journal.openRuns().map(\.id) == ["r-aaaaaa"])
        #expect(try journal.isClosed(runID: "r-bbbbbb"))
        #expect(try !journal.isClosed(runID: "r-aaaaaa"))
        // Finding open runs reads the partial index of open runs, not the events or every run.
        let plan = try journal.read { db in
            try db.all("""
                EXPLAIN QUERY PLAN SELECT s.run_id, r.mode FROM run_summary s INDEXED BY run_summary_open JOIN runs r ON r.id = s.run_id
                WHERE s.closed_at IS NULL ORDER BY s.run_id
                """).map { $0[3] as String }
        }
        #expect(plan.contains { $0.contains("run_summary_open") }, "\(plan)")
        #expect(!plan.contains { $0.contains("events") }, "\(plan)")
    }

    @Test("a format 4 journal opens as format 5 with every run's summary filled from its events")
    func backfill() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        do {
            let journal = try Journal.open(path: folder.database)
            try journal.createRun(header("r-aaaaaa"), events: startEvents("r-aaaaaa") + [
                RunEvent(at: t0 + .minutes(1), actor: "Dana", role: "incident_commander", .roleAssigned(role: "it_ops", person: "Lee")),
            ])
            try journal.createRun(header("r-bbbbbb", at: t0 + .seconds(1)), events: startEvents("r-bbbbbb") + [closing()])
            try journal.close()
        }
        // Make it a format 4 journal again: no summary table, no v5 migration recorded.
        let queue = try DatabaseQueue(path: folder.database)
        try queue.write { db in
            try db.execute(sql: """
                DROP TABLE run_summary;
                DELETE FROM grdb_migrations WHERE identifier = 'v5';
                UPDATE meta SET value = '4' WHERE key = 'format_version';
                """)
        }
        try queue.close()
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        let listed = try journal.runListings()
        #expect(listed.map(\.holders) == [["incident_commander": "Dana", "it_ops": "Lee"], ["incident_commander": "Dana"]])
        #expect(listed.map(\.state) == ["detect", "detect"])
        #expect(listed.map(\.closedAt) == [nil, t0 + .minutes(30)])
        #expect(try journal.openRuns().map(\.id) == ["r-aaaaaa"])
        #expect(try journal.verify(runID: "r-aaaaaa").isIntact)
        let version = try journal.read { db in try db.value(String.self, "SELECT value FROM meta WHERE key = 'format_version'") }
        #expect(version == "5")
    }
}
