import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MusterCore
import MusterJournal
import MusterRuntime
import MusterServer
import MusterTestSupport
import Testing

/// The routes that give the API what the CLI does for runs, exercises, lessons and actions: verify, timeline
/// exports, the exercise evaluation, the improvement plan and programme, and retrying a notification. Where the
/// CLI prints a document, the answer is compared with the real `muster` binary's output on the same journal.
@Suite("API parity with the CLI", .serialized)
struct ParityAPITests {
    // MARK: Verify

    @Test("GET /api/runs/{id}/verify: intact with count and head hash; after a row is edited with sqlite3, the first broken seq")
    func verifyRun() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            let stored = try f.state.journal.storedEvents(runID: id)
            let intact = try await client.call(f, "Olga", .get, "/api/runs/\(id)/verify")
            #expect(intact.status == 200, "\(intact.text)")
            #expect(intact.json["intact"] as? Bool == true && intact.json["run"] as? String == id)
            #expect(intact.json["event_count"] as? Int == stored.count)
            #expect(intact.json["head_hash"] as? String == stored.last?.hash)
            #expect(intact.json["first_broken"] is NSNull)
            #expect((intact.json["description"] as? String)?.contains("chain intact") == true)

            #expect(try await client.call(f, nil, .get, "/api/runs/\(id)/verify").status == 401)
            #expect(try await client.call(f, "Olga", .get, "/api/runs/r-000000/verify").status == 404)

            let edit = try TestDatabase.tamper(home: f.folder, table: "events", trigger: "events_append_only_update",
                                               "UPDATE events SET actor = 'Mallory' WHERE run_id = '\(id)' AND seq = 2;")
            #expect(edit.status == 0, "\(edit.stderr)")
            let broken = try await client.call(f, "Olga", .get, "/api/runs/\(id)/verify")
            #expect(broken.status == 200, "\(broken.text)")
            #expect(broken.json["intact"] as? Bool == false)
            let link = try #require(broken.json["first_broken"] as? [String: Any])
            #expect(link["seq"] as? Int == 2)
            #expect((link["problem"] as? String)?.contains("hash mismatch") == true, "\(link)")
            #expect(broken.json["event_count"] as? Int == 1)
            #expect((broken.json["warnings"] as? [String])?.contains { $0.contains("events_append_only_update is missing") } == true)
        }
    }

    @Test("GET /api/runs/{id}/verify: a restricted run is 404 for someone not on it")
    func verifyHidden() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f, restricted: true)
            #expect(try await client.call(f, "Olga", .get, "/api/runs/\(id)/verify").status == 404)
            #expect(try await client.call(f, "Lee", .get, "/api/runs/\(id)/verify").status == 200)
        }
    }

    @Test("GET /api/actions/verify: the improvement log's chain, as muster actions verify describes it")
    func verifyActions() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            #expect(try await client.call(f, nil, .get, "/api/actions/verify").status == 401)
            let added = try await client.call(f, "Lee", .post, "/api/actions", Self.action(try await client.recordLesson(f)))
            #expect(added.status == 201, "\(added.text)")
            let r = try await client.call(f, "Olga", .get, "/api/actions/verify")
            #expect(r.status == 200 && r.json["intact"] as? Bool == true && r.json["event_count"] as? Int == 1)
            let cli = try muster(["actions", "verify"], home: f.folder)
            #expect(cli.status == 0)
            #expect(cli.stdout == (r.json["description"] as? String ?? "") + "\n")
        }
    }

    // MARK: Timeline exports

    @Test("GET /api/runs/{id}/timeline?format=text|json|csv answers the bytes muster incident timeline prints")
    func timelineMatchesCLI() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            let note = try await client.call(f, "Sam", .post, "/api/runs/\(id)/commands", ["type": "note", "text": "Staff told, by email: \"don't save\"\nsecond line"])
            #expect(note.status == 200)
            for format in ["text", "json", "csv"] {
                let (status, type, body) = try await client.document(f, "Olga", "/api/runs/\(id)/timeline?format=\(format)")
                #expect(status == 200)
                let cli = try muster(["incident", "timeline", id, "--format", format], home: f.folder)
                #expect(cli.status == 0, "\(cli.stderr)")
                #expect(Data(body.utf8) == cli.stdoutData, "format \(format) differs from the CLI's")
                #expect(type.hasPrefix(["text": "text/plain", "json": "application/json", "csv": "text/csv"][format]!))
            }
            let (_, _, plain) = try await client.document(f, "Olga", "/api/runs/\(id)/timeline")
            #expect(plain == TimelineFormats.render(try f.state.journal.storedEvents(runID: id), as: .text))

            let bad = try await client.call(f, "Olga", .get, "/api/runs/\(id)/timeline?format=xml")
            #expect(bad.status == 400 && bad.json["field"] as? String == "format")
            let scenario = try await client.call(f, "Olga", .get, "/api/runs/\(id)/timeline?format=scenario")
            #expect(scenario.status == 409 && scenario.json["code"] as? String == "conflict")
            #expect(try await client.call(f, nil, .get, "/api/runs/\(id)/timeline").status == 401)
            #expect(try await client.call(f, "Olga", .get, "/api/runs/r-000000/timeline").status == 404)
        }
    }

    // MARK: Exercise evaluation

    @Test("evaluation: facilitator and commander read it while it runs (others 403); overrule after the end by them only; text as the CLI's; hot wash")
    func evaluation() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let started = try await client.call(f, "Olga", .post, "/api/exercises", ["exercise": "ransomware-tabletop-2026q4", "speed": "manual"])
            #expect(started.status == 201, "\(started.text)")
            let run = try #require(started.json["id"] as? String)
            let path = "/api/runs/\(run)/evaluation"

            let facilitator = try await client.call(f, "Olga", .get, path)
            #expect(facilitator.status == 200, "\(facilitator.text)")
            #expect(facilitator.json["ended"] as? Bool == false)
            #expect((facilitator.json["objectives"] as? [[String: Any]] ?? []).map { $0["id"] as? String } == ["O1", "O2", "O3"])
            #expect(try await client.call(f, "Dana", .get, path).status == 200)  // the incident commander
            let player = try await client.call(f, "Lee", .get, path)
            #expect(player.status == 403 && (player.json["error"] as? String)?.contains("until the exercise ends") == true, "\(player.text)")

            let early = try await client.call(f, "Olga", .post, path, ["objective": "O2", "rating": "S", "note": "fair"])
            #expect(early.status == 409 && (early.json["error"] as? String)?.contains("has not ended") == true, "\(early.text)")
            let earlyLesson = try await client.call(f, "Lee", .post, path + "/lessons", ["text": "x"])
            #expect(earlyLesson.status == 409)

            let end = try await client.call(f, "Olga", .post, "/api/runs/\(run)/exercise", ["control": "end"])
            #expect(end.status == 200, "\(end.text)")

            let denied = try await client.call(f, "Lee", .post, path, ["objective": "O2", "rating": "S", "note": "fair"])
            #expect(denied.status == 403 && (denied.json["error"] as? String)?.contains("facilitator (Olga) or the incident commander (Dana)") == true, "\(denied.text)")
            #expect(try await client.call(f, "Olga", .post, path, ["objective": "O2", "rating": "X", "note": "fair"]).json["field"] as? String == "rating")
            let unknown = try await client.call(f, "Olga", .post, path, ["objective": "O9", "rating": "S", "note": "fair"])
            #expect(unknown.status == 404 && unknown.json["code"] as? String == "not-found" && unknown.json["field"] as? String == "objective")
            #expect(try await client.call(f, "Olga", .post, path, ["objective": "O2", "rating": "S"]).json["field"] as? String == "note")
            #expect(try await client.call(f, "Olga", .post, path, ["objective": "O2", "rating": "S", "note": "x", "by": "Olga"]).json["field"] as? String == "by")
            #expect(try await client.call(f, "Olga", .post, "/api/runs/r-000000/evaluation", ["objective": "O2", "rating": "S", "note": "x"]).status == 404)
            #expect(try await client.call(f, nil, .post, path, ["objective": "O2", "rating": "S", "note": "x"]).status == 401)

            let overruled = try await client.call(f, "Dana", .post, path, ["objective": "O2", "rating": "s", "note": "comms were fine in the room"])
            #expect(overruled.status == 200, "\(overruled.text)")
            let o2 = try #require((overruled.json["objectives"] as? [[String: Any]])?.first { $0["id"] as? String == "O2" })
            #expect(o2["rating"] as? String == "S")
            let overrule = try #require(o2["overrule"] as? [String: Any])
            #expect(overrule["by"] as? String == "Dana" && overrule["note"] as? String == "comms were fine in the room")

            // After the end everyone who sees the run reads it; the text is what muster exercise evaluate prints.
            let after = try await client.call(f, "Lee", .get, path)
            #expect(after.status == 200 && after.json["ended"] as? Bool == true)
            let cli = try muster(["exercise", "evaluate", run, "--no-hotwash"], home: f.folder)
            #expect(cli.status == 0, "\(cli.stderr)")
            #expect(cli.stdout == "run \(run)\n" + (after.json["text"] as? String ?? ""))

            let lesson = try await client.call(f, "Lee", .post, path + "/lessons", ["text": "Keep the contact list printed", "kind": "improvement", "root_cause": "documentation"])
            #expect(lesson.status == 201, "\(lesson.text)")
            #expect((lesson.json["events"] as? [[String: Any]])?.first?["type"] as? String == "lesson-recorded")
            let pat = try await client.call(f, "Dana", .post, "/api/users", ["name": "Pat"])
            let patToken = try #require(pat.json["token"] as? String)
            let observer = try await client.call(f, patToken, .post, path + "/lessons", ["text": "x"])  // not on the exercise
            #expect(observer.status == 403 && (observer.json["error"] as? String)?.contains("not on this run") == true, "\(observer.text)")
            #expect(try await client.call(f, "Lee", .post, path + "/lessons", ["text": "x", "kind": "meh"]).json["field"] as? String == "kind")
            let withLesson = try await client.call(f, "Lee", .get, path)
            #expect((withLesson.json["lessons"] as? [[String: Any]] ?? []).contains { $0["text"] as? String == "Keep the contact list printed" })
            #expect(try f.state.journal.verify(runID: run).isIntact)

            let (_, _, scenario) = try await client.document(f, "Lee", "/api/runs/\(run)/timeline?format=scenario")
            let cliTimeline = try muster(["exercise", "timeline", run], home: f.folder)
            #expect(cliTimeline.status == 0 && Data(scenario.utf8) == cliTimeline.stdoutData)
        }
    }

    @Test("evaluation: 404 for a live run and an unknown run, 401 without a token")
    func evaluationNotFound() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            let live = try await client.call(f, "Dana", .get, "/api/runs/\(id)/evaluation")
            #expect(live.status == 404 && (live.json["error"] as? String)?.contains("not an exercise") == true)
            #expect(try await client.call(f, "Dana", .get, "/api/runs/r-000000/evaluation").status == 404)
            #expect(try await client.call(f, nil, .get, "/api/runs/\(id)/evaluation").status == 401)
        }
    }

    // MARK: Improvement plan and programme

    /// An action answering `lesson`.
    static func action(_ lesson: String) -> [String: Any] {
        ["lesson": lesson, "title": "Print the contact list", "owner": "Lee", "organization": "IT", "due": "2027-01-31", "element": "planning"]
    }

    @Test("GET /api/actions/report?format=html|md|csv answers what muster actions report prints")
    func actionsReport() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            #expect(try await client.call(f, "Lee", .post, "/api/actions", Self.action(try await client.recordLesson(f))).status == 201)
            for format in ["md", "html", "csv"] {
                let (status, _, body) = try await client.document(f, "Olga", "/api/actions/report?format=\(format)")
                #expect(status == 200)
                let cli = try muster(["actions", "report", "--format", format], home: f.folder)
                #expect(cli.status == 0, "\(cli.stderr)")
                #expect(Data(body.utf8) == cli.stdoutData, "format \(format) differs from the CLI's")
                #expect(body.contains("Print the contact list"))
            }
            #expect(try await client.call(f, "Olga", .get, "/api/actions/report?format=pdf").json["field"] as? String == "format")
            #expect(try await client.call(f, nil, .get, "/api/actions/report").status == 401)
        }
    }

    @Test("GET /api/programme answers what muster programme prints for the server's playbooks; runs the caller may not read are left out")
    func programme() async throws {
        let now = "2026-11-29T10:00:00Z"
        let f = try ServerFixture(clock: ManualClock(Instant(iso8601: now)!))
        try await f.app.test(.router) { client async throws in
            let open = try await client.declareRun(f)
            let hidden = try await client.declareRun(f, restricted: true)
            let folder = f.state.configuration.playbooksFolder
            for format in ["md", "html"] {
                let (status, _, body) = try await client.document(f, "Dana", "/api/programme?format=\(format)")
                #expect(status == 200)
                let cli = try muster(["programme", "--format", format, "--playbooks", folder], home: f.folder, now: now)
                #expect(cli.status == 0, "\(cli.stderr)")
                #expect(Data(body.utf8) == cli.stdoutData, "format \(format) differs from the CLI's")
            }
            let (_, _, dana) = try await client.document(f, "Dana", "/api/programme")
            #expect(dana.contains(hidden))
            let (_, _, olga) = try await client.document(f, "Olga", "/api/programme")
            #expect(!olga.contains(hidden) && olga.contains(open))
            #expect(try await client.call(f, "Olga", .get, "/api/programme?format=csv").json["field"] as? String == "format")
            #expect(try await client.call(f, nil, .get, "/api/programme").status == 401)
        }
    }

    // MARK: Retrying a notification

    @Test("a dead-lettered notification: the commander retries it, a requeued event is journaled, the worker delivers it; secrets stay redacted")
    func retryDeadLettered() async throws {
        let secret = "s3cr3t-key-7781"
        // The receiver refuses the first post (400, permanent: dead-lettered at once) echoing the secret, then accepts.
        // A long idle check: delivery after the retry comes from the route's ring, not from polling.
        try await HookedRun.run(routes: ["/hook": ["statuses": [400, 200], "body": "bad key s3cr3t-key-7781"]], query: "?key=\(secret)",
                                idleCheck: .seconds(30)) { run in
            let (f, client, id, receiver) = (run.fixture, run.client, run.id, run.receiver)
            var dead: [[String: Any]] = []
            try await waitUntil {
                dead = (try await client.call(f, "Olga", .get, "/api/runs/\(id)/notifications?dead=true")).json["notifications"] as? [[String: Any]] ?? []
                return !dead.isEmpty
            }
            let n = try #require(dead.first)
            #expect(n["retryable"] as? Bool == true && n["status"] as? String == "dead-lettered", "\(n)")
            // The receiver echoed the secret in its refusal: the error is shown, the secret is not.
            let lastError = n["last_error"] as? String ?? ""
            #expect(lastError.contains("HTTP 400") && !lastError.contains(secret), "\(lastError)")
            let nid = try #require(n["id"] as? String)
            let retry = "/api/runs/\(id)/notifications/\(nid)/retry"

            #expect(try await client.call(f, "Olga", .get, "/api/runs/\(id)/notifications?dead=maybe").json["field"] as? String == "dead")
            let denied = try await client.call(f, "Olga", .post, retry)
            #expect(denied.status == 403 && (denied.json["error"] as? String)?.contains("incident commander") == true, "\(denied.text)")
            #expect(try await client.call(f, nil, .post, retry).status == 401)
            #expect(try await client.call(f, "Dana", .post, "/api/runs/\(id)/notifications/n99/retry").status == 404)
            #expect(try await client.call(f, "Dana", .post, "/api/runs/r-000000/notifications/\(nid)/retry").status == 404)

            let retried = try await client.call(f, "Dana", .post, retry)
            #expect(retried.status == 200, "\(retried.text)")
            #expect((retried.json["requeued"] as? [[String: Any]])?.first?["previous_status"] as? String == "dead")
            #expect(!retried.text.contains(secret) && !denied.text.contains(secret))
            let again = try await client.call(f, "Dana", .post, retry)
            #expect(again.status == 409, "\(again.text)")  // pending, sending or sent by now: nothing dead or failed

            let hits = try await receiver.waitForRequests(2, within: 10)
            #expect(hits.count == 2)
            #expect(try await waitUntil { try f.state.journal.outbox(runID: id).map(\.status) == [.sent] })
            let events = try f.state.journal.events(runID: id).map(\.body.typeName)
            #expect(events.contains("notification-requeued") && events.contains("notification-sent"))
            let list = try await client.call(f, "Olga", .get, "/api/runs/\(id)/notifications")
            #expect(!list.text.contains(secret))
            #expect(try await client.call(f, "Dana", .post, retry).status == 409)  // sent: nothing to retry
            #expect(try f.state.journal.verify(runID: id).isIntact)
        }
    }
}

// MARK: - Helpers

extension TestClientProtocol {
    /// A document (text, CSV, HTML) as `who`: status, content type, body.
    func document(_ fixture: ServerFixture, _ who: String, _ uri: String) async throws -> (Int, String, String) {
        try await execute(uri: uri, method: .get, headers: fixture.headers(who)) { response in
            (Int(response.status.code), response.headers[.contentType] ?? "", String(buffer: response.body))
        }
    }
}

/// The real `muster` binary (built beside the test bundle) on the fixture's journal, bounded by a 60 s wait.
func muster(_ arguments: [String], home: String, now: String? = nil) throws -> ProgramOutput {
    var environment = ProcessInfo.processInfo.environment
    environment["MUSTER_DATABASE_URL"] = nil
    environment.merge(try TestDatabase.environment(home: home)) { $1 }
    environment["MUSTER_NOW"] = now
    return try SpawnedProcess.run(try MusterBinary.checked(), arguments, environment: environment, timeout: 60)
}
