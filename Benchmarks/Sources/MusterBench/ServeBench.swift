import Foundation
import Logging
import MusterCore
import MusterJournal
import MusterRuntime
import MusterServer
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// `muster serve` under load (issue 7): the real server in this process on 127.0.0.1 with a fresh journal
/// (synchronous = FULL), one live run, 100 SSE subscribers reading its stream, then `wrk -t2 -c200 -d10s
/// --latency` POSTing task completions with a Bearer token. Baseline: the same wrk against `GET /healthz` of the
/// same server, measured in the same run.
///
/// Workload: task completions. A task completes once per visit of its state, so the run's playbook has
/// `tasksPerThread` tasks per wrk thread in one state `work` with a transition `on: again, to: work`: entering
/// the state again reopens its tasks. Each wrk thread works in cycles: raise `again`, then complete the next half
/// of its tasks (`t<thread>-<i>`; the halves alternate), each with a unique note (`wrk:<thread>:<n>`, the
/// completion's identity). A half completed in one cycle is reopened by the next cycle's `again` and completed
/// again only in the cycle after that, `tasksPerThread / 2` requests later, while at most 100 requests of a thread
/// are in flight: every request is an accepted command (a 409 would show as "other" and fail the run); one in
/// 1,001 is a raise.
/// (A first version generated one task per request: 320,000 tasks; the engine copies the run's per-task state on
/// each decision, copy-on-write so a refusal leaves the run untouched, and that copy dominated. Real playbooks
/// have tens of tasks, so this workload keeps the playbook small.)
///
/// Checks (no lost or duplicated events): every 2xx answer names its completion (the note), and each of those is
/// in the journal exactly once; no completion is journaled twice; raises of `again` are counted the same way; the
/// hash chain verifies; every subscriber received
/// every seq of the run exactly once, in order. Requests in flight when wrk stops are completed by the server
/// without wrk reading the answer: those are journaled but not among the 2xx, and are counted separately (at
/// most one per connection).
///
/// Why the driver looks like this: the first version awaited and blocked inside a Task (wrk's pipe read,
/// semaphores, 100 blocking subscriber threads parsing with quadratic copies) while the server in the same
/// process has only the cooperative pool's 2 threads here. So the driver runs on the main thread, wrk is a child
/// process waited on with a bounded poll, the subscribers share one `poll(2)` thread, and only the server runs
/// on the pool. Every wait is bounded and every phase prints a line on stderr.
enum ServeBench {
    static let connections = 200
    static let subscribers = 100
    static let duration = 10
    static let wrkThreads = 2
    static let tasksPerThread = 2_000

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static let started = Date()
    static func progress(_ line: String) {
        FileHandle.standardError.write(Data("[serve \(MusterBench.format(Date().timeIntervalSince(started), 1))s] \(line)\n".utf8))
    }

    /// What `run` measured on one backend.
    struct Outcome {
        var backend: String
        var rate: Double
        var p99: Double  // microseconds
        var baselineRate: Double
        var clean: Bool
    }

    /// One run of the benchmark on a fresh journal: `$SCRATCH/muster.db` by default, else the location `journal`
    /// gives (a fresh PostgreSQL schema in `muster-bench serve`). Prints its lines; throws on lost or duplicated
    /// events unless `throwing` is false (the caller checks `clean`).
    @discardableResult
    static func run(backend: String = "SQLite", journal location: (() throws -> JournalLocation)? = nil, throwing: Bool = true) throws -> Outcome {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/wrk") else { throw Failure("wrk is not installed (apt-get install -y wrk)") }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("muster-serve-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }

        // A fresh journal with the durability `muster serve` uses (synchronous = FULL), two users, one run.
        progress("declaring a run of a playbook with \(wrkThreads * tasksPerThread) tasks")
        let playbookPath = scratch.appendingPathComponent("load.yaml").path
        try playbook(tasks: wrkThreads * tasksPerThread).write(toFile: playbookPath, atomically: true, encoding: .utf8)
        let journal = try Journal.open(location?() ?? .sqlite(path: scratch.appendingPathComponent("muster.db").path))
        let runtime = IncidentRuntime(journal: journal)
        var tokens: [String: String] = [:]
        for name in ["Dana", "Lee"] {
            let token = Tokens.make()
            try journal.addUser(name: name, tokenSHA256: Tokens.sha256(token), admin: name == "Dana", at: runtime.clock.now)
            tokens[name] = token
        }
        let declared = try runtime.declare(DeclareRequest(playbookPath: playbookPath, title: "Load test", actor: "Dana"))
        let runID = declared.runID
        _ = try runtime.execute(Command(actor: "Dana", .assign(role: "ops", person: "Lee")), on: runID)

        let port = try Nginx.freePort()
        var logger = Logger(label: "muster.bench")
        logger.logLevel = .warning
        let state = ServerState(runtime: runtime, configuration: ServerConfiguration(host: "127.0.0.1", port: port,
                                                                                       playbooksFolder: scratch.path, exercisesFolder: scratch.path,
                                                                                       // one user reads all 100 streams (the default allows 16)
                                                                                       maxStreamsPerUser: subscribers),
                                logger: logger)
        let server = BenchServer(state: state, logger: logger)
        progress("starting the server on 127.0.0.1:\(port)")
        server.start()
        let fleet = SSEFleet(port: port, path: "/api/runs/\(runID)/stream", token: tokens["Lee"]!, count: subscribers)
        do {
            try waitUntil(seconds: 15, "the server listens on 127.0.0.1:\(port)") { Nginx.accepts(port: port) }

            progress("connecting \(subscribers) SSE subscribers")
            fleet.start()
            let openHead = try journal.head(runID: runID).sequence
            try waitUntil(seconds: 15, "every subscriber has the run's first \(openHead) events") { fleet.minimumLastSeq >= openHead }

            let base = "http://127.0.0.1:\(port)"
            progress("baseline: wrk -t\(wrkThreads) -c\(connections) -d\(duration)s GET /healthz")
            let baseline = try wrk(url: base + "/healthz", script: summaryOnly, scratch: scratch)
            progress("baseline: \(Int(baseline.rate)) requests/s")
            let acksDir = scratch.appendingPathComponent("acks")
            try FileManager.default.createDirectory(at: acksDir, withIntermediateDirectories: true)
            let script = taskScript(token: tokens["Lee"]!, acks: acksDir.path + "/thread-")
            progress("load: wrk -t\(wrkThreads) -c\(connections) -d\(duration)s POST /api/runs/\(runID)/commands (task-done)")
            let load = try wrk(url: base + "/api/runs/\(runID)/commands", script: script, scratch: scratch)
            progress("load: \(Int(load.rate)) commands/s; waiting for the journal to settle and the streams to catch up")

            // Let the requests in flight at wrk's stop finish (head stable for 3 reads), then wait (bounded) for
            // every subscriber to have every event.
            var head = -1
            var settled = 0
            let settleDeadline = Date().addingTimeInterval(20)
            while settled < 3 && Date() < settleDeadline {
                Thread.sleep(forTimeInterval: 0.2)
                let now = try journal.head(runID: runID).sequence
                settled = now == head ? settled + 1 : 0
                head = now
            }
            let streamDeadline = Date().addingTimeInterval(30)
            var lastReport = Date()
            while fleet.minimumLastSeq < head && Date() < streamDeadline {
                Thread.sleep(forTimeInterval: 0.1)
                if Date().timeIntervalSince(lastReport) >= 2 {
                    progress("streams: slowest subscriber at seq \(fleet.minimumLastSeq) of \(head)")
                    lastReport = Date()
                }
            }
            progress("stopping the subscribers and the server")
            fleet.stop()
            let stoppedCleanly = server.stop(seconds: 15)
            progress("checking the journal and the streams")

            // Checks.
            var acknowledged: [String] = []  // notes of acknowledged completions, and "again" per acknowledged raise
            for file in try FileManager.default.contentsOfDirectory(atPath: acksDir.path) {
                let text = try String(contentsOfFile: acksDir.path + "/" + file, encoding: .utf8)
                acknowledged += text.split(separator: "\n").map(String.init)
            }
            var completed: [String: Int] = [:]  // note of a task completion -> times journaled
            var raised = 0
            for e in try journal.events(runID: runID) {
                switch e.body {
                case .taskCompleted(_, let note?) where note.hasPrefix("wrk:"): completed[note, default: 0] += 1
                case .eventRaised("again"): raised += 1
                default: break
                }
            }
            let journaled = completed.values.reduce(0, +)
            let duplicated = completed.values.filter { $0 > 1 }.count
            let ackedRaises = acknowledged.filter { $0 == "again" }.count
            acknowledged.removeAll { $0 == "again" }
            let ackSet = Set(acknowledged)
            let ackedTwice = acknowledged.count - ackSet.count
            let lost = ackSet.filter { completed[$0] == nil }.count + max(0, ackedRaises - raised)
            let late = completed.keys.filter { !ackSet.contains($0) }.count + max(0, raised - ackedRaises)
            let intact = try journal.verify(runID: runID).isIntact
            let expected = Array(1...head)
            let seqs = fleet.allSeqs
            let perfect = seqs.filter { $0 == expected }.count
            let subscriberDuplicates = seqs.reduce(0) { $0 + ($1.count - Set($1).count) }
            let subscriberMissing = seqs.reduce(0) { $0 + (head - Set($1).count) }
            try? journal.close()

            let ratio = load.rate / baseline.rate
            print("serve (\(backend)): 1 live run, \(subscribers) SSE subscribers, wrk -t\(wrkThreads) -c\(connections) -d\(duration)s --latency on 127.0.0.1 (journal \(journal.backend == .sqlite ? "synchronous = FULL" : "synchronous_commit = on"))")
            print("  POST /api/runs/{id}/commands (task-done, Bearer): \(Int(load.rate)) commands/s, p50 \(ms(load.p50)) ms, p99 \(ms(load.p99)) ms, \(load.ok) 2xx, \(load.other) other, socket errors: \(load.socketErrors)")
            print("  GET /healthz (baseline, same binary):             \(Int(baseline.rate)) requests/s, p50 \(ms(baseline.p50)) ms, p99 \(ms(baseline.p99)) ms")
            print("  commands vs baseline: \(MusterBench.format(ratio * 100, 1))% (target: at least 30%); p99 \(ms(load.p99)) ms (target: under 50 ms)")
            print("  journal: \(journaled) task completions + \(raised) raises of 'again' = \(ackSet.count + ackedRaises) acknowledged (2xx) + \(late) completed after wrk stopped reading (in flight at its end, at most \(connections)); acknowledged lost: \(lost), completed twice: \(duplicated), acknowledged twice: \(ackedTwice); chain verifies: \(intact)")
            print("  SSE: \(perfect)/\(subscribers) subscribers received seqs 1...\(head) exactly once, in order (missing \(subscriberMissing), duplicated \(subscriberDuplicates))")
            let met = ratio >= 0.3 && load.p99 < 50_000
            let clean = lost == 0 && duplicated == 0 && ackedTwice == 0 && intact && perfect == subscribers && load.other == 0
                && acknowledged.count + ackedRaises == load.ok && late <= connections && stoppedCleanly
            print("  targets \(met ? "met" : "NOT met"); events \(clean ? "none lost or duplicated" : "CHECK FAILED")\(stoppedCleanly ? "" : "; the server did not stop within 15 s")")
            fflush(nil)  // every stream: the figures must survive the throw below
            if !clean && throwing { throw Failure("lost or duplicated events, non-2xx answers or an unclean stop (see above)") }
            return Outcome(backend: backend, rate: load.rate, p99: load.p99, baselineRate: baseline.rate, clean: clean)
        } catch {
            fleet.stop()
            _ = server.stop(seconds: 15)
            throw error
        }
    }

    // MARK: - wrk

    struct WrkResult {
        var rate: Double
        var p50: Double  // microseconds
        var p99: Double
        var ok: Int
        var other: Int
        var socketErrors: String
    }

    /// Runs wrk as a child process (output to a file; waited on with a bounded poll, killed if it overstays) and
    /// reads its rate and the Lua summary lines.
    static func wrk(url: String, script: String, scratch: URL, connections: Int = connections, seconds duration: Int = duration) throws -> WrkResult {
        let scriptURL = scratch.appendingPathComponent("wrk-\(UUID().uuidString).lua")
        try script.write(to: scriptURL, atomically: true, encoding: .utf8)
        let outURL = scratch.appendingPathComponent("wrk-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        defer { try? out.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/wrk")
        process.arguments = ["-t\(wrkThreads)", "-c\(connections)", "-d\(duration)s", "--latency", "--timeout", "5s", "-s", scriptURL.path, url]
        process.standardOutput = out
        process.standardError = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(Double(duration + 30))
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw Failure("wrk did not finish within \(duration + 30) s; killed")
        }
        process.waitUntilExit()
        let output = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        func value(_ prefix: String) -> String? {
            output.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(prefix) }
                .map { String($0.trimmingCharacters(in: .whitespaces).dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces) }
        }
        guard let rate = value("Requests/sec:").flatMap(Double.init), let p50 = value("muster-p50-us:").flatMap(Double.init),
              let p99 = value("muster-p99-us:").flatMap(Double.init), let ok = value("muster-2xx:").flatMap(Int.init),
              let other = value("muster-other:").flatMap(Int.init) else {
            throw Failure("wrk printed no summary (exit \(process.terminationStatus)): \(output)")
        }
        return WrkResult(rate: rate, p50: p50, p99: p99, ok: ok, other: other, socketErrors: value("Socket errors:") ?? "none")
    }

    static let summary = """
        local threads = {}
        function setup(thread)
          thread:set("id", #threads + 1)
          table.insert(threads, thread)
        end
        function done(summary, latency, requests)
          local ok, other = 0, 0
          for _, t in ipairs(threads) do ok = ok + t:get("ok"); other = other + t:get("other") end
          io.write(string.format("muster-2xx: %d\\nmuster-other: %d\\n", ok, other))
          io.write(string.format("muster-p50-us: %d\\nmuster-p99-us: %d\\n", latency:percentile(50), latency:percentile(99)))
        end
        """

    /// The baseline: wrk's own GET, answers counted.
    static let summaryOnly = summary + """

        ok, other = 0, 0
        function response(status, headers, body)
          if status >= 200 and status < 300 then ok = ok + 1 else other = other + 1 end
        end
        """

    /// Task completions, each of the next task of this wrk thread (`t<thread>-<i>`) with a unique note
    /// (`wrk:<thread>:<n>`), and `again` after the thread's last task. Every 2xx answer's note (or `again`) goes to
    /// a file per thread.
    static func taskScript(token: String, acks: String) -> String {
        summary + """

            ok, other, n = 0, 0, 0
            local acks
            function init(args)
              acks = io.open("\(acks)" .. id, "w")
            end
            function request()
              n = n + 1
              local half = \(tasksPerThread / 2)
              local cycle = math.floor((n - 1) / (half + 1))
              local pos = (n - 1) % (half + 1)
              local body
              if pos == 0 then
                body = '{"type":"event","name":"again"}'
              else
                local i = (cycle % 2) * half + pos
                body = '{"type":"task-done","task":"t' .. id .. '-' .. i .. '","note":"wrk:' .. id .. ':' .. n .. '"}'
              end
              return wrk.format("POST", nil, {["Authorization"] = "Bearer \(token)", ["Content-Type"] = "application/json"}, body)
            end
            function response(status, headers, body)
              if status >= 200 and status < 300 then
                ok = ok + 1
                local key = string.match(body, 'wrk:%d+:%d+') or (string.find(body, '"event-raised"', 1, true) and "again")
                if key then acks:write(key .. "\\n"); acks:flush() end
              else
                other = other + 1
              end
            end
            """
    }

    /// One working state with `tasks` tasks of role `ops` (ids `t<thread>-<i>`) that `again` enters anew (reopening
    /// them), and a terminal state.
    static func playbook(tasks: Int) -> String {
        var text = """
            muster: 1
            id: load
            version: 1
            title: Load
            roles:
              incident_commander: { title: Incident commander }
              ops: { title: Operations }
            start: work
            states:
              work:
                phase: respond
                owner: incident_commander
                tasks:

            """
        for thread in 1...wrkThreads {
            for n in 1...(tasks / wrkThreads) { text += "      - { id: t\(thread)-\(n), title: T, role: ops }\n" }
        }
        text += """
                transitions:
                  - { on: again, to: work }
                  - { on: resolved, to: closed }
              closed:
                phase: learn
                owner: incident_commander
                terminal: true

            """
        return text
    }

    // MARK: - Helpers

    static func ms(_ microseconds: Double) -> String { MusterBench.format(microseconds / 1000, 1) }

    static func waitUntil(seconds: Double, _ what: String, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while try !condition() {
            guard Date() < deadline else { throw Failure("timed out after \(Int(seconds)) s waiting until \(what)") }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }
}

/// The server of the bench: a `ServiceGroup` in a Task (the only thing on the cooperative pool), stopped from the
/// driver's thread with a bounded wait.
final class BenchServer: @unchecked Sendable {
    let group: ServiceGroup
    private var serving: _Concurrency.Task<Void, Never>?
    private let finished = DispatchSemaphore(value: 0)
    private var stopped = false

    init(state: ServerState, logger: Logger) {
        group = ServiceGroup(configuration: .init(services: [buildApplication(state: state)], gracefulShutdownSignals: [], logger: logger))
    }

    func start() {
        let group = group, finished = finished
        serving = _Concurrency.Task {
            do { try await group.run() } catch { ServeBench.progress("server ended with \(error)") }
            finished.signal()
        }
    }

    /// Triggers graceful shutdown and waits at most `seconds`; false when the server did not stop in time.
    func stop(seconds: Double) -> Bool {
        guard !stopped, serving != nil else { return true }
        stopped = true
        let group = group
        _Concurrency.Task { await group.triggerGracefulShutdown() }
        return finished.wait(timeout: .now() + seconds) == .success
    }
}

/// `count` SSE clients of one stream, all served by one thread with `poll(2)`: HTTP/1.1 GET with the token,
/// de-chunks each body and collects every `id:` line's seq. Parsing scans with `memchr` and copies only the
/// line fragments that straddle two reads.
final class SSEFleet: @unchecked Sendable {
    let port: Int
    let path: String
    let token: String
    let count: Int
    private let lock = NSLock()
    private var connections: [Connection] = []
    private var stopping = false
    private let exited = DispatchSemaphore(value: 0)
    private var thread: Thread?

    /// Parsed only on the fleet's thread; `seqs` is read by others under the fleet's lock.
    final class Connection: @unchecked Sendable {
        let fd: Int32
        var raw: [UInt8] = []      // unparsed transport bytes (header, chunk size lines)
        var headerDone = false
        var chunkLeft = 0          // > 0: data bytes left in this chunk; < 0: CRLF bytes left after it; 0: size line next
        var partial: [UInt8] = []  // the start of a body line that continues in the next read
        var seqs: [Int] = []       // guarded by the fleet's lock
        var open = true
        init(fd: Int32) { self.fd = fd }
    }

    init(port: Int, path: String, token: String, count: Int) {
        self.port = port
        self.path = path
        self.token = token
        self.count = count
    }

    var minimumLastSeq: Int {
        lock.lock()
        defer { lock.unlock() }
        return connections.isEmpty ? 0 : connections.map { $0.seqs.last ?? 0 }.min()!
    }

    var allSeqs: [[Int]] {
        lock.lock()
        defer { lock.unlock() }
        return connections.map(\.seqs)
    }

    func start() {
        var made: [Connection] = []
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nAccept: text/event-stream\r\n\r\n"
        for _ in 0..<count {
            guard let s = Nginx.connectLoopback(port: port) else { continue }
            _ = request.withCString { send(s, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            made.append(Connection(fd: s))
        }
        lock.lock()
        connections = made
        lock.unlock()
        let conns = made
        let thread = Thread { [self] in
            loop(conns)
            exited.signal()
        }
        self.thread = thread
        thread.start()
    }

    /// Ends the reading thread (bounded wait) and closes the sockets.
    func stop() {
        lock.lock()
        let first = !stopping
        stopping = true
        lock.unlock()
        guard first, thread != nil else { return }
        _ = exited.wait(timeout: .now() + 5)
        for c in connections { close(c.fd) }
    }

    private var isStopping: Bool { lock.lock(); defer { lock.unlock() }; return stopping }

    private func loop(_ conns: [Connection]) {
        var fds = conns.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        while !isStopping {
            let ready = poll(&fds, nfds_t(fds.count), 100)  // wakes at least every 100 ms to notice stop()
            if ready <= 0 { continue }
            for i in fds.indices where fds[i].revents != 0 {
                let c = conns[i]
                let n = buffer.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if n > 0 {
                    let found = buffer.withUnsafeBufferPointer { consume(c, UnsafeBufferPointer(rebasing: $0[0..<n])) }
                    if !found.isEmpty {
                        lock.lock()
                        c.seqs += found
                        lock.unlock()
                    }
                } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                    c.open = false
                    fds[i].fd = -1  // poll ignores negative descriptors
                }
            }
        }
    }

    /// Transport bytes in, seqs of complete `id:` lines out.
    private func consume(_ c: Connection, _ bytes: UnsafeBufferPointer<UInt8>) -> [Int] {
        var found: [Int] = []
        var input = bytes
        var held: [UInt8] = []
        if !c.raw.isEmpty {  // rare: an unfinished header or chunk size line from the last read
            held = c.raw + Array(bytes)
            c.raw.removeAll()
        }
        return held.withUnsafeBufferPointer { heldBuffer -> [Int] in
            if !held.isEmpty { input = heldBuffer }
            var i = 0
            if !c.headerDone {
                guard let end = find(input, from: 0, [13, 10, 13, 10]) else { c.raw = Array(input); return [] }
                c.headerDone = true
                i = end + 4
            }
            while i < input.count {
                if c.chunkLeft > 0 {
                    let take = min(c.chunkLeft, input.count - i)
                    lines(c, input, i, i + take, &found)
                    i += take
                    c.chunkLeft -= take
                    if c.chunkLeft == 0 { c.chunkLeft = -2 }
                } else if c.chunkLeft < 0 {
                    let take = min(-c.chunkLeft, input.count - i)
                    i += take
                    c.chunkLeft += take
                } else {
                    guard let end = find(input, from: i, [13, 10]) else { c.raw = Array(input[i...]); break }
                    var size = 0
                    for b in input[i..<end] {
                        let digit: Int
                        switch b {
                        case 48...57: digit = Int(b) - 48
                        case 97...102: digit = Int(b) - 87
                        case 65...70: digit = Int(b) - 55
                        default: digit = -1
                        }
                        if digit < 0 { break }
                        size = size * 16 + digit
                    }
                    i = end + 2
                    if size == 0 { break }  // the last chunk: the server ended the stream
                    c.chunkLeft = size
                }
            }
            return found
        }
    }

    /// Body bytes `[from, to)`: finishes the pending line, then each whole line; keeps the last fragment.
    private func lines(_ c: Connection, _ p: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int, _ found: inout [Int]) {
        var start = from
        let base = p.baseAddress!
        while start < to {
            guard let hit = memchr(base + start, 10, to - start) else {
                c.partial.append(contentsOf: UnsafeBufferPointer(rebasing: p[start..<to]))
                return
            }
            let end = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(hit))
            if c.partial.isEmpty {
                if let seq = idLine(UnsafeBufferPointer(rebasing: p[start..<end])) { found.append(seq) }
            } else {
                c.partial.append(contentsOf: UnsafeBufferPointer(rebasing: p[start..<end]))
                if let seq = c.partial.withUnsafeBufferPointer({ idLine($0) }) { found.append(seq) }
                c.partial.removeAll(keepingCapacity: true)
            }
            start = end + 1
        }
    }

    /// The seq of an `id: N` line.
    private func idLine(_ line: UnsafeBufferPointer<UInt8>) -> Int? {
        guard line.count > 4, line[0] == 105, line[1] == 100, line[2] == 58, line[3] == 32 else { return nil }  // "id: "
        var value = 0
        for b in line[4...] {
            guard b >= 48 && b <= 57 else { return b == 13 ? value : nil }
            value = value * 10 + Int(b) - 48
        }
        return value
    }

    private func find(_ haystack: UnsafeBufferPointer<UInt8>, from: Int, _ needle: [UInt8]) -> Int? {
        guard haystack.count - from >= needle.count else { return nil }
        outer: for i in from...(haystack.count - needle.count) where haystack[i] == needle[0] {
            for j in 1..<needle.count where haystack[i + j] != needle[j] { continue outer }
            return i
        }
        return nil
    }
}
