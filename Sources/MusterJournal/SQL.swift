import MusterCore

// The storage seam. The journal's methods are written once, in SQL both backends accept, against `SQLSession`;
// a `JournalStore` (SQLite through GRDB, PostgreSQL through libpq) opens sessions inside transactions. What the
// two dialects do differently is asked of the session (`SQLDialect`, `lockRun`, `triggerNames`, `insertEvents`),
// never decided by a caller of `Journal`.

/// One value bound to or read from a statement. Booleans are stored as integers 0 and 1 in both backends.
public enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case text(String)
}

/// A Swift value that can be bound to a statement parameter.
public protocol SQLArgument: Sendable {
    var sqlValue: SQLValue { get }
}

extension String: SQLArgument { public var sqlValue: SQLValue { .text(self) } }
extension Int: SQLArgument { public var sqlValue: SQLValue { .integer(Int64(self)) } }
extension Int64: SQLArgument { public var sqlValue: SQLValue { .integer(self) } }
extension Bool: SQLArgument { public var sqlValue: SQLValue { .integer(self ? 1 : 0) } }
extension SQLValue: SQLArgument { public var sqlValue: SQLValue { self } }
extension Optional: SQLArgument where Wrapped: SQLArgument {
    public var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

/// A statement's parameters, in order: `["r-1", 3, nil as String?]`.
public struct SQLArguments: Sendable, ExpressibleByArrayLiteral {
    public var values: [SQLValue]
    public init(_ values: [SQLValue]) { self.values = values }
    public init(arrayLiteral elements: (any SQLArgument)?...) { values = elements.map { $0?.sqlValue ?? .null } }
    public static func + (lhs: SQLArguments, rhs: SQLArguments) -> SQLArguments { SQLArguments(lhs.values + rhs.values) }
}

/// A Swift value a column can be read as. PostgreSQL sends every value as text (`t`/`f` for booleans), SQLite
/// as integers and text: each conversion accepts both.
public protocol SQLColumnValue {
    init?(column: SQLValue)
}

extension String: SQLColumnValue {
    public init?(column: SQLValue) {
        switch column {
        case .text(let text): self = text
        case .integer(let value): self = String(value)
        case .null: return nil
        }
    }
}

extension Int64: SQLColumnValue {
    public init?(column: SQLValue) {
        switch column {
        case .integer(let value): self = value
        case .text(let text): guard let value = Int64(text) else { return nil }; self = value
        case .null: return nil
        }
    }
}

extension Int: SQLColumnValue {
    public init?(column: SQLValue) {
        guard let value = Int64(column: column) else { return nil }
        self = Int(value)
    }
}

extension Bool: SQLColumnValue {
    public init?(column: SQLValue) {
        switch column {
        case .integer(let value): self = value != 0
        case .text("t"), .text("true"), .text("1"): self = true
        case .text("f"), .text("false"), .text("0"): self = false
        default: return nil
        }
    }
}

extension Optional: SQLColumnValue where Wrapped: SQLColumnValue {
    public init?(column: SQLValue) {
        if case .null = column { self = .none; return }
        guard let value = Wrapped(column: column) else { return nil }
        self = .some(value)
    }
}

/// One result row.
public struct SQLRow: Sendable {
    public var values: [SQLValue]
    public init(_ values: [SQLValue]) { self.values = values }

    /// The column at `index` as `T`. A value of another type is a schema the journal did not write: a
    /// programming error or a database edited by hand, reported as `SQLRow.Mismatch` by `column(_:)`.
    public subscript<T: SQLColumnValue>(_ index: Int) -> T {
        guard let value = T(column: values[index]) else {
            preconditionFailure("journal column \(index) holds \(values[index]), not a \(T.self)")
        }
        return value
    }
}

/// Differences between the two SQL dialects that the shared SQL needs spelled out.
public enum SQLDialect: Sendable, Hashable {
    case sqlite
    case postgres

    /// The column that orders runs created at the same millisecond in the order they were written.
    var runInsertionOrder: String { self == .sqlite ? "rowid" : "position" }

    /// `column` is one of the integers of one parameter (`integerList`): one statement whatever their number.
    func inIntegerList(_ column: String) -> String {
        self == .sqlite ? "\(column) IN (SELECT value FROM json_each(?))" : "\(column) = ANY(?::bigint[])"
    }

    /// The parameter `inIntegerList` reads: a JSON array for SQLite, an array literal for PostgreSQL.
    func integerList(_ values: [Int64]) -> SQLValue {
        let joined = values.map(String.init).joined(separator: ",")
        return .text(self == .sqlite ? "[\(joined)]" : "{\(joined)}")
    }
}

/// An event row as inserted (`Journal.insert` computes seq and hashes).
struct EventRow {
    var runID: String
    var seq: Int
    var atMS: Int64
    var scenarioMS: Int64?
    var actor: String
    var role: String?
    var type: String
    var payload: String
    var prevHash: String
    var hash: String
}

/// One connection, inside a transaction (writes) or a consistent snapshot (reads). Parameters are written `?`
/// (or `?1`, `?2` for a parameter used twice); a backend rewrites them to its own syntax.
protocol SQLSession: AnyObject {
    var dialect: SQLDialect { get }
    /// Runs a statement; the number of rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: SQLArguments) throws -> Int
    /// Runs a query and hands each row to `body` as it is read.
    func forEach(_ sql: String, _ arguments: SQLArguments, _ body: (SQLRow) throws -> Void) throws
    /// Inserts event rows (the hot path of every append: each backend binds them its fastest way) and, when
    /// `announce` is set, lets other processes know at commit that the run grew to its last row (PostgreSQL
    /// `NOTIFY`, in the same round trip; SQLite has no such thing: readers poll).
    func insertEvents(_ rows: [EventRow], announce: Bool) throws
    /// Within a write transaction: waits until no other transaction writes `runID`'s events, so reading its
    /// head and appending after it cannot interleave with another writer of the same run. Writers of other
    /// runs do not wait. (SQLite's write lock already serializes every writer: nothing to do there.)
    func lockRun(_ runID: String) throws
    /// Within a write transaction: the same for a journal-wide log (`access_events`, `improvement_events`).
    func lockLog(_ table: String) throws
    /// The names of the enabled triggers on the journal's tables.
    func triggerNames() throws -> Set<String>
    func tableExists(_ name: String) throws -> Bool
    /// Runs `body` inside a savepoint: kept when it returns true, undone when it returns false or throws.
    func savepoint(_ body: () throws -> Bool) throws -> Bool
}

extension SQLSession {
    func all(_ sql: String, _ arguments: SQLArguments = []) throws -> [SQLRow] {
        var rows: [SQLRow] = []
        try forEach(sql, arguments) { rows.append($0) }
        return rows
    }

    func one(_ sql: String, _ arguments: SQLArguments = []) throws -> SQLRow? {
        var first: SQLRow?
        try forEach(sql, arguments) { row in if first == nil { first = row } }
        return first
    }

    /// The first column of every row.
    func column<T: SQLColumnValue>(_ type: T.Type, _ sql: String, _ arguments: SQLArguments = []) throws -> [T] {
        try all(sql, arguments).map { $0[0] as T }
    }

    /// The first column of the first row, or nil when there is no row or it is NULL.
    func value<T: SQLColumnValue>(_ type: T.Type, _ sql: String, _ arguments: SQLArguments = []) throws -> T? {
        guard let row = try one(sql, arguments) else { return nil }
        return T?(column: row.values[0]) ?? nil
    }
}

/// Where a journal lives and how its transactions are run.
protocol JournalStore: Sendable {
    var dialect: SQLDialect { get }
    /// Runs `body` in one write transaction: all of it commits, durably, or none of it does.
    func write<T>(_ body: (any SQLSession) throws -> T) throws -> T
    /// Runs `body` on one consistent snapshot.
    func read<T>(_ body: (any SQLSession) throws -> T) throws -> T
    func close() throws
}

/// `?` and `?N` placeholders to PostgreSQL's `$N`, outside quoted text.
enum Placeholders {
    static func dollarNumbered(_ sql: String) -> String {
        var out = ""
        out.reserveCapacity(sql.utf8.count + 16)
        var next = 1
        var quote: Character?
        let chars = Array(sql)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if let open = quote {
                out.append(c)
                if c == open { quote = nil }
            } else if c == "'" || c == "\"" {
                quote = c
                out.append(c)
            } else if c == "?" {
                var j = i + 1
                var digits = ""
                while j < chars.count, let d = chars[j].wholeNumberValue, chars[j].isASCII { digits.append(String(d)); j += 1 }
                if digits.isEmpty {
                    out += "$\(next)"
                    next += 1
                } else {
                    out += "$" + digits
                    i = j - 1
                }
            } else {
                out.append(c)
            }
            i += 1
        }
        return out
    }
}
