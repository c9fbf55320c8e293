import Foundation
import MusterCore
import MusterNotify
import Testing

/// One transport for the suite, as the delivery worker will have one per process.
let sharedTransport = CurlTransport()

func post(_ url: String, body: String = "{\"hello\":\"world\"}", timeouts: DeliveryTimeouts = .standard, redactor: Redactor = Redactor()) -> DeliveryRequest {
    .httpPost(url: url, headers: [HTTPHeader("Content-Type", "application/json")], body: Array(body.utf8), timeouts: timeouts, redactor: redactor, label: "test")
}

extension RealServers {
    @Suite("Delivery over libcurl against a real HTTP receiver")
    struct DeliveryTests {
        @Test("a 2xx answer is delivered, with status and latency, and the body arrives byte for byte")
        func delivered() async throws {
            let receiver = try await HTTPReceiver()
            defer { receiver.stop() }
            let body = "{\"text\":\"Zürich — 東京 ✓\"}"
            let result = await sharedTransport.send(post(receiver.url("/ok"), body: body))
            #expect(result.delivered, "\(String(describing: result.failure))")
            #expect(result.status == 200)
            #expect(result.latency >= .zero && result.latency < .seconds(5))
            let requests = try receiver.requests()
            #expect(requests.count == 1)
            #expect(requests.first?.method == "POST")
            #expect(requests.first?.bodyBytes == Array(body.utf8))
            #expect(requests.first?.headers["content-type"] == "application/json")
            #expect(requests.first?.headers["user-agent"] == "Muster/1")
            #expect(requests.first?.headers["expect"] == nil)
        }

        @Test("500 is a transient failure and the next attempt's 200 is delivered")
        func serverErrorThenSuccess() async throws {
            let receiver = try await HTTPReceiver(routes: ["/flaky": ["statuses": [500, 200]]])
            defer { receiver.stop() }
            let first = await sharedTransport.send(post(receiver.url("/flaky")))
            #expect(first.status == 500)
            guard case .transient(let reason) = first.failure else {
                Issue.record("expected a transient failure, got \(String(describing: first.failure))")
                return
            }
            #expect(reason.contains("HTTP 500"))
            let second = await sharedTransport.send(post(receiver.url("/flaky")))
            #expect(second.delivered)
            #expect(second.status == 200)
            #expect(try receiver.requests().map(\.attempt) == [1, 2])
        }

        @Test("400 is a permanent failure whose reason quotes the status and the receiver's answer")
        func badRequestIsPermanent() async throws {
            let receiver = try await HTTPReceiver(routes: ["/bad": ["status": 400, "body": "invalid payload: missing text"]])
            defer { receiver.stop() }
            let result = await sharedTransport.send(post(receiver.url("/bad")))
            #expect(result.status == 400)
            #expect(result.failure?.isPermanent == true)
            #expect(result.failure?.reason.contains("HTTP 400 Bad Request") == true)
            #expect(result.failure?.reason.contains("invalid payload: missing text") == true)
            #expect(result.responseSnippet == "invalid payload: missing text")
        }

        @Test("408 and 429 are transient, other 4xx permanent, 5xx transient", arguments: [
            (401, false), (403, false), (404, false), (408, true), (410, false), (422, false), (429, true),
            (500, true), (502, true), (503, true), (504, true),
        ])
        func statusClassification(status: Int, transient: Bool) async throws {
            let receiver = try await HTTPReceiver(routes: ["/s": ["status": status]])
            defer { receiver.stop() }
            let result = await sharedTransport.send(post(receiver.url("/s")))
            #expect(result.status == status)
            #expect(result.failure != nil)
            #expect(result.failure?.isPermanent == !transient)
        }

        @Test("429 with Retry-After in seconds is transient and carries the delay")
        func retryAfterSeconds() async throws {
            let receiver = try await HTTPReceiver(routes: ["/limited": ["status": 429, "headers": ["Retry-After": "7"], "body": "slow down"]])
            defer { receiver.stop() }
            let result = await sharedTransport.send(post(receiver.url("/limited")))
            #expect(result.status == 429)
            #expect(result.failure?.isPermanent == false)
            #expect(result.retryAfter == .seconds(7))
            #expect(result.retryAfter?.delay(from: Instant(millisecondsSinceEpoch: 0)) == .seconds(7))
            #expect(result.failure?.reason.contains("Retry-After: 7s") == true, "\(String(describing: result))")
        }

        @Test("503 with Retry-After as an HTTP date is parsed to that instant")
        func retryAfterDate() async throws {
            let receiver = try await HTTPReceiver(routes: ["/maint": ["status": 503, "headers": ["Retry-After": "Fri, 06 Mar 2026 17:45:00 GMT"]]])
            defer { receiver.stop() }
            let result = await sharedTransport.send(post(receiver.url("/maint")))
            #expect(result.status == 503)
            #expect(result.failure?.isPermanent == false)
            let due = Instant(iso8601: "2026-03-06T17:45:00Z")!
            #expect(result.retryAfter == .date(due))
            #expect(result.retryAfter?.delay(from: Instant(iso8601: "2026-03-06T17:40:00Z")!) == .minutes(5))
        }

        @Test("a receiver slower than the total timeout ends as a transient timeout, on time")
        func timeout() async throws {
            let receiver = try await HTTPReceiver(routes: ["/slow": ["delay": 5.0]])
            defer { receiver.stop() }
            let started = ContinuousClock.now
            let result = await sharedTransport.send(post(receiver.url("/slow"), timeouts: DeliveryTimeouts(connect: .seconds(2), total: TimeSpan(milliseconds: 600))))
            let waited = ContinuousClock.now - started
            #expect(result.failure?.isPermanent == false)
            #expect(result.failure?.reason.contains("Timeout was reached") == true, "\(String(describing: result.failure))")
            #expect(result.curlCode == 28)
            #expect(result.status == nil)
            #expect(waited < .seconds(3))
        }

        @Test("a closed port is connection refused: transient, with libcurl's text")
        func connectionRefused() async throws {
            let port = try closedPort()
            let result = await sharedTransport.send(post("http://127.0.0.1:\(port)/hook"))
            #expect(result.failure?.isPermanent == false)
            #expect(result.curlCode == 7)
            #expect(result.failure?.reason.contains("Couldn't connect to server") == true, "\(String(describing: result.failure))")
            #expect(result.status == nil)
        }

        @Test("a connection closed mid-response is transient", arguments: ["mid-response", "before-response"])
        func droppedConnection(mode: String) async throws {
            let receiver = try await HTTPReceiver(routes: ["/drop": ["drop": mode]])
            defer { receiver.stop() }
            let result = await sharedTransport.send(post(receiver.url("/drop")))
            #expect(result.failure?.isPermanent == false, "\(String(describing: result.failure))")
            #expect(!result.delivered)
            // 18: transfer closed with bytes remaining; 52: empty reply from server.
            #expect(result.curlCode == (mode == "mid-response" ? 18 : 52), "\(String(describing: result.failure))")
            #expect(try receiver.requests().count == 1)
        }

        @Test("a host name that does not resolve is a transient DNS failure")
        func dnsFailure() async throws {
            let result = await sharedTransport.send(post("http://nonexistent.invalid/", timeouts: DeliveryTimeouts(connect: .seconds(5), total: .seconds(10))))
            #expect(result.failure?.isPermanent == false)
            #expect(result.curlCode == 6)
            #expect(result.failure?.reason.hasPrefix("DNS lookup failed") == true, "\(String(describing: result.failure))")
            #expect(result.failure?.reason.contains("nonexistent.invalid") == true)
        }

        @Test("a URL of another scheme is refused before anything is sent: permanent")
        func otherSchemeRefused() async throws {
            let result = await sharedTransport.send(post("file:///etc/passwd"))
            #expect(result.failure?.isPermanent == true, "\(String(describing: result.failure))")
            #expect(result.curlCode == 1)
        }

        @Test("200 concurrent posts all complete through the multi interface, over reused connections")
        func concurrentPosts() async throws {
            let receiver = try await HTTPReceiver(routes: ["/slowish": ["delay": 0.2]])
            defer { receiver.stop() }
            let transport = CurlTransport(configuration: .init(maxConnectionsPerHost: 64))
            defer { transport.shutdown() }
            let requests = (0..<200).map { post(receiver.url("/slowish"), body: "{\"n\":\($0)}") }
            let started = ContinuousClock.now
            let results = await transport.send(requests)
            let elapsed = ContinuousClock.now - started
            #expect(results.count == 200)
            #expect(results.allSatisfy { $0.delivered }, "\(results.compactMap(\.failure).prefix(3))")
            let recorded = try receiver.requests()
            #expect(recorded.count == 200)
            #expect(Set(recorded.map(\.body)) == Set((0..<200).map { "{\"n\":\($0)}" }))
            // Sequentially this would take 40 s; 64 connections at 0.2 s each take about 1 s.
            #expect(elapsed < .seconds(15))
            // At most 64 connections were opened for 200 requests: the rest reused them.
            #expect(Set(recorded.map(\.client_port)).count <= 64)
        }

        @Test("sequential sends to one host reuse one connection")
        func connectionReuse() async throws {
            let receiver = try await HTTPReceiver()
            defer { receiver.stop() }
            let transport = CurlTransport()
            defer { transport.shutdown() }
            for n in 0..<5 {
                let result = await transport.send(post(receiver.url("/reuse"), body: "{\"n\":\(n)}"))
                #expect(result.delivered)
            }
            let ports = Set(try receiver.requests().map(\.client_port))
            #expect(ports.count == 1)
        }

        @Test("the completion-based API delivers too, and a shut-down transport fails new work at once")
        func completionAPIAndShutdown() async throws {
            let receiver = try await HTTPReceiver()
            defer { receiver.stop() }
            let transport = CurlTransport()
            let result: DeliveryResult = await withCheckedContinuation { continuation in
                transport.submit(post(receiver.url("/c"))) { continuation.resume(returning: $0) }
            }
            #expect(result.delivered)
            transport.shutdown()
            let late = await transport.send(post(receiver.url("/c")))
            #expect(late.failure == .transient("the delivery transport is shut down"))
        }

        @Test("an empty body is sent as an empty POST")
        func emptyBody() async throws {
            let receiver = try await HTTPReceiver()
            defer { receiver.stop() }
            let result = await sharedTransport.send(.httpPost(url: receiver.url("/empty"), body: []))
            #expect(result.delivered)
            let request = try #require(try receiver.requests().first)
            #expect(request.method == "POST")
            #expect(request.headers["content-length"] == "0")
            #expect(request.bodyBytes.isEmpty)
        }

        @Test("shutting down ends transfers in flight as transient failures, promptly")
        func shutdownInFlight() async throws {
            let receiver = try await HTTPReceiver(routes: ["/slow": ["delay": 5.0]])
            defer { receiver.stop() }
            let transport = CurlTransport()
            let started = ContinuousClock.now
            async let results = transport.send([post(receiver.url("/slow")), post(receiver.url("/slow"))])
            // Wait (bounded) until the receiver has both requests, then stop the transport.
            for _ in 0..<200 where try receiver.requests().count < 2 {
                try await _Concurrency.Task.sleep(for: .milliseconds(10))
            }
            transport.shutdown()
            let finished = await results
            #expect(finished.map(\.failure) == Array(repeating: .transient("the delivery transport shut down during the transfer"), count: 2))
            #expect(ContinuousClock.now - started < .seconds(4))
        }

        @Test("TLS certificates are verified: an unknown CA is a permanent failure, a trusted one delivers")
        func tlsVerification() async throws {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let certificate = try selfSignedCertificate(in: directory)
            let receiver = try await HTTPReceiver(tls: certificate)
            defer { receiver.stop() }
            let untrusted = await sharedTransport.send(post(receiver.url("/tls", scheme: "https")))
            #expect(untrusted.failure?.isPermanent == true, "\(String(describing: untrusted.failure))")
            #expect(untrusted.curlCode == 60)
            let trusting = CurlTransport(configuration: .init(caBundlePath: certificate.cert))
            defer { trusting.shutdown() }
            let trusted = await trusting.send(post(receiver.url("/tls", scheme: "https")))
            #expect(trusted.delivered, "\(String(describing: trusted.failure))")
            #expect(try receiver.requests().count == 1)
        }
    }
}

@Suite("Retry-After parsing")
struct RetryAfterTests {
    @Test("seconds and the three HTTP date forms parse; garbage does not", arguments: [
        ("120", RetryAfter.seconds(120)),
        (" 0 ", RetryAfter.seconds(0)),
        ("Sun, 06 Nov 1994 08:49:37 GMT", RetryAfter.date(Instant(iso8601: "1994-11-06T08:49:37Z")!)),
        ("Sunday, 06-Nov-94 08:49:37 GMT", RetryAfter.date(Instant(iso8601: "1994-11-06T08:49:37Z")!)),
        ("Sun Nov  6 08:49:37 1994", RetryAfter.date(Instant(iso8601: "1994-11-06T08:49:37Z")!)),
    ])
    func parses(text: String, expected: RetryAfter) {
        #expect(RetryAfter(headerValue: text) == expected)
    }

    @Test("values that are neither seconds nor an HTTP date are ignored", arguments: ["-5", "soon", "1.5", "", "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT"])
    func rejects(text: String) {
        #expect(RetryAfter(headerValue: text) == nil)
    }

    @Test("a date in the past means no wait")
    func pastDate() {
        let retry = RetryAfter.date(Instant(iso8601: "2026-01-01T00:00:00Z")!)
        #expect(retry.delay(from: Instant(iso8601: "2026-01-02T00:00:00Z")!) == .zero)
    }
}
