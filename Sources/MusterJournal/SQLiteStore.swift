import GRDB
import GRDBSQLite

/// The embedded backend: one SQLite file in WAL mode through GRDB. Every write transaction is IMMEDIATE (the
/// database-wide write lock is taken before anything is read), so appends of all runs are serialized.
struct SQLiteStore: JournalStore {
    /// A `DatabasePool` (WAL) normally; a read-only `DatabaseQueue` on an immutable file for auditors' copies.
    let pool: any DatabaseWriter
    var isReadOnly = false
    var dialect: SQLDialect { .sqlite }

    func write<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try pool.writeWithoutTransaction { db in
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(SQLiteSession(db))
                return .commit
            }
            return result!
        }
    }

    func read<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try pool.read { db in try body(SQLiteSession(db)) }
    }

    /// Copies the WAL into the database file (a passive checkpoint: it never waits for other processes) and
    /// closes the connections. (GRDB closes the writer before the read-only readers, so without the checkpoint the
    /// last commits would stay only in `muster.db-wal` until the next writer opens the file: safe, but surprising
    /// when the database file alone is copied.) A read-only journal is closed as it is.
    func close() throws {
        if !isReadOnly { try? pool.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) } }
        try pool.close()
    }

    /// SQLite's errors as journal errors (nil for any other error).
    static func mapped(_ error: any Error, path: String) -> JournalError? {
        guard let error = error as? DatabaseError else { return nil }
        switch error.resultCode {
        case .SQLITE_NOTADB, .SQLITE_CORRUPT: return Journal.openError(path: path, error)
        default: return .database(path: path, detail: error.message ?? "\(error.resultCode)")
        }
    }
}

/// A GRDB `Database` seen through `SQLSession`.
final class SQLiteSession: SQLSession {
    let db: Database
    init(_ db: Database) { self.db = db }

    var dialect: SQLDialect { .sqlite }

    private static func arguments(_ arguments: SQLArguments) -> StatementArguments {
        StatementArguments(arguments.values.map { value -> (any DatabaseValueConvertible)? in
            switch value {
            case .null: nil
            case .integer(let number): number
            case .text(let text): text
            }
        })
    }

    func execute(_ sql: String, _ arguments: SQLArguments) throws -> Int {
        let statement = try db.cachedStatement(sql: sql)
        try statement.execute(arguments: Self.arguments(arguments))
        return db.changesCount
    }

    func forEach(_ sql: String, _ arguments: SQLArguments, _ body: (SQLRow) throws -> Void) throws {
        let statement = try db.cachedStatement(sql: sql)
        let rows = try Row.fetchCursor(statement, arguments: Self.arguments(arguments))
        while let row = try rows.next() {
            var values: [SQLValue] = []
            values.reserveCapacity(row.count)
            for value in row.databaseValues {
                switch value.storage {
                case .null: values.append(.null)
                case .int64(let number): values.append(.integer(number))
                case .string(let text): values.append(.text(text))
                case .double(let number): values.append(.text(String(number)))
                case .blob(let data): values.append(.text(String(decoding: data, as: UTF8.self)))
                }
            }
            try body(SQLRow(values))
        }
    }

    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    func insertEvents(_ rows: [EventRow], announce: Bool) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO events (run_id, seq, at_ms, scenario_ms, actor, role, type, payload, prev_hash, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        // Bound through the C API (as GRDB binds them: integers, NUL-terminated UTF-8 text, NULL for nil):
        // building `StatementArguments` for every row cost as much as SQLite's own insert.
        let raw = statement.sqliteStatement
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
        defer {
            sqlite3_reset(raw)
            sqlite3_clear_bindings(raw)
        }
        func text(_ index: Int32, _ value: String?) {
            if let value { sqlite3_bind_text(raw, index, value, -1, Self.transient) } else { sqlite3_bind_null(raw, index) }
        }
        for row in rows {
            text(1, row.runID)
            sqlite3_bind_int64(raw, 2, Int64(row.seq))
            sqlite3_bind_int64(raw, 3, row.atMS)
            if let scenario = row.scenarioMS { sqlite3_bind_int64(raw, 4, scenario) } else { sqlite3_bind_null(raw, 4) }
            text(5, row.actor)
            text(6, row.role)
            text(7, row.type)
            text(8, row.payload)
            text(9, row.prevHash)
            text(10, row.hash)
            let code = sqlite3_step(raw)
            guard code == SQLITE_DONE else {
                let message = db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) }
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: statement.sql)
            }
            sqlite3_reset(raw)
        }
    }

    func lockRun(_ runID: String) throws {}
    func lockLog(_ table: String) throws {}

    func triggerNames() throws -> Set<String> {
        Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger'"))
    }

    func tableExists(_ name: String) throws -> Bool { try db.tableExists(name) }

    func savepoint(_ body: () throws -> Bool) throws -> Bool {
        var kept = false
        try db.inSavepoint {
            kept = try body()
            return kept ? .commit : .rollback
        }
        return kept
    }
}
