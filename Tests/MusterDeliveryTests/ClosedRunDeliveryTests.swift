import Foundation
import MusterCore
import MusterDelivery
import MusterJournal
import MusterReports
import MusterRuntime
import Testing

extension RealReceivers {
    @Suite("A closed run's outbox")
    struct ClosedRunDeliveryTests {
        @Test("notifications delivered after the close change their outbox rows, not the run's chain; the report still counts them")
        func deliveredAfterClose() async throws {
            let http = try await HTTPReceiver()
            let sink = try await SMTPSink()
            let store = try TestJournal()
            let clock = TestClock()
            let env = sixChannelEnvironment(http, sink)
            var run = try store.start(sixChannelPlaybook, at: t0)
            clock.advance(.minutes(1))
            try store.command(&run, .close(reason: "false alarm"), at: clock.now)
            let head = try store.journal.head(runID: run.id)
            let report = { () throws -> RunReport in
                let record = try store.journal.run(run.id)
                return try RunReportBuilder.build(store.journal, record, playbook: run.run.playbook, now: clock.now) { _ in nil }.report
            }
            #expect(try report().metrics.count(.delivered) == 0)

            clock.advance(.minutes(1))
            let pass = try await worker(store, environment: env, clock: clock).deliverDue()
            #expect(pass.sent == 6, "\(pass.outcomes)")
            #expect(try store.items().allSatisfy { $0.status == .sent })
            // The chain a report told its readers to keep is still the run's chain.
            #expect(try store.journal.head(runID: run.id) == head)
            #expect(try store.journal.verify(runID: run.id).isIntact)
            let after = try report()
            #expect(after.integrity.headHash == head.hash)
            #expect(after.metrics.count(.delivered) == 6)
            #expect(after.metrics.count(.pending) == 0)
        }
    }
}
