import Foundation
import Hummingbird
import HummingbirdTesting
import MusterCore
import MusterJournal
import MusterRuntime
import MusterServer
import MusterTestSupport
import Testing

/// The routes the web board works an incident and an exercise with.
@Suite("Board API", .serialized)
struct BoardAPITests {
    @Test("GET /api/playbooks lists the valid playbooks of the folder with id, title and version; it needs a token")
    func playbooks() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            #expect(try await client.call(f, nil, .get, "/api/playbooks").status == 401)
            let r = try await client.call(f, "Olga", .get, "/api/playbooks")
            #expect(r.status == 200)
            let list = r.json["playbooks"] as? [[String: Any]] ?? []
            let ransomware = try #require(list.first { $0["id"] as? String == "ransomware-file-servers" })
            #expect(ransomware["title"] is String && ransomware["version"] is Int && ransomware["severity"] is String)
            let ids = list.compactMap { $0["id"] as? String }
            #expect(ids == ids.sorted() && Set(ids).count == ids.count)
        }
    }

    @Test("declaring takes a mode: exercise gives an exercise-mode run; anything but live or exercise is 400 naming 'mode'")
    func declareMode() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let practice = try await client.call(f, "Sam", .post, "/api/runs", ["playbook": "ransomware-file-servers", "title": "Practice", "mode": "exercise"])
            #expect(practice.status == 201, "\(practice.text)")
            #expect(practice.json["mode"] as? String == "exercise")
            let bad = try await client.call(f, "Sam", .post, "/api/runs", ["playbook": "ransomware-file-servers", "title": "x", "mode": "drill"])
            #expect(bad.status == 400 && bad.json["field"] as? String == "mode")
            #expect((bad.json["error"] as? String)?.contains("live, exercise") == true)
        }
    }

    @Test("the status labels each armed timer for people (the decision it ends and its default, the service objective, the message) and names the decision's default")
    func timerLabels() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            func labels() async throws -> [String: String] {
                let status = try await client.call(f, "Dana", .get, "/api/runs/\(id)")
                let timers = status.json["timers"] as? [[String: Any]] ?? []
                return Dictionary(uniqueKeysWithValues: timers.compactMap { t in (t["id"] as? String).map { ($0, t["label"] as? String ?? "") } })
            }
            let first = try await labels()
            #expect(first["identity-rto-warning"] == "RTO of Active Directory sign-in", "\(first)")
            #expect(first["triage-overdue"]?.hasPrefix("Triage still open after {{timer.elapsed}}") == true, "\(first)")
            for (actor, body) in [("Lee", ["type": "task-done", "task": "confirm"]), ("Lee", ["type": "event", "name": "confirmed"])] {
                let r = try await client.call(f, actor, .post, "/api/runs/\(id)/commands", body)
                #expect(r.status == 200, "\(r.text)")
            }
            let status = try await client.call(f, "Dana", .get, "/api/runs/\(id)")
            let decision = try #require(status.json["decision"] as? [String: Any])
            #expect(decision["default"] as? String == "declare")
            let deadline = try await labels()["deadline:declare-major"]
            #expect(deadline?.hasPrefix("deadline for the decision: ") == true && deadline?.hasSuffix("; then the default: declare") == true, "\(String(describing: deadline))")
        }
    }

    @Test("the status names every task, state, role, decision and timer of the playbook by id, not only the current state's, for the timeline's sentences")
    func names() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            let status = try await client.call(f, "Lee", .get, "/api/runs/\(id)")
            let names = try #require(status.json["names"] as? [String: [String: String]], "\(status.text)")
            #expect(names["tasks"]?["confirm"]?.hasPrefix("Confirm encryption activity") == true)
            #expect(names["tasks"]?["restore-backup"] == "Restore shares from the immutable backup")   // a later state's task
            #expect(names["states"]?["contain"] == "Contain the spread")
            #expect(names["roles"]?["it_ops"] == "IT Operations lead")
            #expect(names["decisions"]?["declare-major"] == "Declare a major incident and invoke the crisis team?")
            #expect(names["timers"]?["identity-rto-warning"] == "RTO of Active Directory sign-in")
            #expect(names["timers"]?["deadline:declare-major"]?.hasPrefix("deadline for the decision: ") == true, "\(names["timers"] ?? [:])")
        }
    }

    @Test("the status says which events the state takes and what the caller may do, as Permissions decides")
    func statusPermissions() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            func can(_ who: String) async throws -> [String: Bool] {
                let s = try await client.call(f, who, .get, "/api/runs/\(id)")
                #expect((s.json["raisable_events"] as? [String])?.contains("confirmed") == true)
                return (s.json["you"] as? [String: Any])?["can"] as? [String: Bool] ?? [:]
            }
            let dana = try await can("Dana"), lee = try await can("Lee"), olga = try await can("Olga")
            #expect(dana["assign"] == true && dana["relieve"] == true && dana["close"] == true && dana["raise"] == true && dana["lesson"] == true)
            #expect(lee["assign"] == false && lee["close"] == false && lee["raise"] == true && lee["lesson"] == true && lee["note"] == true)
            #expect(olga["assign"] == false && olga["raise"] == false && olga["lesson"] == false && olga["note"] == true)
            #expect(dana["exercise_control"] == false)
        }
    }

    @Test("GET /api/runs/{id}/notifications: each notification with its delivery status from the real outbox worker")
    func notifications() async throws {
        let f = try ServerFixture()
        // No channel variables in the worker's environment: the ransomware playbook's notifications dead-letter.
        let hook = OutboxWorkerHook(environment: ["MUSTER_SLACK_URL_UNUSED": "x"], idleCheck: .milliseconds(200))
        let app = buildApplication(state: f.state, extraServices: hook.services(for: f.state))
        try await app.test(.live) { client async throws in
            let id = try await client.declareRun(f)
            var list: [[String: Any]] = []
            try await waitUntil {
                let r = try await client.call(f, "Olga", .get, "/api/runs/\(id)/notifications")
                #expect(r.status == 200)
                list = r.json["notifications"] as? [[String: Any]] ?? []
                return !list.isEmpty && list.allSatisfy { $0["status"] as? String == "dead-lettered" }
            }
            #expect(!list.isEmpty)
            let first = try #require(list.first)
            #expect(first["id"] as? String == "n1" && first["channel"] is String && (first["message"] as? String)?.isEmpty == false)
            #expect(first["status"] as? String == "dead-lettered", "\(first)")
            #expect(first["attempt"] as? Int == 1)
            #expect((first["last_error"] as? String)?.contains("not set in the environment") == true)
            #expect(first["queued_at"] is String && first["updated_at"] is String)
        }
    }

    @Test("notifications: 404 for an unknown run and for a restricted run the caller is not on")
    func notificationsHidden() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f, restricted: true)
            #expect(try await client.call(f, "Olga", .get, "/api/runs/\(id)/notifications").status == 404)
            #expect(try await client.call(f, "Lee", .get, "/api/runs/\(id)/notifications").status == 200)
            #expect(try await client.call(f, "Lee", .get, "/api/runs/r-000000/notifications").status == 404)
            #expect(try await client.call(f, nil, .get, "/api/runs/\(id)/notifications").status == 401)
        }
    }

    @Test("GET /api/runs/{id}/exercise: the facilitator sees the clock, the whole inject queue and the objectives; players only delivered injects")
    func exerciseView() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let started = try await client.call(f, "Olga", .post, "/api/exercises", ["exercise": "ransomware-tabletop-2026q4", "speed": "manual"])
            #expect(started.status == 201, "\(started.text)")
            let run = try #require(started.json["id"] as? String)

            let facilitator = try await client.call(f, "Olga", .get, "/api/runs/\(run)/exercise")
            #expect(facilitator.status == 200, "\(facilitator.text)")
            #expect(facilitator.json["you_facilitate"] as? Bool == true && facilitator.json["driven"] as? Bool == true)
            let clock = try #require(facilitator.json["clock"] as? [String: Any])
            #expect(clock["speed"] as? String == "manual" && clock["scenario_now"] as? String == "2026-11-27T17:40:00.000Z" && clock["ended"] as? Bool == false)
            let injects = facilitator.json["injects"] as? [[String: Any]] ?? []
            #expect(injects.map { $0["id"] as? String } == ["I1", "I2", "I3", "I4", "I5", "I6"])
            #expect(injects.map { $0["status"] as? String } == ["delivered", "coming", "coming", "coming", "coming", "coming"])
            #expect(injects[1]["contingency"] as? Bool == true && injects[1]["scenario_at"] as? String == "2026-11-27T18:05:00.000Z")
            let objectives = facilitator.json["objectives"] as? [[String: Any]] ?? []
            #expect(objectives.map { $0["id"] as? String } == ["O1", "O2", "O3"])
            let o1 = (objectives.first?["expectations"] as? [[String: Any]] ?? []).map { $0["status"] as? String }
            #expect(o1 == ["pending", "pending"])
            // An inject still to come: its expectations wait for it (not "not-delivered" while the exercise runs).
            let coming = (injects[2]["expectations"] as? [[String: Any]] ?? []).map { $0["status"] as? String }
            #expect(!coming.isEmpty && coming.allSatisfy { $0 == "awaiting-inject" }, "\(coming)")

            for player in ["Lee", "Dana"] {  // players: it_ops, and the incident commander (not the facilitator)
                let view = try await client.call(f, player, .get, "/api/runs/\(run)/exercise")
                #expect(view.status == 200)
                #expect(view.json["you_facilitate"] as? Bool == false)
                #expect(view.json["objectives"] == nil)
                let seen = view.json["injects"] as? [[String: Any]] ?? []
                #expect(seen.map { $0["id"] as? String } == ["I1"])
                #expect(seen.first?["expectations"] == nil && seen.first?["contingency"] == nil)
                #expect(!view.text.contains("FS03"))  // I3's message is not out yet
            }

            // Jump to the next inject: the facilitator only; the contingency I2 is delivered at 18:05 (O1 still open).
            let denied = try await client.call(f, "Lee", .post, "/api/runs/\(run)/exercise", ["control": "next"])
            #expect(denied.status == 403 && (denied.json["error"] as? String)?.contains("facilitator (Olga)") == true)
            let next = try await client.call(f, "Olga", .post, "/api/runs/\(run)/exercise", ["control": "next"])
            #expect(next.status == 200, "\(next.text)")
            #expect(next.json["scenario_now"] as? String == "2026-11-27T18:05:00.000Z")
            let after = try await client.call(f, "Lee", .get, "/api/runs/\(run)/exercise")
            #expect((after.json["injects"] as? [[String: Any]] ?? []).map { $0["id"] as? String } == ["I1", "I2"])
            // Releasing an inject ahead of its time.
            #expect(try await client.call(f, "Olga", .post, "/api/runs/\(run)/exercise", ["control": "deliver", "inject": "I4"]).status == 200)
            #expect(try await client.call(f, "Olga", .post, "/api/runs/\(run)/exercise", ["control": "nxt"]).json["field"] as? String == "control")
        }
    }

    @Test("the timer pump brings a driven exercise up to its scenario clock: injects reach the players while nobody acts")
    func pumpAdvancesExercises() async throws {
        let clock = ManualClock(Instant(iso8601: "2026-11-29T10:00:00Z")!)
        let f = try ServerFixture(clock: clock, pumpInterval: .milliseconds(50))
        try await f.app.test(.live) { client async throws in
            let started = try await client.call(f, "Olga", .post, "/api/exercises", ["exercise": "ransomware-tabletop-2026q4", "speed": "30"])
            let id = try #require(started.json["id"] as? String, "\(started.text)")
            clock.advance(by: .minutes(1))  // 30 scenario minutes at speed 30: the contingency I2 (18:05) falls due
            var seen: [String] = []
            var scenarioNow = ""
            try await waitUntil(within: 5) {
                let view = try await client.call(f, "Lee", .get, "/api/runs/\(id)/exercise").json
                seen = (view["injects"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                scenarioNow = (view["clock"] as? [String: Any])?["scenario_now"] as? String ?? ""
                return seen.count >= 2
            }
            #expect(seen == ["I1", "I2"])
            #expect(scenarioNow == "2026-11-27T18:10:00.000Z")
            let delivered = try f.state.journal.events(runID: id).contains {
                if case .injectDelivered(let d) = $0.body { d.inject == "I2" } else { false }
            }
            #expect(delivered)
        }
    }

    @Test("GET /api/runs/{id}/exercise: 404 for a live run and an unknown run")
    func exerciseViewNotFound() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            let live = try await client.call(f, "Lee", .get, "/api/runs/\(id)/exercise")
            #expect(live.status == 404 && (live.json["error"] as? String)?.contains("not an exercise") == true)
            #expect(try await client.call(f, "Lee", .get, "/api/runs/r-000000/exercise").status == 404)
            #expect(try await client.call(f, nil, .get, "/api/runs/\(id)/exercise").status == 401)
        }
    }

    @Test("every route the server registers is in openapi.json with its method, and every documented one exists")
    func openAPIMatchesRoutes() throws {
        // The API's routes, and the answer callbacks (`/hooks/...`, registered with their full path).
        let source = try ["API.swift", "ChatHooks.swift", "ChatCommands.swift"].map { try String(contentsOfFile: repositoryRoot + "/Sources/MusterServer/" + $0, encoding: .utf8) }
            .joined(separator: "\n")
        let pattern = try NSRegularExpression(pattern: #"\b(router|api)\.(get|post|delete|put|patch)\("([^"]+)"\)"#)
        var registered: Set<String> = []
        for match in pattern.matches(in: source, range: NSRange(source.startIndex..., in: source)) {
            let group = String(source[Range(match.range(at: 1), in: source)!])
            let method = String(source[Range(match.range(at: 2), in: source)!])
            // Hummingbird's `:name` path parameters are OpenAPI's `{name}`.
            let path = String(source[Range(match.range(at: 3), in: source)!]).replacingOccurrences(of: #":(\w+)"#, with: "{$1}", options: .regularExpression)
            if group == "router", path.hasPrefix("/hooks/") { registered.insert("\(method) \(path)"); continue }
            guard group == "api" else { continue }  // the board's files and /healthz are not API
            registered.insert("\(method) /api/\(path)")
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: repositoryRoot + "/Sources/MusterServer/openapi.json"))
        let doc = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var documented: Set<String> = []
        for (path, item) in doc["paths"] as? [String: [String: Any]] ?? [:] {
            for method in item.keys where ["get", "post", "delete", "put", "patch"].contains(method) { documented.insert("\(method) \(path)") }
        }
        #expect(registered.count > 20)
        #expect(registered.subtracting(documented).sorted() == [], "registered but not documented")
        #expect(documented.subtracting(registered).sorted() == [], "documented but not registered")
    }
}
