import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MusterJournal
import MusterRuntime
import MusterServer
import MusterTestSupport
import Testing

/// A PostgreSQL cluster of the test's own (`scripts/postgres-cluster`), which the test can crash and start again.
struct OwnCluster {
    let folder = "/tmp/muster-outage-\(UUID().uuidString.prefix(8))"
    let url: String

    init() throws {
        let started = try Self.script(["start", folder])
        guard started.status == 0 else { throw TestSupportError("postgres-cluster start: \(started.stderr)") }
        url = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func script(_ arguments: [String]) throws -> ProgramOutput {
        try SpawnedProcess.run(URL(fileURLWithPath: "/usr/bin/python3"), ["-c", TestPostgres.defaultSignals, repositoryRoot + "/scripts/postgres-cluster"] + arguments,
                               timeout: 120)
    }

    func halt() throws {
        let done = try Self.script(["halt", folder])
        guard done.status == 0 else { throw TestSupportError("postgres-cluster halt: \(done.stderr)") }
    }

    func resume() throws {
        let done = try Self.script(["resume", folder])
        guard done.status == 0 else { throw TestSupportError("postgres-cluster resume: \(done.stderr)") }
    }
    func remove() { _ = try? Self.script(["stop", folder]) }
}

@Suite("The server while its database is down")
struct DatabaseOutageTests {
    @Test("with PostgreSQL down, /healthz and commands answer 503 with Retry-After (not a hang, not a 500); back up, the server carries on without a restart")
    func outage() async throws {
        let cluster = try await offThePool { try OwnCluster() }
        defer { cluster.remove() }
        let journal = try Journal.open(.postgres(url: cluster.url), durability: .normal)
        let f = try ServerFixture(journal: journal)
        try await f.app.test(.router) { client async throws in
            #expect(try await client.execute(uri: "/healthz", method: .get) { Int($0.status.code) } == 200)
            let id = try await client.declareRun(f)
            #expect(try await client.call(f, "Dana", .post, "/api/runs/\(id)/commands", ["type": "note", "text": "before"]).status == 200)

            try await offThePool { try cluster.halt() }
            try await Task.sleep(for: .milliseconds(1100))  // past the health answer's one-second life
            let health = try await client.execute(uri: "/healthz", method: .get) { ($0.status.code, $0.headers[.retryAfter]) }
            #expect(health.0 == 503 && health.1 == "5")
            let started = Date()
            let during = try await client.call(f, "Dana", .post, "/api/runs/\(id)/commands", ["type": "note", "text": "during"])
            #expect(during.status == 503, "\(during.text)")
            #expect(during.json["code"] as? String == "unavailable")
            #expect(Date().timeIntervalSince(started) < 15)
            #expect(try await client.call(f, "Dana", .get, "/api/runs/\(id)").status == 503)

            try await offThePool { try cluster.resume() }
            let back = try await waitUntil(within: 15) {
                try await client.call(f, "Dana", .post, "/api/runs/\(id)/commands", ["type": "note", "text": "after"]).status == 200
            }
            #expect(back)
            try await Task.sleep(for: .milliseconds(1100))
            #expect(try await client.execute(uri: "/healthz", method: .get) { Int($0.status.code) } == 200)
            let notes = try journal.events(runID: id).compactMap { event -> String? in
                if case .noteAdded(let text) = event.body { text } else { nil }
            }
            #expect(notes == ["before", "after"])
            #expect(try journal.verify(runID: id).isIntact)
        }
    }
}
