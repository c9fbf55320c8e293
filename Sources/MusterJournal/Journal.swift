import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MusterCore

/// The run journal: runs, their append-only hash-chained events, the notification outbox, users and the
/// journal-wide logs, in one of two backends behind one seam (`JournalStore`): an embedded SQLite file (WAL, the
/// default) or a PostgreSQL database (`JournalLocation`). Several `Journal`s (in one process or several) may use
/// the same database at once: appends are checked against the expected sequence number, and serialized per run
/// (PostgreSQL) or database-wide (SQLite's write lock).
///
/// All methods are synchronous and block the calling thread for the database access.
public final class Journal: Sendable {
    /// The journal format this build reads and writes (`meta.format_version`).
    public static let formatVersion = 8

    /// How hard a commit waits for the disk.
    public enum Durability: Sendable, Hashable {
        /// `PRAGMA synchronous = FULL` (the default): a committed append survives a power cut.
        case full
        /// `PRAGMA synchronous = NORMAL`: in WAL mode a crash of the process loses nothing and the database
        /// stays consistent, but a power cut or OS crash may lose the last commits. About 2–3× faster.
        case normal
    }

    /// The database file, or the PostgreSQL URL without its password (`JournalLocation.description`): what
    /// messages name.
    public let path: String
    /// Where the journal lives.
    public let location: JournalLocation
    public let durability: Durability
    /// Opened by `openForReading` on a file this process may not write (an auditor's copy): every write is
    /// refused with `JournalError.readOnly`, and nothing is written to the folder, not even a WAL index.
    public let isReadOnly: Bool
    let store: any JournalStore

    init(location: JournalLocation, durability: Durability, store: any JournalStore, isReadOnly: Bool = false) {
        self.location = location
        self.path = location.description
        self.durability = durability
        self.store = store
        self.isReadOnly = isReadOnly
    }

    /// The backend's SQL dialect (what `db status` reports as the backend).
    public var backend: JournalLocation.Backend { location.backend }

    // MARK: - Opening

    /// `$MUSTER_HOME`, or `./.muster` when it is unset or empty.
    public static func defaultHome(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let home = environment["MUSTER_HOME"], !home.isEmpty { return home }
        return "./.muster"
    }

    /// Closes the connections (SQLite: after copying the WAL into the database file, `SQLiteStore.close`). The
    /// journal cannot be used afterwards.
    public func close() throws(JournalError) {
        do { try store.close() } catch { throw mapped(error) }
    }

    /// Any failure of a backend as the `JournalError` a caller acts on.
    func mapped(_ error: any Error) -> JournalError {
        if let error = error as? JournalError { return error }
        if let error = error as? PostgresError {
            return error.connectionLost
                ? .unavailable(path: path, detail: error.message)
                : .database(path: path, detail: error.sqlState.map { "\(error.message) (SQLSTATE \($0))" } ?? error.message)
        }
        if let mapped = SQLiteStore.mapped(error, path: path) { return mapped }
        if let error = error as? CanonicalJSON.Malformed { return .invalidOutbox("payload is not JSON: \(error)") }
        return .database(path: path, detail: "\(error)")
    }

    // MARK: - Database access helpers

    /// Runs `body` in one write transaction (SQLite: IMMEDIATE, the write lock is taken before the head is read,
    /// so a concurrent writer in another process waits instead of failing halfway).
    func write<T>(_ body: (any SQLSession) throws -> T) throws(JournalError) -> T {
        guard !isReadOnly else { throw .readOnly(path: path) }
        do { return try store.write(body) } catch { throw mapped(error) }
    }

    func read<T>(_ body: (any SQLSession) throws -> T) throws(JournalError) -> T {
        do { return try store.read(body) } catch { throw mapped(error) }
    }
}

/// The connection settings that decide durability.
public struct JournalSettings: Sendable, Hashable {
    /// `wal`.
    public var journalMode: String
    /// 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA.
    public var synchronous: Int
}
