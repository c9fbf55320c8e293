import Foundation
import MusterJournal
#if canImport(Glibc)
import Glibc
#endif

/// Which journal backend a test runs on. Tests parameterised by backend take both; every other test that
/// opens a journal through `TestJournal` (or runs the CLI through `MusterBinary`) uses `selected`:
/// `MUSTER_TEST_BACKEND=postgresql` runs the whole suite on PostgreSQL (`scripts/test-postgresql`; CI runs it after `swift test`).
public enum TestBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case postgresql

    public static var selected: TestBackend {
        ProcessInfo.processInfo.environment["MUSTER_TEST_BACKEND"].flatMap(TestBackend.init(rawValue:)) ?? .sqlite
    }

    public var description: String { rawValue }
}

/// Journals for tests, on either backend, named by a home folder: the same folder always gives the same
/// journal (on PostgreSQL, a schema of its own), so that a test and the `muster` processes it starts meet.
public enum TestDatabase {
    /// Where the journal of `home` lives on `backend`.
    public static func location(home: String, backend: TestBackend = .selected) throws -> JournalLocation {
        switch backend {
        case .sqlite: .sqlite(path: (home as NSString).appendingPathComponent("muster.db"))
        case .postgresql: .postgres(url: try TestPostgres.url(forHome: home))
        }
    }

    public static func open(home: String, backend: TestBackend = .selected, durability: Journal.Durability = .full) throws -> Journal {
        try Journal.open(try location(home: home, backend: backend), durability: durability)
    }

    /// What to add to a `muster` process's environment so that it uses `home`'s journal on `backend`.
    public static func environment(home: String, backend: TestBackend = .selected) throws -> [String: String] {
        switch backend {
        case .sqlite: ["MUSTER_HOME": home]
        case .postgresql: ["MUSTER_HOME": home, JournalLocation.environmentVariable: try TestPostgres.url(forHome: home)]
        }
    }
}

extension TestDatabase {
    /// Runs SQL on `home`'s journal with the backend's own tool (`sqlite3`, `psql`), as a person with access to
    /// the database would, behind Muster's back.
    public static func behindMustersBack(home: String, _ sql: String, backend: TestBackend = .selected) throws -> ProgramOutput {
        switch backend {
        case .sqlite: try SQLite3.run((home as NSString).appendingPathComponent("muster.db"), sql)
        case .postgresql: try TestPostgres.psql(sql, schema: try TestPostgres.schema(forHome: home))
        }
    }

    /// Switches one of the journal's guard triggers off (SQLite: drops it; PostgreSQL: disables it), then runs
    /// `sql`: how someone would edit rows the journal protects.
    public static func tamper(home: String, table: String, trigger: String, _ sql: String, backend: TestBackend = .selected) throws -> ProgramOutput {
        switch backend {
        case .sqlite: try behindMustersBack(home: home, "DROP TRIGGER \(trigger); \(sql)", backend: backend)
        case .postgresql: try behindMustersBack(home: home, "ALTER TABLE \(table) DISABLE TRIGGER \(trigger); \(sql)", backend: backend)
        }
    }
}

/// A PostgreSQL server for tests: `MUSTER_TEST_POSTGRES_URL` when set (`.ci/run` starts one), otherwise a
/// throw-away cluster this test process starts on first use (initdb in a temporary folder, a free port on
/// 127.0.0.1, as the `postgres` user when running as root) and stops when it exits. PostgreSQL not installed
/// is a failure with what to do, never a skip.
public enum TestPostgres {
    public struct Server: Sendable {
        /// A superuser URL (database `postgres`).
        public var url: String
        public var host: String
        public var port: Int
        public var user: String
        public var password: String
        public var database: String
    }

    public static func server() throws -> Server { try started.get() }

    private static let started: Result<Server, any Error> = Result { () throws -> Server in
        if let url = ProcessInfo.processInfo.environment["MUSTER_TEST_POSTGRES_URL"], !url.isEmpty {
            guard let parts = URLComponents(string: url), let host = parts.host, let port = parts.port else {
                throw TestSupportError("MUSTER_TEST_POSTGRES_URL is not a postgres://USER:PASSWORD@HOST:PORT/DB URL")
            }
            return Server(url: url, host: host, port: port, user: parts.user ?? "postgres", password: parts.password ?? "",
                          database: String(parts.path.dropFirst()))
        }
        return try startCluster()
    }

    /// The PostgreSQL programs (initdb, pg_ctl, postgres) of the newest installed major version.
    public static func binaries() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        guard let newest = versions.last, FileManager.default.isExecutableFile(atPath: "\(root)/\(newest)/bin/initdb") else {
            throw TestSupportError("PostgreSQL is not installed: apt-get install -y postgresql (scripts/setup does it)")
        }
        return "\(root)/\(newest)/bin"
    }

    nonisolated(unsafe) private static var clusterFolder: String?

    /// Runs a PostgreSQL program as an unprivileged user: PostgreSQL refuses to run as root.
    /// (Through python3, which runs it with every descriptor above stderr closed: Foundation's `Process` learns
    /// that a child ended when a socket the child inherited closes, and the server `pg_ctl start` leaves running
    /// would otherwise hold it open, so `pg_ctl` would seem never to end.)
    public static func asServerUser(_ program: String, _ arguments: [String], timeout: Double = 60) throws -> ProgramOutput {
        let command = geteuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--", program] + arguments : [program] + arguments
        return try SpawnedProcess.run(URL(fileURLWithPath: "/usr/bin/python3"), ["-c", defaultSignals] + command, timeout: timeout)
    }

    public static let defaultSignals = """
        import os, signal, sys
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        pid = os.fork()
        if pid == 0:
            os.closerange(3, 65536)
            os.execv(sys.argv[1], sys.argv[1:])
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
        """

    /// A folder the server user owns (`/tmp/muster-pg-XXXX`).
    public static func serverFolder(_ prefix: String) throws -> String {
        let folder = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        if geteuid() == 0 {
            let chown = try SpawnedProcess.run(URL(fileURLWithPath: "/bin/chown"), ["postgres:postgres", folder], timeout: 10)
            guard chown.status == 0 else { throw TestSupportError("chown \(folder) failed: \(chown.stderr)") }
        }
        return folder
    }

    private static func startCluster() throws -> Server {
        let bin = try binaries()
        let folder = try serverFolder("muster-pg")
        let password = UUID().uuidString
        let pwfile = folder + "/pw"
        try password.write(toFile: pwfile, atomically: true, encoding: .utf8)
        if geteuid() == 0 { _ = try? SpawnedProcess.run(URL(fileURLWithPath: "/bin/chown"), ["postgres:postgres", pwfile], timeout: 10) }
        let initdb = try asServerUser(bin + "/initdb", ["-D", folder + "/data", "-U", "muster", "--pwfile", pwfile,
                                                         "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"])
        guard initdb.status == 0 else { throw TestSupportError("initdb failed: \(initdb.stderr)") }
        let port = try freePort()
        // fsync off: a test cluster need not survive a power cut (a killed process loses nothing either way).
        let options = "-p \(port) -k \(folder) -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=300"
        let start = try asServerUser(bin + "/pg_ctl", ["-D", folder + "/data", "-o", options, "-l", folder + "/log", "-w", "-t", "60", "start"])
        guard start.status == 0 else {
            let log = (try? String(contentsOfFile: folder + "/log", encoding: .utf8)) ?? ""
            throw TestSupportError("pg_ctl start failed: \(start.stderr) \(log)")
        }
        clusterFolder = folder
        atexit {
            guard let folder = TestPostgres.clusterFolder, let bin = try? TestPostgres.binaries() else { return }
            _ = try? TestPostgres.asServerUser(bin + "/pg_ctl", ["-D", folder + "/data", "-m", "immediate", "stop"], timeout: 30)
            try? FileManager.default.removeItem(atPath: folder)
        }
        return Server(url: "postgres://muster:\(password)@127.0.0.1:\(port)/postgres", host: "127.0.0.1", port: port,
                      user: "muster", password: password, database: "postgres")
    }

    /// A port nothing listens on now (`closedPort`).
    public static func freePort() throws -> Int { try closedPort() }

    /// `psql` on the test server (the superuser), one command; stdout without headers, fields split by `|`.
    public static func psql(_ sql: String, schema: String? = nil, timeout: Double = 60) throws -> ProgramOutput {
        let (arguments, environment) = try psqlCommand(sql, schema: schema)
        return try SpawnedProcess.run(URL(fileURLWithPath: "/usr/bin/psql"), arguments, environment: environment, timeout: timeout)
    }

    /// `psql` started in the background (a session that holds a lock while the test acts); output in `folder`.
    public static func startPsql(_ sql: String, schema: String? = nil, outputIn folder: URL) throws -> SpawnedProcess {
        let (arguments, environment) = try psqlCommand(sql, schema: schema)
        return try SpawnedProcess.start(URL(fileURLWithPath: "/usr/bin/psql"), arguments, environment: environment, directory: folder, outputIn: folder)
    }

    private static func psqlCommand(_ sql: String, schema: String?) throws -> ([String], [String: String]) {
        let server = try server()
        var environment = ["PGPASSWORD": server.password, "PGCONNECT_TIMEOUT": "10"]
        if let schema { environment["PGOPTIONS"] = "-csearch_path=\(schema)" }
        return (["-h", server.host, "-p", String(server.port), "-U", server.user, "-d", server.database, "-X", "-q", "-A", "-t",
                 "-v", "ON_ERROR_STOP=1", "-c", sql],
                ProcessInfo.processInfo.environment.merging(environment) { $1 })
    }

    private static let schemas = NSLock()
    nonisolated(unsafe) private static var created: [String: String] = [:]

    /// A URL of the test server whose tables live in a schema of their own for `home` (created on first use):
    /// a fresh, empty journal per test folder, in one database.
    public static func url(forHome home: String) throws -> String {
        schemas.lock()
        defer { schemas.unlock() }
        if let known = created[home] { return known }
        let schema = "t_" + String(UInt64(truncatingIfNeeded: home.hashValue), radix: 36) + "_\(created.count)"
        let made = try psql("CREATE SCHEMA \(schema)")
        guard made.status == 0 else { throw TestSupportError("CREATE SCHEMA failed: \(made.stderr)") }
        let server = try server()
        let url = "postgres://\(server.user):\(server.password)@\(server.host):\(server.port)/\(server.database)?options=-csearch_path%3D\(schema)"
        created[home] = url
        return url
    }

    /// The schema of `home`'s journal (for `psql` edits behind Muster's back).
    public static func schema(forHome home: String) throws -> String {
        let url = try url(forHome: home)
        return String(url[url.range(of: "%3D")!.upperBound...])
    }
}
