import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MusterCore
import MusterJournal
import MusterServer
import MusterTestSupport
import Testing

@Suite("The outbox worker inside the server", .serialized)
struct OutboxDeliveryTests {
    static let playbook = """
        muster: 1
        id: hook-test
        version: 1
        title: Hook test
        severity: P2
        roles:
          incident_commander: { title: Incident commander }
        channels:
          hook: { type: webhook, url: "${HOOK_URL}" }
        start: detect
        states:
          detect:
            phase: detect
            owner: incident_commander
            transitions:
              - { on: confirmed, to: contain }
          contain:
            phase: respond
            owner: incident_commander
            on_enter:
              - { notify: hook, message: "Containing: {{run.title}}" }
            transitions:
              - { on: resolved, to: closed }
          closed:
            phase: learn
            owner: incident_commander
            terminal: true
        """

    @Test("a notification queued by an API command reaches a real receiver, and its notification-sent event is in the run's events")
    func deliveredThroughTheServer() async throws {
        let playbooks = (NSTemporaryDirectory() as NSString).appendingPathComponent("muster-server-playbooks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: playbooks, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: playbooks) }
        try Self.playbook.write(toFile: playbooks + "/hook-test.yaml", atomically: true, encoding: .utf8)
        let receiver = try await HTTPTestReceiver()
        defer { receiver.stop() }
        let f = try ServerFixture(playbooks: playbooks)
        // A long idle check: delivery within the deadline below comes from the command's ring, not from polling.
        let hook = OutboxWorkerHook(environment: ["HOOK_URL": "http://127.0.0.1:\(receiver.port)/hook"], idleCheck: .seconds(30))
        let app = buildApplication(state: f.state, extraServices: hook.services(for: f.state))
        try await app.test(.live) { client async throws in
            let declared = try await client.call(f, "Dana", .post, "/api/runs", ["playbook": "hook-test", "title": "Portal down"])
            #expect(declared.status == 201, "\(declared.text)")
            let id = try #require(declared.json["id"] as? String)
            let raised = try await client.call(f, "Dana", .post, "/api/runs/\(id)/commands", ["type": "event", "name": "confirmed"])
            #expect(raised.status == 200, "\(raised.text)")
            let queued = (raised.json["events"] as? [[String: Any]] ?? []).compactMap { $0["type"] as? String }
            #expect(queued.contains("notification-queued"))

            let hits = try await receiver.waitForRequests(1, within: 10)
            #expect(hits.count == 1)
            #expect(hits.first?.path == "/hook")
            #expect(hits.first?.body.contains("Containing: Portal down") == true)

            // The outcome is recorded right after the receiver answered: wait (bounded) for the event.
            var sent: [[String: Any]] = []
            let deadline = Date().addingTimeInterval(10)
            while sent.isEmpty, Date() < deadline {
                let events = try await client.call(f, "Lee", .get, "/api/runs/\(id)/events")
                #expect(events.status == 200)
                sent = (events.json["events"] as? [[String: Any]] ?? []).filter { $0["type"] as? String == "notification-sent" }
                if sent.isEmpty { try await _Concurrency.Task.sleep(for: .milliseconds(50)) }
            }
            #expect(sent.count == 1)
            let payload = sent.first?["payload"] as? [String: Any]
            #expect("\(payload ?? [:])".contains("hook"))
            #expect(try f.state.journal.outbox(runID: id).map(\.status) == [.sent])
            #expect(try f.state.journal.verify(runID: id).isIntact)
        }
    }
}
