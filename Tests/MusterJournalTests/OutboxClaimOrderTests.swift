import Foundation
import MusterCore
import Testing
@testable import MusterJournal

/// The claim reads each status's due items separately and merges them (see `Journal.dueIDs`): it must pick
/// exactly the items the plain rule picks, in the same order.
@Suite("Journal outbox claim: the earliest due items of every status, in order, whatever the mix")
struct OutboxClaimOrderTests {
    /// 90 items in every status, with next attempts and claim times spread around `now`.
    func mixedJournal(_ folder: TempFolder) throws -> Journal {
        let journal = try Journal.open(path: folder.database)
        let ids = (1...90).map { "n\($0)" }
        var requests: [OutboxRequest] = []
        var state: UInt64 = 42
        func next(_ n: Int64) -> Int64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int64((state >> 33) % UInt64(n))
        }
        for id in ids {
            var request = try OutboxRequest(Notification(id: id, channel: "ops", message: "m \(id)", trigger: "enter:detect"))
            request.notBefore = t0 + .minutes(next(20))
            requests.append(request)
        }
        try journal.createRun(header(), events: startEvents() + ids.map { queued($0) }, outbox: requests)
        for item in try journal.outbox(runID: "r-7f3a2c") {
            switch next(5) {
            case 0: break  // pending
            case 1:
                try journal.markOutbox(id: item.id, status: .sending, at: t0 + .minutes(next(20)))
                try journal.markOutbox(id: item.id, status: .failed, at: t0 + .minutes(20), error: "x", nextAttempt: t0 + .minutes(next(20)))
            case 2:
                try journal.markOutbox(id: item.id, status: .sending, at: t0 + .minutes(next(20)))
            case 3:
                try journal.markOutbox(id: item.id, status: .sending, at: t0 + .minutes(1))
                try journal.markOutbox(id: item.id, status: .sent, at: t0 + .minutes(2))
            default:
                try journal.markOutbox(id: item.id, status: .sending, at: t0 + .minutes(1))
                try journal.markOutbox(id: item.id, status: .dead, at: t0 + .minutes(2), error: "x")
            }
        }
        return journal
    }

    /// The rule itself, over every item.
    func expectedDue(_ items: [OutboxItem], now: Instant, lease: TimeSpan, limit: Int) -> [Int64] {
        items.filter { item in
            switch item.status {
            case .pending, .failed: item.nextAttempt <= now
            case .sending: item.updatedAt <= now - lease
            default: false
            }
        }
        .sorted { ($0.nextAttempt, $0.id) < ($1.nextAttempt, $1.id) }
        .prefix(limit).map(\.id)
    }

    @Test("due and claimed items are those the rule gives, earliest next attempt first, then by id",
          arguments: [(5, 1), (10, 3), (15, 5), (25, 10), (25, 100)])
    func sameAsTheRule(minutes: Int64, limit: Int) throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let journal = try mixedJournal(folder)
        defer { try? journal.close() }
        let now = t0 + .minutes(minutes)
        let lease = TimeSpan.minutes(8)
        let all = try journal.outbox(runID: "r-7f3a2c")
        #expect(Set(all.map(\.status)).count == 5)
        let expected = expectedDue(all, now: now, lease: lease, limit: limit)
        #expect(!expected.isEmpty)
        #expect(try journal.dueOutbox(now: now, limit: limit, lease: lease).map(\.id) == expected)
        let claimed = try journal.claimOutbox(now: now, limit: limit, lease: lease)
        #expect(claimed.map(\.id) == expected)
        #expect(claimed.allSatisfy { $0.status == .sending && $0.updatedAt == now })
    }
}
