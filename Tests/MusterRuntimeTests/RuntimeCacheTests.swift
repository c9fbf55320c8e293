import Foundation
import MusterCore
import MusterJournal
import MusterRuntime
import MusterTestSupport
import Testing

@Suite("Incident runtime: bounded memory")
struct RuntimeCacheTests {
    @Test("runs kept in memory are bounded (least recently used leave) and closed runs leave soon; evicted runs reload from the journal")
    func bounded() throws {
        let folder = try RuntimeTempFolder()
        defer { folder.remove() }
        let clock = ManualClock(start)
        let runtime = IncidentRuntime(journal: try TestDatabase.open(home: folder.path), clock: clock, cacheLimit: 4, closedCacheLimit: 1)
        var ids: [String] = []
        for i in 0..<6 {
            let declared = try runtime.declare(DeclareRequest(playbookPath: ransomwarePlaybook, title: "Run \(i)", actor: "Dana"))
            ids.append(declared.runID)
        }
        #expect(runtime.cachedRunCount == 4)
        for id in ids[3...] { try runtime.must("Dana", .close(reason: "drill"), on: id) }
        // Runs 0 and 1 left by the LRU bound, closed runs 3 and 4 when the next one closed: 2 and 5 stay.
        #expect(runtime.cachedRunCount == 2)
        // An evicted run (closed or open) is read again from the journal, in the same state as a replay.
        try runtime.must("Sam", .note("after closing"), on: ids[3])
        try runtime.must("Sam", .note("still open"), on: ids[0])
        for id in [ids[0], ids[3]] {
            #expect(try runtime.snapshot(runID: id).run == (try runtime.replay(runID: id)))
        }
        #expect(try runtime.snapshot(runID: ids[3]).run.status == .closed)
        #expect(runtime.cachedRunCount <= 4)
    }

    @Test("a journal behind what the runtime saw committed (a failover to a standby that lacked acknowledged commits) is replayed, not conflicted with until the attempts run out")
    func rewoundJournal() throws {
        let folder = try RuntimeTempFolder()
        defer { folder.remove() }
        let runtime = IncidentRuntime(journal: try TestDatabase.open(home: folder.path, backend: .sqlite), clock: ManualClock(start), maximumAttempts: 3)
        let id = try runtime.declare(DeclareRequest(playbookPath: ransomwarePlaybook, title: "Rewound", actor: "Dana")).runID
        try runtime.must("Dana", .note("kept"), on: id)
        try runtime.must("Dana", .note("lost in the failover"), on: id)
        // The database loses the last commit (as an asynchronous standby promoted without it would), behind the
        // runtime's back: the runtime still remembers it.
        let head = try runtime.journal.head(runID: id).sequence
        let rewound = try TestDatabase.tamper(home: folder.path, table: "events", trigger: "events_append_only_delete",
                                              "DELETE FROM events WHERE run_id = '\(id)' AND seq = \(head)", backend: .sqlite)
        #expect(rewound.status == 0, "\(rewound.stderr)")
        #expect(try runtime.journal.head(runID: id).sequence == head - 1)

        try runtime.must("Dana", .note("after the failover"), on: id)
        let notes = try runtime.journal.events(runID: id).compactMap { event -> String? in
            if case .noteAdded(let text) = event.body { text } else { nil }
        }
        #expect(notes == ["kept", "after the failover"])
        #expect(try runtime.snapshot(runID: id).run == (try runtime.replay(runID: id)))
    }
}
