import Foundation
import MusterCore
import MusterDelivery
import MusterJournal
import MusterNotify
import Testing

/// Three roll calls asking Dana, one per channel type that can carry answers, and a page that wants her acknowledgement.
let questionPlaybook = """
    muster: 1
    id: question-test
    version: 1
    title: Question test
    severity: P1
    roles:
      incident_commander: { title: Incident commander }
    channels:
      chat: { type: slack, url: "${MUSTER_SLACK_URL}" }
      mm: { type: mattermost, url: "${MUSTER_MM_URL}" }
      text: { type: sms, url: "${MUSTER_SMS_URL}", account: "${MUSTER_SMS_ACCOUNT}", token: "${MUSTER_SMS_TOKEN}", from: "+4412345" }
    start: detect
    states:
      detect:
        phase: detect
        owner: incident_commander
        transitions:
          - { on: go, to: asking }
      asking:
        phase: respond
        owner: incident_commander
        on_enter:
          - { notify: chat, to: incident_commander, id: page-ic, message: "Join the bridge", ack_within: 10m }
          - roll_call: { id: rc-slack, who: [person: Dana], ask: "Are you safe?", options: { safe: I am safe, help: I need help }, via: [chat] }
          - roll_call: { id: rc-mm, who: [person: Dana], ask: "Are you safe?", options: { safe: I am safe, help: I need help }, via: [mm] }
          - roll_call: { id: rc-sms, who: [person: Dana], ask: "Are you safe?", options: { safe: I am safe, help: I need help, away: Not on site }, via: [text] }
        transitions:
          - { on: resolved, to: closed }
      closed:
        phase: learn
        owner: incident_commander
        terminal: true
    """

extension RealReceivers {
    @Suite("Personal questions carry their answers: Slack and Mattermost buttons, numbered SMS replies")
    struct AnswerButtonDeliveryTests {
        static let danaEmail = "dana.w@example.org"

        func deliver(environment extra: [String: String]) async throws -> (slack: [[String: Any]], mattermost: [[String: Any]], sms: [String]) {
            let http = try await HTTPReceiver(routes: [smsPath: ["status": 201, "body": #"{"sid":"SM1"}"#]])
            let store = try TestJournal()
            let clock = TestClock()
            try store.journal.upsertPerson(Person(name: "Dana", email: Self.danaEmail, phone: danaPhone, slackID: "U0DANA1", mattermostUser: "dana.w"), at: t0)
            var run = try store.start(questionPlaybook, at: t0)
            try store.command(&run, .raise("go"), at: t0)
            for id in ["rc-slack", "rc-mm", "rc-sms"] {
                try store.command(&run, .startRollCall(id, people: ["Dana"]), as: Command.system, at: t0)
            }
            var environment = smsEnvironment(http)
            environment["MUSTER_SLACK_URL"] = http.url("/slack")
            environment["MUSTER_MM_URL"] = http.url("/mm")
            environment.merge(extra) { $1 }
            let report = try await worker(store, environment: environment, clock: clock).deliverDue()
            #expect(report.sent == 4, "\(report.outcomes)")
            func objects(_ path: String) throws -> [[String: Any]] {
                try http.hits(path).map { try #require(try JSONSerialization.jsonObject(with: Data($0.body.utf8)) as? [String: Any]) }
            }
            return (try objects("/slack"), try objects("/mm"), try http.hits(smsPath).map { formFields($0.body)["Body"] ?? "" })
        }

        @Test("Slack: an actions block with one button per option (and Acknowledge for a page), values naming run, question and option only")
        func slackButtons() async throws {
            let got = try await deliver(environment: [:])
            #expect(got.slack.count == 2)
            var values: Set<String> = []
            for payload in got.slack {
                #expect(payload["channel"] as? String == "U0DANA1")
                let blocks = try #require(payload["blocks"] as? [[String: Any]])
                let actions = try #require(blocks.first { $0["type"] as? String == "actions" })
                let buttons = try #require(actions["elements"] as? [[String: Any]])
                for button in buttons {
                    #expect(button["type"] as? String == "button")
                    let value = try #require(button["value"] as? String)
                    values.insert(value)
                    let text = String(data: try JSONSerialization.data(withJSONObject: button), encoding: .utf8) ?? ""
                    #expect(!text.contains(danaPhone) && !text.contains(Self.danaEmail) && !text.contains("U0DANA1") && !text.contains("Dana"), "\(text)")
                }
            }
            #expect(values == ["v1 r-test01 roll_call rc-slack safe", "v1 r-test01 roll_call rc-slack help", "v1 r-test01 ack page-ic ack"])
            #expect(ChatAnswer(slackValue: "v1 r-test01 roll_call rc-slack help") == ChatAnswer(runID: "r-test01", question: .rollCall("rc-slack"), option: "help"))
        }

        @Test("Mattermost: buttons posting a context signed for the person to MUSTER_PUBLIC_URL; without the settings, no buttons")
        func mattermostButtons() async throws {
            let got = try await deliver(environment: ["MUSTER_PUBLIC_URL": "https://muster.example.org/", "MUSTER_MATTERMOST_ACTION_SECRET": "mm-action-secret"])
            let payload = try #require(got.mattermost.first)
            #expect(payload["channel"] as? String == "@dana.w")
            let attachment = try #require((payload["attachments"] as? [[String: Any]])?.first)
            let actions = try #require(attachment["actions"] as? [[String: Any]])
            #expect(actions.map { $0["name"] as? String } == ["I am safe", "I need help"])
            let signer = MattermostActionSigner(secret: "mm-action-secret")
            for (action, option) in zip(actions, ["safe", "help"]) {
                let integration = try #require(action["integration"] as? [String: Any])
                #expect(integration["url"] as? String == "https://muster.example.org/hooks/mattermost/actions")
                let context = try #require(integration["context"] as? [String: String])
                let verified = try signer.verify(context: context).get()
                #expect(verified.answer == ChatAnswer(runID: "r-test01", question: .rollCall("rc-mm"), option: option))
                #expect(verified.person == "Dana")
                #expect(MattermostActionSigner(secret: "another").verify(context: context).isFailure)
                let text = String(data: try JSONSerialization.data(withJSONObject: action), encoding: .utf8) ?? ""
                #expect(!text.contains(danaPhone) && !text.contains(Self.danaEmail) && !text.contains("dana.w"), "\(text)")
            }
            let plain = try await deliver(environment: [:])
            let bare = try #require((plain.mattermost.first?["attachments"] as? [[String: Any]])?.first)
            #expect(bare["actions"] == nil)
        }

        @Test("SMS: the options are numbered in the playbook's order")
        func smsNumbering() async throws {
            let got = try await deliver(environment: [:])
            let body = try #require(got.sms.first)
            #expect(body == "Are you safe? (safe: I am safe | help: I need help | away: Not on site)\nReply 1 for I am safe, 2 for I need help, 3 for Not on site.")
        }
    }
}

extension Result {
    var isFailure: Bool { if case .failure = self { true } else { false } }
}
