import CLibPQBench
import Foundation
import MusterCore
import MusterJournal
import MusterRuntime
import MusterServer

#if canImport(Glibc)
import Glibc
#endif

/// `muster-bench serve-cluster` (issue 16): the `serve` workload against real `muster serve` processes, in one
/// invocation, side by side:
///   (a) one server on SQLite (the baseline),
///   (b) one server on PostgreSQL,
///   (c) two servers on the same PostgreSQL schema, the clients split between them.
///
/// Every case has the same clients: two wrk processes (`-t1`, half the connections each) posting task completions
/// and raises of `again` to ONE run (ServeBench's workload: each wrk process is a "thread" of its tasks, with a
/// unique note per completion and an `Idempotency-Key` per command). In (a) and (b) both wrk processes talk to the
/// one server; in (c) each talks to its own server, so the run's chain is contended across servers: a server that
/// lost the race reloads the run and decides its batch again.
///
/// Checks, after both servers have stopped, reading the journal with `Journal.open`: every command answered 2xx
/// is in the journal (lost: 0), no completion is journaled twice and no answer names a completion twice
/// (duplicated: 0), raises of `again` journaled are at least those acknowledged; the chain verifies. The process
/// exits non-zero otherwise.
///
/// Conflict retries: the server counts none and its answers do not say how many attempts a command took, so on
/// PostgreSQL they are read from the database: each lost race is one rolled-back append transaction
/// (`pg_stat_database.xact_rollback` before and after the case; nothing else rolls back in this workload).
/// Commands that ran out of retries would come back non-2xx, counted by status.
///
/// Latency: each wrk process reports its own percentiles; the line shows the slower process's p50 and p99, an upper
/// bound of the percentile over all clients.
enum ServeClusterBench {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Seconds per case and connections per case (split over the two wrk processes); `serve-cluster [SECONDS]
    /// [CONNECTIONS]` overrides them (a quick check: `serve-cluster 3 20`).
    struct Settings {
        var seconds = 10
        var connections = 100
        /// Tasks per client half: a half completed in one cycle is completed again two cycles later, while at
        /// most `connections / 2` requests of that client are in flight.
        var tasksPerClient = 2_000

        init(_ arguments: [String]) throws {
            if let s = arguments.first {
                guard let value = Int(s), (1...120).contains(value) else { throw Failure("SECONDS must be 1...120, not '\(s)'") }
                seconds = value
            }
            if arguments.count > 1 {
                guard let value = Int(arguments[1]), (2...400).contains(value), value % 2 == 0 else {
                    throw Failure("CONNECTIONS must be an even number in 2...400, not '\(arguments[1])'")
                }
                connections = value
            }
        }
    }

    /// What one case measured.
    struct Outcome {
        var name: String
        var rate = 0.0
        var p50 = 0.0, p99 = 0.0  // microseconds, the slower wrk process's
        var ok = 0, conflicts409 = 0, server5xx = 0, other = 0
        var socketErrors: [String] = []
        var acknowledged = 0, journaled = 0, late = 0
        var lost = 0, duplicated = 0
        var unanswered = 0  // the bound of `late`: connections + wrk's socket errors
        var intact = false
        var database: PostgresCounters?  // PostgreSQL only: what the database did during the case
        var rollbacks: Int? { database?.rollbacks }  // lost races (see the type's comment)
        var failureSample: String?  // the body of the first non-2xx answer
        var stoppedCleanly = true
        var clean: Bool { lost == 0 && duplicated == 0 && intact }
    }

    static let started = Date()
    static func progress(_ line: String) {
        FileHandle.standardError.write(Data("[serve-cluster \(MusterBench.format(Date().timeIntervalSince(started), 1))s] \(line)\n".utf8))
    }

    /// The `muster` executable the servers run: `$MUSTER_BENCH_MUSTER`, else the release build of this package
    /// (`swift build -c release --product muster` in Benchmarks/), else that of the repository.
    static var musterBinary: String? {
        if let path = ProcessInfo.processInfo.environment["MUSTER_BENCH_MUSTER"], !path.isEmpty { return path }
        let benchmarks = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for relative in [".build/release/muster", "../.build/release/muster"] {
            let path = benchmarks.appendingPathComponent(relative).standardized.path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    static func run(_ arguments: [String]) throws {
        let settings = try Settings(arguments)
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/wrk") else { throw Failure("wrk is not installed (apt-get install -y wrk)") }
        guard let muster = musterBinary else {
            throw Failure("no muster executable: build it (cd Benchmarks && swift build -c release --product muster) or set MUSTER_BENCH_MUSTER")
        }
        progress("servers run \(muster)")
        let postgres = try BenchPostgres.start()
        defer { postgres.stop() }
        progress(BenchPostgres.settings(postgres.url))
        let fsyncs = fsyncRate()
        progress("the disk: \(Int(fsyncs)) fdatasyncs/s")

        let a = try measure("(a) 1 server, SQLite", servers: 1, settings: settings, muster: muster, postgres: nil) { .sqlite(path: $0 + "/muster.db") }
        let b = try measure("(b) 1 server, PostgreSQL", servers: 1, settings: settings, muster: muster, postgres: postgres) { _ in
            .postgres(url: try postgres.freshSchema("cluster1"))
        }
        let c = try measure("(c) 2 servers, one PostgreSQL", servers: 2, settings: settings, muster: muster, postgres: postgres) { _ in
            .postgres(url: try postgres.freshSchema("cluster2"))
        }

        let half = settings.connections / 2
        print("serve-cluster: real `muster serve` processes on 127.0.0.1, 1 live run, 2 wrk processes x -t1 -c\(half) -d\(settings.seconds)s posting task-done and raise commands to the same run, each with a unique note and an Idempotency-Key (journal durable: SQLite synchronous = FULL, PostgreSQL synchronous_commit = on)")
        for o in [a, b, c] { report(o) }
        let ratioC = c.rate / a.rate, ratioB = b.rate / a.rate
        print("  ratios against (a) SQLite \(Int(a.rate)) commands/s (baseline, same clients, same run): (b) \(MusterBench.format(ratioB, 2))x, (c) \(MusterBench.format(ratioC, 2))x")
        let met = ratioC >= 0.5 && c.p99 < 100_000
        print("  target (c) >= 0.5 x (a) and p99 < 100 ms: \(met ? "met" : "NOT met") ((c) = \(MusterBench.format(ratioC, 2))x, p99 \(ServeBench.ms(c.p99)) ms)")
        print("  what limits it:")
        for line in limits(a: a, b: b, c: c, fsyncs: fsyncs) { print("    - \(line)") }
        let clean = [a, b, c].allSatisfy(\.clean)
        print("  lost and duplicated commands: \(clean ? "none in any case" : "CHECK FAILED in " + [a, b, c].filter { !$0.clean }.map(\.name).joined(separator: ", "))")
        fflush(nil)
        if !clean { throw Failure("lost or duplicated commands, or a chain that does not verify (see above)") }
    }

    /// The case's lines.
    static func report(_ o: Outcome) {
        var database = "conflict retries: none possible (one process, whose writer serializes the run's commands)"
        if let d = o.database {
            let per100 = { (n: Int) in o.ok > 0 ? MusterBench.format(Double(n) * 100 / Double(o.ok), 1) : "-" }
            database = "\(d.rollbacks) rolled-back transactions (pg_stat_database: a command that could not be written rolls back; commands decided under the run's lock lose no race); per 100 acknowledged commands: \(per100(d.commits)) committed transactions (reads included), \(per100(d.walSyncs)) WAL syncs (counted over the whole case: start-up and stop included)"
        }
        print("  \(o.name): \(Int(o.rate)) commands/s (answered 2xx), p50 \(ServeBench.ms(o.p50)) ms, p99 \(ServeBench.ms(o.p99)) ms; \(o.ok) 2xx, \(o.conflicts409) 409, \(o.server5xx) 5xx, \(o.other) other")
        print("      \(database)")
        if let sample = o.failureSample { print("      first non-2xx answer: \(sample.replacingOccurrences(of: "\n", with: " "))") }
        print("      journal: \(o.acknowledged) acknowledged commands, \(o.journaled) journaled (\(o.late) journaled without an answer wrk read: in flight at its end or lost to a socket error, at most \(o.unanswered)); lost \(o.lost), duplicated \(o.duplicated); chain verifies: \(o.intact)\(o.stoppedCleanly ? "" : "; a server did not stop within 15 s (killed)")\(o.socketErrors.isEmpty ? "" : "; wrk socket errors: " + o.socketErrors.joined(separator: " / "))")
    }

    /// What bounds the figures, from what was measured.
    static func limits(a: Outcome, b: Outcome, c: Outcome, fsyncs: Double) -> [String] {
        var lines: [String] = []
        let f = { (x: Double) in MusterBench.format(x, 1) }
        lines.append("fsync rate: this disk does \(Int(fsyncs)) fdatasyncs/s (4 KiB, one writer, measured before the cases); (a) acknowledged \(Int(a.rate)) commands/s, so a commit carried \(f(a.rate / max(fsyncs, 1))) or more commands: the writer group-commits the commands waiting for a run, one fsync per batch, and the disk alone would bound one-command batches to \(Int(fsyncs))/s")
        if let d = b.database, b.ok > 0 {
            lines.append("round trips: (b) committed \(f(Double(d.commits) / Double(b.ok))) transactions per acknowledged command (appends and the reads around them), each append being BEGIN, lock the run's row, read the head, INSERT, COMMIT over the socket; (b)/(a) = \(MusterBench.format(b.rate / a.rate, 2))x is what those round trips and PostgreSQL's CPU on the same 2 cores cost against SQLite's in-process fsync")
        }
        if let d = c.database, c.ok > 0 {
            lines.append("one run's chain as a serial resource: in (c) both servers append to the same run; each batch is decided under the run's row lock, in the append's transaction, so a server waits for the other's commit and then decides on what it recorded (no lost races: \(d.rollbacks) rolled-back appends, \(c.server5xx) 5xx). The waits are the p99: two group-commit pipelines take turns at one lock. Two servers split one run's batches instead of adding throughput: more runs, or one server per run, would scale")
        }
        lines.append("all of it on 2 cores shared by the servers, PostgreSQL, the two wrk processes (and, here, whatever else the machine ran)")
        return lines
    }

    // MARK: - One case

    static func measure(_ name: String, servers count: Int, settings: Settings, muster: String, postgres: BenchPostgres.Server?,
                        location makeLocation: (String) throws -> JournalLocation) throws -> Outcome {
        var outcome = Outcome(name: name)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("muster-serve-cluster-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let location = try makeLocation(scratch.path)

        // A fresh journal with two users and one run, written before any server opens it.
        progress("\(name): declaring a run of a playbook with \(2 * settings.tasksPerClient) tasks")
        let playbookPath = scratch.appendingPathComponent("load.yaml").path
        // The `serve` bench's playbook: tasks `t1-*` and `t2-*`, one set per wrk process (it also runs two).
        try ServeBench.playbook(tasks: settings.tasksPerClient * ServeBench.wrkThreads).write(toFile: playbookPath, atomically: true, encoding: .utf8)
        let runID: String
        let token = Tokens.make()
        do {
            let journal = try Journal.open(location)
            let runtime = IncidentRuntime(journal: journal)
            try journal.addUser(name: "Dana", tokenSHA256: Tokens.sha256(Tokens.make()), admin: true, at: runtime.clock.now)
            try journal.addUser(name: "Lee", tokenSHA256: Tokens.sha256(token), admin: false, at: runtime.clock.now)
            runID = try runtime.declare(DeclareRequest(playbookPath: playbookPath, title: "Load test", actor: "Dana")).runID
            _ = try runtime.execute(Command(actor: "Dana", .assign(role: "ops", person: "Lee")), on: runID)
            try journal.close()
        }

        let countersBefore = try postgres.map { try PostgresCounters.read($0) }
        var servers: [ServerProcess] = []
        defer { for s in servers { _ = s.stop(seconds: 15) } }
        for i in 0..<count {
            let port = try Nginx.freePort()
            let database: String
            switch location {
            case .sqlite(let path): database = path
            case .postgres(let url): database = url
            }
            progress("\(name): starting muster serve #\(i + 1) on 127.0.0.1:\(port)")
            let server = try ServerProcess(binary: muster, arguments: [
                "serve", "--database", database, "--host", "127.0.0.1", "--port", String(port),
                "--playbooks", scratch.path, "--exercises", scratch.path,
            ], home: scratch.path, log: scratch.appendingPathComponent("server-\(i + 1).log").path, port: port)
            servers.append(server)
            try ServeBench.waitUntil(seconds: 20, "muster serve #\(i + 1) listens on 127.0.0.1:\(port)") {
                guard server.isRunning else { throw Failure("muster serve #\(i + 1) exited: \(server.logTail)") }
                return Nginx.accepts(port: port)
            }
        }

        // Two wrk processes, one per client half; in (c) each on its own server.
        let acksDir = scratch.appendingPathComponent("acks")
        try FileManager.default.createDirectory(at: acksDir, withIntermediateDirectories: true)
        let half = settings.connections / 2
        let keyPrefix = UInt32.random(in: 0...0x7fff_ffff)
        progress("\(name): load, 2 x wrk -t1 -c\(half) -d\(settings.seconds)s POST /api/runs/\(runID)/commands")
        let clients = try (1...2).map { client in
            try Wrk.start(url: "http://127.0.0.1:\(servers[(client - 1) % servers.count].port)/api/runs/\(runID)/commands",
                          script: script(client: client, token: token, acks: acksDir.path + "/client-\(client)", keyPrefix: keyPrefix,
                                         tasksPerClient: settings.tasksPerClient),
                          connections: half, seconds: settings.seconds, scratch: scratch)
        }
        let results = try clients.map { try $0.finish() }
        outcome.rate = results.map(\.rate).reduce(0, +)
        outcome.p50 = results.map(\.p50).max()!
        outcome.p99 = results.map(\.p99).max()!
        outcome.ok = results.map(\.ok).reduce(0, +)
        outcome.conflicts409 = results.map(\.status409).reduce(0, +)
        outcome.server5xx = results.map(\.status5xx).reduce(0, +)
        outcome.other = results.map(\.other).reduce(0, +)
        outcome.socketErrors = results.compactMap(\.socketErrors)
        outcome.unanswered = settings.connections + results.map(\.unreadAnswers).reduce(0, +)  // journaled without an answer wrk read, at most
        progress("\(name): \(Int(outcome.rate)) commands/s; letting the servers finish what is in flight, then stopping them")

        // The servers finish the requests in flight at wrk's end (it does not read their answers): a bounded pause,
        // then SIGTERM (graceful: in-flight requests finish) and a bounded wait.
        Thread.sleep(forTimeInterval: 1)
        for s in servers { outcome.stoppedCleanly = s.stop(seconds: 15) && outcome.stoppedCleanly }
        servers.removeAll()
        if let postgres, let before = countersBefore {
            outcome.database = try PostgresCounters.read(postgres) - before
        }
        outcome.failureSample = (1...2).lazy.compactMap { try? String(contentsOfFile: acksDir.path + "/client-\($0).failed", encoding: .utf8) }
            .first.map { String($0.prefix(300)) }

        // Checks, on the journal as both servers left it.
        var acknowledged: [String] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: acksDir.path) where !file.hasSuffix(".failed") {
            acknowledged += try String(contentsOfFile: acksDir.path + "/" + file, encoding: .utf8).split(separator: "\n").map(String.init)
        }
        let journal = try Journal.open(location, create: false)
        defer { try? journal.close() }
        var completed: [String: Int] = [:]
        var raised = 0
        for e in try journal.events(runID: runID) {
            switch e.body {
            case .taskCompleted(_, let note?) where note.hasPrefix("wrk:"): completed[note, default: 0] += 1
            case .eventRaised("again"): raised += 1
            default: break
            }
        }
        let ackedRaises = acknowledged.filter { $0 == "again" }.count
        acknowledged.removeAll { $0 == "again" }
        let ackSet = Set(acknowledged)
        outcome.acknowledged = acknowledged.count + ackedRaises
        outcome.journaled = completed.values.reduce(0, +) + raised
        outcome.lost = ackSet.filter { completed[$0] == nil }.count + max(0, ackedRaises - raised)
        outcome.duplicated = completed.values.filter { $0 > 1 }.count + (acknowledged.count - ackSet.count)
        outcome.late = completed.keys.filter { !ackSet.contains($0) }.count + max(0, raised - ackedRaises)
        // A raise has no note; more raises journaled than sent at most (acknowledged + in flight) would be a duplicate.
        if outcome.late > outcome.unanswered { outcome.duplicated += outcome.late - outcome.unanswered }
        outcome.intact = try journal.verify(runID: runID).isIntact
        return outcome
    }

    /// The benchmark database's transaction counts and the cluster's WAL syncs so far (the servers' backends flush
    /// their counts as they exit, which they have when the second reading is taken; the WAL writer's syncs may lag
    /// by up to a second). On a database of `MUSTER_BENCH_POSTGRES_URL` others' work counts too.
    struct PostgresCounters {
        var commits = 0, rollbacks = 0, walSyncs = 0

        static func read(_ postgres: BenchPostgres.Server) throws -> PostgresCounters {
            let connection = try RawConnection(url: postgres.url)
            var counters = PostgresCounters()
            try connection.query("""
                SELECT xact_commit, xact_rollback, (SELECT wal_sync FROM pg_stat_wal)
                FROM pg_stat_database WHERE datname = current_database()
                """) { result in
                guard PQntuples(result) == 1 else { return }
                func int(_ column: Int32) -> Int { Int(String(cString: PQgetvalue(result, 0, column))) ?? 0 }
                counters = PostgresCounters(commits: int(0), rollbacks: int(1), walSyncs: int(2))
            }
            return counters
        }

        static func - (a: PostgresCounters, b: PostgresCounters) -> PostgresCounters {
            PostgresCounters(commits: a.commits - b.commits, rollbacks: a.rollbacks - b.rollbacks, walSyncs: a.walSyncs - b.walSyncs)
        }
    }

    /// What the disk under the scratch folder allows: 4 KiB overwrites, each followed by `fdatasync`, for
    /// `seconds`; syncs per second.
    static func fsyncRate(seconds: Double = 0.5) -> Double {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("muster-fsync-\(UUID().uuidString)").path
        let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o600)
        guard fd >= 0 else { return 0 }
        defer { close(fd); unlink(path) }
        let block = [UInt8](repeating: 42, count: 4096)
        let start = MusterBench.wallMS()
        var count = 0
        while MusterBench.wallMS() - start < seconds * 1000 {
            _ = block.withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, 0) }
            fdatasync(fd)
            count += 1
        }
        return Double(count) / ((MusterBench.wallMS() - start) / 1000)
    }

    // MARK: - Clients

    /// ServeBench's workload for one client (`t<client>-<i>` tasks, a raise of `again` before each half, a unique
    /// note `wrk:<client>:<n>` per completion), with an `Idempotency-Key` per command and answers counted by status.
    static func script(client: Int, token: String, acks: String, keyPrefix: UInt32, tasksPerClient: Int) -> String {
        """
        local threads = {}
        function setup(thread)
          thread:set("id", \(client))
          table.insert(threads, thread)
        end
        function done(summary, latency, requests)
          local ok, c409, c5xx, other = 0, 0, 0, 0
          for _, t in ipairs(threads) do
            ok = ok + t:get("ok"); c409 = c409 + t:get("c409"); c5xx = c5xx + t:get("c5xx"); other = other + t:get("other")
          end
          io.write(string.format("muster-2xx: %d\\nmuster-409: %d\\nmuster-5xx: %d\\nmuster-other: %d\\n", ok, c409, c5xx, other))
          io.write(string.format("muster-p50-us: %d\\nmuster-p99-us: %d\\n", latency:percentile(50), latency:percentile(99)))
        end

        ok, c409, c5xx, other, n = 0, 0, 0, 0, 0
        local acks
        function init(args)
          acks = io.open("\(acks)", "w")
        end
        function request()
          n = n + 1
          local half = \(tasksPerClient / 2)
          local cycle = math.floor((n - 1) / (half + 1))
          local pos = (n - 1) % (half + 1)
          local body
          if pos == 0 then
            body = '{"type":"event","name":"again"}'
          else
            local i = (cycle % 2) * half + pos
            body = '{"type":"task-done","task":"t' .. id .. '-' .. i .. '","note":"wrk:' .. id .. ':' .. n .. '"}'
          end
          local key = string.format("%08x-%04x-4000-8000-%012x", \(keyPrefix), id, n)
          return wrk.format("POST", nil, {["Authorization"] = "Bearer \(token)", ["Content-Type"] = "application/json",
                                          ["Idempotency-Key"] = key}, body)
        end
        function response(status, headers, body)
          if status >= 200 and status < 300 then
            ok = ok + 1
            local key = string.match(body, 'wrk:%d+:%d+') or (string.find(body, '"event-raised"', 1, true) and "again")
            if key then acks:write(key .. "\\n"); acks:flush() end
          else
            if status == 409 then c409 = c409 + 1 elseif status >= 500 then c5xx = c5xx + 1 else other = other + 1 end
            if c409 + c5xx + other == 1 then
              local f = io.open("\(acks).failed", "w")
              f:write(status .. " " .. body); f:close()
            end
          end
        end
        """
    }

    /// A wrk child process (output to a file), started now and read by `finish`.
    struct Wrk {
        let process: Process
        let output: URL
        let seconds: Int

        struct Result {
            var rate: Double  // commands answered 2xx per second
            var p50: Double, p99: Double
            var ok: Int, status409: Int, status5xx: Int, other: Int
            var socketErrors: String?
            /// Requests whose answer wrk did not read ("Socket errors: connect 0, read 0, write 0, timeout 0": every
            /// kind counted, to be safe): the server may still have journaled them.
            var unreadAnswers: Int {
                guard let socketErrors else { return 0 }
                return socketErrors.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }.reduce(0, +)
            }
        }

        static func start(url: String, script: String, connections: Int, seconds: Int, scratch: URL) throws -> Wrk {
            let scriptURL = scratch.appendingPathComponent("wrk-\(UUID().uuidString).lua")
            try script.write(to: scriptURL, atomically: true, encoding: .utf8)
            let outURL = scratch.appendingPathComponent("wrk-\(UUID().uuidString).out")
            _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
            let out = try FileHandle(forWritingTo: outURL)
            defer { try? out.close() }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/wrk")
            process.arguments = ["-t1", "-c\(connections)", "-d\(seconds)s", "--latency", "--timeout", "5s", "-s", scriptURL.path, url]
            process.standardOutput = out
            process.standardError = out
            process.standardInput = FileHandle.nullDevice
            try process.run()
            return Wrk(process: process, output: outURL, seconds: seconds)
        }

        /// Waits (bounded; killed if it overstays) and reads the rate and the Lua summary.
        func finish() throws -> Result {
            let deadline = Date().addingTimeInterval(Double(seconds + 30))
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                throw Failure("wrk did not finish within \(seconds + 30) s; killed")
            }
            process.waitUntilExit()
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            func value(_ prefix: String) -> String? {
                text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.first { $0.hasPrefix(prefix) }
                    .map { String($0.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces) }
            }
            // "N requests in 10.01s, 3.2MB read": the seconds wrk measured over, to turn its 2xx count into a rate.
            let elapsed = text.split(separator: "\n").first { $0.contains(" requests in ") }
                .flatMap { $0.components(separatedBy: " requests in ").last?.split(separator: "s").first }.flatMap { Double($0) }
            guard let elapsed, elapsed > 0, let p50 = value("muster-p50-us:").flatMap(Double.init),
                  let p99 = value("muster-p99-us:").flatMap(Double.init), let ok = value("muster-2xx:").flatMap(Int.init),
                  let c409 = value("muster-409:").flatMap(Int.init), let c5xx = value("muster-5xx:").flatMap(Int.init),
                  let other = value("muster-other:").flatMap(Int.init) else {
                throw Failure("wrk printed no summary (exit \(process.terminationStatus)): \(text)")
            }
            return Result(rate: Double(ok) / elapsed, p50: p50, p99: p99, ok: ok, status409: c409, status5xx: c5xx, other: other, socketErrors: value("Socket errors:"))
        }
    }
}

/// A `muster serve` child process (posix_spawn, output to a log file; not Foundation's Process, which on Linux
/// notices a child's exit through a descriptor its children inherit). Stopped with SIGTERM and a bounded wait,
/// then SIGKILL; SIGINT and SIGTERM to the bench stop it too.
final class ServerProcess: @unchecked Sendable {
    let pid: pid_t
    let port: Int
    let log: String
    private var exited = false
    private let lock = NSLock()

    nonisolated(unsafe) static var running: [ServerProcess] = []
    static let registry = NSLock()

    init(binary: String, arguments: [String], home: String, log: String, port: Int) throws {
        self.port = port
        self.log = log
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var environment = ProcessInfo.processInfo.environment
        environment["MUSTER_HOME"] = home
        environment.removeValue(forKey: "MUSTER_DATABASE_URL")
        let argv = ([binary] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, binary, &actions, nil, argv, envp)
        guard spawned == 0 else { throw ServeClusterBench.Failure("cannot run \(binary): \(String(cString: strerror(spawned)))") }
        self.pid = pid
        Self.registry.lock()
        Self.running.append(self)
        Self.registry.unlock()
        BenchPostgres.beforeSignalExit = { ServerProcess.killAll() }
        BenchPostgres.installSignalHandlers()  // also with MUSTER_BENCH_POSTGRES_URL, where no cluster installed them
    }

    var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        if exited { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { exited = true }
        return !exited
    }

    var logTail: String {
        String(((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").suffix(2_000))
    }

    /// SIGTERM, then waits at most `seconds`; false (and SIGKILL) when it did not exit in time. Safe to call again.
    func stop(seconds: Double) -> Bool {
        guard isRunning else { return true }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(seconds)
        while isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        guard isRunning else { return true }
        kill(pid, SIGKILL)
        lock.lock()
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        exited = true
        lock.unlock()
        return false
    }

    /// From a signal source: every server still running gets SIGKILL.
    static func killAll() {
        registry.lock()
        let all = running
        registry.unlock()
        for s in all where s.isRunning { kill(s.pid, SIGKILL) }
    }
}
