import Foundation
import MusterCore
import Testing
@testable import MusterJournal

@Suite("Journal outbox: written with its events, then moved through its statuses")
struct OutboxTests {
    func request(_ id: String, channel: String = "ops") throws -> OutboxRequest {
        try OutboxRequest(Notification(id: id, channel: channel, message: "message \(id)", trigger: "enter:detect"))
    }

    @Test("outbox rows are written with the events that caused them, linked to their seq")
    func writtenWithEvents() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        try journal.createRun(header(), events: startEvents() + [queued("n1")], outbox: [try request("n1")])
        let result = try journal.append(
            runID: "r-7f3a2c", expectedSequence: 4, events: [note("x"), queued("n2"), queued("n3")],
            outbox: [try request("n3", channel: "email"), try request("n2")])
        #expect(result.outboxIDs.count == 2)
        let items = try journal.outbox(runID: "r-7f3a2c")
        #expect(items.map(\.notificationID) == ["n1", "n3", "n2"])
        #expect(items.map(\.seq) == [4, 7, 6])
        #expect(items.map(\.status) == [.pending, .pending, .pending])
        #expect(items.map(\.idempotencyKey) == ["r-7f3a2c/n1", "r-7f3a2c/n3", "r-7f3a2c/n2"])
        #expect(items[1].channel == "email")
        #expect(items[0].nextAttempt == t0 + .minutes(2))
        let payload = try JSONDecoder().decode(Notification.self, from: Data(items[0].payload.utf8))
        #expect(payload == Notification(id: "n1", channel: "ops", message: "message n1", trigger: "enter:detect"))
    }

    @Test("a failing append writes neither its events nor its outbox rows")
    func atomic() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        // A run whose first append fails is not created at all.
        #expect(throws: JournalError.invalidOutbox("notification n1: no notification-queued event for it in the same append")) {
            try journal.createRun(header(), events: startEvents(), outbox: [try request("n1")])
        }
        #expect(try journal.runs().isEmpty)
        try journal.createRun(header(), events: startEvents() + [queued("n1")], outbox: [try request("n1")])
        let head = try journal.head(runID: "r-7f3a2c")

        // The second outbox row fails (same notification id as an existing row) after the events and the
        // first row were inserted: the whole transaction rolls back.
        #expect(throws: JournalError.self) {
            try journal.append(runID: "r-7f3a2c", expectedSequence: 4, events: [note("x"), queued("n2"), queued("n1")],
                               outbox: [try request("n2"), try request("n1")])
        }
        // No event for the notification in this append.
        #expect(throws: JournalError.self) {
            try journal.append(runID: "r-7f3a2c", expectedSequence: 4, events: [note("y")], outbox: [try request("n9")])
        }
        // A payload that is not JSON.
        #expect(throws: JournalError.self) {
            try journal.append(runID: "r-7f3a2c", expectedSequence: 4, events: [queued("n5")],
                               outbox: [OutboxRequest(notificationID: "n5", channel: "ops", payload: "{not json")])
        }
        #expect(try journal.head(runID: "r-7f3a2c") == head)
        #expect(try journal.outbox(runID: "r-7f3a2c").map(\.notificationID) == ["n1"])
        #expect(try journal.events(runID: "r-7f3a2c").count == 4)
        #expect(try journal.verify(runID: "r-7f3a2c").isIntact)
    }

    @Test("an item goes pending, sending, failed, sending, dead, and back to pending by hand")
    func transitions() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        try journal.createRun(header(), events: startEvents() + [queued("n1"), queued("n2")], outbox: [try request("n1"), try request("n2")])
        let due0 = t0 + .minutes(2)
        #expect(try journal.dueOutbox(now: due0 - .seconds(1)).isEmpty)
        let due = try journal.dueOutbox(now: due0)
        #expect(due.map(\.notificationID) == ["n1", "n2"])
        let id = due[0].id

        var item = try journal.markOutbox(id: id, status: .sending, at: due0)
        #expect(item.attempts == 1)
        item = try journal.markOutbox(id: id, status: .failed, at: due0 + .seconds(1), error: "HTTP 503", nextAttempt: due0 + .seconds(30))
        #expect(item.status == .failed)
        #expect(item.lastError == "HTTP 503")
        #expect(try journal.dueOutbox(now: due0 + .seconds(29)).map(\.notificationID) == ["n2"])
        #expect(try journal.dueOutbox(now: due0 + .seconds(30)).map(\.notificationID) == ["n2", "n1"])
        try journal.markOutbox(id: id, status: .sending, at: due0 + .seconds(30))
        item = try journal.markOutbox(id: id, status: .dead, at: due0 + .seconds(31), error: "HTTP 400: bad payload")
        #expect(item.attempts == 2)
        #expect(try journal.deadLetters().map(\.id) == [id])
        #expect(try journal.dueOutbox(now: due0 + .hours(1)).map(\.notificationID) == ["n2"])

        #expect(throws: JournalError.invalidOutboxTransition(id: id, from: .dead, to: .sent)) {
            try journal.markOutbox(id: id, status: .sent, at: due0 + .hours(1))
        }
        item = try journal.markOutbox(id: id, status: .pending, at: due0 + .hours(1))
        #expect(item.nextAttempt == due0 + .hours(1))
        #expect(item.lastError == "HTTP 400: bad payload")
        #expect(try journal.deadLetters().isEmpty)
        try journal.markOutbox(id: id, status: .sending, at: due0 + .hours(1))
        item = try journal.markOutbox(id: id, status: .sent, at: due0 + .hours(1))
        #expect(item.status == .sent)
        #expect(item.attempts == 3)
        #expect(try journal.outboxItem(id: id) == item)
        #expect(throws: JournalError.invalidOutboxTransition(id: id, from: .sent, to: .pending)) {
            try journal.markOutbox(id: id, status: .pending, at: due0 + .hours(2))
        }
        #expect(throws: JournalError.unknownOutboxItem(999)) { try journal.markOutbox(id: 999, status: .sent, at: due0) }
        // The events are untouched by all of this.
        #expect(try journal.verify(runID: "r-7f3a2c").isIntact)
    }

    @Test("claiming marks due items sending once; an expired claim is due again with the same idempotency key")
    func claims() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let a = try Journal.open(path: folder.database)
        let b = try Journal.open(path: folder.database)
        defer { try? a.close(); try? b.close() }
        try a.createRun(header(), events: startEvents() + [queued("n1")], outbox: [try request("n1")])
        let now = t0 + .minutes(3)
        let claimed = try a.claimOutbox(now: now)
        #expect(claimed.map(\.status) == [.sending])
        #expect(claimed.map(\.attempts) == [1])
        #expect(try b.claimOutbox(now: now + .seconds(1)).isEmpty)
        // The first worker died: after the lease the item is due again.
        let again = try b.claimOutbox(now: now + .minutes(5))
        #expect(again.map(\.id) == claimed.map(\.id))
        #expect(again.map(\.idempotencyKey) == ["r-7f3a2c/n1"])
        #expect(again.map(\.attempts) == [2])
    }

    @Test("a live-only channel in an exercise is recorded as skipped, never due")
    func skipped() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        var skip = try request("n1")
        skip.status = .skipped
        skip.note = "channel pager is live_only"
        try journal.createRun(header(mode: .exercise), events: startEvents() + [queued("n1")], outbox: [skip])
        let items = try journal.outbox(runID: "r-7f3a2c")
        #expect(items.map(\.status) == [.skipped])
        #expect(items.map(\.lastError) == ["channel pager is live_only"])
        #expect(try journal.dueOutbox(now: t0 + .days(1)).isEmpty)
    }
}

@Suite("Recording many delivery outcomes in one append")
struct BatchedOutboxUpdateTests {
    func sentEvent(_ id: String) -> RunEvent {
        RunEvent(at: t0 + .minutes(3), actor: "muster", role: nil, .notificationSent(id: id, channel: "ops", status: 200, latencyMs: 3, attempt: 1))
    }

    func journalWithClaimedItems(_ folder: TempFolder, count: Int) throws -> (Journal, [OutboxItem]) {
        let journal = try Journal.open(path: folder.database)
        let ids = (1...count).map { "n\($0)" }
        try journal.createRun(header(), events: startEvents() + ids.map { queued($0) },
                              outbox: try ids.map { try OutboxRequest(Notification(id: $0, channel: "ops", message: "m", trigger: "enter:detect")) })
        let claimed = try journal.claimOutbox(now: t0 + .minutes(2), limit: count)
        return (journal, claimed)
    }

    @Test("equal updates of many items are all made, with their events, as one per item would")
    func allMade() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let (journal, claimed) = try journalWithClaimedItems(folder, count: 5)
        defer { try? journal.close() }
        let head = try journal.head(runID: "r-7f3a2c").sequence
        var updates = claimed.prefix(3).map { OutboxUpdate(id: $0.id, status: .sent, expected: [.sending]) }
        updates.append(OutboxUpdate(id: claimed[3].id, status: .failed, error: "HTTP 503", nextAttempt: t0 + .minutes(9), expected: [.sending]))
        updates.append(OutboxUpdate(id: claimed[4].id, status: .sent, expected: [.sending]))
        try journal.append(runID: "r-7f3a2c", expectedSequence: head, events: claimed.map { sentEvent($0.notificationID) },
                           outboxUpdates: updates, at: t0 + .minutes(3))
        let items = try journal.outbox(runID: "r-7f3a2c")
        #expect(items.map(\.status) == [.sent, .sent, .sent, .failed, .sent])
        #expect(items.map(\.attempts) == [1, 1, 1, 1, 1])
        #expect(items.map(\.updatedAt) == Array(repeating: t0 + .minutes(3), count: 5))
        #expect(items[3].lastError == "HTTP 503")
        #expect(items[3].nextAttempt == t0 + .minutes(9))
        #expect(try journal.head(runID: "r-7f3a2c").sequence == head + 5)
        #expect(try journal.verify(runID: "r-7f3a2c").isIntact)
    }

    @Test("when one of many equal updates cannot be made, it is named and nothing is written")
    func oneRefused() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let (journal, claimed) = try journalWithClaimedItems(folder, count: 4)
        defer { try? journal.close() }
        try journal.markOutbox(id: claimed[2].id, status: .sent, at: t0 + .minutes(2))
        let head = try journal.head(runID: "r-7f3a2c").sequence
        #expect(throws: JournalError.invalidOutboxTransition(id: claimed[2].id, from: .sent, to: .sent)) {
            try journal.append(runID: "r-7f3a2c", expectedSequence: head, events: claimed.map { sentEvent($0.notificationID) },
                               outboxUpdates: claimed.map { OutboxUpdate(id: $0.id, status: .sent, expected: [.sending]) }, at: t0 + .minutes(3))
        }
        #expect(try journal.outbox(runID: "r-7f3a2c").map(\.status) == [.sending, .sending, .sent, .sending])
        #expect(try journal.head(runID: "r-7f3a2c").sequence == head)
        // The same item twice in one append: the second finds it already moved.
        #expect(throws: JournalError.invalidOutboxTransition(id: claimed[0].id, from: .sent, to: .sent)) {
            try journal.append(runID: "r-7f3a2c", expectedSequence: head, events: [sentEvent("n1")],
                               outboxUpdates: [claimed[0], claimed[1], claimed[0]].map { OutboxUpdate(id: $0.id, status: .sent, expected: [.sending]) },
                               at: t0 + .minutes(3))
        }
        #expect(try journal.outbox(runID: "r-7f3a2c").map(\.status) == [.sending, .sending, .sent, .sending])
    }

    @Test("event summaries give every event's time and only the bodies asked for")
    func summaries() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let journal = try Journal.open(path: folder.database)
        defer { try? journal.close() }
        let events = startEvents() + everyKindOfEvent()
        try journal.createRun(header(), events: events)
        let summaries = try journal.eventSummaries(runID: "r-7f3a2c", decoding: ["state-entered", "run-closed"])
        #expect(summaries.map(\.at) == events.map(\.at))
        for (summary, event) in zip(summaries, events) {
            let wanted = ["state-entered", "run-closed"].contains(event.body.typeName)
            #expect(summary.body == (wanted ? event.body : nil))
        }
        let later = try journal.eventSummaries(runID: "r-7f3a2c", after: 3, decoding: [])
        #expect(later.map(\.at) == events.dropFirst(3).map(\.at))
        #expect(later.allSatisfy { $0.body == nil })
        #expect(throws: JournalError.self) { try journal.eventSummaries(runID: "r-nope", decoding: []) }
    }
}
