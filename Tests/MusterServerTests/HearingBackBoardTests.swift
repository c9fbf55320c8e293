import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import MusterCore
import MusterJournal
import MusterServer
import MusterTestSupport
import Testing

/// Where people see hearing back on the server: the status's `hearing_back`, the board in a browser (with the
/// mark-accounted button for role holders only), and, searched everywhere, no contact detail of anyone.
@Suite("Hearing back on the board", .serialized)
struct HearingBackBoardTests {
    /// The hearing-back fixture with its roll call texted through an SMS API (the receiver) and its page and
    /// reminders posted to a webhook (the same receiver).
    static let playbook = """
        muster: 1
        id: office-loss-board
        version: 1
        title: Loss of the main office
        severity: P1
        roles:
          incident_commander: { title: Incident Commander }
          it_ops: { title: IT Operations lead }
        channels:
          pager: { type: webhook, url: "${MUSTER_HOOK_URL}" }
          sms: { type: sms, url: "${MUSTER_SMS_URL}", account: "${MUSTER_SMS_ACCOUNT}", token: "${MUSTER_SMS_TOKEN}", from: "+4412345" }
        start: standby
        states:
          standby:
            phase: detect
            owner: incident_commander
            transitions: [ { on: evacuate, to: evacuate } ]
          evacuate:
            phase: respond
            owner: incident_commander
            on_enter:
              - { notify: pager, to: it_ops, id: page-it, message: "Main office lost: join the bridge", ack_within: 10m, escalate: [deputy] }
              - roll_call: { id: staff-safety, who: [group: site-hq], ask: "Are you safe?", options: { safe: I am safe, help: I need help, away: Not on site }, via: [sms], within: 1h }
            transitions:
              - { when: rollcall.staff-safety.accounted >= 100% and acks.page-it.acknowledged, to: recover }
          recover:
            phase: recover
            owner: incident_commander
            transitions: [ { on: recovered, to: closed } ]
          closed:
            phase: learn
            terminal: true
        """

    static let account = "AC0123456789abcdef"
    static let smsPath = "/2010-04-01/Accounts/\(account)/Messages.json"
    /// Contact details distinctive enough that finding any of them anywhere is a leak.
    static let secrets = ["+447700900111", "7700900111", "+447700900222", "7700900222", "zq-ana@contact.invalid", "zq-cy@contact.invalid",
                          "UZQ0ANA0SLACK", "zq_cy_mattermost", "zq-lee@contact.invalid"]

    @Test("status, board and every report show the tally, the ack and who is unaccounted, with names only; the log has no contact detail")
    func boardAndPrivacy() async throws {
        let playbooks = (NSTemporaryDirectory() as NSString).appendingPathComponent("muster-hb-board-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: playbooks, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: playbooks) }
        try Self.playbook.write(toFile: playbooks + "/office-loss-board.yaml", atomically: true, encoding: .utf8)
        let receiver = try await HTTPTestReceiver(routes: [Self.smsPath: ["status": 201, "body": #"{"sid":"SM1","to":"+447700900111"}"#]])
        defer { receiver.stop() }
        let lines = LogLines()
        let f = try ServerFixture(playbooks: playbooks, logger: Logger(label: "test") { _ in
            var handler = RecordingLogHandler(sink: lines)
            handler.logLevel = .trace
            return handler
        })
        // The directory, imported from an HR export as `muster people import` reads it.
        let csv = """
            name,email,phone,slack_id,mattermost_user,groups,site,deputy
            Lee,zq-lee@contact.invalid,,,,crisis-team,,Sam
            Sam,,,,,crisis-team,,
            Ana,zq-ana@contact.invalid,+447700900111,UZQ0ANA0SLACK,,site-hq,HQ,
            Bo,,+447700900222,,,site-hq,HQ,
            Cy,zq-cy@contact.invalid,,,zq_cy_mattermost,site-hq,HQ,
            """
        let file: PeopleCSV.File
        switch PeopleCSV.parse(csv) {
        case .success(let read): file = read
        case .failure(let problem): throw Failure("the directory does not parse: \(problem)")
        }
        _ = try f.state.journal.importPeople(file.rows.map(\.person), at: f.state.runtime.clock.now)
        let hook = OutboxWorkerHook(environment: [
            "MUSTER_HOOK_URL": receiver.url("/hook"), "MUSTER_SMS_URL": receiver.url("/"), "MUSTER_SMS_ACCOUNT": Self.account,
            "MUSTER_SMS_TOKEN": "sms-token-0123456789",
        ], idleCheck: .milliseconds(200))
        try await buildApplication(state: f.state, extraServices: hook.services(for: f.state)).test(.live) { client async throws in
            let declared = try await client.call(f, "Dana", .post, "/api/runs", ["playbook": "office-loss-board", "title": "Fire at HQ"])
            #expect(declared.status == 201, "\(declared.text)")
            let id = try #require(declared.json["id"] as? String)
            let commands = "/api/runs/\(id)/commands"
            #expect(try await client.call(f, "Dana", .post, commands, ["type": "assign", "role": "it_ops", "person": "Lee"]).status == 200)
            #expect(try await client.call(f, "Dana", .post, commands, ["type": "event", "name": "evacuate"]).status == 200)

            // Ana's and Bo's texts go out; Cy has no phone (not sent). The page to Lee reaches the webhook.
            func hearing(_ who: String = "Dana") async throws -> [String: Any] {
                let status = try await client.call(f, who, .get, "/api/runs/\(id)")
                return status.json["hearing_back"] as? [String: Any] ?? [:]
            }
            func rollCall(_ who: String = "Dana") async throws -> [String: Any] {
                (try await hearing(who)["roll_calls"] as? [[String: Any]])?.first ?? [:]
            }
            let settled = try await waitUntil(within: 30) {
                let r = try await rollCall()
                return r["unreached"] as? Int == 1 && r["not_yet_answered"] as? Int == 2
            }
            var r = try await rollCall()
            #expect(settled, "\(r)")
            #expect(r["people"] as? Int == 3 && r["accounted"] as? Int == 0 && r["accounted_percent"] as? Int == 0)
            #expect(r["unaccounted"] as? [String] == ["Ana", "Bo", "Cy"])
            #expect(r["within"] as? String == "1h" && r["deadline"] as? String != nil)
            #expect((r["text"] as? String)?.hasPrefix("0/3 accounted (0%); answered safe 0, help 0, away 0; not yet answered 2; unreached 1; within 1h: ") == true, "\(r)")
            let ack = try #require((try await hearing()["acks"] as? [[String: Any]])?.first)
            #expect(ack["id"] as? String == "page-it" && ack["paged"] as? [String] == ["Lee"] && ack["acknowledged_by"] is NSNull)
            #expect(ack["next_escalation"] as? String != nil && ack["next_step"] as? String == "deputy")

            #expect(try await client.call(f, "Lee", .post, commands, ["type": "answer", "roll_call": "staff-safety", "person": "Ana", "option": "safe"]).status == 200)
            #expect(try await client.call(f, "Lee", .post, commands, ["type": "answer", "roll_call": "staff-safety", "person": "Bo", "option": "away"]).status == 200)
            r = try await rollCall()
            #expect(r["accounted"] as? Int == 2 && r["unaccounted"] as? [String] == ["Cy"] && r["unreached"] as? Int == 1)

            // Only someone with a role on the run is offered (and allowed) to mark Cy accounted for.
            let port = try #require(client.port)
            let lee = try await BoardBrowserTests.dom(port: port, fragment: "run=\(id)&token=\(f.tokens["Lee"]!)", folder: f.folder)
            let olga = try await BoardBrowserTests.dom(port: port, fragment: "run=\(id)&token=\(f.tokens["Olga"]!)", folder: f.folder)
            for page in [lee, olga] {
                #expect(page.contains("id=\"hearing-back\"") && !page.contains("id=\"hearing-back\" hidden"), "\(page.prefix(3000))")
                #expect(page.contains("2 of 3 accounted for (66%)"), "\(BoardBrowserTests.element("roll-calls", in: page))")
                #expect(page.contains("not yet answered 0 · unreached 1"))
                #expect(page.contains("Unaccounted for (1)"))
                #expect(page.contains("data-ack=\"page-it\""))
                #expect(page.contains("next escalation to deputy in <span data-until="))
            }
            #expect(lee.contains("data-account=\"staff-safety\" data-person=\"Cy\""))
            #expect(!olga.contains("data-account="))
            let olgaTries = try await client.call(f, "Olga", .post, commands, ["type": "mark-accounted", "roll_call": "staff-safety", "person": "Cy", "why": "seen"])
            #expect(olgaTries.status == 403)
            #expect(try await client.call(f, "Lee", .post, commands, ["type": "mark-accounted", "roll_call": "staff-safety", "person": "Cy", "why": "seen at the assembly point"]).status == 200)
            #expect(try await client.call(f, "Lee", .post, commands, ["type": "acknowledge", "ack": "page-it"]).status == 200)
            r = try await rollCall()
            #expect(r["complete"] as? Bool == true && r["accounted_percent"] as? Int == 100 && (r["text"] as? String)?.hasSuffix("within 1h: all accounted") == true)
            let acked = try #require((try await hearing()["acks"] as? [[String: Any]])?.first)
            #expect(acked["acknowledged_by"] as? String == "Lee" && acked["next_escalation"] is NSNull)
            let after = try await BoardBrowserTests.dom(port: port, fragment: "run=\(id)&token=\(f.tokens["Lee"]!)", folder: f.folder)
            #expect(after.contains("acknowledged</strong> by Lee"), "\(BoardBrowserTests.element("acks", in: after))")
            #expect(!after.contains("data-account="))

            // Searched everywhere people look: no contact detail of anyone.
            let report = try await client.call(f, "Dana", .get, "/api/runs/\(id)/report?format=json")
            let section = try #require(report.json["hearingBack"] as? [String: Any], "\(report.text.prefix(500))")
            let rollCalls = try #require(section["rollCalls"] as? [[String: Any]])
            #expect(rollCalls.first?["neverReached"] as? [String] == ["Cy"])
            let sms = (section["channels"] as? [[String: Any]])?.first { $0["channel"] as? String == "sms" }
            #expect(sms?["sent"] as? Int == 3 && sms?["delivered"] as? Int == 2 && sms?["notSent"] as? Int == 1, "\(section)")
            var texts = [lee, olga, after, report.text]
            for path in ["/api/runs/\(id)/report?format=html", "/api/runs/\(id)/report?format=md", "/api/runs/\(id)", "/api/runs/\(id)/events",
                         "/api/runs/\(id)/notifications", "/api/runs/\(id)/timeline?format=csv", "/api/runs/\(id)/timeline?format=json", "/"] {
                let answer = try await client.call(f, "Dana", .get, path)
                #expect(answer.status == 200, "\(path): \(answer.status)")
                texts.append(answer.text)
            }
            #expect(texts[4].contains("<section id=\"hearing-back\">"))
            // The receiver did get the numbers: the search would find them if they leaked.
            #expect(try receiver.requests(to: Self.smsPath).contains { $0.body.contains("7700900111") })
            let log = lines.all
            #expect(!log.isEmpty)
            for secret in Self.secrets {
                for (index, text) in texts.enumerated() { #expect(!text.contains(secret), "\(secret) in text \(index)") }
                #expect(!log.contains { $0.contains(secret) }, "\(secret) in the server log")
            }
            StreamControl.stop(f.state)
        }
    }
}
