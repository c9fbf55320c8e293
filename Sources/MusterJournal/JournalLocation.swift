import Foundation

/// Where a journal lives: an SQLite file (the default, `$MUSTER_HOME/muster.db`) or a PostgreSQL database
/// (`MUSTER_DATABASE_URL` or `--database`). Its description never shows a password.
public enum JournalLocation: Sendable, Hashable, CustomStringConvertible {
    case sqlite(path: String)
    /// A libpq URL (`postgres://USER:PASSWORD@HOST:PORT/DB?...`, several hosts allowed) or key=value string.
    case postgres(url: String)

    public enum Backend: String, Sendable {
        case sqlite, postgresql
    }

    public var backend: Backend {
        switch self {
        case .sqlite: .sqlite
        case .postgres: .postgresql
        }
    }

    /// The environment variable that selects PostgreSQL for every command.
    public static let environmentVariable = "MUSTER_DATABASE_URL"

    /// `database` (a `--database` option) when given, else `MUSTER_DATABASE_URL` when set and not empty, else
    /// `HOME/muster.db` with `home` or `Journal.defaultHome`.
    public static func resolve(database: String? = nil, home: String? = nil,
                               environment: [String: String] = ProcessInfo.processInfo.environment) -> JournalLocation {
        if let database, !database.isEmpty { return parse(database) }
        if let url = environment[environmentVariable], !url.isEmpty { return parse(url) }
        let folder = home ?? Journal.defaultHome(environment: environment)
        return .sqlite(path: (folder as NSString).appendingPathComponent("muster.db"))
    }

    /// A `postgres://` or `postgresql://` URL, a libpq key=value string (`host=... dbname=...`), an `sqlite:PATH`,
    /// or else a path to an SQLite file.
    public static func parse(_ text: String) -> JournalLocation {
        let lower = text.lowercased()
        if lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://") { return .postgres(url: text) }
        if lower.hasPrefix("sqlite:") { return .sqlite(path: String(text.dropFirst("sqlite:".count))) }
        if text.contains("=") && (lower.contains("dbname=") || lower.contains("host=")) { return .postgres(url: text) }
        return .sqlite(path: text)
    }

    public var description: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let url): Self.redacted(url)
        }
    }

    /// `url` with any password removed: the `:PASSWORD@` of a URL, a `password=` query parameter or key=value.
    public static func redacted(_ url: String) -> String {
        var text = url
        if let scheme = text.range(of: "://") {
            let authorityEnd = text[scheme.upperBound...].firstIndex(where: { $0 == "/" || $0 == "?" }) ?? text.endIndex
            if let at = text[scheme.upperBound..<authorityEnd].lastIndex(of: "@"),
               let colon = text[scheme.upperBound..<at].firstIndex(of: ":") {
                text.replaceSubrange(colon..<at, with: "")
            }
        }
        // password=... in a query string or a key=value string.
        while let range = text.range(of: "password=", options: .caseInsensitive) {
            let end = text[range.upperBound...].firstIndex(where: { $0 == "&" || $0 == " " }) ?? text.endIndex
            let before = text[..<range.lowerBound]
            var after = String(text[end...])
            if after.hasPrefix("&") || after.hasPrefix(" ") { after.removeFirst() }
            var head = String(before)
            if after.isEmpty, head.hasSuffix("&") || head.hasSuffix("?") || head.hasSuffix(" ") { head.removeLast() }
            text = head + after
        }
        return text
    }
}

extension Journal {
    /// Opens the journal at `location`: `open(path:)` for SQLite, and for PostgreSQL a pool of connections to a
    /// database whose schema is created on first use (`create`) or by `muster db init`.
    public static func open(_ location: JournalLocation, durability: Durability = .full, create: Bool = true) throws(JournalError) -> Journal {
        switch location {
        case .sqlite(let path):
            // Only its owner reads the journal: a missing folder is created 0700 (an existing one is left as it is;
            // the database files in it are made 0600 by `open(path:)`).
            if create {
                let folder = (path as NSString).deletingLastPathComponent
                if !folder.isEmpty, !FileManager.default.fileExists(atPath: folder) {
                    do {
                        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                    } catch {
                        throw .cannotOpen(path: path, detail: "cannot create the folder \(folder): \(error.localizedDescription)")
                    }
                }
            }
            return try open(path: path, durability: durability, create: create)
        case .postgres(let url):
            return try openPostgres(url: url, location: location, durability: durability, create: create)
        }
    }

    /// For commands that only read: `openForReading(path:)` for SQLite (an auditor's read-only copy opens), and
    /// `open(create: false)` for PostgreSQL.
    public static func openForReading(_ location: JournalLocation) throws(JournalError) -> Journal {
        switch location {
        case .sqlite(let path): try openForReading(path: path)
        case .postgres: try open(location, create: false)
        }
    }

    private static func openPostgres(url: String, location: JournalLocation, durability: Durability, create: Bool) throws(JournalError) -> Journal {
        let shown = location.description
        let store: PostgresStore
        do {
            store = try PostgresStore(url: url, synchronousCommit: durability == .full ? "on" : "local")
        } catch {
            throw .cannotOpen(path: shown, detail: error.message)
        }
        do {
            // Outside the migration lock a schema being created by another process may look half made (PostgreSQL's
            // catalog lookups do not follow the transaction's snapshot): when creating, the locked migration decides.
            let found: Int?
            do {
                found = try store.read { db in try postgresFormat(db, shown: shown) }
            } catch JournalError.notAJournal where create {
                found = nil
            }
            if let found, found > formatVersion { throw JournalError.newerFormat(path: shown, found: found, supported: formatVersion) }
            if found == nil || found! < formatVersion {
                guard create else {
                    if found == nil { throw JournalError.missing(path: shown) }
                    throw JournalError.olderFormat(path: shown, found: found!, supported: formatVersion)
                }
                try migratePostgres(store, shown: shown)
            }
        } catch let error as JournalError {
            throw error
        } catch let error as PostgresError {
            throw error.connectionLost ? .unavailable(path: shown, detail: error.message) : .cannotOpen(path: shown, detail: error.message)
        } catch {
            throw .cannotOpen(path: shown, detail: "\(error)")
        }
        return Journal(location: location, durability: durability, store: store)
    }

    /// The journal format in the database, nil when it holds no journal. Tables of something else: not a journal.
    static func postgresFormat(_ db: any SQLSession, shown: String) throws -> Int? {
        guard try db.tableExists("meta") else {
            let tables = try db.value(Int.self, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()") ?? 0
            if tables > 0 { throw JournalError.notAJournal(path: shown) }
            return nil
        }
        guard let text = try db.value(String.self, "SELECT value FROM meta WHERE key = 'format_version'") else { return nil }
        return Int(text) ?? Int.max
    }

    /// Creates or upgrades the schema in one transaction under the migration lock, so that two processes
    /// starting on an empty database do not both create it: the second waits, then finds it done.
    static func migratePostgres(_ store: PostgresStore, shown: String) throws {
        try store.write { db in
            try db.execute("SELECT pg_advisory_xact_lock(?)", [PostgresSchema.migrationLock])
            let found = try postgresFormat(db, shown: shown) ?? 0
            for step in PostgresSchema.steps where step.format > found {
                try (db as! PostgresSession).connection.execute(step.sql)
            }
        }
    }
}
