import Foundation
import Hummingbird
import HummingbirdTesting
import MusterCore
import MusterJournal
import MusterServer
import MusterTestSupport
import Testing

/// The board in headless Chromium (Debian's `chromium`), on a real socket: what each person is shown.
@Suite("Board in a browser", .serialized)
struct BoardBrowserTests {
    /// Loads the board at `fragment` (after `#`) in headless Chromium and returns the DOM once its virtual time
    /// budget has run out. Bounded by `timeout`.
    static func dom(port: Int, fragment: String, folder: String) async throws -> String {
        let chromium = try #require(["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                    "chromium is not installed (apt-get install -y chromium); this test fails rather than skips")
        let name = UUID().uuidString
        let domFile = folder + "/dom-\(name).html"
        _ = FileManager.default.createFile(atPath: domFile, contents: nil)
        let output = try #require(FileHandle(forWritingAtPath: domFile))
        let process = Process()
        // Chromium's helpers may linger; `timeout` ends the whole run after 30 s at most.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["-k", "2", "30", chromium, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(folder)/profile-\(name)",
                             "--virtual-time-budget=5000", "--dump-dom", "http://127.0.0.1:\(port)/#\(fragment)"]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        while process.isRunning { try await _Concurrency.Task.sleep(for: .milliseconds(100)) }
        try output.close()
        return (try? String(contentsOfFile: domFile, encoding: .utf8)) ?? ""
    }

    /// The inner HTML of the element with this id (up to its first closing tag of the same kind: enough for lists
    /// and panels without nested ones of their kind).
    static func element(_ id: String, in dom: String) -> String {
        guard let start = dom.range(of: "id=\"\(id)\"") else { return "" }
        let tagStart = dom[..<start.lowerBound].lastIndex(of: "<").map { dom.index(after: $0) } ?? start.lowerBound
        let tag = dom[tagStart...].prefix { $0.isLetter }
        guard let end = dom.range(of: "</\(tag)>", range: start.upperBound..<dom.endIndex) else { return "" }
        return String(dom[start.upperBound..<end.lowerBound])
    }

    @Test("a run: the commander gets assign, relieve, raise and close controls, an observer none; both see each notification's delivery status")
    func commanderAndObserver() async throws {
        try await HookedRun.run(idleCheck: .milliseconds(200)) { run in
            let (f, client, id) = (run.fixture, run.client, run.id)
            let port = try #require(client.port)
            // The outcome is journaled right after the receiver answered: wait (bounded) for it.
            try await waitUntil {
                let n = try await client.call(f, "Dana", .get, "/api/runs/\(id)/notifications")
                return (n.json["notifications"] as? [[String: Any]])?.first?["status"] as? String == "sent"
            }

            let dana = try await Self.dom(port: port, fragment: "run=\(id)&token=\(f.tokens["Dana"]!)", folder: f.folder)
            let olga = try await Self.dom(port: port, fragment: "run=\(id)&token=\(f.tokens["Olga"]!)", folder: f.folder)
            let list = try await Self.dom(port: port, fragment: "token=\(f.tokens["Olga"]!)", folder: f.folder)
            StreamControl.stop(f.state)

            #expect(dana.contains("id=\"run-state\">contain"), "\(dana.prefix(2000))")
            #expect(dana.contains("data-assign=\"incident_commander\""))
            #expect(dana.contains("data-relieve=\"incident_commander\""))
            #expect(dana.contains("data-raise=\"resolved\""))
            #expect(dana.contains("id=\"close-form\""))
            #expect(!Self.element("lesson-form", in: dana).isEmpty && !dana.contains("id=\"lesson-form\" hidden"))

            #expect(olga.contains("id=\"run-state\">contain"), "\(olga.prefix(2000))")
            #expect(!olga.contains("data-assign="))
            #expect(!olga.contains("data-relieve="))
            #expect(!olga.contains("data-raise="))
            #expect(!olga.contains("id=\"close-form\""))
            #expect(olga.contains("id=\"lesson-form\" hidden"))

            for page in [dana, olga] {
                let panel = Self.element("notifications", in: page)
                #expect(panel.contains("data-notification=\"n1\""), "\(panel)")
                #expect(panel.contains("class=\"notification sent\""))
                #expect(panel.contains("sent (HTTP 200,"))
                #expect(panel.contains("Containing: Portal down"))
                #expect(!panel.contains("127.0.0.1"))  // the channel's URL stays on the server
            }
            for page in [dana, olga] {
                // The chain is verified on opening the board; the timeline exports are links fetched with the token.
                #expect(page.contains("id=\"chain\" class=\"intact\">intact: "), "\(Self.element("chain-line", in: page))")
                #expect(page.contains("data-download=\"csv\"") && page.contains("data-download=\"json\""))
                #expect(!page.contains("data-retry="))  // delivered: nothing to retry
                #expect(!page.contains("token="))  // no token left in any link or in the address
            }
            // Anyone signed in may declare a run: the run list offers the playbooks.
            #expect(list.contains("id=\"declare-form\""))
            #expect(list.contains("<option value=\"hook-test\">"), "\(Self.element("declare-playbook", in: list))")
        }
    }

    @Test("an exercise: the facilitator sees the scenario clock, controls, the inject queue and expectation status; a player only delivered injects")
    func facilitatorAndPlayer() async throws {
        let f = try ServerFixture()
        try await f.app.test(.live) { client async throws in
            let port = try #require(client.port)
            let started = try await client.call(f, "Olga", .post, "/api/exercises", ["exercise": "ransomware-tabletop-2026q4", "speed": "manual"])
            let run = try #require(started.json["id"] as? String, "\(started.text)")
            #expect(try await client.call(f, "Lee", .post, "/api/runs/\(run)/commands", ["type": "task-done", "task": "confirm"]).status == 200)

            let olga = try await Self.dom(port: port, fragment: "run=\(run)&token=\(f.tokens["Olga"]!)", folder: f.folder)
            let lee = try await Self.dom(port: port, fragment: "run=\(run)&token=\(f.tokens["Lee"]!)", folder: f.folder)
            StreamControl.stop(f.state)

            // Facilitator
            #expect(olga.contains("id=\"scenario-now\">2026-11-27 17:40:00"), "\(Self.element("exercise-panel", in: olga))")
            #expect(olga.contains("id=\"scenario-speed\">manual"))
            #expect(olga.contains("<div id=\"exercise-controls\">"))
            #expect(olga.contains("data-control=\"next\""))
            let queue = Self.element("inject-queue", in: olga)
            #expect(queue.contains("class=\"inject delivered\" data-inject=\"I1\""))
            #expect(queue.contains("class=\"inject coming\" data-inject=\"I2\""))
            #expect(queue.contains("<em>contingency</em>"))
            #expect(queue.contains("data-deliver=\"I2\" aria-label=\"Release contingency: I2\">Release contingency"))
            #expect(queue.contains("coming at 18:25 (+45m)"))
            #expect(olga.contains("<form id=\"adhoc-form\">"))
            let objectives = Self.element("objectives", in: olga)
            #expect(objectives.contains("data-objective=\"O1\""), "\(objectives)")
            #expect(objectives.contains("task confirm — <strong>met</strong>"))
            #expect(objectives.contains("<strong>pending</strong>"))

            // The facilitator sees the evaluation while the exercise runs (no overrule before its end) and the
            // scenario-time export.
            #expect(olga.contains("<div id=\"evaluation-panel\" class=\"panel\">"), "\(Self.element("evaluation-panel", in: olga))")
            #expect(Self.element("ratings", in: olga).contains("data-rating=\"O1\""))
            #expect(!olga.contains("id=\"overrule-form\""))
            #expect(olga.contains("<span id=\"scenario-export\">"))

            // Player (it_ops)
            #expect(lee.contains("id=\"scenario-now\">2026-11-27 17:40:00"))
            #expect(lee.contains("<div id=\"exercise-controls\" hidden"))
            #expect(lee.contains("<form id=\"adhoc-form\" hidden"))
            #expect(lee.contains("<div id=\"objectives-panel\" hidden"))
            let seen = Self.element("inject-queue", in: lee)
            #expect(seen.contains("data-inject=\"I1\""), "\(seen)")
            #expect(!seen.contains("data-inject=\"I2\"") && !seen.contains("data-inject=\"I3\""))
            #expect(!lee.contains("data-deliver="))
            #expect(!lee.contains("FS03"))
            #expect(!lee.contains("contingency</em>"))
            #expect(lee.contains("<div id=\"evaluation-panel\" class=\"panel\" hidden"))
        }
    }

    @Test("a dead-lettered notification has a Retry button for the commander only; an ended exercise offers its facilitator the overrule form")
    func retryAndOverrule() async throws {
        let f = try ServerFixture()
        // No channel variables in the worker's environment: the ransomware playbook's notifications dead-letter.
        let hook = OutboxWorkerHook(environment: [:], idleCheck: .milliseconds(200))
        let app = buildApplication(state: f.state, extraServices: hook.services(for: f.state))
        try await app.test(.live) { client async throws in
            let port = try #require(client.port)
            let id = try await client.declareRun(f)
            try await waitUntil {
                let n = try await client.call(f, "Dana", .get, "/api/runs/\(id)/notifications?dead=true")
                return (n.json["notifications"] as? [[String: Any]])?.isEmpty == false
            }
            let started = try await client.call(f, "Olga", .post, "/api/exercises", ["exercise": "ransomware-tabletop-2026q4", "speed": "manual"])
            let run = try #require(started.json["id"] as? String, "\(started.text)")
            #expect(try await client.call(f, "Olga", .post, "/api/runs/\(run)/exercise", ["control": "end"]).status == 200)

            let dana = try await Self.dom(port: port, fragment: "run=\(id)&token=\(f.tokens["Dana"]!)", folder: f.folder)
            let lee = try await Self.dom(port: port, fragment: "run=\(id)&token=\(f.tokens["Lee"]!)", folder: f.folder)
            let facilitator = try await Self.dom(port: port, fragment: "run=\(run)&token=\(f.tokens["Olga"]!)", folder: f.folder)
            StreamControl.stop(f.state)

            #expect(Self.element("notifications", in: dana).contains("data-retry=\"n1\" aria-label=\"Retry n1 to bridge\">Retry</button>"), "\(Self.element("notifications", in: dana))")
            #expect(Self.element("notifications", in: lee).contains("dead-lettered"))
            #expect(!lee.contains("data-retry="))
            #expect(facilitator.contains("id=\"overrule-form\""), "\(Self.element("evaluation-panel", in: facilitator))")
            #expect(facilitator.contains("name=\"overrule-objective\""))
        }
    }
}
