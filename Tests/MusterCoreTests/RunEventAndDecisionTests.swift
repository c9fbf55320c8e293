import Testing
@testable import MusterCore

/// Started, Lee as it_ops, confirm done and `confirmed` raised at 6m: the run is in `declare`.
func declaringHarness() -> Harness {
    var h = startedHarness()
    h.accept("Lee", .completeTask("confirm", note: nil), at: at(5))
    h.accept("Lee", .raise("confirmed"), at: at(6))
    return h
}

@Suite("Run engine: raised events")
struct RunRaiseTests {
    @Test("an event without a guard moves the run; the raiser acts in the state's owner role when they hold it")
    func raiseFalseAlarm() {
        var h = startedHarness()
        let step = h.accept("Dana", .raise("false_alarm"), at: at(3))
        #expect(step.events == [
            ev(at(3), "Dana", ic, .eventRaised(name: "false_alarm")),
            ev(at(3), "Dana", ic, .timerCancelled(key: key("triage-overdue"))),
            ev(at(3), "Dana", ic, .timerCancelled(key: key("rto-warning"))),
            ev(at(3), "Dana", ic, .stateEntered(state: "closed", from: "triage", cause: .event("false_alarm"))),
            ev(at(3), "Dana", ic, .markSet(.recovered)),
            ev(at(3), "Dana", ic, .markSet(.closed)),
        ])
        #expect(step.effects == [.cancelTimer(key: key("triage-overdue")), .cancelTimer(key: key("rto-warning"))])
    }

    @Test("raising is refused with a reason", arguments: [
        ("Sam", "confirmed", "Sam holds no role in run R1: only people with a role can raise events"),
        ("Lee", "confirmd", "state 'triage' does not take event 'confirmd' (did you mean 'confirmed'?); it takes: confirmed, false_alarm"),
        ("Lee", "resolved", "state 'triage' does not take event 'resolved'; it takes: confirmed, false_alarm"),
        ("Lee", "confirmed", "event 'confirmed' cannot be taken in state 'triage' yet: its guard 'tasks.confirm.done' does not hold"),
    ])
    func refusals(actor: String, event: String, reason: String) {
        var h = startedHarness()
        #expect(h.reject(actor, .raise(event), at: at(5)) == reason)
    }

    @Test("a state that takes no events says so")
    func stateWithoutEvents() {
        var h = declaringHarness()
        #expect(h.reject("Dana", .raise("confirmed"), at: at(7)) == "state 'declare' does not take event 'confirmed'; it takes no events")
    }

    @Test("with several transitions on one event the first whose guard holds is taken; when none holds all guards are named")
    func severalGuards() {
        let playbook = PB.playbook("guards", start: "a", states: [
            PB.state("a", transitions: [
                PB.on("go", when: .and(.roleAssigned(l("comms")), .not(.comparison(.severity, .equal, l("P1")))), to: "b"),
                PB.on("go", when: .or(.comparison(.mode, .equal, l("exercise")), .taskDone(l("nothing"))), to: "c"),
                PB.on("go", when: .literal(true), to: "b"),
            ]),
            PB.state("b", terminal: true), PB.state("c", terminal: true),
        ])
        var h = Harness(playbook)
        h.accept("Dana", startCommand(mode: .exercise), at: t0)
        var step = h.accept("Dana", .raise("go"), at: at(1))
        #expect(step.events.last == ev(at(1), "Dana", ic, .stateEntered(state: "c", from: "a", cause: .event("go"))))

        let strict = PB.playbook("guards", start: "a", states: [
            PB.state("a", transitions: [
                PB.on("go", when: .and(.roleAssigned(l("comms")), .not(.comparison(.severity, .equal, l("P1")))), to: "b"),
                PB.on("go", when: .or(.comparison(.mode, .notEqual, l("live")), .taskDone(l("nothing"))), to: "b"),
            ]),
            PB.state("b", terminal: true),
        ])
        h = Harness(strict)
        h.accept("Dana", startCommand(), at: t0)
        #expect(h.reject("Dana", .raise("go"), at: at(1)) == """
            event 'go' cannot be taken in state 'a' yet: none of its guards 'roles.comms.assigned and not severity == "P1"', \
            'mode != "live" or tasks.nothing.done' holds
            """)
        _ = step
        step = h.accept("Dana", .note("still looking"), at: at(2))
        #expect(step.events == [ev(at(2), "Dana", ic, .noteAdded(text: "still looking"))])
    }

    @Test("events raised on entering a state are recorded and taken after the state's timers are armed")
    func onEnterRaise() {
        let playbook = PB.playbook("escalate", start: "a", states: [
            PB.state("a", onEnter: [PB.notify("bridge", "in {{state.id}}"), .raise(l("unheard")), .raise(l("escalate"))],
                     timers: [PB.timer("a-timer", after: .minutes(10), notify: "bridge", message: "x")],
                     transitions: [PB.on("escalate", to: "b")]),
            PB.state("b", onEnter: [.raise(l("done"))], transitions: [PB.on("done", to: "c")]),
            PB.state("c", terminal: true),
        ])
        var h = Harness(playbook)
        let step = h.accept("Dana", startCommand(), at: t0)
        #expect(Array(step.events.dropFirst(2)) == [
            ev(t0, "Dana", nil, .stateEntered(state: "a", from: nil, cause: .start)),
            ev(t0, "Dana", nil, .notificationQueued(Notification(id: "n1", channel: "bridge", message: "in a", trigger: "enter:a"))),
            ev(t0, "Dana", nil, .timerArmed(key: key("a-timer"), due: at(10), repeatEvery: nil)),
            ev(t0, "Dana", nil, .eventRaised(name: "unheard")),
            ev(t0, "Dana", nil, .eventRaised(name: "escalate")),
            ev(t0, "Dana", nil, .timerCancelled(key: key("a-timer"))),
            ev(t0, "Dana", nil, .stateEntered(state: "b", from: "a", cause: .event("escalate"))),
            ev(t0, "Dana", nil, .eventRaised(name: "done")),
            ev(t0, "Dana", nil, .stateEntered(state: "c", from: "b", cause: .event("done"))),
        ])
    }

    @Test("eventless transitions are taken in order, as soon as their guard holds, after any accepted command")
    func eventless() {
        let playbook = PB.playbook("eventless", start: "a", states: [
            PB.state("a", transitions: [PB.when(.roleAssigned(l("comms")), to: "b"), PB.when(.roleAssigned(l("it_ops")), to: "c")]),
            PB.state("b", transitions: [PB.when(nil, to: "c")]),
            PB.state("c", terminal: true),
        ])
        var h = Harness(playbook)
        h.accept("Dana", startCommand(), at: t0)
        h.accept("Dana", .assign(role: "it_ops", person: "Lee"), at: at(1))
        #expect(h.run.currentState == "c")

        h = Harness(playbook)
        h.accept("Dana", startCommand(), at: t0)
        let step = h.accept("Dana", .assign(role: "comms", person: "Sam"), at: at(1))
        #expect(step.events == [
            ev(at(1), "Dana", ic, .roleAssigned(role: "comms", person: "Sam")),
            ev(at(1), "Dana", ic, .stateEntered(state: "b", from: "a", cause: .guardHeld)),
            ev(at(1), "Dana", ic, .stateEntered(state: "c", from: "b", cause: .guardHeld)),
        ])
    }

    @Test("a command whose transitions do not settle is refused whole")
    func unsettled() {
        let playbook = PB.playbook("loop", start: "a", states: [
            PB.state("a", transitions: [PB.on("go", to: "b")]),
            PB.state("b", transitions: [PB.when(.literal(true), to: "c")]),
            PB.state("c", onEnter: [.raise(l("back"))], transitions: [PB.on("back", to: "b")]),
        ])
        var h = Harness(playbook)
        h.accept("Dana", startCommand(), at: t0)
        #expect(h.reject("Dana", .raise("go"), at: at(1)) == """
            the run does not settle: more than 64 transitions in one step (the last into 'b'); \
            check playbook 'loop' for a loop of eventless transitions or raised events
            """)
        #expect(h.run.currentState == "a")
    }
}

@Suite("Run engine: decisions")
struct RunDecisionTests {
    @Test("deciding is refused with a reason", arguments: [
        ("Lee", Command.Action.decide(decision: "declare-major", option: "declare", rationale: "why not"),
         "only the holder of incident_commander (Dana) can decide 'declare-major'"),
        ("Dana", .decide(decision: "declare-majr", option: "declare", rationale: "x"),
         "decision 'declare-majr' is not defined in playbook 'ransomware-file-servers' (did you mean 'declare-major'?)"),
        ("Dana", .decide(decision: "declare-major", option: "declre", rationale: "x"),
         "'declre' is not an option of decision 'declare-major' (did you mean 'declare'?); options: declare, keep-watching"),
        ("Dana", .decide(decision: "declare-major", option: "panic", rationale: "x"),
         "'panic' is not an option of decision 'declare-major'; options: declare, keep-watching"),
        ("Dana", .decide(decision: "declare-major", option: "declare", rationale: ""), "decision 'declare-major' needs a rationale: say why"),
    ])
    func refusals(actor: String, action: Command.Action, reason: String) {
        var h = declaringHarness()
        #expect(h.reject(actor, action, at: at(7)) == reason)
    }

    @Test("a decision is only made in its own state")
    func wrongState() {
        var h = startedHarness()
        #expect(h.reject("Dana", .decide(decision: "declare-major", option: "declare", rationale: "x"), at: at(2))
                == "decision 'declare-major' belongs to state 'declare', but run R1 is in 'triage'")
    }

    @Test("a decision is made once per visit of its state")
    func onceAVisit() {
        var h = declaringHarness()
        // Only a journal can say a decision was made without leaving its state; the engine still refuses a second.
        h.run.apply(ev(at(7), "Dana", ic, .decisionMade(decision: "declare-major", option: "declare", rationale: "x", byDefault: false)))
        #expect(h.reject("Dana", .decide(decision: "declare-major", option: "keep-watching", rationale: "y"), at: at(8))
                == "decision 'declare-major' was already made in this visit of 'declare' ('declare' by Dana)")
    }

    @Test("the deciding role is the decision's, even for the incident commander")
    func byRole() {
        let playbook = PB.playbook("by-role", start: "a", states: [
            PB.state("a", decision: PB.decision("restore-now", by: "it_ops", options: [("yes", "b"), ("no", "b")])),
            PB.state("b", terminal: true),
        ])
        var h = Harness(playbook)
        h.accept("Dana", startCommand(), at: t0)
        #expect(h.reject("Dana", .decide(decision: "restore-now", option: "yes", rationale: "x"), at: at(1))
                == "only the holder of it_ops (unassigned) can decide 'restore-now'")
        h.accept("Dana", .assign(role: "it_ops", person: "Lee"), at: at(2))
        let step = h.accept("Lee", .decide(decision: "restore-now", option: "yes", rationale: "backup verified"), at: at(3))
        #expect(step.events == [
            ev(at(3), "Lee", "it_ops", .decisionMade(decision: "restore-now", option: "yes", rationale: "backup verified", byDefault: false)),
            ev(at(3), "Lee", "it_ops", .stateEntered(state: "b", from: "a", cause: .decision(id: "restore-now", option: "yes"))),
        ])
    }
}
