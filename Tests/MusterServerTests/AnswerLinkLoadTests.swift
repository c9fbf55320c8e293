import Foundation
import Hummingbird
import HummingbirdTesting
import MusterCore
import MusterDelivery
import MusterJournal
import MusterNotify
import MusterServer
import MusterTestSupport
import Testing

/// Issue 17's load test: a roll call of 2,000 people, each answering through their own link on a live server.
@Suite("Answer links under load", .serialized)
struct AnswerLinkLoadTests {
    static let people = 2_000
    static let options = ["safe", "help", "away"]

    static let playbook = """
        muster: 1
        id: link-load
        version: 1
        title: Answer links under load
        severity: P1
        roles:
          incident_commander: { title: Incident Commander }
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
              - roll_call: { id: staff-safety, who: [group: site-hq], ask: "Are you safe?", options: { safe: I am safe, help: I need help, away: Not on site }, via: [text], within: 1h }
            transitions:
              - { on: done, to: closed }
          closed:
            phase: learn
            terminal: true
        """

    @Test("2,000 people answer through their links, 16 at a time within a bounded time: every one counts once and the split matches what was sent")
    func twoThousandAnswers() async throws {
        let playbooks = (NSTemporaryDirectory() as NSString).appendingPathComponent("muster-link-load-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: playbooks, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: playbooks) }
        try Self.playbook.write(toFile: playbooks + "/link-load.yaml", atomically: true, encoding: .utf8)
        let f = try ServerFixture(playbooks: playbooks)
        let directory = (0..<Self.people).map { i in
            Person(name: String(format: "Person %04d", i), phone: String(format: "+44770090%04d", i), groups: ["site-hq"])
        }
        try f.state.journal.importPeople(directory, at: f.state.runtime.clock.now)
        let receiver = try await HTTPTestReceiver(routes: [linkSMSPath: ["status": 201, "body": #"{"sid":"SM1"}"#]])
        defer { receiver.stop() }

        try await f.app.test(.live) { client async throws in
            let port = try #require(client.port)
            let declared = try await client.call(f, "Dana", .post, "/api/runs", ["playbook": "link-load", "title": "Fire at HQ"])
            let id = try #require(declared.json["id"] as? String, "\(declared.text)")
            let raised = try await client.call(f, "Dana", .post, "/api/runs/\(id)/commands", ["type": "event", "name": "evacuate"])
            #expect(raised.status == 200, "\(raised.text)")
            #expect(try f.state.runtime.snapshot(runID: id).run.rollCalls["staff-safety"]?.people.count == Self.people)

            let clock = f.state.runtime.clock
            let worker = OutboxWorker(journal: f.state.journal, transport: CurlTransport(),
                                      environment: ["MUSTER_SMS_URL": receiver.url("/"), "MUSTER_SMS_ACCOUNT": linkSMSAccount, "MUSTER_SMS_TOKEN": "t"],
                                      answerLinkBase: "http://127.0.0.1:\(port)", clock: { clock.now })
            let report = try await worker.deliverDue()
            #expect(report.sent == Self.people, "\(report.summary)")

            // What was sent: one link per phone.
            var linkByPhone: [String: String] = [:]
            for hit in try receiver.requests(to: linkSMSPath) {
                let fields = AnswerLinkRig.form(hit.body)
                let body = fields["Body"] ?? ""
                if let range = body.range(of: #"http://127\.0\.0\.1:\d+/a/[A-Za-z0-9_-]{43}"#, options: .regularExpression) {
                    linkByPhone[fields["To"] ?? ""] = String(body[range])
                }
            }
            #expect(linkByPhone.count == Self.people)

            // Each person answers once, option by their number; 16 connections at a time, every request timed out.
            var expected: [String: Int] = [:]
            var requests: [DeliveryRequest] = []
            for (i, person) in directory.enumerated() {
                let option = Self.options[i % Self.options.count]
                expected[option, default: 0] += 1
                let url = try #require(linkByPhone[person.phone ?? ""])
                requests.append(.httpPost(url: url, headers: [HTTPHeader("Content-Type", "application/x-www-form-urlencoded")],
                                          body: Array("option=\(option)".utf8), timeouts: DeliveryTimeouts(connect: .seconds(5), total: .seconds(30))))
            }
            let answering = CurlTransport(configuration: .init(maxConnectionsPerHost: 16, maxTotalConnections: 16, threads: 2))
            let started = ContinuousClock.now
            let results = await answering.send(requests)
            let elapsed = ContinuousClock.now - started
            #expect(results.allSatisfy { $0.status == 200 }, "\(Dictionary(grouping: results, by: { $0.status ?? -1 }).mapValues(\.count))")
            #expect(elapsed < .seconds(60), "\(elapsed)")

            let rollCall = try #require(try f.state.runtime.snapshot(runID: id).run.rollCalls["staff-safety"])
            #expect(rollCall.accounted == Self.people)
            #expect(rollCall.answers.count == Self.people)
            #expect(rollCall.answers.values.allSatisfy { $0.channel == "link" && $0.count == 1 })
            var split: [String: Int] = [:]
            for answer in rollCall.answers.values { split[answer.option, default: 0] += 1 }
            #expect(split == expected)
            for (i, person) in directory.enumerated() {
                if rollCall.answers[person.name]?.option != Self.options[i % Self.options.count] {
                    Issue.record("\(person.name) answered \(rollCall.answers[person.name]?.option ?? "nothing")")
                    break
                }
            }
            let received = try f.state.journal.events(runID: id).filter { if case .answerReceived = $0.body { true } else { false } }
            #expect(received.count == Self.people)
            print("answer links: \(Self.people) answers through /a/TOKEN in \(elapsed) (16 connections)")
        }
    }
}
