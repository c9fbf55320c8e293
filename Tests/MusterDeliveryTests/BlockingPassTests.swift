import Foundation
import MusterCore
import MusterDelivery
import MusterJournal
import MusterNotify
import Testing

extension RealReceivers {
    @Suite("A blocking pass over many batches")
    struct BlockingPassTests {
        static let playbook = """
            muster: 1
            id: batch-test
            version: 1
            title: Batch test
            severity: P2
            roles:
              incident_commander: { title: Incident commander }
            channels:
              hook: { type: webhook, url: "${MUSTER_HOOK_URL}" }
            start: detect
            states:
              detect:
                phase: detect
                owner: incident_commander
                on_enter:
                  - { notify: hook, message: "one {{run.id}}" }
                  - { notify: hook, message: "two {{run.id}}" }
                  - { notify: hook, message: "three {{run.id}}" }
                  - { notify: hook, message: "four {{run.id}}" }
                  - { notify: hook, message: "five {{run.id}}" }
                transitions:
                  - { on: resolved, to: closed }
              closed:
                phase: learn
                owner: incident_commander
                terminal: true
            """

        @Test("batches of 3 over two runs: each item claimed and sent once, the pass limit respected, the rest left pending")
        func batchesAndLimit() async throws {
            let http = try await HTTPReceiver()
            let store = try TestJournal()
            let clock = TestClock()
            _ = try store.start(Self.playbook, id: "r-one", at: t0)
            _ = try store.start(Self.playbook, id: "r-two", at: t0)
            func pass(limit: Int) throws -> PassReport {
                let worker = OutboxWorker(
                    journal: store.journal, transport: CurlTransport(), environment: ["MUSTER_HOOK_URL": http.url("/hook")],
                    batchSize: 3, maximumItemsPerPass: limit, clock: clock.function)
                return try worker.deliverDueBlocking()
            }
            let first = try pass(limit: 8)
            #expect(first.sent == 8, "\(first.outcomes)")
            let items = try store.items("r-one") + store.items("r-two")
            #expect(items.filter { $0.status == .sent }.count == 8)
            #expect(items.filter { $0.status == .sent }.allSatisfy { $0.attempts == 1 })
            // Never claimed: the claim made with the last batch's outcomes stays within the pass's limit.
            #expect(items.filter { $0.status == .pending }.map(\.attempts) == [0, 0])
            #expect(try http.hits().count == 8)

            let second = try pass(limit: 100)
            #expect(second.sent == 2)
            let after = try store.items("r-one") + store.items("r-two")
            #expect(after.allSatisfy { $0.status == .sent && $0.attempts == 1 })
            let keys = try http.hits().compactMap { $0.headers["idempotency-key"] }
            #expect(keys.count == 10)
            #expect(Set(keys).count == 10)
            for runID in ["r-one", "r-two"] {
                #expect(try store.journal.verify(runID: runID).isIntact)
                let sent = try store.deliveryEvents(runID).filter { if case .notificationSent = $0 { true } else { false } }
                #expect(sent.count == 5)
            }
        }
    }
}
