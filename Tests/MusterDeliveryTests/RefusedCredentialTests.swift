import Foundation
import MusterCore
import MusterDelivery
import MusterJournal
import MusterNotify
import Testing

extension RealReceivers {
    @Suite("Answers to a refused credential")
    struct RefusedCredentialTests {
        @Test("the body of a 401/403 is kept in the outbox row, never on the run's append-only timeline", arguments: [401, 403])
        func bodyOffTheTimeline(status: Int) async throws {
            let key = "Bearer abc123-DEF456-ghi789"
            // Quoted reversed: a form no redactor knows, as a receiver's own encoding would be.
            let body = "token rejected: \(String(key.reversed()))"
            let http = try await HTTPReceiver(routes: ["/hook": ["status": status, "body": body]])
            let store = try TestJournal()
            let clock = TestClock()
            _ = try store.start(webhookPlaybook(), at: t0)
            let report = try await worker(store, environment: ["MUSTER_HOOK_URL": http.url("/hook")], clock: clock).deliverDue()
            #expect(report.deadLettered == 1)
            let events = try store.journal.storedEvents(runID: "r-test01").map(\.payload)
            for payload in events { #expect(!payload.contains("token rejected"), "\(payload)") }
            let reasons = try store.deliveryEvents().compactMap { body -> String? in
                if case .notificationFailed(_, _, let reason, _, _) = body { reason } else { nil }
            }
            #expect(reasons.count == 1)
            #expect(reasons.first?.hasPrefix("permanent failure: HTTP \(status)") == true, "\(reasons)")
            #expect(reasons.first?.contains("response body withheld") == true, "\(reasons)")
            let item = try #require(try store.items().first)
            #expect(item.lastError?.hasSuffix("; response body: \(body)") == true, "\(item.lastError ?? "")")
        }
    }
}
