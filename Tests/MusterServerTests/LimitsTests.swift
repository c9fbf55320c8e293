import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MusterCore
import MusterJournal
import MusterRuntime
import Testing
@testable import MusterServer
#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection to the server under test, for what an HTTP client library will not do: send half a
/// request, stop reading, vanish. Reads never block a thread (the server's handlers share the cooperative pool).
final class RawConnection: @unchecked Sendable {
    let fd: Int32
    private(set) var received = ""

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw Failure("connect to port \(port) failed: errno \(errno)") }
    }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads for up to `seconds`, until `done(received so far)` holds or the peer closes; whether it closed.
    func read(for seconds: Double, until done: (String) -> Bool = { _ in false }) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while Date() < deadline {
            let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if n == 0 { return true }
            if n < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    if done(received) { return false }
                    try? await _Concurrency.Task.sleep(for: .milliseconds(20))
                    continue
                }
                return true  // reset
            }
            received += String(decoding: buffer[0..<n], as: UTF8.self)
            if done(received) { return false }
        }
        return false
    }

    /// The status code of the response received so far (nil before its status line).
    var status: Int? {
        guard received.hasPrefix("HTTP/1.1 ") else { return nil }
        return Int(received.dropFirst(9).prefix(3))
    }

    func close() { Glibc.close(fd) }
}

extension ServerFixture {
    func streamRequest(_ runID: String, as who: String) -> String {
        "GET /api/runs/\(runID)/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(tokens[who]!)\r\n\r\n"
    }
}

@Suite("Limits: live streams re-authorized, timeouts, caps, bounded memory", .serialized)
struct LimitsTests {
    /// GETs a run's stream as `who` through the test router until it ends by itself (or `stopAfter` stops every
    /// stream); its text and how long it stayed open.
    func stream(_ client: some TestClientProtocol, _ f: ServerFixture, _ runID: String, as who: String,
                stopAfter: Duration = .seconds(8)) async throws -> (text: String, open: Duration) {
        let state = f.state
        let stopper = _Concurrency.Task {
            try? await _Concurrency.Task.sleep(for: stopAfter)
            if !_Concurrency.Task.isCancelled { StreamControl.stop(state) }
        }
        defer { stopper.cancel() }
        let started = ContinuousClock.now
        let text = try await client.execute(uri: "/api/runs/\(runID)/stream", method: .get, headers: f.headers(who)) { String(buffer: $0.body) }
        return (text, ContinuousClock.now - started)
    }

    @Test("relieved from a restricted run: the open stream ends before the relief, and nothing after it, is written")
    func relief() async throws {
        // Periodic re-authorization far away: only the check on role changes can end the stream in time.
        let f = try ServerFixture(poll: .milliseconds(50)) { $0.streamReauthInterval = .seconds(60) }
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f, restricted: true)
            let runtime = f.state.runtime
            let state = f.state
            let actor = _Concurrency.Task {
                try await StreamControl.waitForStream(state, runID: id)
                try await _Concurrency.Task.sleep(for: .milliseconds(400))  // and its backlog written
                try runtime.execute(Command(actor: "Dana", .note("before the relief")), on: id)
                try await _Concurrency.Task.sleep(for: .milliseconds(300))
                try runtime.execute(Command(actor: "Dana", .relieve(role: "it_ops", handover: nil)), on: id)
                for i in 1...3 { try runtime.execute(Command(actor: "Dana", .note("secret \(i)")), on: id) }
            }
            let (text, open) = try await stream(client, f, id, as: "Lee")
            try await actor.value
            #expect(open < .seconds(5), "the stream stayed open \(open)")
            #expect(text.contains("before the relief"))
            #expect(!text.contains("role-relieved"))
            #expect(!text.contains("secret"))
            // Lee no longer sees the run at all.
            #expect(try await client.call(f, "Lee", .get, "/api/runs/\(id)").status == 404)
        }
    }

    @Test("a token revoked by another process: the open stream ends within the re-authorization period (plus the token cache)")
    func revokedElsewhere() async throws {
        let f = try ServerFixture(poll: .milliseconds(50)) { $0.streamReauthInterval = .milliseconds(200) }
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            let journal = f.state.journal
            let revoker = _Concurrency.Task {
                try await _Concurrency.Task.sleep(for: .milliseconds(300))
                try journal.revokeUser(name: "Lee", at: Instant(millisecondsSinceEpoch: 0))
            }
            let (text, open) = try await stream(client, f, id, as: "Lee")
            try await revoker.value
            #expect(open < .seconds(5), "the stream stayed open \(open)")
            #expect(text.contains("event: timeline"))
        }
    }

    @Test("a user revoked through the API: their open stream ends at once")
    func revokedHere() async throws {
        let f = try ServerFixture(poll: .milliseconds(50)) {
            $0.streamReauthInterval = .seconds(60)
            $0.heartbeatInterval = .seconds(60)
        }
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            let revoker = _Concurrency.Task {
                try await _Concurrency.Task.sleep(for: .milliseconds(300))
                return try await client.call(f, "Dana", .delete, "/api/users/Lee").status
            }
            let (_, open) = try await stream(client, f, id, as: "Lee")
            #expect(try await revoker.value == 200)
            #expect(open < .seconds(5), "the stream stayed open \(open)")
        }
    }

    @Test("a quiet stream sends a heartbeat comment every heartbeat interval")
    func heartbeat() async throws {
        let f = try ServerFixture { $0.heartbeatInterval = .milliseconds(100) }
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            // Every 100 ms, so about 60 in 6 s; at least two say they repeat, with room for a machine so loaded
            // that the server's timers run a second late (a run beside two builds saw one heartbeat in a 2 s window).
            let (text, _) = try await stream(client, f, id, as: "Lee", stopAfter: .seconds(6))
            let beats = text.components(separatedBy: "\n: heartbeat\n\n").count - 1
            #expect(beats >= 2, "\(beats) heartbeats in 6 s")
        }
    }

    @Test("a client that went away is noticed on a quiet run: its stream ends with the next heartbeat")
    func departedClient() async throws {
        let f = try ServerFixture { $0.heartbeatInterval = .milliseconds(100) }
        try await f.app.test(.live) { client async throws in
            let id = try await client.declareRun(f)
            let port = try #require(client.port)
            let socket = try RawConnection(port: port)
            socket.send(f.streamRequest(id, as: "Lee"))
            _ = await socket.read(for: 5) { $0.contains("event: timeline") }
            #expect(socket.status == 200)
            #expect(await waitUntil(within: 5) { StreamControl.openStreams(f.state) == 1 })
            socket.close()
            #expect(await waitUntil(within: 5) { StreamControl.openStreams(f.state) == 0 })
        }
    }

    @Test("live streams per user are capped (429 beyond); a closed one frees its slot; other users are not affected")
    func streamCap() async throws {
        let f = try ServerFixture {
            $0.maxStreamsPerUser = 2
            $0.heartbeatInterval = .milliseconds(100)
        }
        try await f.app.test(.live) { client async throws in
            let id = try await client.declareRun(f)
            let port = try #require(client.port)
            func open(_ who: String) async throws -> RawConnection {
                let socket = try RawConnection(port: port)
                socket.send(f.streamRequest(id, as: who))
                _ = await socket.read(for: 5) { $0.contains("\r\n\r\n") && ($0.contains("event: timeline") || !$0.hasPrefix("HTTP/1.1 200")) }
                return socket
            }
            let first = try await open("Lee"), second = try await open("Lee")
            let third = try await open("Lee")
            let sams = try await open("Sam")
            #expect([first.status, second.status, third.status, sams.status] == [200, 200, 429, 200])
            #expect(third.received.contains("live streams open"))
            first.close()
            #expect(await waitUntil(within: 5) { StreamControl.openStreams(f.state) == 2 })
            let again = try await open("Lee")
            #expect(again.status == 200)
            for s in [second, third, sams, again] { s.close() }
        }
    }

    @Test("a subscriber that stops reading is dropped when its queue is full; what it had queued runs without a gap")
    func slowConsumer() async throws {
        let f = try ServerFixture()
        let runtime = f.state.runtime
        let id = try runtime.declare(DeclareRequest(playbookPath: repositoryRoot + "/playbooks/ransomware-file-servers.yaml",
                                                    title: "Slow reader", actor: "Dana")).runID
        let hub = EventHub(journal: runtime.journal, interval: .milliseconds(20), bufferBatches: 3)
        let subscription = try #require(try hub.subscribe(runID: id, user: "Lee"))
        let head = try runtime.journal.head(runID: id).sequence
        // A note, then time for a poll (one batch each, unless a loaded machine polls late and two notes share one),
        // until the queue of 3 batches overflows; bounded.
        var notes = 0
        while notes < 40 && hub.subscriberCount > 0 {
            notes += 1
            try runtime.execute(Command(actor: "Sam", .note("n\(notes)")), on: id)
            try await _Concurrency.Task.sleep(for: .milliseconds(120))
        }
        let dropped = hub.subscriberCount == 0
        hub.stop()  // ends the stream if it was not dropped, so that reading it below ends either way
        #expect(dropped)
        var seqs: [Int] = []
        for await signal in subscription.signals {
            if case .batch(let batch) = signal { seqs += batch.seqs }
        }
        // At most 3 batches were queued, then the subscriber was dropped: a gapless start, and not every note.
        #expect(!seqs.isEmpty && seqs.count < notes, "\(seqs.count) of \(notes) notes delivered")
        #expect(seqs == Array((head + 1)..<(head + 1 + seqs.count)))
    }

    @Test("a request head not complete within the head timeout closes the connection; whole requests are served")
    func headTimeout() async throws {
        let f = try ServerFixture { $0.requestHeadTimeout = .milliseconds(300) }
        try await f.app.test(.live) { client async throws in
            let port = try #require(client.port)
            let slow = try RawConnection(port: port)
            defer { slow.close() }
            slow.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            #expect(await slow.read(for: 5), "a half-sent head kept its connection")
            let whole = try RawConnection(port: port)
            defer { whole.close() }
            whole.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            _ = await whole.read(for: 5) { $0.hasSuffix("ok") }
            #expect(whole.status == 200)
        }
    }

    @Test("a request body that stops arriving closes the connection after the idle timeout")
    func idleTimeout() async throws {
        let f = try ServerFixture { $0.idleTimeout = .milliseconds(300) }
        try await f.app.test(.live) { client async throws in
            let port = try #require(client.port)
            let socket = try RawConnection(port: port)
            defer { socket.close() }
            socket.send("POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(f.tokens["Dana"]!)\r\n"
                        + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"playbook\":")
            let started = ContinuousClock.now
            #expect(await socket.read(for: 5) { _ in false }, "a stalled body kept its connection")
            #expect(ContinuousClock.now - started < .seconds(4))
        }
    }

    @Test("connections beyond the limit are closed at once; the open ones are served; a closed one frees its place")
    func connectionLimit() async throws {
        let f = try ServerFixture { $0.maxConnections = 3 }
        try await f.app.test(.live) { client async throws in
            let port = try #require(client.port)
            func get(_ socket: RawConnection) async -> Bool {
                socket.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                let closed = await socket.read(for: 3) { $0.hasSuffix("ok") }
                return !closed && socket.status == 200
            }
            // The test client may hold a connection of its own: open until one is refused.
            var open: [RawConnection] = []
            var refused: RawConnection?
            for _ in 0..<4 {
                let socket = try RawConnection(port: port)
                if await get(socket) { open.append(socket) } else { refused = socket; break }
            }
            #expect(open.count >= 2 && open.count <= 3, "\(open.count) connections served under a limit of 3")
            let beyond = try #require(refused, "a 4th connection was served")
            #expect(beyond.received.isEmpty)
            beyond.close()
            #expect(f.state.connections.count == 3)
            open.removeFirst().close()
            #expect(await waitUntil(within: 5) { f.state.connections.count == 2 })
            let again = try RawConnection(port: port)
            #expect(await get(again))
            for socket in open + [again] { socket.close() }
        }
    }

    @Test("commands posted to unknown run ids are 404 and leave nothing behind per id")
    func unknownRuns() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let before = StreamControl.perRunEntries(f.state)
            for i in 0..<300 {
                let r = try await client.call(f, "Lee", .post, "/api/runs/r-nope\(i)/commands", ["type": "note", "text": "hello"])
                #expect(r.status == 404)
            }
            #expect(StreamControl.perRunEntries(f.state) == before)
        }
    }

    @Test("listing runs reads their summaries, not their events: nothing is replayed, state and holders still right")
    func listingReadsNoEvents() async throws {
        let f = try ServerFixture(pumpInterval: .milliseconds(20))
        // Another server holds the timer pump: this one's pump would load the open runs to find their next due
        // timer, at any moment of the test, and the count below is of what listing loads.
        _ = try f.state.journal.acquireLease("timer-pump", holder: "another-server", for: .seconds(3600))
        try await f.app.test(.router) { client async throws in
            let open = try await client.declareRun(f)
            let restricted = try await client.declareRun(f, restricted: true)
            let closed = try await client.declareRun(f)
            #expect(try await client.call(f, "Dana", .post, "/api/runs/\(closed)/commands", ["type": "close", "reason": "drill"]).status == 200)
            f.state.runtime.forgetCachedRuns()
            let lee = try await client.call(f, "Lee", .get, "/api/runs")
            let olga = try await client.call(f, "Olga", .get, "/api/runs")
            #expect(f.state.runtime.cachedRunCount == 0)
            let runs = try #require(lee.json["runs"] as? [[String: Any]])
            #expect(runs.compactMap { $0["id"] as? String } == [closed, restricted, open])
            #expect(runs.compactMap { $0["status"] as? String } == ["closed", "open", "open"])
            #expect(runs.compactMap { $0["state"] as? String } == ["triage", "triage", "triage"])
            #expect(runs.compactMap { $0["on_run"] as? Bool } == [true, true, true])
            #expect((olga.json["runs"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [closed, open])
        }
    }
}
