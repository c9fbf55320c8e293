import Foundation
import MusterJournal
import MusterTestSupport
import Testing

/// The real `muster` binary on PostgreSQL (a throw-away cluster on 127.0.0.1, `TestPostgres`): what a team
/// moving to PostgreSQL meets, and what must hold between processes.
/// Serialized: each test waits on processes for seconds, holding a thread of the test process while it does.
@Suite("muster on PostgreSQL (the real binary)", .serialized, .ownThreads)
struct PostgresCLITests {
    /// A harness whose journal is a fresh PostgreSQL schema (for every command it runs).
    static func harness() throws -> (IncidentCLIHarness, [String: String]) {
        let cli = try IncidentCLIHarness()
        let env = try TestDatabase.environment(home: cli.home, backend: .postgresql)
        return (cli, env)
    }

    static let now = "2026-03-06T17:40:00Z"

    @Test("an unreachable server, a refused login and a newer journal format each get one line and exit 2; the password never shows")
    func badDatabases() throws {
        let (cli, env) = try Self.harness()
        defer { cli.remove() }
        let server = try TestPostgres.server()
        let port = try TestPostgres.freePort()
        let cases: [(String, String)] = [
            ("postgres://muster:s3cret-unreachable@127.0.0.1:\(port)/postgres", "cannot open"),
            ("postgres://muster:s3cret-wrong@127.0.0.1:\(server.port)/postgres", "password authentication failed"),
        ]
        for (url, expected) in cases {
            for arguments in [["incident", "list"], ["db", "status"], ["incident", "declare", "ransomware-file-servers", "--title", "t"]] {
                let result = try cli.run(arguments, user: "Dana", env: ["MUSTER_DATABASE_URL": url])
                #expect(result.status == 2, "\(arguments) \(result.stderr)")
                #expect(result.stderr.contains(expected), "\(result.stderr)")
                #expect(!(result.stdout + result.stderr).contains("s3cret"), "\(result.stderr)")
                #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            }
        }
        // --database wins over the environment, and is refused the same way.
        let option = try cli.run(["--database", cases[1].0, "db", "status"], env: env)
        #expect(option.status == 2 && !option.stderr.contains("s3cret"), "\(option.stderr)")
        // A journal of a newer format is refused and left as it was.
        #expect(try cli.run(["db", "init"], env: env).status == 0)
        let schema = try TestPostgres.schema(forHome: cli.home)
        #expect(try TestPostgres.psql("UPDATE meta SET value = '99' WHERE key = 'format_version'", schema: schema).status == 0)
        let newer = try cli.run(["incident", "declare", "ransomware-file-servers", "--title", "t"], user: "Dana", env: env)
        #expect(newer.status == 2)
        #expect(newer.stderr.contains("newer than this muster supports"), "\(newer.stderr)")
        #expect(try TestPostgres.psql("SELECT count(*) FROM runs", schema: schema).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }

    @Test("db copy moves incidents, exercises, outbox items, users, people and improvement actions both ways; copies verify and reports match byte for byte")
    func copyBothWays() throws {
        let (cli, pg) = try Self.harness()
        defer { cli.remove() }
        func run(_ arguments: [String], user: String? = "Dana", env: [String: String]) throws -> IncidentCLIHarness.Result {
            let result = try cli.run(arguments, user: user, now: Self.now, env: env)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            return result
        }
        // A journal on PostgreSQL with a bit of everything.
        let id = try run(["incident", "declare", "ransomware-file-servers", "--title", "Finance shares"], env: pg).lines.first ?? ""
        try run(["incident", "assign", "it_ops", "Lee", "--run", id], env: pg)
        try run(["incident", "note", "backups located", "--run", id], env: pg)
        try run(["incident", "lesson", "Backups took too long to find", "--kind", "improvement", "--run", id], env: pg)
        try run(["users", "add", "Lee"], env: pg)
        try run(["people", "add", "Lee", "--email", "lee@example.org", "--phone", "+447700900102", "--group", "crisis-team"], env: pg)
        try run(["people", "add", "Dana", "--deputy", "lee", "--site", "HQ"], env: pg)
        let lesson = try #require(try run(["lessons", "list"], env: pg).lines.compactMap { $0.split(separator: " ").first.map(String.init) }.first { $0.hasPrefix("r-") })
        try run(["actions", "add", "--lesson", lesson, "--title", "Index the backups", "--owner", "Lee", "--org", "IT", "--due", "2027-01-31",
                 "--element", "planning"], user: "Lee", env: pg)
        try run(["exercise", "run", "exercises/ransomware-tabletop.yaml", "--speed", "max", "--no-hotwash"], env: pg)
        let source = try #require(pg["MUSTER_DATABASE_URL"])

        // PostgreSQL to an SQLite file (an auditor's archive), then that file to a fresh PostgreSQL schema.
        let sqliteHome = cli.folder + "/archive"
        let sqlite = ["MUSTER_HOME": sqliteHome, "MUSTER_DATABASE_URL": ""]
        let down = try run(["db", "copy", "--from", source, "--to", sqliteHome + "/muster.db"], env: sqlite)
        #expect(down.stdout.contains("2 runs"), "\(down.stdout)")
        #expect(down.stdout.contains("verified"), "\(down.stdout)")
        #expect(down.stdout.contains("1 users, 2 people"), "\(down.stdout)")
        #expect(!down.stdout.contains(try TestPostgres.server().password))
        let back = try TestDatabase.environment(home: cli.folder + "/back", backend: .postgresql)
        let backURL = try #require(back["MUSTER_DATABASE_URL"])
        try run(["db", "copy", "--from", sqliteHome + "/muster.db", "--to", backURL], env: back)

        for env in [pg, sqlite, back] {
            #expect(try run(["verify", "--all"], env: env).stdout.contains("intact"))
        }
        // The same report from each, byte for byte, for the incident and for the exercise.
        for run in [id, "x-ransomware-tabletop-2026q4-1"] {
            var reports: [String] = []
            for (index, env) in [pg, sqlite, back].enumerated() {
                let file = cli.folder + "/report-\(run)-\(index).html"
                _ = try cli.run(["report", run, "-o", file], now: Self.now, env: env)
                reports.append(try String(contentsOfFile: file, encoding: .utf8))
            }
            #expect(reports[0] == reports[1] && reports[1] == reports[2], "\(run): the reports differ")
        }
        let actions = try [pg, sqlite, back].map { try run(["actions", "list", "--format", "json"], env: $0).stdout }
        #expect(actions[0] == actions[1] && actions[1] == actions[2])
        #expect(actions[0].contains("Index the backups"))
        let people = try [pg, sqlite, back].map { try run(["people", "export", "--format", "json"], env: $0).stdout }
        #expect(people[0] == people[1] && people[1] == people[2])
        #expect(people[0].contains("+447700900102"))
        // A copy into a journal that already holds runs is refused; --resume continues (nothing left to copy).
        let again = try cli.run(["db", "copy", "--from", source, "--to", sqliteHome + "/muster.db"], env: sqlite)
        #expect(again.status == 2 && again.stderr.contains("not empty"), "\(again.stderr)")
        let resumed = try run(["db", "copy", "--from", source, "--to", sqliteHome + "/muster.db", "--resume"], env: sqlite)
        #expect(resumed.stdout.contains("2 runs were already there"), "\(resumed.stdout)")
    }

    @Test("8 writer processes on 4 runs for a bounded time: no gap, no duplicate, every chain verifies, every acknowledged note is there")
    func eightWriters() throws {
        let (cli, pg) = try Self.harness()
        defer { cli.remove() }
        var runs: [String] = []
        for index in 0..<4 {
            let declared = try cli.run(["incident", "declare", "ransomware-file-servers", "--title", "run \(index)"], user: "Dana", env: pg)
            #expect(declared.status == 0, "\(declared.stderr)")
            runs.append(declared.lines.first ?? "")
        }
        // Two shell loops per run, each adding notes until its count or its deadline (20 s), printing each
        // note the command acknowledged.
        let muster = try cli.muster()
        var writers: [Spawned] = []
        for (index, run) in (runs + runs).enumerated() {
            let script = """
                end=$((SECONDS + 20)); i=0
                while [ $i -lt 12 ] && [ $SECONDS -lt $end ]; do
                  i=$((i + 1))
                  "$MUSTER" incident note "w\(index) n$i" --run \(run) >/dev/null 2>>\(cli.folder)/errors-\(index) && echo "w\(index) n$i"
                done
                """
            var env = cli.baseEnvironment.merging(pg) { $1 }
            env["MUSTER"] = muster
            env["MUSTER_USER"] = "Dana"
            writers.append(try cli.spawn("/bin/bash", ["-c", script], env: env, name: "writer-\(index)"))
        }
        var acknowledged: Set<String> = []
        for writer in writers {
            _ = writer.wait(timeout: 90)
            acknowledged.formUnion(writer.stdout.split(separator: "\n").map(String.init))
        }
        #expect(acknowledged.count >= 8 * 6, "too few notes went through: \(acknowledged.count)")
        let verified = try cli.run(["verify", "--all"], env: pg)
        #expect(verified.status == 0, "\(verified.stdout) \(verified.stderr)")
        let schema = try TestPostgres.schema(forHome: cli.home)
        let gaps = try TestPostgres.psql("""
            SELECT count(*) FROM (SELECT run_id, count(*) AS n, max(seq) AS top, count(DISTINCT seq) AS d FROM events GROUP BY run_id) s
            WHERE n <> top OR d <> n
            """, schema: schema)
        #expect(gaps.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "\(gaps.stdout) \(gaps.stderr)")
        let notes = try TestPostgres.psql("SELECT payload FROM events WHERE type = 'note-added'", schema: schema).stdout
        for note in acknowledged { #expect(notes.contains("\"\(note)\""), "acknowledged but missing: \(note)") }
        #expect(notes.split(separator: "\n").count == acknowledged.count)
    }

    @Test("writers killed with SIGKILL mid-transaction lose nothing they acknowledged and leave nothing partial")
    func killedWriters() throws {
        let (cli, pg) = try Self.harness()
        defer { cli.remove() }
        let declared = try cli.run(["incident", "declare", "ransomware-file-servers", "--title", "kill"], user: "Dana", env: pg)
        let run = declared.lines.first ?? ""
        let muster = try cli.muster()
        var writers: [Spawned] = []
        for index in 0..<4 {
            let script = """
                i=0
                while [ $i -lt 200 ]; do
                  i=$((i + 1))
                  "$MUSTER" incident note "k\(index) n$i" --run \(run) >/dev/null 2>&1 && echo "k\(index) n$i"
                done
                """
            var env = cli.baseEnvironment.merging(pg) { $1 }
            env["MUSTER"] = muster
            env["MUSTER_USER"] = "Dana"
            writers.append(try cli.spawn("/usr/bin/setsid", ["/bin/bash", "-c", script], env: env, name: "killed-\(index)"))
        }
        // Let them write for a while, then kill each whole process group (bash and the muster it is running).
        Thread.sleep(forTimeInterval: 3)
        for writer in writers { kill(-writer.process.processIdentifier, SIGKILL) }
        var acknowledged: Set<String> = []
        for writer in writers {
            _ = writer.wait(timeout: 30)
            acknowledged.formUnion(writer.stdout.split(separator: "\n").map(String.init))
        }
        #expect(!acknowledged.isEmpty)
        let verified = try cli.run(["verify", "--all"], env: pg)
        #expect(verified.status == 0, "\(verified.stdout) \(verified.stderr)")
        let schema = try TestPostgres.schema(forHome: cli.home)
        let notes = try TestPostgres.psql("SELECT payload FROM events WHERE type = 'note-added'", schema: schema).stdout
        for note in acknowledged { #expect(notes.contains("\"\(note)\""), "acknowledged but missing: \(note)") }
        // A note may have committed without its acknowledgement being printed (killed in between), never the reverse.
        #expect(notes.split(separator: "\n").count >= acknowledged.count)
        // The run still takes commands.
        #expect(try cli.run(["incident", "note", "after the kill", "--run", run], user: "Dana", env: pg).status == 0)
    }

    @Test("db init from several processes at once on an empty database: all succeed, the schema is made once")
    func concurrentInit() throws {
        let (cli, pg) = try Self.harness()
        defer { cli.remove() }
        let muster = try cli.muster()
        var env = cli.baseEnvironment.merging(pg) { $1 }
        env["MUSTER_USER"] = "Dana"
        let inits = try (0..<4).map { try cli.spawn(muster, ["db", "init"], env: env, name: "init-\($0)") }
        for process in inits {
            #expect(process.wait(timeout: 60))
            #expect(process.process.terminationStatus == 0, "\(process.stderr)")
        }
        let status = try cli.run(["db", "status"], env: pg)
        #expect(status.stdout.contains("backend:            postgresql"), "\(status.stdout)")
        #expect(status.stdout.contains("format version:     \(Journal.formatVersion)"))
    }
}
