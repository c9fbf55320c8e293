import Foundation
import Hummingbird
import HummingbirdTesting
import MusterCore
import MusterJournal
import MusterServer
import Testing

@Suite("API")
struct APITests {
    @Test("without a valid bearer token every API route is 401; failed logins from one address become 429, a valid token never")
    func authentication() async throws {
        let f = try ServerFixture(failedLoginLimit: 3)
        try await f.app.test(.router) { client async throws in
            for uri in ["/api/me", "/api/runs", "/api/lessons"] {
                #expect(try await client.call(f, nil, .get, uri).status == 401)
            }
            #expect(try await client.call(f, "mst_wrong", .get, "/api/me").status == 429)
            // Only failures are throttled: a valid token from the same address still gets in.
            #expect(try await client.call(f, "Dana", .get, "/api/me").status == 200)
            #expect(try await client.call(f, nil, .get, "/api/me").status == 429)
        }
        let g = try ServerFixture()
        try await g.app.test(.router) { client async throws in
            let me = try await client.call(g, "Dana", .get, "/api/me")
            #expect(me.status == 200)
            #expect(me.json["name"] as? String == "Dana")
            #expect(try await client.call(g, "mst_wrong", .get, "/api/me").status == 401)
            for uri in ["/api/actions", "/api/exercises", "/api/users", "/api/runs/x", "/api/runs/x/events", "/api/runs/x/stream"] {
                #expect(try await client.call(g, nil, .get, uri).status == 401)
            }
        }
    }

    @Test("a role goes to a known user: 'Leee' is refused with the closest name, 'lee' is stored as 'Lee'")
    func rolesGoToKnownPeople() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            let typo = try await client.call(f, "Dana", .post, "/api/runs/\(id)/commands", ["type": "assign", "role": "security_lead", "person": "Leee"])
            #expect(typo.status == 409, "\(typo.text)")
            #expect(typo.text.contains("no person named 'Leee' (did you mean 'Lee'?)"), "\(typo.text)")
            let lower = try await client.call(f, "Dana", .post, "/api/runs/\(id)/commands", ["type": "assign", "role": "security_lead", "person": "olga"])
            #expect(lower.status == 200, "\(lower.text)")
            #expect(try f.state.runtime.snapshot(runID: id).run.holder(of: "security_lead") == "Olga")
        }
    }

    @Test("the board, its assets and the OpenAPI 3.1 document are served without a token")
    func staticFiles() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let page = try await client.call(f, nil, .get, "/")
            #expect(page.status == 200 && page.text.contains("<title>Muster</title>"))
            #expect(try await client.call(f, nil, .get, "/app.js").text.contains("Authorization"))
            #expect(try await client.call(f, nil, .get, "/style.css").status == 200)
            let doc = try await client.call(f, nil, .get, "/openapi.json")
            #expect(doc.json["openapi"] as? String == "3.1.0")
            let paths = (doc.json["paths"] as? [String: Any])?.keys.sorted() ?? []
            #expect(paths.contains("/api/runs/{id}/commands") && paths.contains("/api/runs/{id}/stream"))
        }
    }

    @Test("declare, status, events, commands with their events, report in three formats")
    func incidentFlow() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            let status = try await client.call(f, "Lee", .get, "/api/runs/\(id)")
            #expect(status.status == 200)
            #expect((status.json["state"] as? [String: Any])?["id"] as? String == "triage")
            let groups = status.json["tasks"] as? [[String: Any]] ?? []
            #expect(groups.contains { $0["role"] as? String == "it_ops" && $0["holder"] as? String == "Lee" })
            #expect(((status.json["services"] as? [[String: Any]]) ?? []).contains { $0["rto_due"] is String })
            #expect(!((status.json["timers"] as? [Any]) ?? []).isEmpty)

            let done = try await client.call(f, "Lee", .post, "/api/runs/\(id)/commands", ["type": "task-done", "task": "confirm", "note": "EDR"])
            #expect(done.status == 200)
            let produced = done.json["events"] as? [[String: Any]] ?? []
            #expect(produced.contains { $0["type"] as? String == "task-completed" })
            // the engine's rule: already done -> 409 with its reason
            let again = try await client.call(f, "Lee", .post, "/api/runs/\(id)/commands", ["type": "task-done", "task": "confirm"])
            #expect(again.status == 409)
            #expect((again.json["error"] as? String)?.contains("already") == true)
            #expect(try await client.call(f, "Sam", .post, "/api/runs/\(id)/commands", ["type": "event", "name": "confirmed"]).status == 200)
            let pending = try await client.call(f, "Sam", .get, "/api/runs/\(id)")
            #expect((pending.json["decision"] as? [String: Any])?["by"] as? String == "incident_commander")

            let events = try await client.call(f, "Olga", .get, "/api/runs/\(id)/events?after=2")
            let seqs = (events.json["events"] as? [[String: Any]] ?? []).compactMap { $0["seq"] as? Int }
            #expect(seqs.first == 3)
            #expect(seqs == Array(3...(seqs.last ?? 3)))
            for format in ["html", "md", "json"] {
                let report = try await client.call(f, "Olga", .get, "/api/runs/\(id)/report?format=\(format)")
                #expect(report.status == 200)
                #expect(report.text.contains("Finance shares encrypted"))
            }
            #expect(try await client.call(f, "Olga", .get, "/api/runs/\(id)/report?format=pdf").status == 400)
            let list = try await client.call(f, "Olga", .get, "/api/runs")
            #expect((list.json["runs"] as? [[String: Any]])?.first?["id"] as? String == id)
        }
    }

    struct Denied: Sendable, CustomTestStringConvertible {
        var who: String
        var command: [String: String]
        var status: Int
        var testDescription: String { "\(who) \(command["type"]!) -> \(status)" }
    }

    static let commandCases: [Denied] = [
        Denied(who: "Sam", command: ["type": "task-done", "task": "confirm"], status: 403),      // not it_ops
        Denied(who: "Lee", command: ["type": "task-done", "task": "scope"], status: 200),        // it_ops
        Denied(who: "Dana", command: ["type": "task-skip", "task": "preserve-evidence", "reason": "IC"], status: 200),  // IC any task
        Denied(who: "Olga", command: ["type": "task-done", "task": "confirm"], status: 403),     // observer
        Denied(who: "Olga", command: ["type": "note", "text": "watching"], status: 200),         // anyone notes
        Denied(who: "Olga", command: ["type": "event", "name": "confirmed"], status: 403),       // observer
        Denied(who: "Olga", command: ["type": "lesson", "text": "x"], status: 403),
        Denied(who: "Lee", command: ["type": "assign", "role": "dpo", "person": "Olga"], status: 403),
        Denied(who: "Lee", command: ["type": "relieve", "role": "comms"], status: 403),
        Denied(who: "Lee", command: ["type": "close", "reason": "done"], status: 403),
        Denied(who: "Lee", command: ["type": "decide", "decision": "declare-major", "option": "declare", "rationale": "x"], status: 403),
        Denied(who: "Dana", command: ["type": "decide", "decision": "declare-major", "option": "declare", "rationale": "x"], status: 409), // wrong state
        Denied(who: "Dana", command: ["type": "assign", "role": "dpo", "person": "Olga"], status: 200),
        Denied(who: "Dana", command: ["type": "relieve", "role": "comms", "handover": "bye"], status: 200),
        Denied(who: "Sam", command: ["type": "lesson", "text": "Backups were slow", "kind": "improvement"], status: 200),
        Denied(who: "Dana", command: ["type": "close", "reason": "false alarm"], status: 200),
        Denied(who: "Lee", command: ["type": "task-done", "task": "no-such-task"], status: 409),
    ]

    @Test("each command's permission and the engine's rules after it", arguments: commandCases)
    func commandPermissions(_ c: Denied) async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            let r = try await client.call(f, c.who, .post, "/api/runs/\(id)/commands", c.command)
            #expect(r.status == c.status, "\(r.text)")
            if c.status != 200 { #expect(r.json["error"] is String) }
        }
    }

    @Test("malformed input is 400 naming the field; oversized bodies 413; unknown runs 404")
    func badInput() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            let unknown = try await client.call(f, "Lee", .post, "/api/runs/\(id)/commands", ["type": "task-done", "task": "confirm", "nots": "x"])
            #expect(unknown.status == 400)
            #expect(unknown.json["field"] as? String == "nots")
            #expect((unknown.json["error"] as? String)?.contains("did you mean 'note'") == true)
            let badType = try await client.call(f, "Lee", .post, "/api/runs/\(id)/commands", ["type": "task-dne", "task": "confirm"])
            #expect(badType.status == 400 && badType.json["field"] as? String == "type")
            let missing = try await client.call(f, "Lee", .post, "/api/runs/\(id)/commands", ["type": "task-done"])
            #expect(missing.status == 400 && missing.json["field"] as? String == "task")
            let wrongType = try await client.call(f, "Dana", .post, "/api/runs", ["playbook": "ransomware-file-servers", "title": "t", "restricted": "yes"])
            #expect(wrongType.status == 400 && wrongType.json["field"] as? String == "restricted")
            #expect(try await client.call(f, "Lee", .post, "/api/runs/\(id)/commands", raw: "{not json").status == 400)
            let big = "{\"type\":\"note\",\"text\":\"" + String(repeating: "x", count: 70_000) + "\"}"
            #expect(try await client.call(f, "Lee", .post, "/api/runs/\(id)/commands", raw: big).status == 413)
            #expect(try await client.call(f, "Lee", .get, "/api/runs/r-000000").status == 404)
            #expect(try await client.call(f, "Lee", .post, "/api/runs/r-000000/commands", ["type": "note", "text": "x"]).status == 404)
            #expect(try await client.call(f, "Dana", .post, "/api/runs", ["playbook": "no-such-playbook", "title": "t"]).status == 404)
            #expect(try await client.call(f, "Lee", .get, "/api/runs/\(id)/events?after=-1").status == 400)
        }
    }

    @Test("a restricted run is invisible (404, not listed) to people not on it, and normal for those on it")
    func restrictedRuns() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f, restricted: true)
            for uri in ["/api/runs/\(id)", "/api/runs/\(id)/events", "/api/runs/\(id)/report", "/api/runs/\(id)/stream"] {
                #expect(try await client.call(f, "Olga", .get, uri).status == 404)
            }
            #expect(try await client.call(f, "Olga", .post, "/api/runs/\(id)/commands", ["type": "note", "text": "x"]).status == 404)
            #expect(((try await client.call(f, "Olga", .get, "/api/runs")).json["runs"] as? [Any])?.isEmpty == true)
            #expect(try await client.call(f, "Lee", .get, "/api/runs/\(id)").status == 200)
            #expect(((try await client.call(f, "Lee", .get, "/api/runs")).json["runs"] as? [Any])?.count == 1)
        }
    }

    @Test("users: admin only; a created token works at once, a revoked one is refused")
    func users() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            #expect(try await client.call(f, "Lee", .get, "/api/users").status == 403)
            #expect(try await client.call(f, "Lee", .post, "/api/users", ["name": "Eve"]).status == 403)
            let added = try await client.call(f, "Dana", .post, "/api/users", ["name": "Kim"])
            #expect(added.status == 201)
            let token = try #require(added.json["token"] as? String)
            #expect(try await client.call(f, token, .get, "/api/me").json["name"] as? String == "Kim")
            #expect(try await client.call(f, "Dana", .post, "/api/users", ["name": "Kim"]).status == 409)
            let list = try await client.call(f, "Dana", .get, "/api/users")
            #expect(!list.text.contains(token))
            #expect(try await client.call(f, "Dana", .delete, "/api/users/Kim").status == 200)
            #expect(try await client.call(f, "Dana", .delete, "/api/users/Kim").status == 404)
            try await _Concurrency.Task.sleep(for: .milliseconds(2100))  // the token cache's lifetime
            #expect(try await client.call(f, token, .get, "/api/me").status == 401)
        }
        let stored = try f.state.journal.users()
        #expect(stored.count == 5)
    }

    @Test("lessons and improvement actions through the API")
    func lessonsAndActions() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            #expect(try await client.call(f, "Sam", .post, "/api/runs/\(id)/commands", ["type": "lesson", "text": "Find backups faster", "root_cause": "documentation"]).status == 200)
            let lessons = try await client.call(f, "Olga", .get, "/api/lessons")
            #expect((lessons.json["lessons"] as? [[String: Any]])?.first?["text"] as? String == "Find backups faster")
            // The id an action cites: RUN/SEQ of the lesson's event.
            let lessonID = "\(id)/\(try f.state.journal.head(runID: id).sequence)"
            #expect((lessons.json["lessons"] as? [[String: Any]])?.first?["id"] as? String == lessonID)
            // As muster actions add: an id that names no lesson (seq 1 is the run's start) is refused.
            let notALesson = try await client.call(f, "Dana", .post, "/api/actions", ["lesson": "\(id)/1", "title": "Name a deputy", "owner": "Dana", "organization": "IT Operations", "due": "2027-01-31"])
            #expect(notALesson.status == 404, "\(notALesson.text)")
            let add = try await client.call(f, "Dana", .post, "/api/actions", ["lesson": lessonID, "title": "Name a deputy", "owner": "Dana", "organization": "IT Operations", "due": "2027-01-31"])
            #expect(add.status == 201, "\(add.text)")
            if add.status != 201 { return }
            #expect(add.json["id"] as? String == "A-1")
            // Capability and issue default to the lesson's playbook and text, as muster actions add does.
            #expect((add.json["issue"] as? String) == "Find backups faster", "\(add.text)")
            #expect(try await client.call(f, "Dana", .post, "/api/actions/A-1/transitions", ["to": "done"]).status == 409)
            #expect(try await client.call(f, "Dana", .post, "/api/actions/A-1/transitions", ["to": "start"]).status == 200)
            #expect(try await client.call(f, "Dana", .post, "/api/actions/A-9/transitions", ["to": "start"]).status == 404)
            #expect(try await client.call(f, "Dana", .post, "/api/actions/A-1/transitions", ["to": "fly"]).status == 400)
            let list = try await client.call(f, "Olga", .get, "/api/actions")
            #expect((list.json["actions"] as? [[String: Any]])?.first?["status"] as? String != "open")
        }
    }

    @Test("lessons of a restricted run, and actions citing them, are invisible to people not on the run")
    func restrictedLessonsAndActions() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f, restricted: true)
            #expect(try await client.call(f, "Sam", .post, "/api/runs/\(id)/commands", ["type": "lesson", "text": "Secret vendor was slow"]).status == 200)
            let lesson = "\(id)/\(try f.state.journal.head(runID: id).sequence)"
            let add = try await client.call(f, "Dana", .post, "/api/actions", ["lesson": lesson, "title": "Replace the secret vendor", "owner": "Dana", "organization": "IT Operations", "due": "2027-01-31"])
            #expect(add.status == 201, "\(add.text)")

            let olgaLessons = try await client.call(f, "Olga", .get, "/api/lessons")
            #expect((olgaLessons.json["lessons"] as? [Any])?.isEmpty == true)
            let olgaActions = try await client.call(f, "Olga", .get, "/api/actions")
            #expect((olgaActions.json["actions"] as? [Any])?.isEmpty == true)
            for format in ["csv", "md", "html"] {
                let plan = try await client.call(f, "Olga", .get, "/api/actions/report?format=\(format)")
                #expect(plan.status == 200 && !plan.text.contains("secret vendor"), "\(format)")
            }
            #expect(try await client.call(f, "Olga", .post, "/api/actions/A-1/transitions", ["to": "start"]).status == 404)
            let olgaAdd = try await client.call(f, "Olga", .post, "/api/actions", ["lesson": lesson, "title": "Probe", "owner": "Olga", "organization": "X", "due": "2027-01-31"])
            #expect(olgaAdd.status == 404)

            let leeActions = try await client.call(f, "Lee", .get, "/api/actions")
            #expect((leeActions.json["actions"] as? [[String: Any]])?.first?["title"] as? String == "Replace the secret vendor")
            #expect(((try await client.call(f, "Lee", .get, "/api/lessons")).json["lessons"] as? [Any])?.count == 1)
            let plan = try await client.call(f, "Lee", .get, "/api/actions/report?format=csv")
            #expect(plan.text.contains("Replace the secret vendor"))
            // Seeing an action is not moving it: Lee is neither its owner, an admin nor the run's commander.
            #expect(try await client.call(f, "Lee", .post, "/api/actions/A-1/transitions", ["to": "start"]).status == 403)
            #expect(try await client.call(f, "Dana", .post, "/api/actions/A-1/transitions", ["to": "start"]).status == 200)
        }
    }

    @Test("exercises: list, start with a speed, facilitator-only clock controls")
    func exercises() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let list = try await client.call(f, "Lee", .get, "/api/exercises")
            let first = try #require((list.json["exercises"] as? [[String: Any]])?.first { $0["valid"] as? Bool == true })
            let exerciseID = try #require(first["id"] as? String)
            let started = try await client.call(f, "Dana", .post, "/api/exercises", ["exercise": exerciseID, "speed": "manual"])
            #expect(started.status == 201, "\(started.text)")
            let run = try #require(started.json["id"] as? String)
            #expect(try await client.call(f, "Lee", .post, "/api/runs/\(run)/exercise", ["control": "skip", "by": "15m"]).status == 403)
            let skip = try await client.call(f, "Dana", .post, "/api/runs/\(run)/exercise", ["control": "skip", "by": "15m"])
            #expect(skip.status == 200, "\(skip.text)")
            #expect(try await client.call(f, "Dana", .post, "/api/runs/\(run)/exercise", ["control": "inject", "message": "The CFO is on the phone"]).status == 200)
            #expect(try await client.call(f, "Dana", .post, "/api/runs/\(run)/exercise", ["control": "warp"]).status == 400)
            let end = try await client.call(f, "Dana", .post, "/api/runs/\(run)/exercise", ["control": "end", "reason": "time"])
            #expect(end.json["ended"] as? Bool == true)
            #expect(try await client.call(f, "Lee", .get, "/api/runs/\(run)").status == 200)
        }
    }
}
