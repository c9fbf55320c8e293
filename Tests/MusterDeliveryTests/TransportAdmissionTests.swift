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
