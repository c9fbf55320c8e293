import CLibPQBench
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The PostgreSQL side of the benchmarks: a throw-away cluster (the repository's `scripts/postgres-cluster`, with
/// fsync on, its default) or the database of `MUSTER_BENCH_POSTGRES_URL`; a fresh schema per measurement, so that
/// each journal starts empty; and a raw libpq connection for the baselines.
enum BenchPostgres {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// The environment variable naming a database to use instead of a throw-away cluster.
    static let environmentVariable = "MUSTER_BENCH_POSTGRES_URL"

    /// `scripts/postgres-cluster` of the repository: `../scripts/` from the Benchmarks package (found from this
    /// source file), or `scripts/` from the current folder.
    static var clusterScript: String {
        let benchmarks = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let fromPackage = benchmarks.appendingPathComponent("../scripts/postgres-cluster").standardized.path
        if FileManager.default.isExecutableFile(atPath: fromPackage) { return fromPackage }
        return FileManager.default.currentDirectoryPath + "/scripts/postgres-cluster"
    }

    /// A database to benchmark against: `url` and, when this process started the cluster, its folder.
    final class Server: @unchecked Sendable {
        let url: String
        let folder: String?
        private var schemas: [String] = []
        private var stopped = false
        private let lock = NSLock()

        init(url: String, folder: String?) {
            self.url = url
            self.folder = folder
        }

        /// A URL whose connections work in a new, empty schema (`search_path`), so that every journal and raw
        /// table starts empty in the same database.
        func freshSchema(_ label: String) throws -> String {
            let name = "bench_\(label)_\(UUID().uuidString.prefix(8).lowercased())".replacingOccurrences(of: "-", with: "_")
            let connection = try RawConnection(url: url)
            try connection.execute("CREATE SCHEMA \(name)")
            lock.lock()
            schemas.append(name)
            lock.unlock()
            let option = "options=-c%20search_path%3D\(name)"
            return url + (url.contains("?") ? "&" : "?") + option
        }

        /// Drops the schemas made (on a database of `MUSTER_BENCH_POSTGRES_URL`) and stops a cluster this process
        /// started. Safe to call more than once.
        func stop() {
            lock.lock()
            let first = !stopped
            stopped = true
            let made = schemas
            lock.unlock()
            guard first else { return }
            if let folder {
                BenchPostgres.runScript(["stop", folder])
                BenchPostgres.current = nil
            } else if let connection = try? RawConnection(url: url) {
                for name in made { try? connection.execute("DROP SCHEMA IF EXISTS \(name) CASCADE") }
            }
        }
    }

    /// The server started by `start()`, stopped by a signal handler too.
    nonisolated(unsafe) static var current: Server?

    /// `MUSTER_BENCH_POSTGRES_URL` when set, else a throw-away cluster started with `scripts/postgres-cluster
    /// start`. The caller stops it (`defer { server.stop() }`); SIGINT and SIGTERM stop it as well.
    static func start() throws -> Server {
        if let url = ProcessInfo.processInfo.environment[environmentVariable], !url.isEmpty {
            FileHandle.standardError.write(Data("postgres: using \(environmentVariable)\n".utf8))
            return Server(url: url, folder: nil)
        }
        let script = clusterScript
        guard FileManager.default.isExecutableFile(atPath: script) else {
            throw Failure("no \(script): run from the repository, or set \(environmentVariable)")
        }
        let folder = (NSTemporaryDirectory() as NSString).appendingPathComponent("muster-bench-pg-\(UUID().uuidString.prefix(8))")
        FileHandle.standardError.write(Data("postgres: starting a throw-away cluster in \(folder) (fsync on)\n".utf8))
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "MUSTER_PG_OPTIONS")  // durable appends are the point: fsync stays on
        let output = try capture([script, "start", folder], environment: environment)
        let url = output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last.map(String.init) ?? ""
        let server = Server(url: url, folder: folder)
        current = server
        installSignalHandlers()
        guard url.hasPrefix("postgres") else {
            server.stop()
            throw Failure("scripts/postgres-cluster start printed no URL: \(output)")
        }
        return server
    }

    /// SIGINT and SIGTERM stop the cluster, then end the process (130 or 143). Dispatch sources, not a C handler:
    /// stopping runs the script and waits, which a signal handler may not do.
    nonisolated(unsafe) static var signalSources: [any DispatchSourceSignal] = []

    /// Run by the signal sources before the cluster stops (`serve-cluster` kills its `muster serve` children).
    nonisolated(unsafe) static var beforeSignalExit: (() -> Void)?

    static func installSignalHandlers() {
        guard signalSources.isEmpty else { return }
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                FileHandle.standardError.write(Data("postgres: signal \(sig), stopping the throw-away cluster\n".utf8))
                BenchPostgres.beforeSignalExit?()
                BenchPostgres.current?.stop()
                exit(128 + sig)
            }
            source.resume()
            signalSources.append(source)
        }
    }

    @discardableResult
    static func runScript(_ arguments: [String]) -> String {
        (try? capture([clusterScript] + arguments, environment: ProcessInfo.processInfo.environment, keepOutput: false)) ?? ""
    }

    /// Runs `command` with posix_spawn and waitpid, its output to a file. Not Foundation's Process: on Linux it
    /// notices a child's exit through a descriptor the child inherits, and the server that `start` leaves
    /// running would inherit it too, so the wait would never end.
    private static func capture(_ command: [String], environment: [String: String], keepOutput: Bool = true) throws -> String {
        let outPath = keepOutput ? (NSTemporaryDirectory() as NSString).appendingPathComponent("muster-bench-pg-\(UUID().uuidString).out") : "/dev/null"
        defer { if keepOutput { try? FileManager.default.removeItem(atPath: outPath) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = command.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, envp)
        guard spawned == 0 else { throw Failure("cannot run \(command[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let exited = (status & 0x7f) == 0, code = (status >> 8) & 0xff
        guard exited && code == 0 else { throw Failure("\(command.joined(separator: " ")) failed (status \(status)): \(text)") }
        return text
    }

    /// The server's `fsync` and `synchronous_commit` settings, for the output lines.
    static func settings(_ url: String) -> String {
        guard let connection = try? RawConnection(url: url) else { return "?" }
        let fsync = (try? connection.value("SHOW fsync")) ?? "?"
        let commit = (try? connection.value("SHOW synchronous_commit")) ?? "?"
        let version = (try? connection.value("SHOW server_version")) ?? "?"
        return "PostgreSQL \(version.split(separator: " ").first.map(String.init) ?? version), fsync = \(fsync), synchronous_commit = \(commit)"
    }
}

/// One libpq connection for the raw baselines: plain statements and one prepared INSERT.
final class RawConnection: @unchecked Sendable {  // used by one thread at a time
    private let raw: OpaquePointer

    init(url: String) throws {
        guard let connection = PQconnectdb(url) else { throw BenchPostgres.Failure("libpq: out of memory") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(connection))
            PQfinish(connection)
            throw BenchPostgres.Failure("cannot connect: \(message)")
        }
        raw = connection
        try execute("SET synchronous_commit = on")
        try execute("SET client_min_messages = warning")
    }

    deinit { PQfinish(raw) }

    private func check(_ result: OpaquePointer?) throws {
        let status = result.map { PQresultStatus($0) } ?? PGRES_FATAL_ERROR
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            throw BenchPostgres.Failure(String(cString: PQerrorMessage(raw)).trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    func execute(_ sql: String) throws {
        let result = PQexec(raw, sql)
        defer { PQclear(result) }
        try check(result)
    }

    func value(_ sql: String) throws -> String? {
        let result = PQexec(raw, sql)
        defer { PQclear(result) }
        try check(result)
        guard PQntuples(result) > 0, PQgetisnull(result, 0, 0) == 0 else { return nil }
        return String(cString: PQgetvalue(result, 0, 0))
    }

    func prepare(_ name: String, _ sql: String) throws {
        let result = PQprepare(raw, name, sql, 0, nil)
        defer { PQclear(result) }
        try check(result)
    }

    /// Runs the prepared statement `name` with text parameters (nil: NULL).
    func run(_ name: String, _ parameters: [String?]) throws {
        let copies = parameters.map { $0.map { strdup($0) } ?? nil }
        defer { for c in copies { free(c) } }
        let pointers = copies.map { UnsafePointer<CChar>($0) }
        let result = pointers.withUnsafeBufferPointer { PQexecPrepared(raw, name, Int32(parameters.count), $0.baseAddress, nil, nil, 0) }
        defer { PQclear(result) }
        try check(result)
    }

    /// Runs `sql` and hands the whole result (text format, as Muster's connection reads it) to `body`.
    func query(_ sql: String, _ body: (OpaquePointer) -> Void) throws {
        guard let result = PQexec(raw, sql) else { throw BenchPostgres.Failure("libpq: out of memory") }
        defer { PQclear(result) }
        try check(result)
        body(result)
    }
}
