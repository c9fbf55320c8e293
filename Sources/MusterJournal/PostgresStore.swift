import CLibPQ
import Foundation

/// A failure reported by PostgreSQL or libpq: the SQLSTATE (`23505` unique violation, `08006` connection
/// failure...) when the server sent one, and its message. Never holds the connection URL or its password.
struct PostgresError: Error, CustomStringConvertible {
    var sqlState: String?
    var message: String
    /// The connection is gone (or was never made): the pool drops it.
    var connectionLost: Bool

    var description: String { message }

    static let uniqueViolation = "23505"
    static let serializationFailure = "40001"
    static let deadlockDetected = "40P01"
}

/// One libpq connection. Not thread-safe: the pool hands it to one transaction at a time.
final class PostgresConnection {
    private let raw: OpaquePointer
    /// Statement text to the name it was prepared under on this connection.
    private var prepared: [String: String] = [:]

    /// Connects with `url` (a `postgres://` URI or key=value string). Muster's own defaults come first, so that
    /// the same setting in the URL wins.
    init(url: String, synchronousCommit: String) throws(PostgresError) {
        let keywords = ["connect_timeout", "client_encoding", "application_name", "dbname"]
        let values = ["10", "UTF8", "muster", url]
        let connection: OpaquePointer? = withCStrings(keywords) { keywordPointers in
            withCStrings(values) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let connection else { throw PostgresError(sqlState: nil, message: "out of memory", connectionLost: true) }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.trimmed(String(cString: PQerrorMessage(connection)))
            PQfinish(connection)
            throw PostgresError(sqlState: nil, message: message, connectionLost: true)
        }
        raw = connection
        // `on`: a commit is acknowledged once it is on disk here (and on a synchronous standby when one is
        // configured). Set explicitly, so a server default of `off` cannot weaken it.
        _ = try execute("SET synchronous_commit = \(synchronousCommit)")
        _ = try execute("SET lock_timeout = '30s'")
        _ = try execute("SET client_min_messages = warning")
    }

    deinit { PQfinish(raw) }

    var isBroken: Bool { PQstatus(raw) != CONNECTION_OK }

    /// Waits at most `milliseconds` for something to read on the connection, reads it, and returns the
    /// notifications that arrived (`LISTEN`), as (channel, payload). Throws when the connection is lost.
    func notifications(waitingAtMost milliseconds: Int32) throws(PostgresError) -> [(channel: String, payload: String)] {
        var descriptor = pollfd(fd: PQsocket(raw), events: Int16(POLLIN), revents: 0)
        _ = poll(&descriptor, 1, milliseconds)
        guard PQconsumeInput(raw) == 1, !isBroken else {
            throw PostgresError(sqlState: nil, message: Self.trimmed(String(cString: PQerrorMessage(raw))), connectionLost: true)
        }
        var received: [(String, String)] = []
        while let notification = PQnotifies(raw) {
            received.append((String(cString: notification.pointee.relname), String(cString: notification.pointee.extra)))
            PQfreemem(notification)
        }
        return received
    }

    private static func trimmed(_ message: String) -> String {
        message.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "\n", with: "; ")
    }

    /// Runs statements without parameters (several, separated by semicolons, are allowed): DDL, BEGIN, COMMIT.
    @discardableResult
    func execute(_ sql: String) throws(PostgresError) -> Int {
        let result = PQexec(raw, sql)
        defer { PQclear(result) }
        try check(result)
        return Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    /// Runs one statement with parameters (prepared once per connection); `body` sees each row.
    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue], rows body: (SQLRow) throws -> Void = { _ in }) throws -> Int {
        let name: String
        if let known = prepared[sql] {
            name = known
        } else {
            name = "m\(prepared.count + 1)"
            let types: [Oid] = arguments.map { value in
                switch value {
                case .integer: 20  // int8
                case .text: 25  // text
                case .null: 0  // inferred from the statement
                }
            }
            let result = PQprepare(raw, name, Placeholders.dollarNumbered(sql), Int32(types.count), types)
            defer { PQclear(result) }
            try check(result)
            prepared[sql] = name
        }
        let texts: [String?] = arguments.map { value in
            switch value {
            case .null: nil
            case .integer(let number): String(number)
            case .text(let text): text
            }
        }
        let result: OpaquePointer? = withOptionalCStrings(texts) { pointers in
            PQexecPrepared(raw, name, Int32(texts.count), pointers, nil, nil, 0)
        }
        defer { PQclear(result) }
        try check(result)
        if let result, PQresultStatus(result) == PGRES_TUPLES_OK {
            let rowCount = PQntuples(result)
            let columnCount = PQnfields(result)
            for row in 0..<rowCount {
                var values: [SQLValue] = []
                values.reserveCapacity(Int(columnCount))
                for column in 0..<columnCount {
                    if PQgetisnull(result, row, column) == 1 {
                        values.append(.null)
                    } else {
                        values.append(.text(String(cString: PQgetvalue(result, row, column))))
                    }
                }
                try body(SQLRow(values))
            }
        }
        return Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    private func check(_ result: OpaquePointer?) throws(PostgresError) {
        let status = result.map(PQresultStatus) ?? PGRES_FATAL_ERROR
        guard status != PGRES_COMMAND_OK, status != PGRES_TUPLES_OK else { return }
        var message = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "M"))) }.map { String(cString: $0) }
        if message == nil || message!.isEmpty { message = Self.trimmed(String(cString: PQerrorMessage(raw))) }
        let state = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) }
        throw PostgresError(sqlState: state, message: message ?? "unknown error", connectionLost: isBroken || (state?.hasPrefix("08") ?? false))
    }
}

/// The PostgreSQL backend: a small pool of libpq connections. Every write transaction runs READ COMMITTED
/// and locks only what it appends to (the run's summary row, or a journal-wide log's table), so writers of
/// different runs never wait for each other; reads run on a REPEATABLE READ snapshot.
final class PostgresStore: JournalStore, @unchecked Sendable {
    let url: String
    let synchronousCommit: String
    private let lock = NSLock()
    private var idle: [PostgresConnection] = []
    private let maximumIdle = 8

    var dialect: SQLDialect { .postgres }

    /// The NOTIFY channel of appends: payload `RUN_ID HEAD_SEQ`.
    static let appendChannel = "muster_appends"

    init(url: String, synchronousCommit: String) throws(PostgresError) {
        self.url = url
        self.synchronousCommit = synchronousCommit
        idle.append(try PostgresConnection(url: url, synchronousCommit: synchronousCommit))
    }

    private func checkOut() throws(PostgresError) -> PostgresConnection {
        lock.lock()
        let connection = idle.popLast()
        lock.unlock()
        if let connection, !connection.isBroken { return connection }
        return try PostgresConnection(url: url, synchronousCommit: synchronousCommit)
    }

    private func checkIn(_ connection: PostgresConnection) {
        guard !connection.isBroken else { return }
        lock.lock()
        if idle.count < maximumIdle { idle.append(connection) }
        lock.unlock()
    }

    func write<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try transaction("BEGIN", body)
    }

    func read<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    private func transaction<T>(_ begin: String, _ body: (any SQLSession) throws -> T) throws -> T {
        let connection = try checkOut()
        do {
            try connection.execute(begin)
            let result = try body(PostgresSession(connection))
            try connection.execute("COMMIT")
            checkIn(connection)
            return result
        } catch {
            if !connection.isBroken, (try? connection.execute("ROLLBACK")) != nil { checkIn(connection) }
            throw error
        }
    }

    func close() throws {
        lock.lock()
        idle.removeAll()
        lock.unlock()
    }
}

final class PostgresSession: SQLSession {
    let connection: PostgresConnection
    init(_ connection: PostgresConnection) { self.connection = connection }

    var dialect: SQLDialect { .postgres }

    func execute(_ sql: String, _ arguments: SQLArguments) throws -> Int {
        try connection.execute(sql, arguments.values)
    }

    func forEach(_ sql: String, _ arguments: SQLArguments, _ body: (SQLRow) throws -> Void) throws {
        try connection.execute(sql, arguments.values, rows: body)
    }

    /// All the events in one statement (one round trip), as ten arrays unnested into rows: one prepared
    /// statement whatever the number of events.
    func insertEvents(_ rows: [EventRow], announce: Bool) throws {
        func array(_ values: [String?]) -> SQLValue { .text(PostgresArray.literal(values)) }
        let last = rows.last.map { "\($0.runID) \($0.seq)" } ?? ""
        // With the NOTIFY of the append (delivered at commit) in the same statement: one round trip.
        try connection.execute("""
            WITH inserted AS (
                INSERT INTO events (run_id, seq, at_ms, scenario_ms, actor, role, type, payload, prev_hash, hash)
                SELECT * FROM unnest(?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])
                RETURNING 1)
            SELECT count(*), CASE WHEN ?::boolean THEN pg_notify('\(PostgresStore.appendChannel)', ?) END FROM inserted
            """, [
                array(rows.map(\.runID)), array(rows.map { String($0.seq) }), array(rows.map { String($0.atMS) }),
                array(rows.map { $0.scenarioMS.map(String.init) }), array(rows.map(\.actor)), array(rows.map(\.role)),
                array(rows.map(\.type)), array(rows.map(\.payload)), array(rows.map(\.prevHash)), array(rows.map(\.hash)),
                .text(announce ? "true" : "false"), .text(last),
            ])
    }

    func lockRun(_ runID: String) throws {
        try connection.execute("SELECT 1 FROM run_summary WHERE run_id = ? FOR UPDATE", [.text(runID)])
    }



    func lockLog(_ table: String) throws {
        // Blocks other writers of the log until commit; readers are not blocked.
        try connection.execute("LOCK TABLE \(table) IN SHARE ROW EXCLUSIVE MODE")
    }

    func triggerNames() throws -> Set<String> {
        var names = Set<String>()
        try connection.execute("""
            SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            WHERE NOT t.tgisinternal AND t.tgenabled IN ('O', 'A') AND c.relnamespace = current_schema()::regnamespace
            """, []) { names.insert($0[0]) }
        return names
    }

    func tableExists(_ name: String) throws -> Bool {
        var found = false
        // From pg_tables (the statement's snapshot), not to_regclass (the session's catalog cache, which may not yet
        // show a schema another process committed while this one waited for the migration lock).
        try connection.execute("SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = ?)",
                               [.text(name)]) { found = $0[0] }
        return found
    }

    private var savepoints = 0

    func savepoint(_ body: () throws -> Bool) throws -> Bool {
        savepoints += 1
        let name = "muster_\(savepoints)"
        try connection.execute("SAVEPOINT \(name)")
        do {
            if try body() {
                try connection.execute("RELEASE SAVEPOINT \(name)")
                return true
            }
            try connection.execute("ROLLBACK TO SAVEPOINT \(name)")
            return false
        } catch {
            _ = try? connection.execute("ROLLBACK TO SAVEPOINT \(name)")
            throw error
        }
    }
}

/// Passes `strings` to C as a NULL-terminated array of C strings.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let duplicates = strings.map { strdup($0) }
    defer { duplicates.forEach { free($0) } }
    var pointers: [UnsafePointer<CChar>?] = duplicates.map { UnsafePointer($0) }
    pointers.append(nil)
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// Passes `strings` to C as an array of C strings, NULL for nil.
private func withOptionalCStrings<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    let duplicates = strings.map { $0.map { strdup($0) } ?? nil }
    defer { duplicates.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = duplicates.map { $0.map { UnsafePointer($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
}

/// PostgreSQL's text form of a one-dimensional array: `{"a","b\\"c",NULL}`.
enum PostgresArray {
    static func literal(_ values: [String?]) -> String {
        var out = "{"
        for (index, value) in values.enumerated() {
            if index > 0 { out += "," }
            guard let value else { out += "NULL"; continue }
            out += "\""
            for character in value.unicodeScalars {
                if character == "\\" || character == "\"" { out += "\\" }
                out.unicodeScalars.append(character)
            }
            out += "\""
        }
        return out + "}"
    }
}
