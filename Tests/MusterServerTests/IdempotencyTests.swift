import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MusterCore
import MusterJournal
import MusterRuntime
import MusterServer
import MusterTestSupport
import NIOCore
import Testing

extension TestClientProtocol {
    /// A JSON POST as `who` with an `Idempotency-Key`; status, body and whether the answer was replayed.
    func keyed(_ f: ServerFixture, _ who: String, _ uri: String, key: String, _ body: [String: Any]) async throws
        -> (status: Int, json: [String: Any], replayed: Bool) {
        var headers = f.headers(who)
        headers[HTTPField.Name("Idempotency-Key")!] = key
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body))) { r in
            let json = (try? JSONSerialization.jsonObject(with: Data(String(buffer: r.body).utf8))) as? [String: Any] ?? [:]
            return (Int(r.status.code), json, r.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
        }
    }
}

@Suite("Idempotency keys: a retried request is answered, never applied twice")
struct IdempotencyTests {
    @Test("a command retried with its key gets the first answer (same events, same seqs) and is journaled once")
    func commandRetried() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            let uri = "/api/runs/\(id)/commands"
            let first = try await client.keyed(f, "Lee", uri, key: "k-note-1", ["type": "note", "text": "EDR isolated host 12"])
            #expect(first.status == 200 && !first.replayed)
            let again = try await client.keyed(f, "Lee", uri, key: "k-note-1", ["type": "note", "text": "EDR isolated host 12"])
            #expect(again.status == 200 && again.replayed, "\(again)")
            let seqs = { (json: [String: Any]) in (json["events"] as? [[String: Any]] ?? []).compactMap { $0["seq"] as? Int } }
            #expect(!seqs(first.json).isEmpty && seqs(again.json) == seqs(first.json))
            #expect(again.json["command"] as? String == first.json["command"] as? String)
            let notes = try f.state.journal.events(runID: id).filter { if case .noteAdded(let t) = $0.body { t == "EDR isolated host 12" } else { false } }
            #expect(notes.count == 1)

            // The same key with another body: refused, nothing applied.
            let other = try await client.keyed(f, "Lee", uri, key: "k-note-1", ["type": "note", "text": "something else"])
            #expect(other.status == 422 && other.json["code"] as? String == "idempotency-key-reused")
            // Keys are per user: Sam's "k-note-1" is a new command.
            #expect(try await client.keyed(f, "Sam", uri, key: "k-note-1", ["type": "note", "text": "EDR isolated host 12"]).replayed == false)
            // A malformed key names the header.
            let bad = try await client.keyed(f, "Lee", uri, key: "has space", ["type": "note", "text": "x"])
            #expect(bad.status == 400 && bad.json["field"] as? String == "Idempotency-Key")
            #expect(try f.state.journal.verify(runID: id).isIntact)
        }
    }

    @Test("a declaration retried gives the same run; a rejected command that wrote nothing keeps no key and is judged again")
    func rejectionAndDeclare() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let body: [String: Any] = ["playbook": "ransomware-file-servers", "title": "Retried declaration", "disruption_started": "5m"]
            let first = try await client.keyed(f, "Dana", "/api/runs", key: "declare-1", body)
            #expect(first.status == 201)
            let again = try await client.keyed(f, "Dana", "/api/runs", key: "declare-1", body)
            #expect(again.status == 201 && again.replayed, "\(again)")
            #expect(again.json["id"] as? String == first.json["id"] as? String)
            #expect(try f.state.journal.runs().filter { $0.title == "Retried declaration" }.count == 1)

            // An unknown task is rejected by the engine; with nothing written, no key is kept and a retry is judged again.
            let id = try #require(first.json["id"] as? String)
            let uri = "/api/runs/\(id)/commands"
            let rejected = try await client.keyed(f, "Dana", uri, key: "k-bad", ["type": "task-done", "task": "no-such-task"])
            #expect(rejected.status == 409 && rejected.json["code"] as? String == "rejected")
            let retried = try await client.keyed(f, "Dana", uri, key: "k-bad", ["type": "task-done", "task": "no-such-task"])
            #expect(retried.status == 409 && retried.json["rejection"] as? String == rejected.json["rejection"] as? String)
        }
    }

    @Test("a player's action in a server-driven exercise, retried with its key, is recorded once and answered again")
    func exercisePlayerRetried() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let started = try await client.call(f, "Olga", .post, "/api/exercises", ["exercise": "ransomware-tabletop-2026q4", "speed": "manual"])
            let run = try #require(started.json["id"] as? String, "\(started.text)")
            let uri = "/api/runs/\(run)/commands"
            let first = try await client.keyed(f, "Lee", uri, key: "x-done-confirm", ["type": "task-done", "task": "confirm"])
            #expect(first.status == 200 && !first.replayed, "\(first)")
            let again = try await client.keyed(f, "Lee", uri, key: "x-done-confirm", ["type": "task-done", "task": "confirm"])
            #expect(again.status == 200 && again.replayed, "\(again)")
            #expect((again.json["events"] as? [[String: Any]])?.count == (first.json["events"] as? [[String: Any]])?.count)
            let completions = try f.state.journal.events(runID: run).filter { if case .taskCompleted = $0.body { true } else { false } }
            #expect(completions.count == 1)
        }
    }

    @Test("concurrent retries of one key through one server: exactly one application, the others answered with it or told to retry")
    func concurrentRetries() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<20 {
                    group.addTask { try await client.keyed(f, "Lee", "/api/runs/\(id)/commands", key: "burst", ["type": "note", "text": "once"]).status }
                }
                var all: [Int] = []
                for try await s in group { all.append(s) }
                return all
            }
            #expect(statuses.allSatisfy { $0 == 200 || $0 == 409 }, "\(statuses)")
            #expect(statuses.contains(200))
            let notes = try f.state.journal.events(runID: id).filter { if case .noteAdded("once") = $0.body { true } else { false } }
            #expect(notes.count == 1)
        }
    }
}

@Suite("Leases: one server fires the timers; another takes over when it stops")
struct TimerPumpLeaseTests {
    @Test("two servers on one journal: one holds the timer pump; released on shutdown, the other takes it at its next pass")
    func pumpLease() throws {
        let a = try ServerFixture { $0.instanceID = "server-a" }
        let journal = a.state.journal
        var configuration = a.state.configuration
        configuration.instanceID = "server-b"
        let b = ServerState(runtime: IncidentRuntime(journal: try TestDatabase.open(home: a.folder)), configuration: configuration)
        ClusterControl.pumpOnce(a.state)
        ClusterControl.pumpOnce(b)
        #expect(try journal.liveLease("timer-pump")?.holder == "server-a")
        #expect(ClusterControl.holdsTimerPump(a.state) && !ClusterControl.holdsTimerPump(b))
        ClusterControl.release(a.state)
        ClusterControl.pumpOnce(b)
        #expect(try journal.liveLease("timer-pump")?.holder == "server-b")
        #expect(ClusterControl.holdsTimerPump(b))
        ClusterControl.pumpOnce(a.state)
        #expect(!ClusterControl.holdsTimerPump(a.state))
    }
}
