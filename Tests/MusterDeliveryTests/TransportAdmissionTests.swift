import Foundation
import MusterCore
import MusterDelivery
import MusterNotify
import Testing

extension RealReceivers {
    @Suite("CurlTransport admission")
    struct TransportAdmissionTests {
        @Test("more requests than the per-host limit wait in order and all arrive, over at most that many connections")
        func perHostLimit() async throws {
            let http = try await HTTPReceiver(routes: ["/slow": ["delay": 0.2]])
            let transport = CurlTransport(configuration: .init(maxConnectionsPerHost: 2))
            defer { transport.shutdown() }
            let requests = (0..<12).map { i in
                DeliveryRequest.httpPost(url: http.url("/slow"), headers: [HTTPHeader("X-Index", "\(i)")], body: Array("{}".utf8))
            }
            let clock = ContinuousClock()
            let started = clock.now
            let results = await transport.send(requests)
            let elapsed = clock.now - started
            #expect(results.allSatisfy { $0.delivered })
            let hits = try http.hits()
            #expect(hits.count == 12)
            #expect(Set(hits.map(\.client_port)).count <= 2, "\(Set(hits.map(\.client_port)))")
            // Two at a time, 0.2 s each: about 1.2 s, never all at once.
            #expect(elapsed >= .milliseconds(1000), "\(elapsed)")
            // Arrival order per host is kept: the first two go first.
            #expect(Set(hits.prefix(2).compactMap { $0.headers["x-index"] }) == ["0", "1"])
        }

        @Test("handles reused one after another carry only each request's own URL, headers, body and timeouts")
        func reusedHandles() async throws {
            let a = try await HTTPReceiver(routes: ["/slow": ["delay": 0.5]])
            let b = try await HTTPReceiver()
            let transport = CurlTransport(configuration: .init(maxConnectionsPerHost: 1, maxTotalConnections: 1))
            defer { transport.shutdown() }
            // One handle for all: each request follows one with a different profile or different headers.
            let first = await transport.send(DeliveryRequest.httpPost(
                url: a.url("/one"), headers: [HTTPHeader("X-Only-First", "yes"), HTTPHeader("Content-Type", "application/json")],
                body: Array(#"{"n":1}"#.utf8)))
            let second = await transport.send(DeliveryRequest.httpPost(url: a.url("/one"), headers: [HTTPHeader("X-Second", "2")], body: Array("two".utf8)))
            let third = await transport.send(DeliveryRequest.httpPost(url: b.url("/other"), body: Array("three".utf8)))
            // Same URL as before but a shorter timeout than the receiver's delay: the timeout must apply.
            let fourth = await transport.send(DeliveryRequest.httpPost(
                url: a.url("/slow"), body: Array("four".utf8), timeouts: DeliveryTimeouts(connect: .seconds(1), total: TimeSpan(milliseconds: 200))))
            let fifth = await transport.send(DeliveryRequest.httpPost(url: a.url("/slow"), body: Array("five".utf8)))
            #expect(first.delivered && second.delivered && third.delivered && fifth.delivered)
            #expect(!fourth.delivered)
            let hitsA = try a.hits()
            let hitsB = try b.hits()
            #expect(hitsA.prefix(2).map(\.body) == [#"{"n":1}"#, "two"])
            #expect(hitsA[0].headers["x-only-first"] == "yes")
            #expect(hitsA[1].headers["x-only-first"] == nil)
            #expect(hitsA[1].headers["x-second"] == "2")
            let five = hitsA.first { $0.body == "five" }
            #expect(five?.path == "/slow")
            #expect(five?.headers["x-second"] == nil)
            #expect(hitsB.map(\.path) == ["/other"])
            #expect(hitsB.map(\.body) == ["three"])
        }

        @Test("a limit on one host does not hold back another host")
        func hostsIndependent() async throws {
            let slow = try await HTTPReceiver(routes: ["/slow": ["delay": 0.6]])
            let fast = try await HTTPReceiver()
            let transport = CurlTransport(configuration: .init(maxConnectionsPerHost: 1))
            defer { transport.shutdown() }
            let slowRequests = (0..<3).map { _ in DeliveryRequest.httpPost(url: slow.url("/slow"), body: Array("{}".utf8)) }
            async let slowResults = transport.send(slowRequests)
            try await _Concurrency.Task.sleep(for: .milliseconds(100))
            let clock = ContinuousClock()
            let started = clock.now
            let quick = await transport.send(DeliveryRequest.httpPost(url: fast.url("/fast"), body: Array("{}".utf8)))
            #expect(quick.delivered)
            #expect(clock.now - started < .milliseconds(500))
            let slowDone = await slowResults
            #expect(slowDone.allSatisfy { $0.delivered })
        }
    }
}
