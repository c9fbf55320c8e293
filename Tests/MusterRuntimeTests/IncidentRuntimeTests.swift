import Foundation
import MusterCore
import MusterJournal
import MusterRuntime
import MusterTestSupport
import Testing

@Suite("Incident runtime on a real journal")
struct IncidentRuntimeTests {
    /// Declares the ransomware playbook at `start` with the disruption 20 minutes earlier, and staffs it.
    func declared(_ runtime: IncidentRuntime) throws -> String {
        let declared = try runtime.declare(DeclareRequest(
            playbookPath: ransomwarePlaybook, title: "Ransomware on the finance shares", actor: "Dana",
            disruption: .before(.minutes(20))))
        #expect(declared.rejection == nil)
        let id = declared.runID
        for (role, person) in [("it_ops", "Lee"), ("security_lead", "Sam"), ("comms", "Kim"), ("dpo", "Pat")] {
            try runtime.must("Dana", .assign(role: role, person: person), on: id)
        }
        return id
    }

    @Test("a run declared and worked to close replays to exactly the live state")
    func wholeIncident() throws {
        let folder = try RuntimeTempFolder()
        defer { folder.remove() }
        let clock = ManualClock(start)
        let runtime = try makeRuntime(folder, clock: clock)
        let id = try declared(runtime)
        let steps: [(String, Command.Action)] = [
            ("Lee", .completeTask("confirm", note: "EDR shows mass renames")),
            ("Dana", .raise("confirmed")),
            ("Dana", .decide(decision: "declare-major", option: "declare", rationale: "finance share encrypted")),
            ("Lee", .completeTask("isolate", note: nil)),
            ("Sam", .completeTask("disable-accounts", note: nil)),
            ("Kim", .completeTask("notify-staff", note: nil)),
            ("Pat", .completeTask("assess-personal-data", note: "no personal data left the network")),
            ("Sam", .completeTask("identify-variant", note: nil)),
            ("Sam", .skipTask("remove-persistence", reason: "rebuilt hosts")),
            ("Lee", .completeTask("verify-backups", note: "test restore of /finance clean")),
            ("Dana", .decide(decision: "recovery-source", option: "immutable-backup", rationale: "backup tested clean")),
            ("Lee", .completeTask("restore-backup", note: "restored 2.1 TB")),
            ("Lee", .completeTask("verify-integrity", note: nil)),
            ("Lee", .raise("restored")),
        ]
        for (actor, action) in steps {
            clock.advance(by: .minutes(3))
            try runtime.must(actor, action, on: id)
        }
        #expect(try runtime.snapshot(runID: id).run.currentState == "monitor")
        // The quiet period's timer raises all_clear: a tick after 24 hours takes the run to review.
        clock.advance(by: .hours(25))
        let tick = try runtime.tick(runID: id)
        #expect(tick.timerEvents.contains { if case .eventRaised("all_clear") = $0.body { true } else { false } })
        #expect(tick.run.currentState == "review")
        try runtime.must("Dana", .completeTask("post-incident-review", note: nil), on: id)
        let last = try runtime.must("Sam", .completeTask("update-playbook", note: nil), on: id)
        #expect(last.run.currentState == "closed")
        let closed = try runtime.must("Dana", .close(reason: nil), on: id)
        #expect(closed.run.status == .closed)
        try runtime.must("Dana", .lesson(Lesson(text: "Backups took too long to find", kind: .improvement, rootCause: "documentation")), on: id)

        let live = try runtime.snapshot(runID: id)
        // Replayed from scratch, in this runtime and in a fresh one on the same file.
        #expect(try runtime.replay(runID: id) == live.run)
        let fresh = try makeRuntime(folder, clock: clock)
        #expect(try fresh.snapshot(runID: id).run == live.run)
        #expect(try runtime.journal.verify(runID: id).isIntact)
        // Every queued notification has its outbox row, written with the event that queued it.
        let events = try runtime.journal.storedEvents(runID: id)
        let queued = events.filter { $0.type == "notification-queued" }
        let outbox = try runtime.journal.outbox(runID: id)
        #expect(outbox.count == queued.count)
        #expect(Set(outbox.map(\.seq)) == Set(queued.map(\.seq)))
        #expect(queued.count >= 6)
        // The run was marked recovered before the 25-hour wait: no RTO warning went out after that.
        let recoveredAt = try #require(events.first { $0.type == "mark-set" && $0.payload.contains("recovered") }?.seq)
        #expect(!events.contains { $0.seq > recoveredAt && $0.type == "notification-queued" && $0.payload.contains("rto") })
    }

    @Test("a batch: commands decided in order against the state the earlier ones left, in one transaction under the run's lock, after what other writers appended; refused ones skipped")
    func batch() throws {
        let folder = try RuntimeTempFolder()
        defer { folder.remove() }
        let clock = ManualClock(start)
        let runtime = try makeRuntime(folder, clock: clock)
        let other = try makeRuntime(folder, clock: clock)  // another process on the same file
        let id = try runtime.declare(DeclareRequest(playbookPath: ransomwarePlaybook, title: "Batch", actor: "Dana")).runID
        let before = try runtime.journal.head(runID: id).sequence
        clock.advance(by: .minutes(1))
        let commands = [
            Command(actor: "Dana", .assign(role: "it_ops", person: "Lee")),
            Command(actor: "Lee", .completeTask("confirm", note: nil)),   // admitted only once Lee holds it_ops
            Command(actor: "Zed", .note("refused by admit")),
            Command(actor: "Lee", .completeTask("confirm", note: nil)),   // the engine refuses: done already
            Command(actor: "Kim", .note("last")),
        ]
        // Another writer appends after this runtime's copy was read: the batch is decided under the run's lock on
        // the run as the journal has it, the other note included, once.
        _ = try runtime.snapshot(runID: id)
        _ = try other.execute(Command(actor: "Sam", .note("from another process")), on: id)
        var admitted: [Int] = []
        let results = try runtime.executeBatch(commands, on: id) { i, run in
            admitted.append(i)
            if i == 1 { return run.holders["it_ops"] == "Lee" }
            return i != 2
        }
        #expect(admitted == [0, 1, 2, 3, 4])
        #expect(results.map { $0 == nil } == [false, false, true, false, false])
        #expect(results.compactMap { $0?.attempts } == [1, 1, 1, 1])
        #expect(results[3]?.rejection != nil && results[3]?.sequences == nil)
        let written = results.compactMap { $0?.sequences }
        #expect(written.first?.lowerBound == before + 2)  // after the other process's note
        for (a, b) in zip(written, written.dropFirst()) { #expect(b.lowerBound == a.upperBound + 1) }
        #expect(written.last?.upperBound == (try runtime.journal.head(runID: id).sequence))
        #expect(try runtime.journal.verify(runID: id).isIntact)
        let live = try runtime.snapshot(runID: id).run
        #expect(live.taskStatus("confirm") == .done)
        #expect(try makeRuntime(folder, clock: clock).snapshot(runID: id).run == live)
        let notes = live.notes.map(\.text)
        #expect(notes == ["from another process", "last"])
    }

    @Test("one command after a long gap fires every due timer once, in order, late by the right amount; a repeat's missed firings as one")
    func catchUp() throws {
        let folder = try RuntimeTempFolder()
        defer { folder.remove() }
        let clock = ManualClock(start)
        let runtime = try makeRuntime(folder, clock: clock)
        let id = try declared(runtime)
        // Disruption at 17:20. Due by 19:45: triage-overdue at 18:10, 18:40, 19:10, 19:40 (a repeat every 30m
        // from entry at 17:40), which fires once for all four and comes back at 20:10, and identity-rto-warning at
        // 19:20 - 30m = 18:50.
        clock.set(to: Instant(iso8601: "2026-03-06T19:45:00Z")!)
        let result = try runtime.must("Kim", .note("Staff told by email"), on: id)
        let fired = result.timerEvents.compactMap { event -> (String, Instant, TimeSpan, Instant)? in
            if case let .timerFired(key, due, late) = event.body { (key.id, due, late, event.at) } else { nil }
        }
        let expected: [(String, String)] = [("triage-overdue", "18:10"), ("identity-rto-warning", "18:50")]
        let rearmed = result.timerEvents.compactMap { event -> Instant? in
            if case let .timerArmed(key, due, _) = event.body, key.id == "triage-overdue" { due } else { nil }
        }
        #expect(rearmed == [Instant(iso8601: "2026-03-06T20:10:00Z")!])
        let messages = result.timerEvents.compactMap { event -> String? in
            if case let .notificationQueued(n) = event.body, n.trigger == "timer:triage-overdue" { n.message } else { nil }
        }
        #expect(messages.count == 1)
        #expect(messages.first?.contains("4 reminders fell due while Muster was not running, every 30m from 2026-03-06 18:10:00Z to 2026-03-06 19:40:00Z: sent once") == true, "\(messages)")
        #expect(fired.map(\.0) == expected.map(\.0))
        #expect(fired.map(\.1) == expected.map { Instant(iso8601: "2026-03-06T\($0.1):00Z")! })
        for (_, due, late, at) in fired {
            #expect(at == clock.now)
            #expect(late == clock.now - due)
        }
        // The note comes after the timers, and a second command fires nothing again.
        #expect(result.events.count == 1)
        let again = try runtime.must("Kim", .note("Second note"), on: id)
        #expect(again.timerEvents.isEmpty)
        let all = try runtime.journal.events(runID: id)
        let firedKeys = all.compactMap { e -> String? in if case let .timerFired(key, due, _) = e.body { "\(key)@\(due)" } else { nil } }
        #expect(firedKeys.count == Set(firedKeys).count)
    }

    @Test("a decision deadline that passed takes the default when the next command catches up")
    func deadlineDefault() throws {
        let folder = try RuntimeTempFolder()
        defer { folder.remove() }
        let clock = ManualClock(start)
        let runtime = try makeRuntime(folder, clock: clock)
        let id = try declared(runtime)
        try runtime.must("Lee", .completeTask("confirm", note: nil), on: id)
        try runtime.must("Dana", .raise("confirmed"), on: id)
        clock.advance(by: .minutes(20))  // the 15-minute deadline passed 5 minutes ago
        let result = try runtime.must("Kim", .note("where are we?"), on: id)
        let made = result.timerEvents.compactMap { e -> (String, Bool, String)? in
            if case let .decisionMade(decision, option, _, byDefault) = e.body { (decision, byDefault, option) } else { nil }
        }
        #expect(made.count == 1)
        #expect(made.first?.0 == "declare-major")
        #expect(made.first?.1 == true)
        #expect(made.first?.2 == "declare")
        let late = result.timerEvents.compactMap { e -> TimeSpan? in
            if case let .timerFired(key, _, late) = e.body, key.id == "deadline:declare-major" { late } else { nil }
        }
        #expect(late == [.minutes(5)])
        #expect(result.run.currentState == "contain")
    }

    @Test("a rejection comes back as a value, records nothing of the command, and keeps the timers it caught up")
    func rejectionKeepsTimers() throws {
        let folder = try RuntimeTempFolder()
        defer { folder.remove() }
        let clock = ManualClock(start)
        let runtime = try makeRuntime(folder, clock: clock)
        let id = try declared(runtime)
        let before = try runtime.journal.head(runID: id).sequence
        clock.advance(by: .minutes(31))
        let result = try runtime.execute(Command(actor: "Kim", .completeTask("confirm", note: nil)), on: id)
        #expect(result.rejection?.reason == "only the holder of it_ops (Lee) or the incident commander can complete 'confirm'")
        #expect(result.events.isEmpty)
        #expect(!result.timerEvents.isEmpty)
        #expect(try runtime.journal.head(runID: id).sequence == before + result.timerEvents.count)
    }

    @Test("a playbook with errors is refused with its diagnostics and records nothing")
    func invalidPlaybook() throws {
        let folder = try RuntimeTempFolder()
        defer { folder.remove() }
        let runtime = try makeRuntime(folder, clock: ManualClock(start))
        let path = try folder.write("broken.yaml", """
            muster: 1
            id: broken
            version: 1
            title: Broken
            roles: { incident_commander: IC }
            start: triage
            states:
              triage: { phase: detect, transitions: [{ on: go, to: contian }] }
              contain: { phase: respond, terminal: true }

            """)
        #expect {
            try runtime.declare(DeclareRequest(playbookPath: path, title: "x", actor: "Dana"))
        } throws: { error in
            guard let error = error as? RuntimeError, case .invalidPlaybook(_, let diagnostics) = error else { return false }
            return diagnostics.contains { $0.message.contains("did you mean 'contain'") }
        }
        #expect(try runtime.journal.runs().isEmpty)
    }

    @Test("a command replays over the playbook text stored with the run, not the file as it is now")
    func storedPlaybook() throws {
        let folder = try RuntimeTempFolder()
        defer { folder.remove() }
        let clock = ManualClock(start)
        let text = try String(contentsOfFile: ransomwarePlaybook, encoding: .utf8)
        let path = try folder.write("ransomware.yaml", text)
        let runtime = try makeRuntime(folder, clock: clock)
        let id = try runtime.declare(DeclareRequest(playbookPath: path, title: "t", actor: "Dana")).runID
        try "not: [a playbook".write(toFile: path, atomically: true, encoding: .utf8)
        let fresh = try makeRuntime(folder, clock: clock)
        try fresh.must("Dana", .assign(role: "it_ops", person: "Lee"), on: id)
        #expect(try fresh.journal.run(id).playbookText == text)
    }

    @Test("one default run for every command: the one open run; among several the one open live run; none open, the latest")
    func defaultRun() throws {
        let folder = try RuntimeTempFolder()
        defer { folder.remove() }
        let runtime = try makeRuntime(folder, clock: ManualClock(start))
        let exercise = try runtime.declare(DeclareRequest(playbookPath: ransomwarePlaybook, title: "drill", actor: "Dana", mode: .exercise)).runID
        // Only an exercise exists: it is what there is to show.
        #expect(try runtime.resolve(nil).id == exercise)
        let live = try runtime.declare(DeclareRequest(playbookPath: ransomwarePlaybook, title: "real", actor: "Dana")).runID
        // An exercise left open beside a live incident: the incident.
        #expect(try runtime.resolve(nil).id == live)
        #expect(try IncidentRuntime.resolve(nil, in: runtime.journal).id == live)
        // Two open live incidents are ambiguous; a name is always honoured.
        let second = try runtime.declare(DeclareRequest(playbookPath: ransomwarePlaybook, title: "second", actor: "Dana")).runID
        #expect(throws: RuntimeError.self) { try runtime.resolve(nil) }
        #expect(try runtime.resolve(exercise).id == exercise)
        // Nothing open: the latest run.
        for id in [exercise, live, second] { try runtime.must("Dana", .close(reason: "done"), on: id) }
        #expect(try runtime.resolve(nil).id == second)
    }
}

@Suite("Incident runtime: concurrent writers")
struct RuntimeConflictTests {
    @Test("a writer whose copy is behind decides under the run's lock on what others appended meanwhile, without a retry")
    func staleWriterDecidesOnTheJournal() throws {
        let folder = try RuntimeTempFolder()
        defer { folder.remove() }
        let clock = ManualClock(start)
        let a = try makeRuntime(folder, clock: clock)
        let id = try a.declare(DeclareRequest(playbookPath: ransomwarePlaybook, title: "t", actor: "Dana")).runID
        try a.must("Dana", .assign(role: "it_ops", person: "Lee"), on: id)
        let b = IncidentRuntime(journal: try TestDatabase.open(home: folder.path), clock: clock)
        _ = try b.snapshot(runID: id)  // b's copy, before a's next writes
        try a.must("Lee", .completeTask("confirm", note: "a was first"), on: id)
        let late = try b.execute(Command(actor: "Dana", .completeTask("confirm", note: "b too")), on: id)
        #expect(late.rejection?.reason == "task 'confirm' is already done")
        #expect(late.attempts == 1)
        try a.must("Lee", .note("from a"), on: id)
        let note = try b.must("Dana", .note("from b"), on: id)
        #expect(note.attempts == 1)
        let notes = try a.snapshot(runID: id).run.notes.map(\.text)
        #expect(notes == ["from a", "from b"])
        #expect(try a.journal.verify(runID: id).isIntact)
        #expect(try b.snapshot(runID: id).run == (try a.replay(runID: id)))
    }

    @Test("a keyed command retried through another runtime whose copy is stale is answered from the key, not applied again")
    func keyedRetryElsewhere() throws {
        let folder = try RuntimeTempFolder()
        defer { folder.remove() }
        let clock = ManualClock(start)
        let a = try makeRuntime(folder, clock: clock)
        let id = try a.declare(DeclareRequest(playbookPath: ransomwarePlaybook, title: "t", actor: "Dana")).runID
        let b = IncidentRuntime(journal: try TestDatabase.open(home: folder.path), clock: clock)
        _ = try b.snapshot(runID: id)
        let key = CommandKey(user: "Dana", key: "k-1", requestHash: "h")
        let first = try a.execute(Command(actor: "Dana", .note("once")), on: id, key: key)
        #expect(first.replayed == nil && first.sequences != nil)
        let retry = try b.execute(Command(actor: "Dana", .note("once")), on: id, key: key)
        #expect(retry.replayed?.sequences == first.sequences && retry.sequences == nil)
        #expect(try a.snapshot(runID: id).run.notes.filter { $0.text == "once" }.count == 1)
    }

    @Test("two runtimes appending notes from two threads lose nothing and duplicate nothing")
    func threads() throws {
        let folder = try RuntimeTempFolder()
        defer { folder.remove() }
        let clock = ManualClock(start)
        let setup = try makeRuntime(folder, clock: clock)
        let id = try setup.declare(DeclareRequest(playbookPath: ransomwarePlaybook, title: "t", actor: "Dana")).runID
        let head = try setup.journal.head(runID: id).sequence
        let perThread = 40
        let runtimes = [try makeRuntime(folder, clock: clock, attempts: 200), try makeRuntime(folder, clock: clock, attempts: 200)]
        let failures = FailureLog()
        DispatchQueue.concurrentPerform(iterations: 2) { t in
            for i in 0..<perThread {
                do {
                    let r = try runtimes[t].execute(Command(actor: "Dana", .note("t\(t)-\(i)")), on: id)
                    if let rejection = r.rejection { failures.add("\(rejection)") }
                } catch {
                    failures.add("\(error)")
                }
            }
        }
        #expect(failures.all.isEmpty)
        let events = try setup.journal.storedEvents(runID: id)
        #expect(events.map(\.seq) == Array(1...(head + 2 * perThread)))
        let notes = events.compactMap { e -> String? in if case .noteAdded(let text) = e.event.body { text } else { nil } }
        #expect(notes.count == 2 * perThread)
        #expect(Set(notes).count == 2 * perThread)
        #expect(try setup.journal.verify(runID: id).isIntact)
    }
}

final class FailureLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ item: String) { lock.lock(); items.append(item); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
}

