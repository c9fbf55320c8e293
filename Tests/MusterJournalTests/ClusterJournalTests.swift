import Foundation
import MusterCore
import MusterTestSupport
import Testing
@testable import MusterJournal

/// What several servers on one journal rest on (format 6): idempotency keys stored with their events, leases on
/// the database's clock, and outbox claims that only their worker may settle. On both backends.
@Suite("Cluster primitives of the journal: keys, leases, claim holders")
struct ClusterJournalTests {
    typealias Home = BothBackendsTests.Home

    @Test("a key is stored with its command's seqs in the append's transaction; the same key again refuses the whole append", arguments: TestBackend.allCases)
    func keys(_ backend: TestBackend) throws {
        let home = try Home(backend)
        defer { home.remove() }
        let journal = try home.open()
        defer { try? journal.close() }
        try journal.createRun(header(), events: startEvents())
        try journal.createRun(header("r-000002"), events: startEvents("r-000002"))
        let key = CommandKey(user: "Sam", key: "k-1", requestHash: "h1")
        let result = try journal.append(runID: "r-7f3a2c", expectedSequence: 3, events: [note("a"), note("b"), note("c")],
                                        keys: [KeyedEntries(key: key, entries: 1..<3)])
        #expect(result.sequences == 4...6)
        let stored = try #require(try journal.commandKeys(user: "Sam", ["k-1", "other"])["k-1"])
        #expect(stored.runID == "r-7f3a2c" && stored.sequences == 5...6 && stored.requestHash == "h1" && stored.rejection == nil)
        #expect(try journal.commandKeys(user: "Lee", ["k-1"]).isEmpty)  // keys are per user

        // The same key on another run: nothing of that append is written.
        #expect(throws: JournalError.idempotencyKeyUsed(user: "Sam", key: "k-1")) {
            try journal.append(runID: "r-000002", expectedSequence: 3, events: [note("dup")], keys: [KeyedEntries(key: key, entries: 0..<1)])
        }
        #expect(try journal.head(runID: "r-000002").sequence == 3)

        // A rejection is kept with its code and reason.
        let rejected = KeyedEntries(key: CommandKey(user: "Sam", key: "k-2", requestHash: "h2"), entries: 0..<1, rejection: ("wrong-state", "not now"))
        try journal.append(runID: "r-000002", expectedSequence: 3, events: [note("timer")], keys: [rejected])
        let second = try #require(try journal.commandKeys(user: "Sam", ["k-2"])["k-2"])
        #expect(second.rejection?.code == "wrong-state" && second.rejection?.reason == "not now" && second.sequences == 4...4)

        // A chat command's key names the platform it came through (`via`): it is kept, the others pruned.
        let viaSlack = KeyedEntries(key: CommandKey(user: "Sam", key: "slack:v0=abc", requestHash: "h3"), entries: 0..<1)
        let viaMattermost = KeyedEntries(key: CommandKey(user: "Sam", key: "mattermost:trigger-1", requestHash: "h4"), entries: 0..<1)
        try journal.append(runID: "r-000002", expectedSequence: 4, events: [note("from Slack"), note("from Mattermost")], keys: [viaSlack, KeyedEntries(key: viaMattermost.key, entries: 1..<2)])
        #expect(try journal.pruneCommandKeys(before: Instant(millisecondsSinceEpoch: Int64.max / 2)) == 2)
        #expect(try journal.commandKeys(user: "Sam", ["k-1", "k-2"]).isEmpty)
        let kept = try journal.commandKeys(user: "Sam", ["slack:v0=abc", "mattermost:trigger-1"])
        #expect(kept["slack:v0=abc"]?.sequences == 5...5 && kept["mattermost:trigger-1"]?.sequences == 6...6)
        #expect(try journal.verify(runID: "r-7f3a2c").isIntact)
    }

    @Test("a lease goes to one holder until it runs out on the database's clock, survives renewals, and is free once released", arguments: TestBackend.allCases)
    func leases(_ backend: TestBackend) throws {
        let home = try Home(backend)
        defer { home.remove() }
        let journal = try home.open()
        defer { try? journal.close() }
        let second = try home.open()  // another server's connection
        defer { try? second.close() }

        let first = try journal.acquireLease("timer-pump", holder: "A", for: TimeSpan(milliseconds: 600))
        #expect(first.holder == "A")
        #expect(try second.acquireLease("timer-pump", holder: "B", for: TimeSpan(milliseconds: 600)).holder == "A")
        let renewed = try journal.acquireLease("timer-pump", holder: "A", for: TimeSpan(milliseconds: 600))
        #expect(renewed.holder == "A" && renewed.since == first.since && renewed.expires >= first.expires)
        #expect(try second.liveLease("timer-pump")?.holder == "A")

        // A stops renewing: once the lease has run out, B gets it (and `since` says when).
        let deadline = Date().addingTimeInterval(10)
        var taken: Lease?
        while Date() < deadline {
            let lease = try second.acquireLease("timer-pump", holder: "B", for: .seconds(30))
            if lease.holder == "B" { taken = lease; break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let lease = try #require(taken)
        #expect(lease.since.millisecondsSinceEpoch >= first.expires.millisecondsSinceEpoch)
        #expect(try journal.acquireLease("timer-pump", holder: "A", for: .seconds(30)).holder == "B")

        // Released, it is free at once; releasing someone else's lease does nothing.
        try journal.releaseLease("timer-pump", holder: "A")
        #expect(try journal.liveLease("timer-pump")?.holder == "B")
        try second.releaseLease("timer-pump", holder: "B")
        #expect(try journal.liveLease("timer-pump") == nil)
        #expect(try journal.acquireLease("timer-pump", holder: "A", for: .seconds(30)).holder == "A")
        #expect(try journal.leases(prefix: "timer").map(\.holder) == ["A"])
        // The database's clock is the wall clock of its host here: within a few seconds of ours.
        #expect(abs(try journal.databaseTime().millisecondsSinceEpoch - Int64(Date().timeIntervalSince1970 * 1000)) < 5_000)
    }

    @Test("a worker whose claim ran out cannot settle the item another worker claimed since", arguments: TestBackend.allCases)
    func claimHolders(_ backend: TestBackend) throws {
        let home = try Home(backend)
        defer { home.remove() }
        let journal = try home.open()
        defer { try? journal.close() }
        try journal.createRun(header(), events: startEvents() + [queued("n1")],
                              outbox: [try OutboxRequest(Notification(id: "n1", channel: "ops", message: "m", trigger: "t"))])
        let now = t0 + .minutes(3)
        let a = try journal.claimOutbox(now: now, limit: 10, lease: .minutes(5), worker: "A")
        #expect(a.count == 1)
        #expect(try journal.claimOutbox(now: now + .minutes(1), limit: 10, lease: .minutes(5), worker: "B").isEmpty)
        // A's lease runs out (A is slow or dead): B claims the item again.
        let b = try journal.claimOutbox(now: now + .minutes(6), limit: 10, lease: .minutes(5), worker: "B")
        #expect(b.map(\.id) == a.map(\.id))
        let head = try journal.head(runID: "r-7f3a2c").sequence
        // A comes back and records its outcome: refused, and nothing of it is written.
        #expect(throws: JournalError.invalidOutboxTransition(id: a[0].id, from: .sending, to: .sent)) {
            try journal.append(runID: "r-7f3a2c", expectedSequence: head, events: [note("A's attempt")],
                               outboxUpdates: [OutboxUpdate(id: a[0].id, status: .sent, expected: [.sending], claimedBy: "A")], at: now + .minutes(7))
        }
        #expect(try journal.head(runID: "r-7f3a2c").sequence == head)
        try journal.append(runID: "r-7f3a2c", expectedSequence: head, events: [note("B's attempt")],
                           outboxUpdates: [OutboxUpdate(id: b[0].id, status: .sent, expected: [.sending], claimedBy: "B")], at: now + .minutes(7))
        #expect(try journal.outboxItem(id: b[0].id).status == .sent)
    }
}
