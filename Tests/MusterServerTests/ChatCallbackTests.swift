import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MusterCore
import MusterJournal
import MusterNotify
import MusterServer
import MusterTestSupport
import NIOCore
import Testing

/// `POST /hooks/slack/interactive`, `/hooks/mattermost/actions` and `/hooks/sms`: answers and acknowledgements
/// through chat buttons and SMS replies, with the signatures computed here from the platforms' documented algorithms.
@Suite("Answers through Slack, Mattermost and SMS callbacks")
struct ChatCallbackTests {
    static let slackSecret = "8f742231b10e8888abcd99yyyzzz85a5"
    static let mattermostSecret = "mm-action-secret-0123"
    static let smsToken = "twilio-auth-token-0123"
    static let publicURL = "https://muster.example.org"

    static let playbook = """
        muster: 1
        id: chat-answers
        version: 1
        title: Chat answers
        severity: P1
        roles:
          incident_commander: { title: Incident Commander }
          it_ops: { title: IT Operations lead }
        channels:
          chat: { type: slack, url: "http://127.0.0.1:9/slack" }
          mm: { type: mattermost, url: "http://127.0.0.1:9/mm" }
          text: { type: sms, url: "http://127.0.0.1:9", account: AC0001, token: not-a-secret, from: "+4400000" }
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
              - { notify: text, to: it_ops, id: page-it, message: "Main office lost: join the bridge", ack_within: 10m }
              - roll_call: { id: staff-safety, who: [group: site-hq], ask: "Are you safe?", options: { safe: I am safe, help: I need help, away: Not on site }, via: [text, chat, mm] }
            transitions: [ { on: recovered, to: closed } ]
          closed:
            phase: learn
            terminal: true
        """

    let clock = ManualClock()
    let lines = LogLines()

    /// Dana commands; Lee holds it_ops; Sam and Olga are the site asked by the roll call. Contact details distinctive.
    func fixture() throws -> ServerFixture {
        let folder = (NSTemporaryDirectory() as NSString).appendingPathComponent("muster-chat-playbooks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Self.playbook.write(toFile: folder + "/chat-answers.yaml", atomically: true, encoding: .utf8)
        let lines = self.lines
        let f = try ServerFixture(playbooks: folder, clock: clock, logger: Logger(label: "test") { _ in RecordingLogHandler(sink: lines) }) {
            $0.chatCallbacks = ChatCallbackSettings(publicURL: Self.publicURL, slackSigningSecret: Self.slackSecret,
                                                    mattermostActionSecret: Self.mattermostSecret, smsAuthToken: Self.smsToken)
        }
        _ = try f.state.journal.importPeople([
            Person(name: "Dana", slackID: "U0DANA0001"),
            Person(name: "Lee", email: "lee.chen@example.org", phone: "+4915100000001", slackID: "U0LEE00001", mattermostUser: "lee.c"),
            Person(name: "Sam", email: "sam.o@example.org", phone: "+4915100000002", slackID: "U0SAM00001", mattermostUser: "sam.o", groups: ["site-hq"]),
            Person(name: "Olga", phone: "+4915100000003", mattermostUser: "olga.k", groups: ["site-hq"]),
        ], at: clock.now)
        return f
    }

    /// Declares the run, assigns it_ops and starts the roll call; the run's id.
    func startRun(_ client: some TestClientProtocol, _ f: ServerFixture) async throws -> String {
        let declared = try await client.call(f, "Dana", .post, "/api/runs", ["playbook": "chat-answers", "title": "Fire at HQ"])
        #expect(declared.status == 201, "\(declared.text)")
        let id = try #require(declared.json["id"] as? String)
        #expect(try await client.call(f, "Dana", .post, "/api/runs/\(id)/commands", ["type": "assign", "role": "it_ops", "person": "Lee"]).status == 200)
        #expect(try await client.call(f, "Dana", .post, "/api/runs/\(id)/commands", ["type": "event", "name": "evacuate"]).status == 200)
        #expect(try f.state.runtime.snapshot(runID: id).run.rollCalls["staff-safety"]?.people == ["Olga", "Sam"])
        return id
    }

    // MARK: Requests as the platforms send them

    static func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func formEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        allowed.insert(" ")
        // Spaces as `+`, as Slack and Twilio send them.
        return (text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text).replacingOccurrences(of: " ", with: "+")
    }

    /// A Slack `block_actions` interaction for a button with `value`, pressed by `user`.
    static func slackBody(user: String, value: String) -> String {
        let payload: [String: Any] = [
            "type": "block_actions", "user": ["id": user, "username": "someone", "team_id": "T0001"], "api_app_id": "A0001",
            "trigger_id": "1.2.3", "response_url": "https://hooks.slack.com/actions/T0001/1/abc",
            "actions": [["type": "button", "action_id": "muster-answer-1", "block_id": "muster-answer", "value": value, "action_ts": "1"]],
        ]
        let json = String(data: try! JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys]), encoding: .utf8)!
        return "payload=" + formEncode(json)
    }

    /// Slack's headers: `v0=` hex HMAC-SHA256(secret, "v0:" + timestamp + ":" + body).
    static func slackHeaders(body: String, timestamp: Int64, secret: String = slackSecret) -> HTTPFields {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("v0:\(timestamp):\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        var headers = HTTPFields()
        headers[.contentType] = "application/x-www-form-urlencoded"
        headers[HTTPField.Name("X-Slack-Request-Timestamp")!] = String(timestamp)
        headers[HTTPField.Name("X-Slack-Signature")!] = "v0=" + hex(mac)
        return headers
    }

    func seconds() -> Int64 { clock.now.millisecondsSinceEpoch / 1000 }

    static func post(_ client: some TestClientProtocol, _ path: String, _ headers: HTTPFields, _ body: String) async throws -> (status: Int, text: String, type: String?) {
        try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body)) { response in
            (Int(response.status.code), String(buffer: response.body), response.headers[.contentType])
        }
    }

    /// The number of events of the run (nothing recorded: unchanged).
    func events(_ f: ServerFixture, _ id: String) throws -> Int { try f.state.journal.head(runID: id).sequence }

    func answer(_ f: ServerFixture, _ id: String, _ person: String) throws -> RollCallRecord.Answer? {
        try f.state.runtime.snapshot(runID: id).run.rollCalls["staff-safety"]?.answers[person]
    }

    /// Nothing of a request body, a contact detail or a signature reached the log.
    func expectCleanLog(_ secrets: [String] = []) {
        for line in lines.all {
            for needle in ["+49151", "example.org", "U0SAM", "U0LEE", "U0NOBODY", "payload", "v0=", Self.slackSecret, Self.mattermostSecret,
                           Self.smsToken, "signature\":"] + secrets {
                #expect(!line.contains(needle), "log line holds '\(needle)': \(line)")
            }
        }
    }

    // MARK: Slack

    @Test("Slack: a signed button press records the answer as the person pressing, channel slack; a replay changes nothing")
    func slackAnswer() async throws {
        let f = try fixture()
        try await f.app.test(.router) { client async throws in
            let id = try await startRun(client, f)
            let body = Self.slackBody(user: "U0SAM00001", value: "v1 \(id) roll_call staff-safety help")
            let headers = Self.slackHeaders(body: body, timestamp: seconds())
            let first = try await Self.post(client, "/hooks/slack/interactive", headers, body)
            #expect(first.status == 200, "\(first.text)")
            #expect(first.text.contains("Recorded: I need help"), "\(first.text)")
            #expect(try answer(f, id, "Sam")?.option == "help")
            #expect(try answer(f, id, "Sam")?.channel == "slack")
            let before = try events(f, id)
            clock.advance(by: .minutes(2))
            let replay = try await Self.post(client, "/hooks/slack/interactive", headers, body)
            #expect(replay.status == 200, "\(replay.text)")
            #expect(replay.text.contains("Already recorded"), "\(replay.text)")
            #expect(try events(f, id) == before)
            #expect(try answer(f, id, "Sam")?.count == 1)

            // The acknowledgement button of Lee's page.
            let ackBody = Self.slackBody(user: "U0LEE00001", value: "v1 \(id) ack page-it ack")
            let acked = try await Self.post(client, "/hooks/slack/interactive", Self.slackHeaders(body: ackBody, timestamp: seconds()), ackBody)
            #expect(acked.status == 200 && acked.text.contains("Recorded"), "\(acked.text)")
            #expect(try f.state.runtime.snapshot(runID: id).run.acks["page-it"]?.acknowledgedBy == "Lee")
        }
        expectCleanLog()
    }

    @Test("Slack: forged, wrong secret, stale, future and unsigned requests are 401 and change nothing; the log has no body")
    func slackRefusals() async throws {
        let f = try fixture()
        try await f.app.test(.router) { client async throws in
            let id = try await startRun(client, f)
            let before = try events(f, id)
            let body = Self.slackBody(user: "U0SAM00001", value: "v1 \(id) roll_call staff-safety safe")
            let now = seconds()
            var forged = Self.slackHeaders(body: body, timestamp: now)
            let tampered = Self.slackBody(user: "U0OLGA0001", value: "v1 \(id) roll_call staff-safety safe")
            var unsigned = HTTPFields()
            unsigned[.contentType] = "application/x-www-form-urlencoded"
            unsigned[HTTPField.Name("X-Slack-Request-Timestamp")!] = String(now)
            var badTimestamp = Self.slackHeaders(body: body, timestamp: now)
            badTimestamp[HTTPField.Name("X-Slack-Request-Timestamp")!] = "soon"
            forged[HTTPField.Name("X-Slack-Signature")!] = "v0=" + String(repeating: "0", count: 64)
            let cases: [(String, HTTPFields, String)] = [
                ("forged signature", forged, body),
                ("body changed after signing", Self.slackHeaders(body: body, timestamp: now), tampered),
                ("wrong secret", Self.slackHeaders(body: body, timestamp: now, secret: "another-secret"), body),
                ("stale (5 min 1 s old)", Self.slackHeaders(body: body, timestamp: now - 301), body),
                ("from the future", Self.slackHeaders(body: body, timestamp: now + 301), body),
                ("timestamp not a number", badTimestamp, body),
                ("unsigned", unsigned, body),
            ]
            for (name, headers, text) in cases {
                let r = try await Self.post(client, "/hooks/slack/interactive", headers, text)
                #expect(r.status == 401, "\(name): \(r.text)")
            }
            #expect(try events(f, id) == before)
            #expect(try answer(f, id, "Sam") == nil)
            // A signature made 4 minutes ago is still good (the window is 5 minutes).
            let recent = try await Self.post(client, "/hooks/slack/interactive", Self.slackHeaders(body: body, timestamp: now - 240), body)
            #expect(recent.status == 200 && recent.text.contains("Recorded"), "\(recent.text)")
        }
        #expect(lines.all.filter { $0.contains("refused callback") && $0.contains("route=slack") }.count == 7, "\(lines.all)")
        expectCleanLog()
    }

    @Test("Slack: someone not in the directory, an unknown option, a closed run: 200 with a reply, nothing recorded")
    func slackNotRecorded() async throws {
        let f = try fixture()
        try await f.app.test(.router) { client async throws in
            let id = try await startRun(client, f)
            let before = try events(f, id)
            let stranger = Self.slackBody(user: "U0NOBODY01", value: "v1 \(id) roll_call staff-safety safe")
            let r1 = try await Self.post(client, "/hooks/slack/interactive", Self.slackHeaders(body: stranger, timestamp: seconds()), stranger)
            #expect(r1.status == 200)
            #expect(r1.text.contains("not in Muster's people directory") && r1.text.contains("Dana"), "\(r1.text)")
            let maybe = Self.slackBody(user: "U0SAM00001", value: "v1 \(id) roll_call staff-safety maybe")
            let r2 = try await Self.post(client, "/hooks/slack/interactive", Self.slackHeaders(body: maybe, timestamp: seconds()), maybe)
            #expect(r2.status == 200 && r2.text.contains("Not recorded") && r2.text.contains("not an option"), "\(r2.text)")
            let notAsked = Self.slackBody(user: "U0DANA0001", value: "v1 \(id) roll_call staff-safety safe")
            let r3 = try await Self.post(client, "/hooks/slack/interactive", Self.slackHeaders(body: notAsked, timestamp: seconds()), notAsked)
            #expect(r3.status == 200 && r3.text.contains("Not recorded"), "\(r3.text)")
            #expect(try events(f, id) == before)

            #expect(try await client.call(f, "Dana", .post, "/api/runs/\(id)/commands", ["type": "close", "reason": "drill over"]).status == 200)
            let closedBefore = try events(f, id)
            let late = Self.slackBody(user: "U0SAM00001", value: "v1 \(id) roll_call staff-safety safe")
            let r4 = try await Self.post(client, "/hooks/slack/interactive", Self.slackHeaders(body: late, timestamp: seconds()), late)
            #expect(r4.status == 200 && r4.text.contains("Not recorded") && r4.text.contains("closed"), "\(r4.text)")
            #expect(try events(f, id) == closedBefore)
        }
        expectCleanLog()
    }

    @Test("Slack: a restricted run does not hide from the person it asked; the routes take POST only (405 with Allow)")
    func restrictedRunAndMethods() async throws {
        let f = try fixture()
        try await f.app.test(.router) { client async throws in
            let declared = try await client.call(f, "Dana", .post, "/api/runs", ["playbook": "chat-answers", "title": "Quiet fire", "restricted": true])
            let id = try #require(declared.json["id"] as? String)
            #expect(try await client.call(f, "Dana", .post, "/api/runs/\(id)/commands", ["type": "event", "name": "evacuate"]).status == 200)
            // Sam is not on the run: the API hides it from him, his own answer reaches it.
            #expect(try await client.call(f, "Sam", .get, "/api/runs/\(id)").status == 404)
            let body = Self.slackBody(user: "U0SAM00001", value: "v1 \(id) roll_call staff-safety safe")
            let r = try await Self.post(client, "/hooks/slack/interactive", Self.slackHeaders(body: body, timestamp: seconds()), body)
            #expect(r.status == 200 && r.text.contains("Recorded: I am safe"), "\(r.text)")
            #expect(try answer(f, id, "Sam")?.channel == "slack")
            for path in ["/hooks/slack/interactive", "/hooks/mattermost/actions", "/hooks/sms"] {
                let got = try await client.execute(uri: path, method: .get, headers: [:]) { ($0.status.code, $0.headers[.allow]) }
                #expect(got.0 == 405 && got.1 == "POST", "\(path): \(got)")
            }
        }
        expectCleanLog()
    }

    @Test("the buttons Muster sends (as ChannelPayloads builds them) answer through the routes: Slack's value, Mattermost's signed context")
    func sentButtonsAnswer() async throws {
        let f = try fixture()
        try await f.app.test(.router) { client async throws in
            let id = try await startRun(client, f)
            let settings = ChatCallbackSettings(publicURL: Self.publicURL + "/", mattermostActionSecret: Self.mattermostSecret)
            let choices = [PersonalQuestion.Choice(key: "safe", label: "I am safe"), PersonalQuestion.Choice(key: "help", label: "I need help")]
            func question(_ person: String) -> PersonalQuestion {
                PersonalQuestion(runID: id, question: .rollCall("staff-safety"), choices: choices, person: person, mattermost: settings.mattermostActions)
            }
            // Slack: the second button's value, pressed by Sam.
            let block = try #require(try JSONSerialization.jsonObject(with: Data(ChannelPayloads.slackAnswerBlock(question("Sam")).bytes)) as? [String: Any])
            let value = try #require((block["elements"] as? [[String: Any]])?.last?["value"] as? String)
            let body = Self.slackBody(user: "U0SAM00001", value: value)
            let pressed = try await Self.post(client, "/hooks/slack/interactive", Self.slackHeaders(body: body, timestamp: seconds()), body)
            #expect(pressed.text.contains("Recorded: I need help"), "\(pressed.text)")
            #expect(try answer(f, id, "Sam")?.option == "help")
            // Mattermost: the first button's integration, posted as Mattermost posts it, by Olga.
            let actions = try #require(ChannelPayloads.mattermostAnswerActions(question("Olga")))
            let buttons = try #require(try JSONSerialization.jsonObject(with: Data(actions.bytes)) as? [[String: Any]])
            let integration = try #require(buttons.first?["integration"] as? [String: Any])
            let url = try #require(integration["url"] as? String)
            #expect(url == Self.publicURL + "/hooks/mattermost/actions")
            let context = try #require(integration["context"] as? [String: String])
            let json: HTTPFields = [.contentType: "application/json"]
            let r = try await Self.post(client, String(url.dropFirst(Self.publicURL.count)), json, Self.mattermostBody(userName: "olga.k", context: context))
            #expect(r.text.contains("Recorded: I am safe"), "\(r.text)")
            #expect(try answer(f, id, "Olga")?.channel == "mattermost")
        }
    }

    // MARK: Mattermost

    /// A context signed as documented: hex HMAC-SHA256(secret, "muster-mattermost-v1\nRUN\nroll_call|ack\nQUESTION\nOPTION\nPERSON").
    static func mattermostContext(run: String, rollCall: String, option: String, person: String, secret: String = mattermostSecret) -> [String: String] {
        let text = "muster-mattermost-v1\n\(run)\nroll_call\n\(rollCall)\n\(option)\n\(person)"
        let mac = HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return ["run": run, "roll_call": rollCall, "option": option, "person": person, "signature": hex(mac)]
    }

    static func mattermostBody(userName: String?, context: [String: String]?) -> String {
        var body: [String: Any] = ["user_id": "k9s8d7f6g5h4j3k2l1", "channel_id": "c1", "team_id": "t1", "post_id": "p1", "trigger_id": "x", "type": ""]
        if let userName { body["user_name"] = userName }
        if let context { body["context"] = context }
        return String(data: try! JSONSerialization.data(withJSONObject: body), encoding: .utf8)!
    }

    @Test("Mattermost: a signed context records the answer (channel mattermost); forged, wrong secret and unsigned are 401; someone else's press records nothing")
    func mattermost() async throws {
        let f = try fixture()
        let json: HTTPFields = [.contentType: "application/json"]
        try await f.app.test(.router) { client async throws in
            let id = try await startRun(client, f)
            let before = try events(f, id)
            let good = Self.mattermostContext(run: id, rollCall: "staff-safety", option: "away", person: "Olga")
            var forged = good
            forged["person"] = "Sam"
            for (name, body) in [("forged", Self.mattermostBody(userName: "olga.k", context: forged)),
                                 ("wrong secret", Self.mattermostBody(userName: "olga.k", context: Self.mattermostContext(run: id, rollCall: "staff-safety", option: "away", person: "Olga", secret: "nope"))),
                                 ("unsigned", Self.mattermostBody(userName: "olga.k", context: good.filter { $0.key != "signature" })),
                                 ("no context", Self.mattermostBody(userName: "olga.k", context: nil))] {
                let r = try await Self.post(client, "/hooks/mattermost/actions", json, body)
                #expect(r.status == 401, "\(name): \(r.text)")
            }
            let pressedBySam = try await Self.post(client, "/hooks/mattermost/actions", json, Self.mattermostBody(userName: "sam.o", context: good))
            #expect(pressedBySam.status == 200 && pressedBySam.text.contains("someone else"), "\(pressedBySam.text)")
            #expect(try events(f, id) == before)

            let r = try await Self.post(client, "/hooks/mattermost/actions", json, Self.mattermostBody(userName: "@Olga.K", context: good))
            #expect(r.status == 200, "\(r.text)")
            let reply = try #require(try JSONSerialization.jsonObject(with: Data(r.text.utf8)) as? [String: Any])
            #expect((reply["ephemeral_text"] as? String)?.contains("Recorded: Not on site") == true, "\(r.text)")
            #expect(try answer(f, id, "Olga")?.channel == "mattermost")
            #expect(try answer(f, id, "Olga")?.option == "away")

            let ghost = Self.mattermostContext(run: id, rollCall: "staff-safety", option: "safe", person: "Nobody")
            let g = try await Self.post(client, "/hooks/mattermost/actions", json, Self.mattermostBody(userName: nil, context: ghost))
            #expect(g.status == 200 && g.text.contains("not in Muster's people directory"), "\(g.text)")
        }
        expectCleanLog(["k9s8d7f6", "olga.k"])
    }

    // MARK: SMS

    /// Twilio's signature: base64(HMAC-SHA1(token, URL + each parameter's name and value, sorted by name)).
    static func twilioSignature(url: String, _ parameters: [(String, String)], token: String = smsToken) -> String {
        let data = url + parameters.sorted { $0.0 < $1.0 }.map { $0.0 + $0.1 }.joined()
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Data(data.utf8), using: SymmetricKey(data: Data(token.utf8)))
        return Data(mac).base64EncodedString()
    }

    static func smsRequest(from: String, body: String, sid: String, token: String = smsToken, signed: Bool = true) -> (HTTPFields, String) {
        let parameters = [("AccountSid", "AC0001"), ("MessageSid", sid), ("From", from), ("To", "+4400000"), ("Body", body), ("NumMedia", "0")]
        var headers = HTTPFields()
        headers[.contentType] = "application/x-www-form-urlencoded"
        if signed { headers[HTTPField.Name("X-Twilio-Signature")!] = twilioSignature(url: publicURL + "/hooks/sms", parameters, token: token) }
        return (headers, parameters.map { formEncode($0.0) + "=" + formEncode($0.1) }.joined(separator: "&"))
    }

    func sms(_ client: some TestClientProtocol, from: String, body: String, sid: String, token: String = smsToken, signed: Bool = true) async throws -> (status: Int, text: String, type: String?) {
        let (headers, form) = Self.smsRequest(from: from, body: body, sid: sid, token: token, signed: signed)
        return try await Self.post(client, "/hooks/sms", headers, form)
    }

    @Test("SMS: replies '1', 'safe' and 'HELP' answer the open question (channel sms); garbage gets how to answer; the page is acknowledged with 1")
    func smsReplies() async throws {
        let f = try fixture()
        try await f.app.test(.router) { client async throws in
            let id = try await startRun(client, f)
            let one = try await sms(client, from: "+4915100000002", body: " 1 ", sid: "SM0001")
            #expect(one.status == 200 && one.type?.hasPrefix("text/xml") == true)
            #expect(one.text.contains("<Response><Message>Recorded: I am safe"), "\(one.text)")
            #expect(try answer(f, id, "Sam")?.option == "safe")
            #expect(try answer(f, id, "Sam")?.channel == "sms")
            // The gateway retrying the same message changes nothing.
            let before = try events(f, id)
            let retried = try await sms(client, from: "+4915100000002", body: " 1 ", sid: "SM0001")
            #expect(retried.text.contains("Already recorded"), "\(retried.text)")
            #expect(try events(f, id) == before)

            let help = try await sms(client, from: "+4915100000002", body: "HELP", sid: "SM0002")
            #expect(help.text.contains("Recorded: I need help"), "\(help.text)")
            #expect(try answer(f, id, "Sam")?.option == "help")
            #expect(try answer(f, id, "Sam")?.count == 2)
            let safe = try await sms(client, from: "+4915100000003", body: "safe", sid: "SM0003")
            #expect(safe.text.contains("Recorded: I am safe"), "\(safe.text)")
            #expect(try answer(f, id, "Olga")?.option == "safe")

            let countBefore = try events(f, id)
            let garbage = try await sms(client, from: "+4915100000003", body: "wat <b>", sid: "SM0004")
            #expect(garbage.status == 200)
            #expect(garbage.text.contains("Reply 1 for I am safe, 2 for I need help, 3 for Not on site."), "\(garbage.text)")
            #expect(garbage.text.contains("wat &lt;b&gt;"), "\(garbage.text)")
            #expect(try events(f, id) == countBefore)

            // Lee was paged by SMS (and is not asked by the roll call): his reply acknowledges.
            let ack = try await sms(client, from: "+4915100000001", body: "1", sid: "SM0005")
            #expect(ack.text.contains("Recorded: acknowledged"), "\(ack.text)")
            #expect(try f.state.runtime.snapshot(runID: id).run.acks["page-it"]?.acknowledgedBy == "Lee")
        }
        expectCleanLog(["SM000"])
    }

    @Test("SMS: a bad or missing signature is 401; an unknown number gets a reply; a closed run (SMS and Mattermost) records nothing")
    func smsRefusals() async throws {
        let f = try fixture()
        try await f.app.test(.router) { client async throws in
            let id = try await startRun(client, f)
            let before = try events(f, id)
            #expect(try await sms(client, from: "+4915100000002", body: "1", sid: "SM1001", token: "wrong-token").status == 401)
            #expect(try await sms(client, from: "+4915100000002", body: "1", sid: "SM1002", signed: false).status == 401)
            // Signed for one body, sent with another.
            let (headers, _) = Self.smsRequest(from: "+4915100000002", body: "1", sid: "SM1003")
            let (_, other) = Self.smsRequest(from: "+4915100000002", body: "3", sid: "SM1003")
            #expect(try await Self.post(client, "/hooks/sms", headers, other).status == 401)
            let stranger = try await sms(client, from: "+4915199999999", body: "1", sid: "SM1004")
            #expect(stranger.status == 200 && stranger.text.contains("not in Muster's people directory"), "\(stranger.text)")
            #expect(try events(f, id) == before)
            // A closed run asks nothing any more.
            #expect(try await client.call(f, "Dana", .post, "/api/runs/\(id)/commands", ["type": "close", "reason": "all clear"]).status == 200)
            let closed = try events(f, id)
            let late = try await sms(client, from: "+4915100000002", body: "1", sid: "SM1005")
            #expect(late.status == 200 && late.text.contains("no open question"), "\(late.text)")
            #expect(try events(f, id) == closed)
            // Mattermost: the signed context of a closed run's button records nothing.
            let json: HTTPFields = [.contentType: "application/json"]
            let context = Self.mattermostContext(run: id, rollCall: "staff-safety", option: "safe", person: "Olga")
            let pressed = try await Self.post(client, "/hooks/mattermost/actions", json, Self.mattermostBody(userName: "olga.k", context: context))
            #expect(pressed.status == 200 && pressed.text.contains("Not recorded") && pressed.text.contains("closed"), "\(pressed.text)")
            #expect(try events(f, id) == closed)
        }
        expectCleanLog(["+4915199999999", "SM100"])
    }
}
