import Testing
@testable import MusterCore

@Suite("Run engine: playbooks and journals the engine cannot fully follow")
struct RunEdgeCaseTests {
    @Test("a timer on an objective the service does not set is refused at arming")
    func missingObjective() {
        var h = Harness(PB.playbook("no-rto", start: "a",
            services: [Service(id: l("payroll"), rpo: l(.hours(1)))],
            timers: [PB.timer("t", at: TimeExpression(base: .objective(service: l("payroll"), .rto)), notify: "bridge", message: "x")],
            states: [PB.state("a")]))
        #expect(h.reject("Dana", startCommand(), at: t0) == "timer 't' cannot be armed: service 'payroll' has no rto")
    }

    @Test("an option leading to an unknown state is refused, by a person and by a deadline")
    func optionToNowhere() {
        let playbook = PB.playbook("bad-option", start: "a", states: [
            PB.state("a", decision: PB.decision("go", options: [("yes", "nowhere")], deadline: .minutes(5), default: "yes")),
        ])
        var h = Harness(playbook)
        h.accept("Dana", startCommand(), at: t0)
        #expect(h.reject("Dana", .decide(decision: "go", option: "yes", rationale: "x"), at: at(1))
                == "option 'yes' of decision 'go' leads to 'nowhere', which is not a state of playbook 'bad-option'")
        #expect(h.reject(system, .fireTimer(key("deadline:go")), at: at(5))
                == "option 'yes' of decision 'go' leads to 'nowhere', which is not a state of playbook 'bad-option'")
    }

    @Test("a journal naming a state the playbook does not have replays, and further commands are refused")
    func unknownStateInJournal() {
        var h = startedHarness()
        h.run.apply(ev(at(2), "Dana", ic, .stateEntered(state: "renamed", from: "triage", cause: .guardHeld)))
        #expect(h.run.currentState == nil)
        #expect(h.reject("Lee", .raise("confirmed"), at: at(3))
                == "run R1 is in no state of playbook 'ransomware-file-servers' version 3: replay it with the playbook it ran")
    }

    @Test("a timer firing that does not settle is refused; catch-up stops there and the command still runs")
    func unsettledTimer() {
        let playbook = PB.playbook("timer-loop", start: "a", states: [
            PB.state("a", timers: [PB.timer("kick", after: .minutes(5), raise: "go")], transitions: [PB.on("go", to: "b")]),
            PB.state("b", transitions: [PB.when(nil, to: "c")]),
            PB.state("c", onEnter: [.raise(l("back"))], transitions: [PB.on("back", to: "b")]),
        ])
        var timed = TimedRun(playbook: playbook)
        _ = timed.handle(cmd("Dana", startCommand()), at: t0, fireAtDueTimes: true)
        let before = timed.run
        let result = timed.handle(cmd("Dana", .note("still here")), at: at(10), fireAtDueTimes: true)
        #expect(result.timerEvents == [])
        #expect(result.rejection == nil)
        #expect(result.events == [ev(at(10), "Dana", ic, .noteAdded(text: "still here"))])
        #expect(timed.timerRejection == Rejection(.doesNotSettle, """
            the run does not settle: more than 64 transitions in one step (the last into 'b'); \
            check playbook 'timer-loop' for a loop of eventless transitions or raised events
            """))
        #expect(timed.run.armedTimers == before.armedTimers)
        #expect(timed.nextDue == at(5))
    }

    @Test("applying an event that names unknown roles, tasks, decisions or timers changes nothing it cannot name")
    func unknownNamesInJournal() {
        var run = startedHarness().run
        let before = run
        for body: RunEvent.Body in [
            .roleAssigned(role: "scribe", person: "X"), .roleRelieved(role: "scribe", person: "X", handover: nil),
            .taskCompleted(task: "nope", note: nil), .taskSkipped(task: "nope", reason: nil),
            .decisionMade(decision: "nope", option: "x", rationale: "y", byDefault: false),
            .timerFired(key: key("nope"), due: t0, lateBy: .zero), .timerCancelled(key: key("nope")),
        ] {
            run.apply(ev(at(3), "X", nil, body))
        }
        #expect(run == before)
    }
}
