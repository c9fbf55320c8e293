import Foundation
import MusterTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `muster serve` as a real process on a free port with a temporary MUSTER_HOME: graceful shutdown on SIGTERM
/// with requests in flight, and events appended by another process (the CLI) arriving on a live stream.
/// Clients are blocking sockets on threads of their own, every read has a timeout and every wait is bounded.
@Suite("muster serve (real process)", .serialized, .ownThreads)
struct ServeProcessTests {
    /// A started server: its process, port, and the tokens of Dana (admin, incident commander) and Lee.
    struct Served {
        let cli: IncidentCLIHarness
        let serve: ServeProcess
        let tokens: [String: String]
        let runID: String

        var server: Spawned { serve.server }
        var port: Int { serve.port }

        /// Stops the server if a test left it running (bounded), then removes the folder.
        func cleanUp() {
            serve.kill()
            cli.remove()
        }
    }


    /// Users, a declared run (by the CLI, before the server starts), and the server on port 0.
    func serve() throws -> Served {
        let cli = try IncidentCLIHarness()
        let playbook = cli.folder + "/quiet.yaml"
        try TestPlaybooks.quiet.write(toFile: playbook, atomically: true, encoding: .utf8)
        var tokens: [String: String] = [:]
        for name in ["Dana", "Lee"] {
            let added = try cli.run(["users", "add", name] + (name == "Dana" ? ["--admin"] : []))
            #expect(added.status == 0, "\(added.stderr)")
            tokens[name] = try #require(added.lines.first)
        }
        let declared = try cli.run(["incident", "declare", playbook, "--title", "Served"], user: "Dana")
        #expect(declared.status == 0, "\(declared.stderr)")
        let runID = try #require(declared.lines.first)
        let serve: ServeProcess
        do { serve = try ServeProcess.start(cli, name: "serve") } catch {
            cli.remove()
            throw error
        }
        return Served(cli: cli, serve: serve, tokens: tokens, runID: runID)
    }

    /// Notes in the journal (sqlite3 on the file): text -> how many times.
    func journaledNotes(_ s: Served) throws -> [String: Int] {
        let rows = try s.cli.sqlite("SELECT json_extract(payload, '$.noteAdded.text') FROM events WHERE run_id = '\(s.runID)' AND type = 'note-added'")
        #expect(rows.status == 0, "\(rows.stderr)")
        var counts: [String: Int] = [:]
        for line in rows.lines { counts[line, default: 0] += 1 }
        return counts
    }

    @Test("SIGTERM: in-flight requests finish with their answers, the open stream ends cleanly, exit 0, every 2xx command journaled exactly once, chain intact")
    func gracefulShutdown() throws {
        let s = try serve()
        defer { s.cleanUp() }
        let lee = s.tokens["Lee"]!

        // An open live stream: an in-flight request that only ends when the server lets it.
        let stream = SSEClient(port: s.port, path: "/api/runs/\(s.runID)/stream", token: lee, lastEventID: 0)
        stream.start()
        #expect(stream.waitFor(seconds: 10) { !$0.isEmpty }, "the stream sent no event")

        // A burst of notes on keep-alive connections, each thread sending until its connection ends.
        let senders = (0..<8).map { i in NoteSender(port: s.port, runID: s.runID, token: lee, prefix: "burst-\(i)-", limit: 400) }
        for sender in senders { sender.start() }
        let deadline = Date().addingTimeInterval(10)
        while senders.map(\.acknowledged.count).reduce(0, +) < 40 && Date() < deadline { usleep(10_000) }

        // A request whose body is still arriving when SIGTERM comes: it must be answered.
        let slow = try RawHTTP(port: s.port)
        let body = #"{"type":"note","text":"slow-one"}"#
        let head = "POST /api/runs/\(s.runID)/commands HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(lee)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
        try slow.send(head + String(body.prefix(10)))
        usleep(100_000)

        s.server.kill(SIGTERM)
        usleep(300_000)
        try slow.send(String(body.dropFirst(10)))
        let slowAnswer = try slow.readResponse()
        #expect(slowAnswer.status == 200, "\(slowAnswer.body)")
        #expect(slowAnswer.body.contains("slow-one"))

        try s.serve.expectExit()
        for sender in senders { #expect(sender.join(seconds: 10), "a sender did not finish") }
        #expect(stream.join(seconds: 10), "the stream did not end")
        #expect(stream.endedCleanly, "the stream was cut instead of ending with its last chunk")
        let seqs = stream.seqs
        #expect(seqs == Array(1...max(1, seqs.count)), "stream seqs not 1...n in order: \(seqs.prefix(20))")

        // Every acknowledged note exactly once; nothing journaled that was not acknowledged.
        let acknowledged = senders.flatMap(\.acknowledged) + ["slow-one"]
        let statuses = senders.flatMap(\.otherStatuses)
        #expect(statuses.isEmpty, "non-2xx answers: \(statuses.prefix(5))")
        #expect(acknowledged.count > 40)
        let notes = try journaledNotes(s)
        #expect(notes.values.allSatisfy { $0 == 1 }, "a note journaled twice")
        #expect(Set(notes.keys) == Set(acknowledged), "journaled \(notes.count), acknowledged \(acknowledged.count)")
        let verify = try s.cli.run(["verify", "--all"])
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
    }

    @Test("events appended by another process (the CLI) arrive on a live stream within 2 s each, in order, once")
    func crossProcess() throws {
        let s = try serve()
        defer { s.cleanUp() }
        let head = try #require(Int(try s.cli.sqlite("SELECT MAX(seq) FROM events WHERE run_id = '\(s.runID)'").lines.first ?? ""))
        let stream = SSEClient(port: s.port, path: "/api/runs/\(s.runID)/stream", token: s.tokens["Lee"]!, lastEventID: head)
        stream.start()
        #expect(stream.waitFor(seconds: 10) { _ in stream.headerReceived }, "the stream did not answer")

        var sentAt: [Date] = []
        for i in 1...3 {
            sentAt.append(Date())
            let note = try s.cli.run(["incident", "note", "from the CLI \(i)", "--run", s.runID], user: "Sam")
            #expect(note.status == 0, "\(note.stderr)")
            // Each arrives within 2 s of the CLI finishing (the server polls the journal every 200 ms).
            #expect(stream.waitFor(seconds: 2) { $0.count >= i }, "note \(i) did not arrive within 2 s")
        }
        s.server.kill(SIGTERM)
        try s.serve.expectExit()
        #expect(stream.join(seconds: 10))

        let events = stream.events
        #expect(events.map(\.seq) == Array((head + 1)...(head + 3)), "\(events.map(\.seq))")
        for (i, event) in events.prefix(3).enumerated() {
            #expect(event.data.contains("\"from the CLI \(i + 1)\""), "\(event.data)")
            #expect(event.data.contains("\"type\":\"note-added\""))
            #expect(event.arrivedAt.timeIntervalSince(sentAt[i]) < 5)
        }
    }
}

// MARK: - Clients

/// Sends notes one after another on one keep-alive connection (on its own thread) until `limit` or the
/// connection ends; remembers the text of every 2xx answer's note.
final class NoteSender: @unchecked Sendable {
    let port: Int, runID: String, token: String, prefix: String, limit: Int
    private let lock = NSLock()
    private var acked: [String] = []
    private var others: [Int] = []
    private let done = DispatchSemaphore(value: 0)

    init(port: Int, runID: String, token: String, prefix: String, limit: Int) {
        (self.port, self.runID, self.token, self.prefix, self.limit) = (port, runID, token, prefix, limit)
    }

    var acknowledged: [String] { lock.lock(); defer { lock.unlock() }; return acked }
    var otherStatuses: [Int] { lock.lock(); defer { lock.unlock() }; return others }

    func start() {
        Thread { [self] in
            defer { done.signal() }
            guard let connection = try? RawHTTP(port: port) else { return }
            for n in 0..<limit {
                let text = "\(prefix)\(n)"
                let body = #"{"type":"note","text":"\#(text)"}"#
                let request = "POST /api/runs/\(runID)/commands HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                guard (try? connection.send(request)) != nil, let response = try? connection.readResponse() else { return }
                lock.lock()
                if (200..<300).contains(response.status) { acked.append(text) } else { others.append(response.status) }
                lock.unlock()
            }
        }.start()
    }

    func join(seconds: Double) -> Bool { done.wait(timeout: .now() + seconds) == .success }
}

/// A live stream read on its own thread: each event's seq, data and arrival time; whether the chunked body
/// ended with its last chunk (a clean end) rather than a cut connection.
final class SSEClient: @unchecked Sendable {
    struct Event {
        var seq: Int
        var data: String
        var arrivedAt: Date
    }

    let port: Int, path: String, token: String, lastEventID: Int
    private let lock = NSLock()
    private var received: [Event] = []
    private var header = false
    private var clean = false
    private let done = DispatchSemaphore(value: 0)

    init(port: Int, path: String, token: String, lastEventID: Int) {
        (self.port, self.path, self.token, self.lastEventID) = (port, path, token, lastEventID)
    }

    var events: [Event] { lock.lock(); defer { lock.unlock() }; return received }
    var seqs: [Int] { events.map(\.seq) }
    var headerReceived: Bool { lock.lock(); defer { lock.unlock() }; return header }
    var endedCleanly: Bool { lock.lock(); defer { lock.unlock() }; return clean }

    func start() {
        Thread { [self] in
            defer { done.signal() }
            guard let connection = try? RawHTTP(port: port) else { return }
            let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nLast-Event-ID: \(lastEventID)\r\n\r\n"
            guard (try? connection.send(request)) != nil, let head = try? connection.readHead(), head.status == 200 else { return }
            lock.lock()
            header = true
            lock.unlock()
            var body = ""
            // Bounded: the server ends the stream on shutdown; 60 s of 5 s read timeouts at most.
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                guard let sizeLine = try? connection.read(until: [13, 10]) else {
                    if connection.closed { return } else { continue }  // a read timeout: keep waiting
                }
                guard let size = Int(String(decoding: sizeLine, as: UTF8.self), radix: 16) else { return }
                if size == 0 {
                    lock.lock()
                    clean = true
                    lock.unlock()
                    return
                }
                guard let chunk = try? connection.read(count: size), (try? connection.read(count: 2)) != nil else { return }
                body += String(decoding: chunk, as: UTF8.self)
                while let end = body.range(of: "\n\n") {
                    let frame = body[..<end.lowerBound]
                    body = String(body[end.upperBound...])
                    var seq: Int?
                    var data = ""
                    for line in frame.split(separator: "\n") {
                        if line.hasPrefix("id: ") { seq = Int(line.dropFirst(4)) }
                        if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
                    }
                    if let seq {
                        lock.lock()
                        received.append(Event(seq: seq, data: data, arrivedAt: Date()))
                        lock.unlock()
                    }
                }
            }
        }.start()
    }

    /// Polls (10 ms) until `condition(events)` holds or `seconds` pass.
    func waitFor(seconds: Double, _ condition: ([Event]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition(events) { return true }
            usleep(10_000)
        }
        return condition(events)
    }

    func join(seconds: Double) -> Bool { done.wait(timeout: .now() + seconds) == .success }
}
