import Foundation
import MusterCore
import MusterJournal
import MusterTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Two real `muster serve` processes on one PostgreSQL journal (a throw-away cluster), real clients on
/// 127.0.0.1, and faults: a server killed with SIGKILL mid-burst, an exercise's driver killed, a server whose
/// clock is ten minutes off. Every loop and wait is bounded.
@Suite("Several muster serve processes on one PostgreSQL: faults", .serialized, .ownThreads)
struct ClusterFaultTests {
    /// Two servers (or more) on one PostgreSQL journal, and the users' tokens.
    struct Cluster {
        let cli: IncidentCLIHarness
        var tokens: [String: String] = [:]

        init(users: [String]) throws {
            cli = try IncidentCLIHarness(backend: .postgresql)
            for name in users {
                let added = try cli.run(["users", "add", name] + (name == "Dana" ? ["--admin"] : []))
                guard added.status == 0 else { throw CLIHarnessError("users add \(name): \(added.stderr)") }
                tokens[name] = added.lines.last ?? ""
            }
        }

        var url: String { cli.baseEnvironment["MUSTER_DATABASE_URL"] ?? "" }
        func journal() throws -> Journal { try Journal.open(.postgres(url: url)) }
        func start(_ name: String, env: [String: String] = [:], launcher: [String] = []) throws -> ServeProcess {
            try ServeProcess.start(cli, name: name, env: env, launcher: launcher)
        }
        func remove() { cli.remove() }
    }

    /// One keyed POST on a connection of its own: the status, or nil when the server could not be reached or
    /// the answer did not come (an ambiguous outcome: the client retries with the same key).
    static func post(_ port: Int, _ token: String, _ path: String, _ body: String, key: String) -> (status: Int, json: [String: Any])? {
        guard let connection = try? RawHTTP(port: port) else { return nil }
        do {
            try connection.send("POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nIdempotency-Key: \(key)\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
            let response = try connection.readResponse()
            return (response.status, (try? JSONSerialization.jsonObject(with: Data(response.body.utf8))) as? [String: Any] ?? [:])
        } catch {
            return nil
        }
    }

    /// A live stream read by `curl -N` into a file until stopped.
    struct Subscriber {
        let process: Spawned
        init(_ cli: IncidentCLIHarness, port: Int, token: String, runID: String, name: String) throws {
            process = try cli.spawn("/usr/bin/curl", ["-s", "-N", "--max-time", "120", "-H", "Authorization: Bearer \(token)",
                                                      "http://127.0.0.1:\(port)/api/runs/\(runID)/stream"], env: ProcessInfo.processInfo.environment, name: name)
        }
        var ids: [Int] { process.stdout.split(separator: "\n").filter { $0.hasPrefix("id: ") }.compactMap { Int($0.dropFirst(4)) } }
        /// Waits (bounded) until the stream has shown `seq`, then stops it.
        func stop(after seq: Int, timeout: TimeInterval = 30) -> [Int] {
            let deadline = Date().addingTimeInterval(timeout)
            while (ids.last ?? 0) < seq, Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
            process.kill(SIGTERM)
            _ = process.wait(timeout: 10)
            return ids
        }
    }

    static func pid(_ server: ServeProcess) -> Int32 { server.server.process.processIdentifier }

    static func leaseHolder(_ journal: Journal, _ name: String) throws -> String? { try journal.liveLease(name)?.holder }

    @Test("40 clients with idempotency keys on two servers, one killed with SIGKILL mid-burst: every acknowledged command once, chains intact, streams complete, the timer fired once by the new lease holder")
    func serverKilledMidBurst() throws {
        let cluster = try Cluster(users: ["Dana", "Lee"])
        defer { cluster.remove() }
        let a = try cluster.start("serve-a")
        defer { a.kill() }
        let b = try cluster.start("serve-b")
        defer { b.kill() }
        let dana = cluster.tokens["Dana"]!
        // Two runs; the identity RTO warning of each falls due about 8 s after its declaration (1h30m after the
        // disruption began), during the burst.
        var runs: [String] = []
        for i in 0..<2 {
            let declared = Self.post(a.port, dana, "/api/runs", #"{"playbook": "ransomware-file-servers", "title": "Burst \#(i)", "disruption_started": "1h29m52s"}"#,
                                     key: "declare-\(i)")
            let id = try #require(declared?.json["id"] as? String, "declare answered \(String(describing: declared))")
            runs.append(id)
        }
        let journal = try cluster.journal()
        defer { try? journal.close() }
        // The timer pump's holder is killed; the other server is the survivor.
        var holder: String?
        for _ in 0..<50 where holder == nil {
            holder = try Self.leaseHolder(journal, "timer-pump")
            if holder == nil { Thread.sleep(forTimeInterval: 0.1) }
        }
        let pumpHolder = try #require(holder)
        let (victim, survivor) = pumpHolder.contains("/\(Self.pid(a))/") ? (a, b) : (b, a)
        #expect(pumpHolder.contains("/\(Self.pid(victim))/"), "\(pumpHolder)")

        // Subscribers on the survivor, one per run.
        let heads = try runs.map { try journal.head(runID: $0).sequence }
        let subscribers = try runs.enumerated().map { index, run in
            try Subscriber(cluster.cli, port: survivor.port, token: dana, runID: run, name: "sse-\(index)")
        }

        // The burst: 40 clients, 6 notes each, half through each server; a failed or unanswered request is retried
        // with the same key on the other server, at most 20 times.
        let clients = 40, notesPerClient = 6
        let tally = Tally()
        let runIDs = runs, ports = (a: a.port, b: b.port)
        let group = DispatchGroup()
        for client in 0..<clients {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                let run = runIDs[client % runIDs.count]
                let order = client % 2 == 0 ? [ports.a, ports.b] : [ports.b, ports.a]
                for n in 0..<notesPerClient {
                    let text = "c\(client)-n\(n)"
                    let key = UUID().uuidString
                    for attempt in 0..<20 {
                        let answer = Self.post(order[min(attempt, 1)], dana, "/api/runs/\(run)/commands", #"{"type": "note", "text": "\#(text)"}"#, key: key)
                        tally.record(answer?.status, text: text, run: run)
                        if let answer, answer.status < 500, answer.status != 409 { break }
                        Thread.sleep(forTimeInterval: 0.2)
                    }
                }
            }
        }
        // Mid-burst: kill the pump holder.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, tally.snapshot().acknowledged.count < clients * notesPerClient / 3 { Thread.sleep(forTimeInterval: 0.02) }
        victim.server.kill(SIGKILL)
        #expect(group.wait(timeout: .now() + 180) == .success, "the clients did not finish within 3 minutes")

        // The survivor takes the timer pump's lease within the lease (5 s) and a pump pass, and fires the timers.
        var moved: String?
        let leaseDeadline = Date().addingTimeInterval(20)
        while Date() < leaseDeadline {
            moved = try Self.leaseHolder(journal, "timer-pump")
            if moved?.contains("/\(Self.pid(survivor))/") == true { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        #expect(moved?.contains("/\(Self.pid(survivor))/") == true, "timer-pump lease: \(String(describing: moved))")
        let firedDeadline = Date().addingTimeInterval(20)
        func fired(_ run: String) throws -> Int {
            try journal.events(runID: run).filter { if case .timerFired(let key, _, _) = $0.body { key.id == "identity-rto-warning" } else { false } }.count
        }
        while Date() < firedDeadline, try runs.contains(where: { try fired($0) == 0 }) { Thread.sleep(forTimeInterval: 0.2) }

        let (acked, seen) = tally.snapshot()
        #expect(acked.count == clients * notesPerClient, "\(acked.count) of \(clients * notesPerClient) commands acknowledged")
        #expect(!seen.contains(500), "a request got 500")
        for run in runs {
            let notes = try journal.events(runID: run).compactMap { if case .noteAdded(let t) = $0.body { t } else { nil } }
            let counts = Dictionary(notes.map { ($0, 1) }, uniquingKeysWith: +)
            for (text, noteRun) in acked where noteRun == run {
                #expect(counts[text] == 1, "\(text) is in the journal \(counts[text] ?? 0) times")
            }
            #expect(try journal.verify(runID: run).isIntact)
            let firings = try fired(run)
            #expect(firings == 1, "the identity RTO warning of \(run) fired \(firings) times")
        }
        // The survivor's subscribers saw every seq after their start once, in order, up to the head.
        for (index, run) in runs.enumerated() {
            let head = try journal.head(runID: run).sequence
            let ids = subscribers[index].stop(after: head)
            let expected = Array((heads[index] + 1)...head)
            // The run goes on (its timers fire): a stream may have more than the head read here, in order.
            #expect(ids.filter { $0 > heads[index] && $0 <= head } == expected, "run \(run): stream ids \(ids.prefix(5))… (\(ids.count)), expected \(expected.count) up to \(head)")
            #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 }, "run \(run): stream ids out of order or repeated")
        }
        survivor.server.kill(SIGTERM)
        try survivor.expectExit()
    }

    @Test("an exercise driven through server A, A killed: B follows it while A's lease lasts, then takes it over; the scenario clock never jumps ahead")
    func exerciseDriverKilled() throws {
        let cluster = try Cluster(users: ["Olga"])
        defer { cluster.remove() }
        let a = try cluster.start("serve-a")
        defer { a.kill() }
        let b = try cluster.start("serve-b")
        defer { b.kill() }
        let olga = cluster.tokens["Olga"]!
        let started = try a.call(olga, "POST", "/api/exercises", #"{"exercise": "ransomware-tabletop-2026q4", "speed": "30"}"#)
        #expect(started.status == 201, "\(started.json)")
        let run = try #require(started.json["id"] as? String)
        func scenario(_ server: ServeProcess) throws -> (now: Instant?, paused: Bool?, driven: Bool?) {
            let view = try server.call(olga, "GET", "/api/runs/\(run)/exercise")
            let clock = view.json["clock"] as? [String: Any]
            return ((clock?["scenario_now"] as? String).flatMap(Instant.init(iso8601:)), clock?["paused"] as? Bool, view.json["driven"] as? Bool)
        }
        Thread.sleep(forTimeInterval: 1)
        // Through B, while A drives: B follows A's clock (30 scenario seconds per second), nothing suspended.
        let viaA = try scenario(a), viaB = try scenario(b)
        let gap = abs((viaA.now?.millisecondsSinceEpoch ?? 0) - (viaB.now?.millisecondsSinceEpoch ?? Int64.max))
        #expect(viaB.driven == true && viaB.paused == false)
        #expect(gap < 30 * 3_000, "A says \(String(describing: viaA.now)), B says \(String(describing: viaB.now))")
        let paused = try b.call(olga, "POST", "/api/runs/\(run)/exercise", #"{"control": "pause"}"#)
        #expect(paused.status == 200, "\(paused.json)")
        #expect(try scenario(a).paused == true, "A goes on from the journal: paused")
        #expect(try a.call(olga, "POST", "/api/runs/\(run)/exercise", #"{"control": "resume"}"#).status == 200)

        Thread.sleep(forTimeInterval: 1)
        let beforeKill = try #require(try scenario(a).now)
        a.server.kill(SIGKILL)
        // B takes over after A's lease runs out: the clock comes back suspended at the scenario time last recorded.
        // B journals the suspension, then holds the session: a view in between reads paused but not yet driven, so
        // wait for both.
        var view = try scenario(b)
        let deadline = Date().addingTimeInterval(30)
        while view.paused != true || view.driven != true, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.25)
            view = try scenario(b)
        }
        #expect(view.paused == true && view.driven == true, "\(view)")
        let after = try #require(view.now)
        // Not ahead of where A's clock was when it died (the downtime is not scenario time); at most the few
        // seconds since the last recorded event behind it.
        #expect(after <= beforeKill + .seconds(30 * 2), "B's scenario time \(after) jumped past \(beforeKill)")
        #expect(after >= beforeKill - .seconds(30 * 5), "B's scenario time \(after) fell far behind \(beforeKill)")
        let journal = try cluster.journal()
        defer { try? journal.close() }
        let clockEvents = try journal.events(runID: run).compactMap { if case .exerciseClock(let c) = $0.body { c } else { nil } }
        #expect(clockEvents.filter { if case .suspended = $0 { true } else { false } }.count == 1, "\(clockEvents)")
        #expect(try journal.verify(runID: run).isIntact)
        #expect(try b.call(olga, "POST", "/api/runs/\(run)/exercise", #"{"control": "resume"}"#).status == 200)
        b.server.kill(SIGTERM)
        try b.expectExit()
    }

    @Test("a server whose clock is ten minutes fast (faketime): it stamps events and fires timers by the database's clock, and takes no lease early")
    func clockSkew() throws {
        let cluster = try Cluster(users: ["Dana"])
        defer { cluster.remove() }
        let a = try cluster.start("serve-a")
        defer { a.kill() }
        let dana = cluster.tokens["Dana"]!
        let journal = try cluster.journal()
        defer { try? journal.close() }
        // A holds the timer pump (it started first).
        var holder: String?
        for _ in 0..<50 where holder == nil { holder = try Self.leaseHolder(journal, "timer-pump"); Thread.sleep(forTimeInterval: 0.1) }
        #expect(holder?.contains("/\(Self.pid(a))/") == true)
        let fast = try cluster.start("serve-fast", env: FakeTime.environment(offset: "+10m"), launcher: FakeTime.launcher)
        defer { fast.kill() }
        // Its own clock is ten minutes ahead (checked through the process: the environment works)…
        #expect(try FakeTime.dateOffset(offset: "+10m", cli: cluster.cli) > 9 * 60)

        // A run declared through the fast server with a timer due 20 s after its declaration: not fired early.
        let declared = Self.post(fast.port, dana, "/api/runs", #"{"playbook": "ransomware-file-servers", "title": "Skewed", "disruption_started": "1h29m30s"}"#,
                                 key: "declare-skewed")
        let run = try #require(declared?.json["id"] as? String, "\(String(describing: declared))")
        let note = Self.post(fast.port, dana, "/api/runs/\(run)/commands", #"{"type": "note", "text": "from the fast server"}"#, key: "note-skewed")
        #expect(note?.status == 200)
        let stamped = try journal.events(runID: run).map(\.at)
        let databaseNow = try journal.databaseTime()
        for at in stamped {
            #expect(abs(at.millisecondsSinceEpoch - databaseNow.millisecondsSinceEpoch) < 60_000, "event stamped \(at), database clock \(databaseNow)")
        }
        // Kill A: the fast server takes the pump only once A's lease ran out on the DATABASE's clock (not at once,
        // as its own clock would have it), and the timer does not fire before it is due.
        let killedAt = Date()
        a.server.kill(SIGKILL)
        var taken: Date?
        while taken == nil, Date().timeIntervalSince(killedAt) < 30 {
            if try Self.leaseHolder(journal, "timer-pump")?.contains("/\(Self.pid(fast))/") == true { taken = Date() } else { Thread.sleep(forTimeInterval: 0.1) }
        }
        let waited = try #require(taken).timeIntervalSince(killedAt)
        #expect(waited > 1.0, "the fast server took the lease \(waited) s after the kill: its own clock, not the database's")
        // Still well before the timer's due time (30 s after the declaration, by the database's clock).
        #expect(try journal.events(runID: run).allSatisfy { if case .timerFired = $0.body { false } else { true } }, "a timer fired before it was due")
        #expect(try journal.verify(runID: run).isIntact)
        fast.server.kill(SIGTERM)
        try fast.expectExit()
    }
}

/// What the burst's clients saw: acknowledged note texts (→ run) and every status answered.
final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var acknowledged: [String: String] = [:]
    private var statuses: [Int] = []

    func record(_ status: Int?, text: String, run: String) {
        lock.lock()
        defer { lock.unlock() }
        guard let status else { return }
        statuses.append(status)
        if (200..<300).contains(status) { acknowledged[text] = run }
    }

    func snapshot() -> (acknowledged: [String: String], statuses: [Int]) {
        lock.lock()
        defer { lock.unlock() }
        return (acknowledged, statuses)
    }
}

/// libfaketime (Debian's `faketime`, installed by scripts/setup): a process that sees a shifted wall clock.
enum FakeTime {
    static let library = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

    /// Started straight from this process with the library preloaded, the Swift binary saw no arguments (it printed
    /// its help); through a shell's exec it sees them.
    static let launcher = ["/bin/sh", "-c", "exec \"$0\" \"$@\""]

    static func environment(offset: String) -> [String: String] {
        // The monotonic clock stays real: NIO's timers and timeouts are not shifted.
        ["LD_PRELOAD": library, "FAKETIME": offset, "FAKETIME_DONT_FAKE_MONOTONIC": "1", "FAKETIME_NO_CACHE": "1"]
    }

    /// How far ahead `date` runs under the offset, in seconds (the library is missing: a failure, not a skip).
    static func dateOffset(offset: String, cli: IncidentCLIHarness) throws -> Double {
        guard FileManager.default.fileExists(atPath: library) else {
            Issue.record("libfaketime is missing: apt-get install -y faketime (scripts/setup does it)")
            return 0
        }
        var env = ProcessInfo.processInfo.environment
        env.merge(environment(offset: offset)) { $1 }
        let shifted = try IncidentCLIHarness.execute(launcher[0], Array(launcher.dropFirst()) + ["/bin/date", "+%s"], env: env, timeout: 10)
        return (Double(shifted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) - Date().timeIntervalSince1970
    }
}
