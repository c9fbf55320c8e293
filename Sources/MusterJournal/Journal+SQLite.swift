import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GRDB

// Opening the embedded backend: an SQLite file through GRDB (see `SQLiteStore`). GRDB is used here and in
// `SQLiteStore`, `Schema` and nowhere else in the journal.
extension Journal {
    /// Opens `HOME/muster.db`, creating it and the folder on first use (`create: false` refuses a missing
    /// journal instead, for commands that only read or act on an existing run).
    public static func open(home: String, durability: Durability = .full, create: Bool = true) throws(JournalError) -> Journal {
        try open(.sqlite(path: (home as NSString).appendingPathComponent("muster.db")), durability: durability, create: create)
    }

    /// For commands that only read (`verify`, `report`, `timeline`, `lessons list`, `actions list|report`,
    /// `programme`): opens `HOME/muster.db` as `open` does when this process may write the file and its folder,
    /// and read-only otherwise (a copy of `muster.db` handed to an auditor, a read-only mount).
    public static func openForReading(home: String) throws(JournalError) -> Journal {
        try openForReading(path: (home as NSString).appendingPathComponent("muster.db"))
    }

    public static func openForReading(path: String) throws(JournalError) -> Journal {
        guard FileManager.default.fileExists(atPath: path) else { throw .missing(path: path) }
        let folder = (path as NSString).deletingLastPathComponent
        if access(path, W_OK) == 0, access(folder.isEmpty ? "." : folder, W_OK) == 0 {
            return try open(path: path, create: false)
        }
        return try openReadOnly(path: path)
    }

    /// The file opened `immutable`: SQLite takes no lock and creates no `-shm`, so a file in a folder nobody may
    /// write opens. The WAL is not read that way, so a non-empty `-wal` beside it (commits not yet copied into
    /// the file) is refused rather than silently left out.
    static func openReadOnly(path: String) throws(JournalError) -> Journal {
        let wal = path + "-wal"
        if let size = (try? FileManager.default.attributesOfItem(atPath: wal))?[.size] as? NSNumber, size.intValue > 0 {
            throw .cannotOpen(path: path, detail: "it can only be opened read-only here, and \((wal as NSString).lastPathComponent) "
                + "beside it holds commits not yet in the database file; open it once where it can be written, or copy it "
                + "whole with: sqlite3 \(path) \".backup COPY.db\"")
        }
        let absolute = (path as NSString).isAbsolutePath ? path : FileManager.default.currentDirectoryPath + "/" + path
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "?#%")
        let uri = "file:" + (absolute.addingPercentEncoding(withAllowedCharacters: allowed) ?? absolute) + "?immutable=1"
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = "MusterJournal (read-only)"
        do {
            let queue = try DatabaseQueue(path: uri, configuration: configuration)
            do {
                let found = try queue.read { db in try formatVersion(db) }
                guard let found else { throw JournalError.notAJournal(path: path) }
                if found > formatVersion { throw JournalError.newerFormat(path: path, found: found, supported: formatVersion) }
            } catch {
                try? queue.close()
                throw error
            }
            return Journal(location: .sqlite(path: path), durability: .full, store: SQLiteStore(pool: queue, isReadOnly: true), isReadOnly: true)
        } catch let error as JournalError {
            throw error
        } catch {
            throw openError(path: path, error)
        }
    }

    /// Opens the journal at `path`, creating it when the file does not exist (its folder must) unless `create`
    /// is false.
    /// A file that is not an SQLite database, an SQLite database that is not a journal, and a journal
    /// written by a newer format are refused before anything is written to them.
    public static func open(path: String, durability: Durability = .full, create: Bool = true) throws(JournalError) -> Journal {
        guard create || FileManager.default.fileExists(atPath: path) else { throw .missing(path: path) }
        try preflight(path: path)
        try restrictPermissions(path: path)
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.label = "MusterJournal"
        configuration.prepareDatabase { db in
            // Statement journals (what undoes one statement or savepoint inside a transaction) and temporary
            // b-trees in memory: they are never read after a crash, so this changes nothing about durability.
            // With the default, a statement journal over 64 KiB (a batch of status changes) spilled to a
            // file in /var/tmp, and every later statement of the transaction wrote its pages there too.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw openError(path: path, error)
        }
        do {
            try pool.barrierWriteWithoutTransaction { db in
                let wanted = durability == .full ? 2 : 1
                try db.execute(sql: durability == .full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
                let synchronous = try Int.fetchOne(db, sql: "PRAGMA synchronous")
                guard synchronous == wanted else {
                    throw JournalError.settingRefused(path: path, detail: "PRAGMA synchronous is \(synchronous.map(String.init) ?? "unknown"), expected \(wanted)")
                }
                let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode")
                guard mode?.lowercased() == "wal" else {
                    throw JournalError.settingRefused(path: path, detail: "journal_mode is \(mode ?? "unknown"), expected wal")
                }
            }
            let migrator = Schema.migrator
            do {
                try migrator.migrate(pool)
            } catch {
                // Two processes creating the journal at once: the loser's migration fails on existing tables.
                guard try pool.read(migrator.hasCompletedMigrations) else { throw error }
            }
            let found = try pool.read { db in try formatVersion(db) }
            if let found, found > formatVersion {
                throw JournalError.newerFormat(path: path, found: found, supported: formatVersion)
            }
        } catch let error as JournalError {
            try? pool.close()
            throw error
        } catch {
            try? pool.close()
            throw openError(path: path, error)
        }
        return Journal(location: .sqlite(path: path), durability: durability, store: SQLiteStore(pool: pool))
    }

    /// Creates the database file 0600 when it does not exist (SQLite gives the `-wal` and `-shm` files it creates the
    /// database file's permissions), and takes group and other access away from existing ones this user owns.
    private static func restrictPermissions(path: String) throws(JournalError) {
        if !FileManager.default.fileExists(atPath: path) {
            #if canImport(Glibc)
            let fd = Glibc.open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
            if fd >= 0 { _ = Glibc.close(fd) }
            #else
            let fd = Darwin.open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
            if fd >= 0 { _ = Darwin.close(fd) }
            #endif
            if fd < 0, errno != EEXIST {
                throw .cannotOpen(path: path, detail: "cannot create the file: \(String(cString: strerror(errno)))")
            }
        }
        for file in [path, path + "-wal", path + "-shm"] {
            var info = stat()
            guard stat(file, &info) == 0, info.st_uid == geteuid(), info.st_mode & 0o077 != 0 else { continue }
            _ = chmod(file, info.st_mode & 0o700)
        }
    }

    /// Refuses, without writing, what must not be opened read-write.
    private static func preflight(path: String) throws(JournalError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            let folder = (path as NSString).deletingLastPathComponent
            if !folder.isEmpty, !FileManager.default.fileExists(atPath: folder) {
                throw .cannotOpen(path: path, detail: "the folder \(folder) does not exist")
            }
            return
        }
        guard !isDirectory.boolValue else { throw .cannotOpen(path: path, detail: "it is a folder") }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .cannotOpen(path: path, detail: "the file cannot be read")
        }
        let header = (try? handle.read(upToCount: 16)) ?? nil
        try? handle.close()
        guard let header, !header.isEmpty else { return }  // an empty file is an empty database
        guard header == Data("SQLite format 3\0".utf8) else {
            throw .notADatabase(path: path, detail: "no SQLite header")
        }
        // A read-write connection that only reads: unlike a read-only one, it removes the `-wal` and `-shm`
        // files it creates when it closes, so a refused file is left exactly as it was found.
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            try queue.read { db in
                let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
                guard !tables.isEmpty else { return }
                guard tables.contains("meta") else { throw JournalError.notAJournal(path: path) }
                guard let found = try formatVersion(db) else { throw JournalError.notAJournal(path: path) }
                if found > Journal.formatVersion {
                    throw JournalError.newerFormat(path: path, found: found, supported: Journal.formatVersion)
                }
            }
        } catch let error as JournalError {
            throw error
        } catch {
            throw openError(path: path, error)
        }
    }

    private static func formatVersion(_ db: Database) throws -> Int? {
        guard try db.tableExists("meta") else { return nil }
        guard let text = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'format_version'") else { return nil }
        return Int(text) ?? Int.max
    }

    static func openError(path: String, _ error: any Error) -> JournalError {
        if let error = error as? JournalError { return error }
        if let error = error as? DatabaseError {
            switch error.resultCode {
            case .SQLITE_NOTADB: return .notADatabase(path: path, detail: error.message ?? "file is not a database")
            case .SQLITE_CORRUPT: return .notADatabase(path: path, detail: "the database is damaged: \(error.message ?? "corrupt")")
            default: return .cannotOpen(path: path, detail: error.message ?? "\(error.resultCode)")
            }
        }
        return .cannotOpen(path: path, detail: "\(error)")
    }

    /// `PRAGMA journal_mode` and `PRAGMA synchronous` as the writer connection sees them.
    public func settings() throws(JournalError) -> JournalSettings {
        guard let pool = (store as? SQLiteStore)?.pool else {
            let value = try read { db in try db.value(String.self, "SHOW synchronous_commit") }
            return JournalSettings(journalMode: "postgresql", synchronous: value == "on" ? 2 : value == "local" ? 1 : 0)
        }
        do {
            return try pool.writeWithoutTransaction { db in
                JournalSettings(
                    journalMode: try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "",
                    synchronous: try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1)
            }
        } catch {
            throw mapped(error)
        }
    }
}
