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
    @Test("a notification queued by an API command reaches a real receiver, and its notification-sent event is in the run's events")
    func deliveredThroughTheServer() async throws {
        // A long idle check: delivery within the deadline below comes from the command's ring, not from polling.
        try await HookedRun.run(idleCheck: .seconds(30)) { run in
            let (f, client, id) = (run.fixture, run.client, run.id)
            #expect(run.raised.contains("notification-queued"))

            let hits = run.firstRequests
            #expect(hits.count == 1)
            #expect(hits.first?.path == "/hook")
            #expect(hits.first?.body.contains("Containing: Portal down") == true)

            // The outcome is recorded right after the receiver answered: wait (bounded) for the event.
            var sent: [[String: Any]] = []
            try await waitUntil {
                let events = try await client.call(f, "Lee", .get, "/api/runs/\(id)/events")
                #expect(events.status == 200)
                sent = (events.json["events"] as? [[String: Any]] ?? []).filter { $0["type"] as? String == "notification-sent" }
                return !sent.isEmpty
            }
            #expect(sent.count == 1)
            let payload = sent.first?["payload"] as? [String: Any]
            #expect("\(payload ?? [:])".contains("hook"))
            #expect(try f.state.journal.outbox(runID: id).map(\.status) == [.sent])
            #expect(try f.state.journal.verify(runID: id).isIntact)
        }
    }
}
