import Foundation
import GRDB
import MusterCore
import Testing
@testable import MusterJournal

@Suite("Journal: opening, writing and reading runs")
struct JournalTests {
    @Test("events appended then read back decode equal, with seqs from 1 and a valid chain")
    func roundTrip() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let journal = try Journal.open(path: folder.database)
        let start = startEvents()
        let created = try journal.createRun(header(), events: start)
        #expect(created.sequences == 1...3)
        let more = everyKindOfEvent()
        let appended = try journal.append(runID: "r-7f3a2c", expectedSequence: 3, events: more)
        #expect(appended.sequences == 4...(3 + more.count))
        #expect(try journal.events(runID: "r-7f3a2c") == start + more)
        #expect(try journal.events(runID: "r-7f3a2c", after: 3) == more)
        try journal.close()

        // A second Journal on the same file (as another process would) reads the same.
        let again = try Journal.open(path: folder.database)
        defer { try? again.close() }
        #expect(try again.events(runID: "r-7f3a2c") == start + more)
        let stored = try again.storedEvents(runID: "r-7f3a2c")
        #expect(stored.map(\.seq) == Array(1...(3 + more.count)))
        #expect(stored.map(\.event) == start + more)
        #expect(stored[0].type == "run-started")
        #expect(stored.last?.hash == appended.head.hash)
        for (previous, next) in zip(stored, stored.dropFirst()) { #expect(next.prevHash == previous.hash) }
        #expect(try again.head(runID: "r-7f3a2c") == appended.head)
        let report = try again.verify(runID: "r-7f3a2c")
        #expect(report.isIntact)
        #expect(report.eventCount == 3 + more.count)
        #expect(report.headHash == appended.head.hash)
        #expect(report.warnings.isEmpty)
    }

    @Test("the run header keeps the playbook's id, version, text and the SHA-256 of its bytes")
    func runHeader() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        try journal.createRun(header(), events: startEvents())
        let run = try journal.run("r-7f3a2c")
        #expect(run.playbookID == "ransomware-file-servers")
        #expect(run.playbookVersion == 3)
        #expect(run.playbookText == playbookText)
        #expect(run.playbookSHA256.count == 64)
        #expect(run.playbookSHA256 == header().playbookSHA256)
        #expect(run.mode == .live)
        #expect(run.title == "Ransomware on the finance shares")
        #expect(run.createdAt == t0)
        #expect(run.lastSequence == 3)
        // The first event's prev_hash is the header's hash, so the playbook's hash is inside the chain.
        let first = try journal.storedEvents(runID: "r-7f3a2c")[0]
        #expect(first.prevHash == Chain.headerHash(runID: "r-7f3a2c", playbookID: "ransomware-file-servers", playbookVersion: 3, playbookSHA256: run.playbookSHA256))
    }

    @Test("scenario time is stored for exercise events and read back")
    func scenarioTime() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        let entries = startEvents().enumerated().map { JournalEntry($1, scenarioTime: Instant(iso8601: "2030-01-01T00:00:00Z")! + .minutes(Int64($0))) }
        try journal.createRun(header(mode: .exercise), entries: entries)
        let stored = try journal.storedEvents(runID: "r-7f3a2c")
        #expect(stored.map(\.scenarioTime) == entries.map(\.scenarioTime))
        #expect(try journal.run("r-7f3a2c").mode == .exercise)
        #expect(try journal.verify(runID: "r-7f3a2c").isIntact)
    }

    @Test("the writer runs in WAL mode with synchronous=FULL, or NORMAL when asked")
    func durabilitySettings() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let journal = try Journal.open(path: folder.database)
        // `settings()` reads them by PRAGMA on the writer connection itself.
        #expect(try journal.settings() == JournalSettings(journalMode: "wal", synchronous: 2))
        try journal.close()
        let relaxed = try Journal.open(path: folder.database, durability: .normal)
        defer { try? relaxed.close() }
        #expect(try relaxed.settings() == JournalSettings(journalMode: "wal", synchronous: 1))
        let full = try Journal.open(path: folder.database)
        defer { try? full.close() }
        #expect(try full.settings().synchronous == 2)
    }

    @Test("open(home:) creates the folder and muster.db on first use; MUSTER_HOME defaults to ./.muster")
    func home() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let home = folder.file("nested/home")
        let journal = try Journal.open(home: home)
        #expect(journal.path == home + "/muster.db")
        #expect(FileManager.default.fileExists(atPath: home + "/muster.db"))
        #expect(try journal.runs().isEmpty)
        #expect(try journal.latestRun() == nil)
        try journal.close()
        #expect(Journal.defaultHome(environment: [:]) == "./.muster")
        #expect(Journal.defaultHome(environment: ["MUSTER_HOME": ""]) == "./.muster")
        #expect(Journal.defaultHome(environment: ["MUSTER_HOME": "/srv/muster"]) == "/srv/muster")
    }

    @Test("with create: false a missing journal is refused and not created")
    func noCreate() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        #expect(throws: JournalError.missing(path: folder.database)) { try Journal.open(path: folder.database, create: false) }
        #expect(throws: JournalError.missing(path: folder.file("h/muster.db"))) { try Journal.open(home: folder.file("h"), create: false) }
        #expect(!FileManager.default.fileExists(atPath: folder.database))
        #expect(!FileManager.default.fileExists(atPath: folder.file("h")))
        #expect("\(JournalError.missing(path: "/x/muster.db"))".hasPrefix("no journal at /x/muster.db"))
        try Journal.open(path: folder.database).close()
        try Journal.open(path: folder.database, create: false).close()
    }

    @Test("opening a path in a folder that does not exist names the folder")
    func missingFolder() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("absent/muster.db")
        #expect {
            try Journal.open(path: path)
        } throws: { error in
            guard case .cannotOpen(let p, _) = error as? JournalError else { return false }
            return p == path && "\(error)".contains(folder.file("absent"))
        }
    }

    @Test("runs are listed oldest first; the latest run is the newest; ids are short slugs")
    func listing() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        let first = try journal.makeRunID()
        #expect(first.wholeMatch(of: /r-[0-9a-f]{6}/) != nil)
        try journal.createRun(header(first, at: t0), events: startEvents(first, at: t0))
        let second = try journal.makeRunID()
        #expect(second != first)
        try journal.createRun(header(second, at: t0 + .hours(1)), events: startEvents(second, at: t0 + .hours(1)))
        #expect(try journal.runs().map(\.id) == [first, second])
        #expect(try journal.latestRun()?.id == second)
        #expect(try journal.runs().map(\.lastSequence) == [3, 3])
    }

    @Test("a run id is resolved from a unique prefix, with or without r-; ambiguous and unknown ones are refused")
    func resolving() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        for id in ["r-7f3a2c", "r-7f9911", "r-0b1c2d"] {
            try journal.createRun(header(id), events: startEvents(id))
        }
        #expect(try journal.resolveRun(prefix: "r-7f3a2c").id == "r-7f3a2c")
        #expect(try journal.resolveRun(prefix: "r-7f3").id == "r-7f3a2c")
        #expect(try journal.resolveRun(prefix: "0b").id == "r-0b1c2d")
        #expect(throws: JournalError.ambiguousRun("r-7f", candidates: ["r-7f3a2c", "r-7f9911"])) {
            try journal.resolveRun(prefix: "r-7f")
        }
        #expect("\(JournalError.ambiguousRun("7f", candidates: ["r-7f3a2c", "r-7f9911"]))" == "run id '7f' is ambiguous: it matches r-7f3a2c, r-7f9911")
        #expect(throws: JournalError.unknownRun("zzz", path: folder.database)) {
            try journal.resolveRun(prefix: "zzz")
        }
        #expect("\(JournalError.unknownRun("zzz", path: folder.database))" == "no run 'zzz' in \(folder.database)")
        // LIKE wildcards are not wildcards here.
        #expect(throws: JournalError.unknownRun("r-%", path: folder.database)) { try journal.resolveRun(prefix: "r-%") }
    }

    @Test("appending to an unknown run, or creating a run twice, is refused")
    func unknownAndDuplicateRuns() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        #expect(throws: JournalError.unknownRun("r-000000", path: folder.database)) {
            try journal.append(runID: "r-000000", expectedSequence: 0, events: [note("x")])
        }
        #expect(throws: JournalError.unknownRun("r-000000", path: folder.database)) { try journal.events(runID: "r-000000") }
        #expect(throws: JournalError.unknownRun("r-000000", path: folder.database)) { try journal.verify(runID: "r-000000") }
        try journal.createRun(header(), events: startEvents())
        #expect(throws: JournalError.runExists("r-7f3a2c")) { try journal.createRun(header(), events: startEvents()) }
        #expect(throws: JournalError.self) { try journal.createRun(header("R 1"), events: []) }
        #expect(try journal.head(runID: "r-7f3a2c").sequence == 3)
    }

    @Test("a sequence conflict between two journals on one file is refused and writes nothing")
    func sequenceConflict() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let a = try Journal.open(path: folder.database)
        let b = try Journal.open(path: folder.database)
        defer { try? a.close(); try? b.close() }
        try a.createRun(header(), events: startEvents())
        #expect(try b.head(runID: "r-7f3a2c").sequence == 3)
        try a.append(runID: "r-7f3a2c", expectedSequence: 3, events: [note("from a")])
        #expect(throws: JournalError.sequenceConflict(expected: 3, actual: 4)) {
            try b.append(runID: "r-7f3a2c", expectedSequence: 3, events: [note("from b"), queued("n1")], outbox: [try OutboxRequest(Notification(id: "n1", channel: "ops", message: "m", trigger: "t"))])
        }
        #expect(try b.events(runID: "r-7f3a2c").count == 4)
        #expect(try b.outbox(runID: "r-7f3a2c").isEmpty)
        // The loser retries against the new state.
        try b.append(runID: "r-7f3a2c", expectedSequence: 4, events: [note("from b")])
        #expect(try a.events(runID: "r-7f3a2c").suffix(2) == [note("from a"), note("from b")])
        #expect(try a.verify(runID: "r-7f3a2c").isIntact)
    }

    @Test("two writers on separate connections appending in a loop leave no gap, no duplicate and a valid chain")
    func concurrentWriters() async throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let setup = try Journal.open(path: folder.database)
        try setup.createRun(header(), events: startEvents())
        try setup.close()
        let perWriter = 40
        let conflicts = try await withThrowingTaskGroup(of: Int.self) { group in
            for writer in ["A", "B"] {
                group.addTask {
                    let journal = try Journal.open(path: folder.database)
                    defer { try? journal.close() }
                    var conflicts = 0
                    var i = 0
                    var tries = 0
                    while i < perWriter {
                        tries += 1
                        guard tries < perWriter * 50 else { throw JournalError.database(path: "", detail: "writer \(writer) starved") }
                        let head = try journal.head(runID: "r-7f3a2c")
                        do {
                            try journal.append(runID: "r-7f3a2c", expectedSequence: head.sequence, events: [note("\(writer)-\(i)", by: writer)])
                            i += 1
                        } catch JournalError.sequenceConflict {
                            conflicts += 1
                        }
                    }
                    return conflicts
                }
            }
            return try await group.reduce(0, +)
        }
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        let stored = try journal.storedEvents(runID: "r-7f3a2c")
        #expect(stored.map(\.seq) == Array(1...(3 + 2 * perWriter)))
        let notes = stored.compactMap { stored -> String? in
            if case .noteAdded(let text) = stored.event.body { return text } else { return nil }
        }
        #expect(notes.count == 2 * perWriter)
        #expect(Set(notes) == Set((0..<perWriter).flatMap { ["A-\($0)", "B-\($0)"] }))
        // Each writer's notes stay in its own order.
        for writer in ["A", "B"] {
            #expect(notes.filter { $0.hasPrefix(writer) } == (0..<perWriter).map { "\(writer)-\($0)" })
        }
        #expect(try journal.verify(runID: "r-7f3a2c").isIntact)
        print("concurrent writers: \(2 * perWriter) appends, \(conflicts) sequence conflicts retried")
    }
}
