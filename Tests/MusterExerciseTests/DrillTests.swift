import Foundation
import MusterCore
import MusterExercise
import MusterJournal
import MusterTestSupport
import MusterYAML
import Testing

/// Drills: a roster of simulated people, scripted acks and answers, and expectations on roll calls and acks.
enum DrillFixture {
    /// Evacuate: page it_ops (ack page-it, 10m, escalate to the deputy then the commander) and a roll call of
    /// site-hq through sms then email (resend every 10m, at most 2).
    static let playbookText = """
        muster: 1
        id: evac
        version: 1
        title: Evacuation
        roles:
          incident_commander: Incident commander
          it_ops: IT lead
        channels:
          pager: { type: sms, url: "${MUSTER_SMS_URL}", account: "${MUSTER_SMS_ACCOUNT}", token: "${MUSTER_SMS_TOKEN}", from: "+4412345", exercise: feed }
          sms: { type: sms, url: "${MUSTER_SMS_URL}", account: "${MUSTER_SMS_ACCOUNT}", token: "${MUSTER_SMS_TOKEN}", from: "+4412345", exercise: feed }
          email: { type: email, to: [all@example.org], smtp: "${MUSTER_SMTP_URL}", live_only: true }
          feed: { type: webhook, url: "${MUSTER_FEED_URL}" }
        start: standby
        states:
          standby:
            phase: detect
            owner: incident_commander
            transitions: [ { on: evacuate, to: evacuate } ]
          evacuate:
            phase: respond
            owner: incident_commander
            on_enter:
              - { notify: pager, to: it_ops, id: page-it, message: "Office lost", ack_within: 10m, escalate: [deputy, incident_commander] }
              - roll_call: { id: staff-safety, who: [group: site-hq], ask: "Are you safe?", options: { safe: Safe, help: Help }, via: [sms, email], resend: { every: 10m, max: 2 }, within: 1h }
            transitions:
              - { on: done, to: closed }
          closed:
            phase: learn
            terminal: true

        """

    static func exerciseText(roster: String = defaultRoster, expect: String = defaultExpect) -> String {
        """
        muster: 1
        exercise: evac-drill
        title: Evacuation drill
        type: drill
        playbook: evac
        objectives:
          - { id: O1, text: Account for people }
        participants: { incident_commander: Dana, it_ops: Lee }
        controllers: [Alex]
        clock: { speed: manual, start: 2026-01-01T09:00:00Z }
        duration: 1h
        \(roster)
        injects:
          - id: I1
            at: 0m
            message: Fire alarm
            expect:
        \(expect)

        """
    }

    static let defaultRoster = """
        roster:
          - { name: Dana, groups: [site-hq] }
          - { name: Lee, groups: [site-hq], deputy: Ana }
          - { name: Ana, groups: [site-hq] }
          - { name: Kim, groups: [site-hq], reachable: [email] }
          - { name: Zoe, groups: [site-hq], reachable: [] }
        """

    static let defaultExpect = """
              - { do: ack page-it, within: 10m, objective: O1 }
              - { do: rollcall staff-safety 60%, within: 15m, objective: O1 }
              - { do: rollcall staff-safety 100%, within: 30m, objective: O1 }
        """

    static var playbook: Playbook {
        let loaded = PlaybookLoader.load(text: playbookText, file: "evac.yaml")
        precondition(!loaded.hasErrors, "\(loaded.diagnostics)")
        return loaded.playbook!
    }

    /// The exercise's diagnostics: decoding, then validation against the playbook.
    static func diagnostics(_ text: String) -> [String] {
        let (node, yaml) = YAMLSource.parse(text, file: "x.yaml")
        let (exercise, decoded) = ExerciseDecoder.decode(node!)
        var all = yaml + decoded
        if let exercise { all += ExerciseValidator.validate(exercise, against: playbook) }
        return all.sortedByLocation().map(\.description)
    }

    static func started(_ text: String = exerciseText()) -> ExerciseRun { startedWithEvents(text).run }

    static func startedWithEvents(_ text: String = exerciseText()) -> (run: ExerciseRun, events: [RunEvent]) {
        let (node, _) = YAMLSource.parse(text, file: "x.yaml")
        let (exercise, diagnostics) = ExerciseDecoder.decode(node!)
        precondition(!diagnostics.hasErrors, "\(diagnostics)")
        var run = ExerciseRun(exercise: exercise!, playbook: playbook)
        let step = run.start(runID: "x-evac", file: "x.yaml", text: text, players: nil, wall: Fixture.wall0)
        precondition(step.refusal == nil, "\(step.refusal ?? "")")
        return (run, step.events)
    }

    static func players(_ steps: String) -> (script: PlayerScript?, diagnostics: [String]) {
        let text = "muster: 1\nexercise: evac-drill\nsteps:\n" + steps
        let (node, _) = YAMLSource.parse(text, file: "p.yaml")
        let (script, diagnostics) = PlayerScript.decode(node!)
        return (script, diagnostics.map(\.description))
    }
}

extension ExerciseRun {
    mutating func answers(_ offset: TimeSpan, _ rollCall: String, _ option: String, _ crowd: AnswerCrowd) -> ExerciseStep {
        handle(.answers(rollCall: rollCall, option: option, crowd: crowd, at: origin + offset), by: "", wall: Fixture.wall0)
    }
}

@Suite("Drills: rosters, scripted answers and roll-call expectations")
struct DrillTests {
    @Test("roster and expectation mistakes are reported at their line and column")
    func rosterAndExpectationErrors() {
        let roster = """
            roster:
              - { name: Dana, groups: [site-hq], deputy: Lea, reachable: [sms, emial] }
              - { name: dana, groups: [Site HQ] }
              - { name: Lee, grups: [site-hq], deputy: Lee }
            """
        let expect = """
                  - { do: ack page-itt, within: 10m }
                  - { do: rollcall staff-safty 90%, within: 10m }
                  - { do: rollcall staff-safety 120%, within: 10m }
                  - { do: rollcall staff-safety most, within: 10m }
                  - { do: rollcall staff-safety, within: 10m }
            """
        let found = DrillFixture.diagnostics(DrillFixture.exerciseText(roster: roster, expect: expect))
        #expect(found == [
            "x.yaml:7:11: warning: objective 'O1' has no expectation: it cannot be rated",
            "x.yaml:13:46: error: deputy 'Lea' of Dana is not on the roster (did you mean 'Lee'?)",
            "x.yaml:13:68: error: channel 'emial' is not a channel of playbook 'evac' (did you mean 'email'?)",
            "x.yaml:14:13: error: 'dana' is already on the roster (at 13:13); names are compared without regard to case",
            "x.yaml:14:28: error: 'Site HQ' is not a group name (use lowercase letters, digits, '-' and '_')",
            "x.yaml:15:18: error: unknown key 'grups' in roster person 'Lee' (did you mean 'groups'?)",
            "x.yaml:15:44: error: Lee cannot be their own deputy",
            "x.yaml:21:19: error: acknowledgement 'page-itt' is not an ack of playbook 'evac' (did you mean 'page-it'?)",
            "x.yaml:22:24: error: roll call 'staff-safty' is not a roll call of playbook 'evac' (did you mean 'staff-safety'?)",
            "x.yaml:23:37: error: 120% is not a share of a roll call's people (write 0% to 100%)",
            "x.yaml:24:37: error: 'most' is not a percentage (write the share of people accounted for, such as 90%)",
            "x.yaml:25:24: error: write 'rollcall staff-safety PERCENT%': the share of the roll call's people accounted for, such as 90%",
        ], "\(found.joined(separator: "\n"))")
    }

    @Test("a roster whose groups miss a roll call's group is warned about; a valid roster passes")
    func emptyGroup() {
        let found = DrillFixture.diagnostics(DrillFixture.exerciseText(roster: "roster:\n  - { name: Dana, groups: [crisis-team] }"))
        #expect(found.contains { $0.contains("warning: roll call 'staff-safety' of playbook 'evac' asks group 'site-hq', which has nobody on the roster") }, "\(found)")
        #expect(!found.contains { $0.contains("error") }, "\(found)")
        #expect(DrillFixture.diagnostics(DrillFixture.exerciseText()).isEmpty)
    }

    @Test("player scripts: ack and answer steps decode; their mistakes are reported at their line and column")
    func playerSteps() throws {
        let good = DrillFixture.players("""
              - { at: 3m, as: Lee, ack: page-it }
              - { at: 7m, as: Lee, answer: staff-safety, option: safe }
              - { at: 10m, answer: staff-safety, option: safe, people: 80% }
              - { at: 12m, answer: staff-safety, option: help, people: [Kim, Zoe] }
            """)
        let script = try #require(good.script, "\(good.diagnostics)")
        #expect(script.steps.map(\.action) == [
            .command(.acknowledge("page-it"), expectRejected: false),
            .answers(rollCall: "staff-safety", option: "safe", crowd: .named(["Lee"])),
            .answers(rollCall: "staff-safety", option: "safe", crowd: .share(80)),
            .answers(rollCall: "staff-safety", option: "help", crowd: .named(["Kim", "Zoe"])),
        ])
        #expect(script.steps.map(\.actor) == ["Lee", "Lee", "", ""])

        let bad = DrillFixture.players("""
              - { at: 3m, ack: page-it }
              - { at: 4m, as: Lee, answer: staff-safety }
              - { at: 5m, answer: staff-safety, option: safe }
              - { at: 6m, as: Lee, answer: staff-safety, option: safe, people: 80% }
              - { at: 7m, answer: staff-safety, option: safe, people: 180% }
              - { at: 8m, as: Lee, ack: page-it, option: safe }
              - { at: 9m, as: Lee, ack: page-it, answer: staff-safety }
            """)
        #expect(bad.script == nil)
        #expect(bad.diagnostics == [
            "p.yaml:4:5: error: an 'ack' step needs 'as' (who acknowledges)",
            "p.yaml:5:5: error: an 'answer' step is missing required key 'option'",
            "p.yaml:6:5: error: an 'answer' step needs 'as' (who answers) or 'people' (such as 80%, or a list of names)",
            "p.yaml:7:68: error: an 'answer' step answers for 'as' (one person) or for 'people', not both",
            "p.yaml:8:59: error: 'people' must be a share of the roll call's people from 0% to 100% (such as 80%) or a list of names, found '180%'",
            "p.yaml:9:38: error: unknown key 'option' in an 'ack' step",
            "p.yaml:10:24: error: a step does exactly one thing, found 'answer' and 'ack'",
        ], "\(bad.diagnostics.joined(separator: "\n"))")
    }

    @Test("the roster starts the roll call with its group in roster order and names the deputy who gets the escalation")
    func rosterResolves() {
        var run = DrillFixture.started()
        let step = run.at(.m(1), "Dana", .raise("evacuate"))
        let bodies = step.events.map(\.body)
        // Kim is reachable by email only and Zoe on nothing: their messages follow their own channels.
        #expect(bodies.contains(.rollCallStarted(rollCall: "staff-safety", people: ["Dana", "Lee", "Ana", "Kim", "Zoe"],
                                                 routes: ["Kim": ["email"], "Zoe": []])))
        #expect(run.run.deputies["Lee"] == "Ana")
        // Nobody acknowledges: at 11m the page goes to Lee's deputy.
        let escalation = run.move(to: .m(11))
        #expect(escalation.events.contains { $0.body == .escalated(ack: "page-it", step: 1, to: "deputy", person: "Ana", notification: "n7") }, "\(escalation.events.map(\.body))")
        let ack = run.handle(.scripted(Command(actor: "Ana", .acknowledge("page-it")), at: run.origin + .m(12)), by: "Ana", wall: Fixture.wall0)
        #expect(ack.rejection == nil)
        #expect(ack.events.contains { $0.body == .acknowledged(ack: "page-it", person: "Ana", latency: .m(11)) })
    }

    @Test("answers come through the channel that reached each person; a crowd stops at its share and passes over the unreached")
    func crowdAnswers() {
        var run = DrillFixture.started()
        _ = run.at(.m(1), "Dana", .raise("evacuate"))
        // Kim (email only) was asked by email at once; Zoe, whom nothing reaches, cannot answer.
        let kim = run.answers(.m(2), "staff-safety", "safe", .named(["Kim"]))
        #expect(kim.events.map(\.body) == [.answerReceived(rollCall: "staff-safety", person: "Kim", option: "safe", channel: "email", latency: .m(1))])
        let zoe = run.answers(.m(2), "staff-safety", "safe", .named(["Zoe"]))
        #expect(zoe.events.map(\.body) == [.playerActionRejected(action: "answer staff-safety safe", reason: "no message of roll call 'staff-safety' has reached Zoe yet on a channel they are reachable on")])
        // 100% of 5: Dana, Lee, Ana answer by sms; Kim is accounted for already and Zoe is passed over.
        let crowd = run.answers(.m(3), "staff-safety", "safe", .share(100))
        let answered = crowd.events.compactMap { event -> String? in
            if case .answerReceived(_, let person, _, let channel, _) = event.body { "\(person)/\(channel)/\(event.actor)" } else { nil }
        }
        #expect(answered == ["Dana/sms/Dana", "Lee/sms/Lee", "Ana/sms/Ana"])
        // Kim changes her answer later, still through email.
        let late = run.answers(.m(12), "staff-safety", "help", .named(["Kim"]))
        #expect(late.events.contains { $0.body == .answerReceived(rollCall: "staff-safety", person: "Kim", option: "help", channel: "email", latency: .m(11)) })
        // A share already reached answers for nobody.
        #expect(run.answers(.m(13), "staff-safety", "safe", .share(60)).events.isEmpty)
    }

    @Test("roll-call and ack expectations: met on time, late with the time, and missed, with the share reached")
    func evaluation() {
        var run = DrillFixture.started()
        _ = run.at(.m(1), "Dana", .raise("evacuate"))
        _ = run.answers(.m(5), "staff-safety", "safe", .named(["Dana", "Lee"]))
        _ = run.answers(.m(9), "staff-safety", "safe", .share(60))  // Ana: 3 of 5 at 9m
        _ = run.handle(.scripted(Command(actor: "Ana", .acknowledge("page-it")), at: run.origin + .m(14)), by: "Ana", wall: Fixture.wall0)
        _ = run.handle(.end(reason: "done"), by: "Alex", wall: Fixture.wall0)
        let e = run.evaluation()
        let results = e.injects[0].expectations
        #expect(results.map(\.text) == ["ack page-it", "rollcall staff-safety 60%", "rollcall staff-safety 100%"])
        #expect(results[0].outcome == .late(by: .m(4)))
        #expect(results[0].metAt == run.origin + .m(14))
        #expect(results[1].outcome == .onTime)
        #expect(results[1].metAt == run.origin + .m(9))
        #expect(results[1].detail == "3 of 5 accounted for (60%)")
        #expect(results[2].outcome == .unmet)
        #expect(results[2].detail == "3 of 5 accounted for (60%)")
        #expect(e.objectives[0].onTime == 1 && e.objectives[0].late == 1 && e.objectives[0].unmet == 1)
        let text = ExerciseText.evaluation(e)
        #expect(text.contains("LATE"), "\(text)")
        #expect(text.contains("; 3 of 5 accounted for (60%)"), "\(text)")
    }

    @Test("a roll call that never started: its expectation is missed, and says so")
    func neverStarted() {
        var run = DrillFixture.started()
        _ = run.handle(.end(reason: "done"), by: "Alex", wall: Fixture.wall0)
        let results = run.evaluation().injects[0].expectations
        #expect(results[1].outcome == .unmet)
        #expect(results[1].detail == "roll call not started")
        #expect(results[0].outcome == .unmet)
    }

    @Test("replaying the journaled events gives the same facts and evaluation as the live run")
    func replay() {
        var (run, all) = DrillFixture.startedWithEvents()
        all += run.at(.m(1), "Dana", .raise("evacuate")).events
        all += run.answers(.m(5), "staff-safety", "safe", .share(60)).events
        all += run.handle(.end(reason: "done"), by: "Alex", wall: Fixture.wall0).events
        var replayed = ExerciseRun(exercise: run.exercise, playbook: DrillFixture.playbook)
        for event in all { replayed.apply(event) }
        #expect(replayed.facts == run.facts)
        #expect(replayed.evaluation() == run.evaluation())
        #expect(replayed.run.rollCalls["staff-safety"]?.accounted == 3)
    }

    @Test("an exercise queues each personal message as delivery routes it: an exercise: override wins over live_only, a bare live_only channel is skipped")
    func queuedAsRouted() throws {
        let playbookText = DrillFixture.playbookText.replacingOccurrences(
            of: #"from: "+4412345", exercise: feed }"#, with: #"from: "+4412345", exercise: feed, live_only: true }"#)
        #expect(playbookText != DrillFixture.playbookText)
        let folder = try Fixture.temporaryFolder()
        try playbookText.write(to: folder.appendingPathComponent("evac.yaml"), atomically: true, encoding: .utf8)
        let loaded = ExerciseLoader.load(text: DrillFixture.exerciseText(), file: "x.yaml", playbookFolders: [folder.path])
        #expect(!loaded.hasErrors, "\(loaded.diagnostics)")
        let journal = try TestDatabase.open(home: folder.path, durability: .normal)
        let (session, _) = try ExerciseSession.start(journal: journal, loaded: loaded, playersFile: nil, pace: .manual, clock: ManualClock(Fixture.wall0))
        try session.handle(.scripted(Command(actor: "Dana", .raise("evacuate")), at: session.exercise.origin + .m(1)), by: "Dana")
        try session.handle(.moveTo(session.exercise.origin + .m(12)), by: Command.system)
        let items = try journal.outbox(runID: session.runID)
        // pager and sms are live_only with an override: queued for the override (the worker sends them to feed).
        #expect(items.filter { $0.channel == "pager" }.count == 2)
        // Kim's first message goes by email, her own channel; everyone else's by sms.
        #expect(items.filter { $0.channel == "sms" }.count == 4)
        #expect(items.filter { $0.channel == "pager" || $0.channel == "sms" }.allSatisfy { $0.status == .pending })
        // Email (Kim's question, then the reminder to all five) is live_only with no override: skipped, with the reason.
        let email = items.filter { $0.channel == "email" }
        #expect(email.count == 6)
        #expect(email.allSatisfy { $0.status == .skipped && $0.lastError == "channel email is live_only: not sent in an exercise" })
    }

    @Test("the facilitator console records acknowledgements and answers given at the table")
    func consoleAnswers() throws {
        #expect(ConsoleCommand.parse("as Ana: ack page-it") == .success(.action(actor: "Ana", .acknowledge("page-it"))))
        #expect(ConsoleCommand.parse("as Kim Ode: answer staff-safety help")
                == .success(.control(actor: "Kim Ode", .answers(rollCall: "staff-safety", option: "help", crowd: .named(["Kim Ode"]), at: nil))))
        #expect(ConsoleCommand.parse("answer staff-safety safe 80%")
                == .success(.control(actor: nil, .answers(rollCall: "staff-safety", option: "safe", crowd: .share(80), at: nil))))
        #expect(ConsoleCommand.parse("answer staff-safety safe") == .failure(ConsoleError(
            "who answers? write 'as NAME: answer ROLLCALL OPTION' (one person) or 'answer ROLLCALL OPTION N%' (a crowd)")))
        #expect(ConsoleCommand.parse("answer staff-safety safe lots") == .failure(ConsoleError(
            "write 'as NAME: answer ROLLCALL OPTION' (one person) or 'answer ROLLCALL OPTION N%' (a crowd)")))

        var run = DrillFixture.started()
        _ = run.at(.m(1), "Dana", .raise("evacuate"))
        _ = run.move(to: .m(4))
        let step = run.handle(.answers(rollCall: "staff-safety", option: "safe", crowd: .named(["Lee"]), at: nil), by: "Lee", wall: Fixture.wall0)
        #expect(step.events.map(\.body) == [.answerReceived(rollCall: "staff-safety", person: "Lee", option: "safe", channel: "sms", latency: .m(3))])
        #expect(step.events.first?.at == run.origin + .m(4))
    }
}
