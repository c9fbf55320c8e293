import CLibPQBench
import Foundation
import GRDB
import MusterCore
import MusterJournal
import MusterRuntime

/// The PostgreSQL halves of `muster-bench journal` and the 8-writer comparison (issue 15). Every PostgreSQL
/// measurement works in a fresh schema of the same database (`BenchPostgres.Server.freshSchema`), so each journal
/// and raw table starts empty. Raw baseline on PostgreSQL: libpq directly, `BEGIN; INSERT one row; COMMIT` into a
/// table shaped like `events`, `synchronous_commit = on`; the journal opens with `durability: .full`, which sets
/// the same.

/// One writer: best of the rounds, in rows or events per second.
struct PostgresAppends {
    var raw = 0.0, journal = 0.0, batch = 0.0, runtime = 0.0

    mutating func measure(_ postgres: BenchPostgres.Server, folder: String, count: Int, payload: String, hash: String) throws {
        raw = max(raw, try Self.raw(postgres, count: count, payload: payload, hash: hash))
        journal = max(journal, try Self.journal(postgres, folder: folder, count: count, batch: 1))
        batch = max(batch, try Self.journal(postgres, folder: folder, count: count, batch: 10))
        runtime = max(runtime, try Self.runtime(postgres, folder: folder, count: count / 2))
    }

    static let eventsTable = """
        CREATE TABLE events (run_id TEXT NOT NULL, seq BIGINT NOT NULL, at_ms BIGINT NOT NULL, scenario_ms BIGINT,
          actor TEXT NOT NULL, role TEXT, type TEXT NOT NULL, payload TEXT NOT NULL, prev_hash TEXT NOT NULL,
          hash TEXT NOT NULL, PRIMARY KEY (run_id, seq))
        """
    static let insert = "INSERT INTO events VALUES ($1, $2, $3, NULL, $4, NULL, $5, $6, $7, $8)"

    /// A connection to a fresh schema holding an empty raw `events` table, with the INSERT prepared as `ins`.
    static func rawTable(_ postgres: BenchPostgres.Server, label: String) throws -> String {
        let url = try postgres.freshSchema(label)
        try RawConnection(url: url).execute(eventsTable)
        return url
    }

    static func rawConnection(_ url: String) throws -> RawConnection {
        let connection = try RawConnection(url: url)
        try connection.prepare("ins", insert)
        return connection
    }

    /// `count` single-row transactions on one connection, as run `runID`.
    static func rawInserts(_ connection: RawConnection, runID: String, count: Int, payload: String, hash: String) throws {
        for seq in 1...count {
            try connection.execute("BEGIN")
            try connection.run("ins", [runID, String(seq), String(1_772_818_800_000 + seq), "Dana", "note-added", payload, hash, hash])
            try connection.execute("COMMIT")
        }
    }

    static func raw(_ postgres: BenchPostgres.Server, count: Int, payload: String, hash: String) throws -> Double {
        let connection = try rawConnection(try rawTable(postgres, label: "raw"))
        let start = MusterBench.wallMS()
        try rawInserts(connection, runID: "r-000001", count: count, payload: payload, hash: hash)
        return Double(count) / ((MusterBench.wallMS() - start) / 1000)
    }

    static func journal(_ postgres: BenchPostgres.Server, folder: String, count: Int, batch: Int) throws -> Double {
        let journal = try Journal.open(.postgres(url: try postgres.freshSchema("journal")), durability: .full)
        let runtime = IncidentRuntime(journal: journal)
        let id = try MusterBench.declareSimple(runtime, folder: folder)
        var head = try journal.head(runID: id).sequence
        let at = Instant(millisecondsSinceEpoch: 1_772_818_800_000)
        let events = (0..<batch).map { _ in RunEvent(at: at, actor: "Dana", role: nil, .noteAdded(text: "Staff told by email, next update at 18:00")) }
        let start = MusterBench.wallMS()
        for _ in 0..<(count / batch) {
            head = try journal.append(runID: id, expectedSequence: head, events: events).head.sequence
        }
        let elapsed = MusterBench.wallMS() - start
        try journal.close()
        return Double(count) / (elapsed / 1000)
    }

    static func runtime(_ postgres: BenchPostgres.Server, folder: String, count: Int) throws -> Double {
        let journal = try Journal.open(.postgres(url: try postgres.freshSchema("runtime")), durability: .full)
        let runtime = IncidentRuntime(journal: journal)
        let id = try MusterBench.declareSimple(runtime, folder: folder)
        let start = MusterBench.wallMS()
        for i in 0..<count { _ = try runtime.execute(Command(actor: "Dana", .note("note \(i)")), on: id) }
        let elapsed = MusterBench.wallMS() - start
        try journal.close()
        return Double(count) / (elapsed / 1000)
    }
}

extension MusterBench {
    /// `writers` threads started together (each after its own setup), each running `work(i)`; the seconds from
    /// the start signal until the last one finished. A thread's error is rethrown.
    static func together(_ writers: Int, setup: @escaping @Sendable (Int) throws -> (@Sendable () throws -> Void)) throws -> Double {
        final class Shared: @unchecked Sendable {
            let lock = NSLock()
            var errors: [Error] = []
            let ready = DispatchSemaphore(value: 0)
            let go = DispatchSemaphore(value: 0)
            let done = DispatchSemaphore(value: 0)
            func fail(_ error: Error) { lock.lock(); errors.append(error); lock.unlock() }
        }
        let shared = Shared()
        for i in 0..<writers {
            let thread = Thread {
                var work: (@Sendable () throws -> Void)?
                do { work = try setup(i) } catch { shared.fail(error) }
                shared.ready.signal()
                shared.go.wait()
                do { try work?() } catch { shared.fail(error) }
                shared.done.signal()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        for _ in 0..<writers { shared.ready.wait() }
        let start = wallMS()
        for _ in 0..<writers { shared.go.signal() }
        for _ in 0..<writers { shared.done.wait() }
        let elapsed = wallMS() - start
        if let error = shared.errors.first { throw error }
        return elapsed / 1000
    }

    // MARK: (a8)

    /// 8 writers on 8 runs: 8 threads, each with its own connection (raw) or its own `Journal` (journal), each
    /// appending to its own run, one event per transaction. SQLite: one database file, so the writers take turns
    /// at its one write lock; PostgreSQL: each append locks only its run's row.
    static func concurrentAppends(_ folder: String, _ postgres: BenchPostgres.Server) throws {
        let writers = 8, perWriter = 250
        let total = writers * perWriter
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let payload = String(decoding: try encoder.encode(RunEvent.Body.noteAdded(text: "Staff told by email, next update at 18:00")), as: UTF8.self)
        let hash = String(repeating: "ab", count: 32)
        let playbook = folder + "/bench.yaml"
        try simplePlaybook.write(toFile: playbook, atomically: true, encoding: .utf8)

        func sqliteRaw(_ round: Int) throws -> Double {
            let path = folder + "/raw8-\(round).db"
            let first = try DatabasePool(path: path)
            try first.write { db in
                try db.execute(sql: """
                    CREATE TABLE events (run_id TEXT NOT NULL, seq INTEGER NOT NULL, at_ms INTEGER NOT NULL, scenario_ms INTEGER,
                      actor TEXT NOT NULL, role TEXT, type TEXT NOT NULL, payload TEXT NOT NULL, prev_hash TEXT NOT NULL,
                      hash TEXT NOT NULL, PRIMARY KEY (run_id, seq)) WITHOUT ROWID
                    """)
            }
            try first.close()
            let seconds = try together(writers) { i in
                var configuration = Configuration()
                configuration.busyMode = .timeout(30)
                let pool = try DatabasePool(path: path, configuration: configuration)
                try pool.barrierWriteWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
                return {
                    for seq in 1...perWriter {
                        try pool.writeWithoutTransaction { db in
                            try db.inTransaction(.immediate) {
                                try db.execute(sql: "INSERT INTO events VALUES (?, ?, ?, NULL, ?, NULL, ?, ?, ?, ?)",
                                               arguments: ["r-00000\(i)", seq, 1_772_818_800_000 + seq, "Dana", "note-added", payload, hash, hash])
                                return .commit
                            }
                        }
                    }
                    try pool.close()
                }
            }
            return Double(total) / seconds
        }

        func journalWriters(_ open: @escaping @Sendable () throws -> Journal) throws -> Double {
            let seconds = try together(writers) { _ in
                let journal = try open()
                let runtime = IncidentRuntime(journal: journal)
                let id = try runtime.declare(DeclareRequest(playbookPath: playbook, title: "bench", actor: "Dana")).runID
                let start = try journal.head(runID: id).sequence
                let at = Instant(millisecondsSinceEpoch: 1_772_818_800_000)
                let events = [RunEvent(at: at, actor: "Dana", role: nil, .noteAdded(text: "Staff told by email, next update at 18:00"))]
                return {
                    var head = start
                    for _ in 0..<perWriter {
                        head = try journal.append(runID: id, expectedSequence: head, events: events).head.sequence
                    }
                    try journal.close()
                }
            }
            return Double(total) / seconds
        }

        func sqliteJournal(_ round: Int) throws -> Double {
            let path = folder + "/journal8-\(round).db"
            try Journal.open(path: path, durability: .full).close()  // created once, before the writers open it
            return try journalWriters { try Journal.open(path: path, durability: .full) }
        }

        func postgresRaw() throws -> Double {
            let url = try PostgresAppends.rawTable(postgres, label: "raw8")
            let seconds = try together(writers) { i in
                let connection = try PostgresAppends.rawConnection(url)
                return { try PostgresAppends.rawInserts(connection, runID: "r-00000\(i)", count: perWriter, payload: payload, hash: hash) }
            }
            return Double(total) / seconds
        }

        func postgresJournal() throws -> Double {
            let url = try postgres.freshSchema("journal8")
            try Journal.open(.postgres(url: url), durability: .full).close()  // the schema, before the writers open it
            return try journalWriters { try Journal.open(.postgres(url: url), durability: .full) }
        }

        var sqliteRawBest = 0.0, sqliteJournalBest = 0.0, postgresRawBest = 0.0, postgresJournalBest = 0.0
        for round in 0..<3 {
            sqliteRawBest = max(sqliteRawBest, try sqliteRaw(round))
            sqliteJournalBest = max(sqliteJournalBest, try sqliteJournal(round))
            postgresRawBest = max(postgresRawBest, try postgresRaw())
            postgresJournalBest = max(postgresJournalBest, try postgresJournal())
        }
        print("(a8) durable appends, \(writers) writers on \(writers) runs (a thread each, with its own Journal or raw connection), one event per transaction, \(perWriter) each, best of 3")
        print("  SQLite      raw GRDB single-row inserts, 8 connections (baseline):  \(Int(sqliteRawBest)) rows/s")
        print("  PostgreSQL  raw libpq single-row inserts, 8 connections (baseline): \(Int(postgresRawBest)) rows/s")
        print("  SQLite      8 x Journal.append: \(Int(sqliteJournalBest)) events/s = \(format(sqliteJournalBest / sqliteRawBest * 100, 1))% of raw \(Int(sqliteRawBest))/s (target >= 70%)")
        print("  PostgreSQL  8 x Journal.append: \(Int(postgresJournalBest)) events/s = \(format(postgresJournalBest / postgresRawBest * 100, 1))% of raw \(Int(postgresRawBest))/s (target >= 70%)")
        print("  PostgreSQL / SQLite with 8 writers: \(format(postgresJournalBest / sqliteJournalBest, 2))x (expected: above 1, runs do not share a lock on PostgreSQL)")
    }

    // MARK: (b) on PostgreSQL

    /// Seconds, best of 3: reading the raw rows of the run with libpq, and a fresh `Journal.open` +
    /// `IncidentRuntime.snapshot`.
    static func postgresReplay(_ postgres: BenchPostgres.Server, folder: String, total: Int) throws -> (raw: Double, open: Double) {
        let url = try postgres.freshSchema("replay")
        let id = try seedRun(.postgres(url: url), folder: folder, total: total)

        let rawSeconds = try best {
            let connection = try RawConnection(url: url)
            var rows = 0, bytes = 0
            try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try connection.query("SELECT seq, at_ms, actor, role, payload FROM events WHERE run_id = '\(id)' ORDER BY seq") { result in
                rows = Int(PQntuples(result))
                for row in 0..<Int32(rows) { bytes += String(cString: PQgetvalue(result, row, 4)).utf8.count }
            }
            try connection.execute("COMMIT")
            precondition(rows == total)
        }
        var sequence = 0
        let openSeconds = try best {
            let journal = try Journal.open(.postgres(url: url), create: false)
            let runtime = IncidentRuntime(journal: journal)
            sequence = try runtime.snapshot(runID: id).sequence
            try journal.close()
        }
        precondition(sequence == total)
        return (rawSeconds, openSeconds)
    }
}
