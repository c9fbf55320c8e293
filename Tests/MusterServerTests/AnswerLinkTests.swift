import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MusterCore
import MusterDelivery
import MusterJournal
import MusterNotify
import MusterServer
import MusterTestSupport
import NIOCore
import Testing

/// A playbook whose `evacuate` event pages it_ops (ack `page-it`) and asks site-hq whether they are safe, both by SMS
/// to a Twilio-compatible receiver.
let answerLinkPlaybook = """
    muster: 1
    id: link-test
    version: 1
    title: Answer links
    severity: P1
    roles:
      incident_commander: { title: Incident Commander }
      it_ops: { title: IT Operations lead }
    channels:
      text: { type: sms, url: "${MUSTER_SMS_URL}", account: "${MUSTER_SMS_ACCOUNT}", token: "${MUSTER_SMS_TOKEN}", from: "+4412345" }
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
          - notify: text
            to: it_ops
            id: page-it
            message: "Main office lost: join the bridge"
            ack_within: 10m
          - roll_call: { id: staff-safety, who: [group: site-hq], ask: "Are you safe?", options: { safe: I am safe, help: I need help, away: Not on site }, via: [text], within: 1h }
        transitions:
          - { on: done, to: closed }
      closed:
        phase: learn
        terminal: true
    """

let linkSMSAccount = "AC0123456789abcdef"
let linkSMSPath = "/2010-04-01/Accounts/\(linkSMSAccount)/Messages.json"

/// A server (live, on 127.0.0.1) over a journal with the link playbook, Lee (it_ops, on site) and Olga (on site), an
/// SMS receiver, and an outbox worker that mints links under the server's address.
struct AnswerLinkRig {
    let f: ServerFixture
    let clock: ManualClock
    let receiver: HTTPTestReceiver
    let lines: LogLines
    let playbooks: String

    static func make() async throws -> AnswerLinkRig {
        let playbooks = (NSTemporaryDirectory() as NSString).appendingPathComponent("muster-links-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: playbooks, withIntermediateDirectories: true)
        try answerLinkPlaybook.write(toFile: playbooks + "/link-test.yaml", atomically: true, encoding: .utf8)
        let clock = ManualClock()
        let lines = LogLines()
        let f = try ServerFixture(playbooks: playbooks, clock: clock, logger: Logger(label: "test") { _ in RecordingLogHandler(sink: lines) })
        _ = try f.state.journal.importPeople([
            Person(name: "Lee", phone: "+4915100000001", groups: ["site-hq"]),
            Person(name: "Olga", phone: "+4915100000003", groups: ["site-hq"]),
        ], at: clock.now)
        let receiver = try await HTTPTestReceiver(routes: [linkSMSPath: ["status": 201, "body": #"{"sid":"SM1"}"#]])
        return AnswerLinkRig(f: f, clock: clock, receiver: receiver, lines: lines, playbooks: playbooks)
    }

    func worker(port: Int) -> OutboxWorker {
        let clock = clock
        return OutboxWorker(journal: f.state.journal, transport: CurlTransport(),
                            environment: ["MUSTER_SMS_URL": receiver.url("/"), "MUSTER_SMS_ACCOUNT": linkSMSAccount, "MUSTER_SMS_TOKEN": "sms-token"],
                            answerLinkBase: "http://127.0.0.1:\(port)/", clock: { clock.now })
    }

    /// Declares a run as Dana, assigns it_ops to Lee and raises `evacuate`; returns the run id.
    func start(_ client: some TestClientProtocol) async throws -> String {
        let declared = try await client.call(f, "Dana", .post, "/api/runs", ["playbook": "link-test", "title": "Fire at HQ"])
        guard declared.status == 201, let id = declared.json["id"] as? String else { throw Failure("declare: \(declared.text)") }
        let assigned = try await client.call(f, "Dana", .post, "/api/runs/\(id)/commands", ["type": "assign", "role": "it_ops", "person": "Lee"])
        guard assigned.status == 200 else { throw Failure("assign: \(assigned.text)") }
        let raised = try await client.call(f, "Dana", .post, "/api/runs/\(id)/commands", ["type": "event", "name": "evacuate"])
        guard raised.status == 200 else { throw Failure("raise: \(raised.text)") }
        return id
    }

    /// Each person's messages' bodies, by phone number, from the receiver.
    func bodies() throws -> [(to: String, body: String)] {
        try receiver.requests(to: linkSMSPath).map { hit in
            let fields = AnswerLinkRig.form(hit.body)
            return (fields["To"] ?? "", fields["Body"] ?? "")
        }
    }

    /// The path (`/a/TOKEN`) of the link in the message to `phone` that contains `text`.
    func linkPath(to phone: String, containing text: String) throws -> String {
        let body = try #require(try bodies().first { $0.to == phone && $0.body.contains(text) }?.body, "no message to \(phone) with '\(text)'")
        let range = try #require(body.range(of: #"http://127\.0\.0\.1:\d+/a/[A-Za-z0-9_-]+"#, options: .regularExpression), "no link in: \(body)")
        let url = try #require(URL(string: String(body[range])))
        return url.path
    }

    static func form(_ body: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            fields[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return fields
    }

    func stop() {
        receiver.stop()
        try? FileManager.default.removeItem(atPath: playbooks)
    }
}

extension TestClientProtocol {
    /// A request as a phone's browser makes it: no token, a form body for POST.
    func page(_ method: HTTPRequest.Method, _ path: String, form: String? = nil, headers extra: HTTPFields = [:]) async throws -> (status: Int, text: String, headers: HTTPFields) {
        var headers = extra
        if form != nil { headers[.contentType] = "application/x-www-form-urlencoded" }
        return try await execute(uri: path, method: method, headers: headers, body: form.map { ByteBuffer(string: $0) }) { response in
            (Int(response.status.code), String(buffer: response.body), response.headers)
        }
    }
}

@Suite("Personal answer links (GET/POST /a/TOKEN)", .serialized)
struct AnswerLinkTests {
    @Test("a link minted on delivery reaches the SMS receiver; opened against the server it shows the options and records the answer with channel link; twice, the last counts")
    func answerThroughTheLink() async throws {
        let rig = try await AnswerLinkRig.make()
        defer { rig.stop() }
        try await rig.f.app.test(.live) { client async throws in
            let id = try await rig.start(client)
            let port = try #require(client.port)
            let report = try await rig.worker(port: port).deliverDue()
            #expect(report.sent == 3, "\(report.outcomes)")  // Lee's page, Lee's and Olga's roll call messages

            let olga = try rig.linkPath(to: "+4915100000003", containing: "Are you safe?")
            let shown = try await client.page(.get, olga)
            #expect(shown.status == 200, "\(shown.text)")
            #expect(shown.text.contains("Are you safe?") && shown.text.contains("I am safe") && shown.text.contains("I need help"))
            #expect(shown.text.contains("<html lang=\"en\">") && shown.text.contains("name=\"viewport\""))
            #expect(shown.headers[.contentSecurityPolicy]?.contains("form-action 'self'") == true)
            #expect(shown.headers[.cacheControl] == "no-store")
            #expect(shown.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")

            let first = try await client.page(.post, olga, form: "option=help")
            #expect(first.status == 200 && first.text.contains("Recorded: <strong>I need help</strong>"), "\(first.text)")
            var answer = try rig.f.state.runtime.snapshot(runID: id).run.rollCalls["staff-safety"]?.answers["Olga"]
            #expect(answer?.option == "help" && answer?.channel == "link")

            let second = try await client.page(.post, olga, form: "option=safe")
            #expect(second.status == 200 && second.text.contains("I am safe"), "\(second.text)")
            answer = try rig.f.state.runtime.snapshot(runID: id).run.rollCalls["staff-safety"]?.answers["Olga"]
            #expect(answer?.option == "safe" && answer?.count == 2)
            let received = try rig.f.state.journal.events(runID: id).compactMap { event -> String? in
                if case .answerReceived(_, let person, let option, let channel, _) = event.body { return "\(person) \(option) \(channel)" }
                return nil
            }
            #expect(received == ["Olga help link", "Olga safe link"])
            // Opened again, the page says what counts now.
            #expect(try await client.page(.get, olga).text.contains("Your answer so far: <strong>I am safe</strong>"))

            // Lee's page: one button, and the acknowledgement recorded as Lee.
            let lee = try rig.linkPath(to: "+4915100000001", containing: "join the bridge")
            let ackPage = try await client.page(.get, lee)
            #expect(ackPage.status == 200 && ackPage.text.contains("I acknowledge"), "\(ackPage.text)")
            let acked = try await client.page(.post, lee, form: "acknowledge=yes")
            #expect(acked.status == 200 && acked.text.contains("acknowledged"), "\(acked.text)")
            #expect(try rig.f.state.runtime.snapshot(runID: id).run.acks["page-it"]?.acknowledgedBy == "Lee")
        }
    }

    @Test("one person's link answers only their own question: a person field in the form is ignored, and another's answer is untouched")
    func onlyOwnQuestion() async throws {
        let rig = try await AnswerLinkRig.make()
        defer { rig.stop() }
        try await rig.f.app.test(.live) { client async throws in
            let id = try await rig.start(client)
            _ = try await rig.worker(port: try #require(client.port)).deliverDue()
            let olga = try rig.linkPath(to: "+4915100000003", containing: "Are you safe?")
            let posted = try await client.page(.post, olga, form: "option=help&person=Lee&rollCall=other")
            #expect(posted.status == 200, "\(posted.text)")
            let run = try rig.f.state.runtime.snapshot(runID: id).run
            #expect(run.rollCalls["staff-safety"]?.answers["Olga"]?.option == "help")
            #expect(run.rollCalls["staff-safety"]?.answers["Lee"] == nil)
            // Olga's roll call link does not acknowledge Lee's page, and an option the roll call lacks is refused.
            #expect(try await client.page(.post, olga, form: "acknowledge=yes").status == 400)
            #expect(try await client.page(.post, olga, form: "option=maybe").status == 400)
            #expect(try rig.f.state.runtime.snapshot(runID: id).run.acks["page-it"]?.acknowledgedBy == nil)
            // A form posted from another site is refused.
            var foreign = HTTPFields()
            foreign[HTTPField.Name("Origin")!] = "https://evil.example"
            #expect(try await client.page(.post, olga, form: "option=safe", headers: foreign).status == 403)
            #expect(try rig.f.state.runtime.snapshot(runID: id).run.rollCalls["staff-safety"]?.answers["Olga"]?.option == "help")
        }
    }

    @Test("expired, unknown and malformed links get a clear page (410, 404, 404), change nothing, and are logged without the token")
    func refusals() async throws {
        let rig = try await AnswerLinkRig.make()
        defer { rig.stop() }
        try await rig.f.app.test(.live) { client async throws in
            let id = try await rig.start(client)
            _ = try await rig.worker(port: try #require(client.port)).deliverDue()
            let olga = try rig.linkPath(to: "+4915100000003", containing: "Are you safe?")
            let before = try rig.f.state.journal.head(runID: id).sequence

            let unknown = "/a/" + String(repeating: "A", count: 43)
            let u = try await client.page(.post, unknown, form: "option=safe")
            #expect(u.status == 404 && u.text.contains("Unknown link") && !u.text.contains("Error"), "\(u.text)")
            for malformed in ["/a/abc", "/a/" + String(repeating: "A", count: 42) + "%21", "/a/" + String(repeating: "b", count: 200)] {
                let m = try await client.page(.get, malformed)
                #expect(m.status == 404 && m.text.contains("not complete"), "\(malformed): \(m.text)")
            }
            // The roll call's link lives an hour (its `within`) and a day.
            rig.clock.advance(by: .hours(25) + .minutes(1))
            let expired = try await client.page(.post, olga, form: "option=safe")
            #expect(expired.status == 410 && expired.text.contains("expired"), "\(expired.text)")
            #expect(try rig.f.state.runtime.snapshot(runID: id).run.rollCalls["staff-safety"]?.answers["Olga"] == nil)
            let answers = try rig.f.state.journal.events(runID: id).dropFirst(before).filter {
                if case .answerReceived = $0.body { true } else { false }
            }
            #expect(answers.isEmpty)
            let token = String(olga.dropFirst(3))
            let logged = rig.lines.all
            #expect(logged.contains { $0.contains("answer link refused") && $0.contains("unknown token") }, "\(logged)")
            #expect(logged.contains { $0.contains("expired") }, "\(logged)")
            #expect(!logged.contains { $0.contains(token) || $0.contains(String(repeating: "A", count: 43)) }, "\(logged)")
        }
    }

    @Test("after too many refused links from one address, 429 with Retry-After (the real token too, until the window passes)")
    func guessingIsBounded() async throws {
        let rig = try await AnswerLinkRig.make()
        defer { rig.stop() }
        try await rig.f.app.test(.router) { client async throws in
            for i in 0..<30 {
                let r = try await client.page(.get, "/a/" + String(repeating: "Q", count: 42) + String(i % 10))
                #expect(r.status == 404)
            }
            let throttled = try await client.page(.get, "/a/" + String(repeating: "Z", count: 43))
            #expect(throttled.status == 429 && throttled.headers[.retryAfter] != nil, "\(throttled.text)")
        }
    }

    @Test("a link of a closed run says the run is closed (410) and records nothing")
    func closedRun() async throws {
        let rig = try await AnswerLinkRig.make()
        defer { rig.stop() }
        try await rig.f.app.test(.live) { client async throws in
            let id = try await rig.start(client)
            _ = try await rig.worker(port: try #require(client.port)).deliverDue()
            let olga = try rig.linkPath(to: "+4915100000003", containing: "Are you safe?")
            let closed = try await client.call(rig.f, "Dana", .post, "/api/runs/\(id)/commands", ["type": "close", "reason": "drill over"])
            #expect(closed.status == 200, "\(closed.text)")
            let r = try await client.page(.post, olga, form: "option=safe")
            #expect(r.status == 410 && r.text.contains("closed"), "\(r.text)")
            #expect(try rig.f.state.runtime.snapshot(runID: id).run.rollCalls["staff-safety"]?.answers["Olga"] == nil)
        }
    }

    @Test("muster serve's own outbox worker puts the configured public URL in the links it mints")
    func serverWorkerUsesPublicURL() async throws {
        let rig = try await AnswerLinkRig.make()
        defer { rig.stop() }
        let playbooks = rig.playbooks
        let f = try ServerFixture(playbooks: playbooks, clock: rig.clock) { $0.publicURL = "https://muster.example.org" }
        _ = try f.state.journal.importPeople([Person(name: "Olga", phone: "+4915100000003", groups: ["site-hq"])], at: rig.clock.now)
        let hook = OutboxWorkerHook(environment: ["MUSTER_SMS_URL": rig.receiver.url("/"), "MUSTER_SMS_ACCOUNT": linkSMSAccount, "MUSTER_SMS_TOKEN": "t"],
                                    idleCheck: .milliseconds(100))
        try await buildApplication(state: f.state, extraServices: hook.services(for: f.state)).test(.live) { client async throws in
            let declared = try await client.call(f, "Dana", .post, "/api/runs", ["playbook": "link-test", "title": "Fire at HQ"])
            let id = try #require(declared.json["id"] as? String, "\(declared.text)")
            #expect(try await client.call(f, "Dana", .post, "/api/runs/\(id)/commands", ["type": "event", "name": "evacuate"]).status == 200)
            let hits = try await rig.receiver.waitForRequests(1, within: 15)
            let body = AnswerLinkRig.form(try #require(hits.first).body)["Body"] ?? ""
            #expect(body.range(of: #"https://muster\.example\.org/a/[A-Za-z0-9_-]{43}$"#, options: .regularExpression) != nil, "\(body)")
            #expect(try f.state.journal.answerLinks(runID: id).map(\.person) == ["Olga"])
        }
    }

    @Test("the token is stored only hashed: not in the database file, the outbox, the timeline or the log; its SHA-256 is")
    func tokenNeverStored() async throws {
        let rig = try await AnswerLinkRig.make()
        defer { rig.stop() }
        try await rig.f.app.test(.live) { client async throws in
            let id = try await rig.start(client)
            _ = try await rig.worker(port: try #require(client.port)).deliverDue()
            let paths = try rig.bodies().compactMap { message -> String? in
                message.body.range(of: #"/a/[A-Za-z0-9_-]{43}"#, options: .regularExpression).map { String(message.body[$0]) }
            }
            #expect(paths.count == 3)
            for path in paths { _ = try await client.page(.get, path) }
            let tokens = paths.map { String($0.dropFirst(3)) }
            let links = try rig.f.state.journal.answerLinks(runID: id)
            #expect(Set(links.map(\.tokenSHA256)) == Set(tokens.map(AnswerToken.sha256)))
            #expect(Set(links.map(\.person)) == ["Lee", "Olga"])
            var texts = try rig.f.state.journal.events(runID: id).map { String(reflecting: $0) }
            texts += try rig.f.state.journal.outboxItems(statuses: [.pending, .sending, .sent, .failed, .dead, .skipped], runID: id).map(\.payload)
            texts += links.map { String(reflecting: $0) }
            texts += rig.lines.all
            // SQLite: the database file and its write-ahead log, as bytes.
            for file in ["muster.db", "muster.db-wal"] {
                let path = rig.f.folder + "/" + file
                if let data = FileManager.default.contents(atPath: path) { texts.append(String(decoding: data, as: UTF8.self)) }
            }
            for token in tokens {
                #expect(!texts.contains { $0.contains(token) })
            }
        }
    }
}
