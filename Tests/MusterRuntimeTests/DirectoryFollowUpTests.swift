import Foundation
import MusterCore
import MusterJournal
import MusterRuntime
import MusterTestSupport
import Testing

let hearingBackPlaybook = repositoryRoot + "/Tests/MusterCLITests/Fixtures/hearing-back/office-loss-hearing-back.yaml"

/// The shell's part of hearing back: the people directory starts roll calls and names deputies, as `muster`.
@Suite("People directory follow-ups of the runtime")
struct DirectoryFollowUpTests {
    /// A runtime on a fresh journal whose directory has a site with three people (Ana's deputy is Bo) and Lee,
    /// whose deputy is Mo.
    func staffed(_ folder: RuntimeTempFolder, _ clock: ManualClock) throws -> IncidentRuntime {
        let runtime = try makeRuntime(folder, clock: clock)
        let people = [
            Person(name: "Lee", email: "lee@example.com", groups: ["crisis-team"], deputy: "Mo"),
            Person(name: "Mo", phone: "+4915112345678", groups: ["crisis-team"]),
            Person(name: "Ana", phone: "+4915100000001", groups: ["site-hq"], deputy: "Bo"),
            Person(name: "Bo", phone: "+4915100000002", groups: ["site-hq"]),
            Person(name: "Cy", email: "cy@example.com", groups: ["site-hq"]),
        ]
        _ = try runtime.journal.importPeople(people, at: start)
        return runtime
    }

    func declared(_ runtime: IncidentRuntime) throws -> String {
        let declared = try runtime.declare(DeclareRequest(playbookPath: hearingBackPlaybook, title: "Fire at HQ", actor: "Dana"))
        #expect(declared.rejection == nil)
        return declared.runID
    }

    @Test("a role assigned to someone with a deputy in the directory names the deputy, as muster")
    func deputyNamed() throws {
        let folder = try RuntimeTempFolder()
        defer { folder.remove() }
        let clock = ManualClock(start)
        let runtime = try staffed(folder, clock)
        let id = try declared(runtime)
        let assigned = try runtime.must("Dana", .assign(role: "it_ops", person: "Lee"), on: id)
        #expect(assigned.followUps.count == 1)
        let named = assigned.followUps.flatMap(\.events)
        #expect(named.map(\.body) == [.deputyNamed(person: "Lee", deputy: "Mo")])
        #expect(named.allSatisfy { $0.actor == Command.system })
        #expect(assigned.latestRun.deputies == ["Lee": "Mo"])
        // Cy has no deputy: nothing is named, and nothing is refused.
        let other = try runtime.must("Dana", .assign(role: "facilities", person: "Cy"), on: id)
        #expect(other.followUps.isEmpty)
        // Dana (the commander, named at the declaration) is not in the directory: no deputy either.
        #expect(try runtime.snapshot(runID: id).run.deputies == ["Lee": "Mo"])
        #expect(try runtime.replay(runID: id) == runtime.snapshot(runID: id).run)
    }

    @Test("a roll call starts with the role holders and the group's members from the directory, each once")
    func rollCallStarted() throws {
        let folder = try RuntimeTempFolder()
        defer { folder.remove() }
        let clock = ManualClock(start)
        let runtime = try staffed(folder, clock)
        let id = try declared(runtime)
        try runtime.must("Dana", .assign(role: "it_ops", person: "Lee"), on: id)
        // The facilities lead is also on the site: asked once, in the directory's spelling.
        try runtime.must("Dana", .assign(role: "facilities", person: "Ana"), on: id)
        clock.advance(by: .minutes(1))
        let raised = try runtime.must("Dana", .raise("evacuate"), on: id)
        #expect(raised.effects.contains { if case .resolveRollCall = $0 { true } else { false } })
        let started = raised.followUps.flatMap(\.events).compactMap { event -> [String]? in
            if case .rollCallStarted("staff-safety", let people, _) = event.body { return people } else { return nil }
        }
        #expect(started == [["Ana", "Bo", "Cy"]])
        let record = try #require(raised.latestRun.rollCalls["staff-safety"])
        #expect(record.people == ["Ana", "Bo", "Cy"])
        // One personal message each, queued in the follow-up (the shell's outbox gets them).
        let messages = raised.allEffects.compactMap { effect -> String? in
            if case .sendNotification(let n) = effect, n.rollCall == "staff-safety" { return n.person } else { return nil }
        }
        #expect(messages == ["Ana", "Bo", "Cy"])
        // Answers count towards the guard; the roll call is answered by everyone and the page acknowledged: recover.
        for person in ["Ana", "Bo", "Cy"] {
            try runtime.must(person, .answer(rollCall: "staff-safety", person: person, option: "safe", channel: "web"), on: id)
        }
        let acked = try runtime.must("Lee", .acknowledge("page-it"), on: id)
        #expect(acked.run.currentState == "recover")
        #expect(try runtime.replay(runID: id) == runtime.snapshot(runID: id).run)
    }

    @Test("each person's first message goes to the first channel of via the directory can reach them on")
    func firstReachableChannel() throws {
        let folder = try RuntimeTempFolder()
        defer { folder.remove() }
        let clock = ManualClock(start)
        let runtime = try staffed(folder, clock)
        let playbook = try folder.write("site-loss.yaml", """
            muster: 1
            id: site-loss
            version: 1
            title: Site loss
            severity: P1
            roles:
              incident_commander: { title: Incident Commander }
            channels:
              text: { type: sms, url: "http://127.0.0.1:9/", account: "${A}", token: "${T}", from: "+4412345", live_only: true }
              mail: { type: email, smtp: "smtp://127.0.0.1:9", to: [ops@example.org], from: "Muster <muster@example.org>", live_only: true }
              board: { type: webhook, url: "http://127.0.0.1:9/board", live_only: true }
            start: evacuate
            states:
              evacuate:
                phase: respond
                owner: incident_commander
                on_enter:
                  - roll_call: { id: safety, who: [group: site-hq, person: Zoe], ask: "Are you safe?", options: { safe: I am safe }, via: [text, mail, board], resend: { every: 15m, max: 2 } }
                transitions: [ { on: done, to: closed } ]
              closed:
                phase: learn
                terminal: true
            """)
        let declared = try runtime.declare(DeclareRequest(playbookPath: playbook, title: "Fire", actor: "Dana"))
        let id = declared.runID
        func messages(_ effects: [Effect]) -> [String] {
            effects.compactMap { if case .sendNotification(let n) = $0, n.rollCall == "safety" { "\(n.person ?? "")@\(n.channel)" } else { nil } }
        }
        // Ana and Bo have only phones, Cy only an email address; Zoe is not in the directory: only the board reaches
        // her. (The board, posting to one place, reaches everyone.)
        let snapshot = try runtime.snapshot(runID: id)
        #expect(snapshot.run.rollCalls["safety"]?.routes == ["Ana": ["text", "board"], "Bo": ["text", "board"], "Cy": ["mail", "board"], "Zoe": ["board"]])
        let first = try runtime.journal.events(runID: id).compactMap { event -> String? in
            if case .notificationQueued(let n) = event.body, n.rollCall == "safety" { "\(n.person ?? "")@\(n.channel)" } else { nil }
        }
        #expect(first == ["Zoe@board", "Ana@text", "Bo@text", "Cy@mail"])
        clock.advance(by: .minutes(15))
        #expect(messages(try runtime.tick(runID: id).effects) == ["Zoe@board", "Ana@board", "Bo@board", "Cy@board"])
        #expect(try runtime.replay(runID: id) == runtime.snapshot(runID: id).run)
    }

    @Test("what reached whom, brought up to date from an earlier read, equals reading the whole timeline again")
    func reachIncremental() throws {
        let folder = try RuntimeTempFolder()
        defer { folder.remove() }
        let clock = ManualClock(start)
        let runtime = try staffed(folder, clock)
        let id = try declared(runtime)
        try runtime.must("Dana", .assign(role: "it_ops", person: "Lee"), on: id)
        try runtime.must("Dana", .raise("evacuate"), on: id)
        let first = try #require(try RunText.reach(runtime.journal, runID: id, run: runtime.snapshot(runID: id).run, after: nil))
        #expect(first.through == (try runtime.journal.head(runID: id).sequence))
        #expect(first.reach.channels.reduce(0) { $0 + $1.sent + $1.pending + $1.notSent } > 0)
        // Answers, then a resend to those not accounted for and an escalation: more messages after the first read.
        try runtime.must("Ana", .answer(rollCall: "staff-safety", person: "Ana", option: "safe", channel: "sms"), on: id)
        clock.advance(by: .minutes(15))
        _ = try runtime.tick(runID: id)
        let run = try runtime.snapshot(runID: id).run
        let later = try #require(try RunText.reach(runtime.journal, runID: id, run: run, after: first))
        let whole = try #require(try RunText.reach(runtime.journal, runID: id, run: run, after: nil))
        #expect(later.through == whole.through && later.through > first.through)
        #expect(later.reach == whole.reach)
        #expect(later.reach.channels.reduce(0) { $0 + $1.pending + $1.sent + $1.notSent } > first.reach.channels.reduce(0) { $0 + $1.pending + $1.sent + $1.notSent })
    }

    @Test("an unacknowledged page escalates to the deputy the directory named, then to the commander")
    func escalationReachesDeputy() throws {
        let folder = try RuntimeTempFolder()
        defer { folder.remove() }
        let clock = ManualClock(start)
        let runtime = try staffed(folder, clock)
        let id = try declared(runtime)
        try runtime.must("Dana", .assign(role: "it_ops", person: "Lee"), on: id)
        try runtime.must("Dana", .raise("evacuate"), on: id)
        clock.advance(by: .minutes(10))
        let first = try runtime.tick(runID: id)
        let step1 = first.timerEvents.compactMap { event -> String? in
            if case .escalated("page-it", 1, "deputy", let person, _) = event.body { return person } else { return nil }
        }
        #expect(step1 == ["Mo"])
        let paged = first.effects.compactMap { effect -> String? in
            if case .sendNotification(let n) = effect, n.ack == "page-it" { return n.person } else { return nil }
        }
        #expect(paged == ["Mo"])
        // Mo was paged: Mo may acknowledge.
        clock.advance(by: .minutes(2))
        let acked = try runtime.must("Mo", .acknowledge("page-it"), on: id)
        #expect(acked.events.contains { if case .acknowledged("page-it", "Mo", _) = $0.body { true } else { false } })
        #expect(try runtime.replay(runID: id) == runtime.snapshot(runID: id).run)
    }

    @Test("without a deputy in the directory the deputy step is passed over to the commander")
    func noDeputy() throws {
        let folder = try RuntimeTempFolder()
        defer { folder.remove() }
        let clock = ManualClock(start)
        let runtime = try staffed(folder, clock)
        let id = try declared(runtime)
        try runtime.must("Dana", .assign(role: "it_ops", person: "Cy"), on: id)
        try runtime.must("Dana", .raise("evacuate"), on: id)
        clock.advance(by: .minutes(10))
        let tick = try runtime.tick(runID: id)
        let steps = tick.timerEvents.compactMap { event -> String? in
            if case .escalated("page-it", _, let to, let person, _) = event.body { return "\(to):\(person ?? "-")" } else { return nil }
        }
        #expect(steps == ["deputy:-", "incident_commander:Dana"])
    }
}

@Suite("People directory follow-ups after a stop")
struct DirectoryRecoveryTests {
    @Test("a roll call asked for by a process that stopped before starting it is started by the next tick")
    func unstartedRollCallRecovered() throws {
        let folder = try RuntimeTempFolder()
        defer { folder.remove() }
        let clock = ManualClock(start)
        let runtime = try DirectoryFollowUpTests().staffed(folder, clock)
        let id = try DirectoryFollowUpTests().declared(runtime)
        try runtime.must("Dana", .assign(role: "facilities", person: "Cy"), on: id)
        // Another process raised the event and stopped before its follow-up: its events only, appended as it did.
        let snapshot = try runtime.snapshot(runID: id)
        var run = snapshot.run
        guard case .accepted(let events, _) = run.execute(Command(actor: "Dana", .raise("evacuate")), at: clock.now) else {
            throw Unexpected(description: "raise refused")
        }
        _ = try runtime.journal.append(runID: id, expectedSequence: snapshot.sequence, events: events)
        #expect(try runtime.snapshot(runID: id).run.rollCalls["staff-safety"]?.startedAt == nil)
        // No timer is due: the tick writes nothing of its own, and starts the roll call.
        let tick = try runtime.tick(runID: id)
        #expect(tick.timerEvents.isEmpty)
        #expect(tick.followUpFailure == nil)
        let started = tick.followUps.flatMap(\.events).compactMap { event -> [String]? in
            if case .rollCallStarted("staff-safety", let people, _) = event.body { return people } else { return nil }
        }
        #expect(started == [["Cy", "Ana", "Bo"]])
        // Nothing owed any more: the next tick does nothing.
        #expect(try runtime.tick(runID: id).followUps.isEmpty)
    }
}
