import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MusterTestSupport
import Testing

@Suite("Journal work off Swift's cooperative threads")
struct DatabaseExecutorTests {
    @Test("requests waiting on a locked PostgreSQL table do not stall requests that need no database")
    func waitsDoNotStall() async throws {
        let f = try ServerFixture(backend: .postgresql)
        let schema = try TestPostgres.schema(forHome: f.folder)
        // Another session holds the users table for 15 s: every token look-up waits for it.
        let scratch = URL(fileURLWithPath: f.folder)
        let locker = try TestPostgres.startPsql("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(15); COMMIT;",
                                                schema: schema, outputIn: scratch)
        defer { _ = locker.wait(timeout: 30) }  // the lock is gone by then (15 s)
        try await Task.sleep(for: .milliseconds(500))  // the lock is taken
        try await f.app.test(.live) { client async throws in
            // More waiting requests than this machine has cooperative threads (unknown tokens: each one a look-up),
            // each on a connection of its own (curl processes).
            let port = try #require(client.port)
            let launched = Date()
            let waiting = try (0..<(2 * ProcessInfo.processInfo.activeProcessorCount + 2)).map { index in
                try SpawnedProcess.start(URL(fileURLWithPath: "/usr/bin/curl"),
                                         ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "40", "-H", "Authorization: Bearer unknown-\(index)",
                                          "http://127.0.0.1:\(port)/api/runs"], directory: scratch, outputIn: scratch)
            }
            // Measured from the launch: when the blocked requests hold the cooperative threads, this test's own sleep
            // and request stall with everything else in the process.
            try await Task.sleep(for: .milliseconds(500))
            let health = try await client.execute(uri: "/healthz", method: .get) { Int($0.status.code) }
            let waited = Date().timeIntervalSince(launched)
            #expect(health == 200)
            // Stalled behind them it would wait until the lock goes (about 14 s after the launch); on two cores
            // running the whole suite it took up to 5 s of its own.
            #expect(waited < 10, "GET /healthz waited \(waited) s behind requests blocked on the database")
            let statuses = try await offThePool {
                waiting.map { process in
                    _ = process.wait(timeout: 30)
                    return process.stdout
                }
            }
            #expect(statuses.allSatisfy { $0 == "401" }, "\(statuses)")
        }
    }
}
