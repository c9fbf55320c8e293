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
}
