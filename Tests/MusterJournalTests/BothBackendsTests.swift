import Foundation
import MusterCore
import MusterTestSupport
import Testing
@testable import MusterJournal

/// The journal's contract, on SQLite and on PostgreSQL (a throw-away cluster, `TestPostgres`): the same
/// tests, parameterised by backend. Edits behind Muster's back use each database's own tool (`sqlite3`, `psql`).
@Suite("The journal on both backends")
struct BothBackendsTests {
    struct Home {
        let path: String
        let backend: TestBackend

        init(_ backend: TestBackend) throws {
            self.backend = backend
            path = (NSTemporaryDirectory() as NSString).appendingPathComponent("muster-both-\(UUID().uuidString)")
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }

        func open() throws -> Journal { try TestDatabase.open(home: path, backend: backend) }

        /// Runs SQL with the backend's own command-line tool, as a person with access to the database would.
        func behindMustersBack(_ sql: String) throws -> ProgramOutput {
            switch backend {
            case .sqlite: try SQLite3.run((path as NSString).appendingPathComponent("muster.db"), sql)
            case .postgresql: try TestPostgres.psql(sql, schema: try TestPostgres.schema(forHome: path))
            }
        }

        func remove() { try? FileManager.default.removeItem(atPath: path) }
    }

    @Test("a run is created, appended to, read back and verified; the chain is the same bytes on both", arguments: TestBackend.allCases)
    func roundTrip(_ backend: TestBackend) throws {
        let home = try Home(backend)
        defer { home.remove() }
        let journal = try home.open()
        defer { try? journal.close() }
        try journal.createRun(header(), events: startEvents())
        let result = try journal.append(runID: "r-7f3a2c", expectedSequence: 3, events: (1...5).map { note("note \($0)") })
        #expect(result.sequences == 4...8)
        #expect(try journal.events(runID: "r-7f3a2c").count == 8)
        #expect(try journal.storedEvents(runID: "r-7f3a2c", after: 6).map(\.seq) == [7, 8])
        let report = try journal.verify(runID: "r-7f3a2c")
        #expect(report.isIntact, "\(report)")
        #expect(report.warnings.isEmpty, "\(report.warnings)")
        // The head a SQLite journal computes for the same events: the hash chain does not depend on the backend.
        let reference = try Home(.sqlite)
        defer { reference.remove() }
        let sqlite = try reference.open()
        defer { try? sqlite.close() }
        try sqlite.createRun(header(), events: startEvents())
        try sqlite.append(runID: "r-7f3a2c", expectedSequence: 3, events: (1...5).map { note("note \($0)") })
        #expect(try journal.head(runID: "r-7f3a2c") == (try sqlite.head(runID: "r-7f3a2c")))
        #expect(try journal.runs().map(\.id) == ["r-7f3a2c"])
        #expect(try journal.resolveRun(prefix: "7f3").id == "r-7f3a2c")
    }

    @Test("an append after a stale head is refused with a sequence conflict and writes nothing", arguments: TestBackend.allCases)
    func sequenceConflict(_ backend: TestBackend) throws {
        let home = try Home(backend)
        defer { home.remove() }
        let journal = try home.open()
        defer { try? journal.close() }
        try journal.createRun(header(), events: startEvents())
        try journal.append(runID: "r-7f3a2c", expectedSequence: 3, events: [note("first")])
        #expect(throws: JournalError.sequenceConflict(expected: 3, actual: 4)) {
            try journal.append(runID: "r-7f3a2c", expectedSequence: 3, events: [note("second")])
        }
        #expect(throws: JournalError.runExists("r-7f3a2c")) { try journal.createRun(header(), events: startEvents()) }
        #expect(try journal.events(runID: "r-7f3a2c").count == 4)
    }

    @Test("two journals appending to one run at once never gap, duplicate or fork its chain", arguments: TestBackend.allCases)
    func concurrentAppends(_ backend: TestBackend) throws {
        let home = try Home(backend)
        defer { home.remove() }
        let setup = try home.open()
        try setup.createRun(header(), events: startEvents())
        try setup.close()
        let writers = 4
        let attempts = 40
        // Threads of their own (the journal blocks its caller; Dispatch's and Swift's shared threads stay free).
        let won = Counts(writers)
        onThreads(writers) { writer in
            do {
                let journal = try home.open()
                defer { try? journal.close() }
                for attempt in 0..<attempts {
                    let head = try journal.head(runID: "r-7f3a2c")
                    do {
                        try journal.append(runID: "r-7f3a2c", expectedSequence: head.sequence, events: [note("w\(writer) a\(attempt)")])
                        won.add(writer, 1)
                    } catch JournalError.sequenceConflict {
                        continue
                    }
                }
            } catch {
                won.fail("\(error)")
            }
        }
        #expect(won.failures.isEmpty, "\(won.failures)")
        let succeeded = won.total
        let journal = try home.open()
        defer { try? journal.close() }
        let events = try journal.storedEvents(runID: "r-7f3a2c")
        #expect(events.count == 3 + succeeded)
        #expect(events.map(\.seq) == Array(1...(3 + succeeded)))
        #expect(try journal.verify(runID: "r-7f3a2c").isIntact)
        #expect(succeeded >= attempts)  // at least one writer wins each round
    }

    @Test("claims by several workers at once never hand one outbox item to two of them", arguments: TestBackend.allCases)
    func outboxClaims(_ backend: TestBackend) throws {
        let home = try Home(backend)
        defer { home.remove() }
        let setup = try home.open()
        let ids = (1...60).map { "n\($0)" }
        try setup.createRun(header(), events: startEvents() + ids.map { queued($0) },
                            outbox: try ids.map { try OutboxRequest(Notification(id: $0, channel: "ops", message: "m", trigger: "t")) })
        try setup.close()
        let claims = Counts(4)
        onThreads(4) { worker in
            do {
                let journal = try home.open()
                defer { try? journal.close() }
                // Until a claim finds nothing (bounded): a claim that met rows another worker was taking returns fewer.
                for _ in 0..<100 {
                    let got = try journal.claimOutbox(now: t0 + .hours(1), limit: 3).map(\.id)
                    if got.isEmpty { break }
                    claims.claimed(worker, got)
                }
            } catch {
                claims.fail("\(error)")
            }
        }
        #expect(claims.failures.isEmpty, "\(claims.failures)")
        // Anything a worker gave up on while others held it is still due: claimed here, once.
        let last = try home.open()
        var claimed = claims.ids
        for _ in 0..<30 {
            let got = try last.claimOutbox(now: t0 + .hours(1), limit: 3).map(\.id)
            if got.isEmpty { break }
            claimed += got
        }
        try last.close()
        #expect(claimed.count == 60)
        #expect(Set(claimed).count == 60)
        let journal = try home.open()
        defer { try? journal.close() }
        #expect(try journal.outbox(runID: "r-7f3a2c").allSatisfy { $0.status == .sending && $0.attempts == 1 })
    }

    @Test("the database refuses UPDATE and DELETE of events and runs; verify checks that the guards are in place", arguments: TestBackend.allCases)
    func appendOnly(_ backend: TestBackend) throws {
        let home = try Home(backend)
        defer { home.remove() }
        let journal = try home.open()
        defer { try? journal.close() }
        try journal.createRun(header(), events: startEvents())
        for sql in ["UPDATE events SET payload = '{}' WHERE seq = 2", "DELETE FROM events WHERE seq = 3", "UPDATE runs SET title = 'x'",
                    "DELETE FROM runs", "UPDATE access_events SET actor = 'x'", "DELETE FROM access_events"] {
            let output = try home.behindMustersBack(sql)
            #expect(output.status != 0, "\(sql) was accepted")
            #expect(output.stderr.contains("muster journal:"), "\(sql): \(output.stderr)")
        }
        #expect(try journal.verify(runID: "r-7f3a2c").isIntact)
        // Someone switches the guard off: verify says so.
        let off = backend == .sqlite ? "DROP TRIGGER events_append_only_update" : "ALTER TABLE events DISABLE TRIGGER events_append_only_update"
        #expect(try home.behindMustersBack(off).status == 0)
        let report = try journal.verify(runID: "r-7f3a2c")
        #expect(report.warnings.contains { $0.contains("events_append_only_update") }, "\(report.warnings)")
    }

    @Test("a payload edited behind Muster's back is found by verify at its seq", arguments: TestBackend.allCases)
    func tamperedPayload(_ backend: TestBackend) throws {
        let home = try Home(backend)
        defer { home.remove() }
        let journal = try home.open()
        defer { try? journal.close() }
        try journal.createRun(header(), events: startEvents())
        try journal.append(runID: "r-7f3a2c", expectedSequence: 3, events: (1...10).map { note("note \($0)") })
        let edit = "UPDATE events SET payload = replace(payload, 'note 4', 'note 4 (edited)') WHERE run_id = 'r-7f3a2c' AND seq = 7"
        let sql = backend == .sqlite
            ? "DROP TRIGGER events_append_only_update; \(edit);"
            : "ALTER TABLE events DISABLE TRIGGER events_append_only_update; \(edit); ALTER TABLE events ENABLE TRIGGER events_append_only_update;"
        let output = try home.behindMustersBack(sql)
        #expect(output.status == 0, "\(output.stderr)")
        let report = try journal.verify(runID: "r-7f3a2c")
        #expect(report.firstBroken?.seq == 7, "\(report)")
    }

    @Test("users, the access log and the improvement log work and verify", arguments: TestBackend.allCases)
    func logs(_ backend: TestBackend) throws {
        let home = try Home(backend)
        defer { home.remove() }
        let journal = try home.open()
        defer { try? journal.close() }
        try journal.addUser(name: "Dana", tokenSHA256: String(repeating: "a", count: 64), admin: true, at: t0)
        try journal.addUser(name: "Lee", tokenSHA256: String(repeating: "b", count: 64), admin: false, at: t0)
        try journal.revokeUser(name: "Lee", at: t0 + .minutes(1))
        #expect(try journal.user(tokenSHA256: String(repeating: "a", count: 64))?.name == "Dana")
        #expect(try journal.user(tokenSHA256: String(repeating: "b", count: 64)) == nil)
        try journal.createRun(header(), events: startEvents())
        try journal.appendImprovement(expectedSequence: 0, at: t0, actor: "Dana", actionID: "A-1", type: "action-raised", payload: #"{"title":"x"}"#)
        #expect(throws: JournalError.sequenceConflict(expected: 0, actual: 1)) {
            try journal.appendImprovement(expectedSequence: 0, at: t0, actor: "Dana", actionID: "A-1", type: "action-raised", payload: "{}")
        }
        #expect(try journal.verifyAccessLog().isIntact)
        #expect(try journal.verifyAccessLog().eventCount == 4)
        #expect(try journal.verifyImprovementLog().isIntact)
        #expect(try journal.runListings().map(\.restricted) == [false])
    }
}

/// Runs `body(0..<count)` on `count` threads of its own at once and waits for all of them.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let done = DispatchSemaphore(value: 0)
    for index in 0..<count {
        Thread.detachNewThread {
            body(index)
            done.signal()
        }
    }
    for _ in 0..<count { done.wait() }
}

/// What threads of a concurrent test found, gathered under a lock.
final class Counts: @unchecked Sendable {
    private let lock = NSLock()
    private var perWorker: [Int]
    private var claimedIDs: [Int64] = []
    private var problems: [String] = []

    init(_ workers: Int) { perWorker = Array(repeating: 0, count: workers) }

    func add(_ worker: Int, _ count: Int) { lock.lock(); perWorker[worker] += count; lock.unlock() }
    func claimed(_ worker: Int, _ ids: [Int64]) { lock.lock(); claimedIDs += ids; perWorker[worker] += ids.count; lock.unlock() }
    func fail(_ problem: String) { lock.lock(); problems.append(problem); lock.unlock() }

    var total: Int { lock.lock(); defer { lock.unlock() }; return perWorker.reduce(0, +) }
    var ids: [Int64] { lock.lock(); defer { lock.unlock() }; return claimedIDs }
    var failures: [String] { lock.lock(); defer { lock.unlock() }; return problems }
}
