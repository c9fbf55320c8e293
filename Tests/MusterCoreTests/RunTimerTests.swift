import Testing
@testable import MusterCore

@Suite("Run engine: timers and catch-up")
struct RunTimerTests {
    @Test("a repeating timer fires at each due time and re-arms at the previous due time plus the interval")
    func repeatAtDueTimes() {
        var h = startedHarness()
        let events = h.advance(to: at(65), fireAtDueTimes: true)
        #expect(events == [
            ev(at(30), system, nil, .timerFired(key: key("triage-overdue"), due: at(30), lateBy: .zero)),
            ev(at(30), system, nil, .notificationQueued(Notification(id: "n2", channel: "execs", message: "Triage still open after 30m", trigger: "timer:triage-overdue"))),
            ev(at(30), system, nil, .timerArmed(key: key("triage-overdue"), due: at(60), repeatEvery: .minutes(30))),
            ev(at(60), system, nil, .timerFired(key: key("triage-overdue"), due: at(60), lateBy: .zero)),
            ev(at(60), system, nil, .notificationQueued(Notification(id: "n3", channel: "execs", message: "Triage still open after 1h", trigger: "timer:triage-overdue"))),
            ev(at(60), system, nil, .timerArmed(key: key("triage-overdue"), due: at(90), repeatEvery: .minutes(30))),
        ])
        #expect(Run.effects(of: events) == [
            .sendNotification(Notification(id: "n2", channel: "execs", message: "Triage still open after 30m", trigger: "timer:triage-overdue")),
            .startTimer(key: key("triage-overdue"), due: at(60), repeatEvery: .minutes(30)),
            .sendNotification(Notification(id: "n3", channel: "execs", message: "Triage still open after 1h", trigger: "timer:triage-overdue")),
            .startTimer(key: key("triage-overdue"), due: at(90), repeatEvery: .minutes(30)),
        ])
        #expect(h.run.nextDue == at(90))
    }

    @Test("catching up late fires a repeating timer once for all its missed firings, rendered at its due time, and says how many")
    func catchUpLate() {
        var h = startedHarness()
        let events = h.advance(to: at(65), fireAtDueTimes: false)
        let message = "Triage still open after 1h (2 reminders fell due while Muster was not running, every 30m from "
            + "\(TimelineText.utc(at(30))) to \(TimelineText.utc(at(60))): sent once)"
        #expect(events == [
            ev(at(65), system, nil, .timerFired(key: key("triage-overdue"), due: at(30), lateBy: .minutes(35))),
            ev(at(65), system, nil, .notificationQueued(Notification(id: "n2", channel: "execs", message: message, trigger: "timer:triage-overdue"))),
            ev(at(65), system, nil, .timerArmed(key: key("triage-overdue"), due: at(90), repeatEvery: .minutes(30))),
        ])
        #expect(h.advance(to: at(65), fireAtDueTimes: false) == [])
    }

    @Test("a single late firing renders with its own due time, not the time it was caught up")
    func lateFiringRendersAtDue() {
        var h = startedHarness()
        let events = h.advance(to: at(45), fireAtDueTimes: false)
        #expect(events == [
            ev(at(45), system, nil, .timerFired(key: key("triage-overdue"), due: at(30), lateBy: .minutes(15))),
            ev(at(45), system, nil, .notificationQueued(Notification(id: "n2", channel: "execs", message: "Triage still open after 30m", trigger: "timer:triage-overdue"))),
            ev(at(45), system, nil, .timerArmed(key: key("triage-overdue"), due: at(60), repeatEvery: .minutes(30))),
        ])
    }

    @Test("timers due at the same time fire in key order; nothing fires before its due time")
    func orderAndBounds() {
        let playbook = PB.playbook("order", start: "a", timers: [
            PB.timer("b-run-wide", at: TimeExpression(base: .runStart, offset: .minutes(10)), notify: "bridge", message: "b"),
        ], states: [
            PB.state("a", timers: [PB.timer("a-state", after: .minutes(10), notify: "bridge", message: "a {{run.elapsed}}")]),
        ])
        var h = Harness(playbook)
        h.accept("Dana", startCommand(), at: t0)
        #expect(h.advance(to: at(10) - .seconds(1)) == [])
        let events = h.advance(to: at(10))
        #expect(events.map(\.body) == [
            .timerFired(key: key("a-state"), due: at(10), lateBy: .zero),
            .notificationQueued(Notification(id: "n1", channel: "bridge", message: "a 10m", trigger: "timer:a-state")),
            .timerFired(key: key("b-run-wide"), due: at(10), lateBy: .zero),
            .notificationQueued(Notification(id: "n2", channel: "bridge", message: "b", trigger: "timer:b-run-wide")),
        ])
        #expect(h.run.armedTimers.isEmpty)
    }

    @Test("run-wide timers count from the disruption's start, objectives included")
    func disruptionAnchor() {
        var h = Harness()
        let step = h.accept("Dana", startCommand(disruptionStart: at(-200)), at: t0)
        #expect(step.events[0] == ev(t0, "Dana", nil, .runStarted(RunStarted(runID: "R1", playbookID: "ransomware-file-servers", playbookVersion: 3,
            mode: .live, title: "Finance shares encrypted", severity: .p1, disruptionStart: at(-200)))))
        #expect(step.events.contains(ev(t0, "Dana", nil, .timerArmed(key: key("rto-warning"), due: at(-20), repeatEvery: nil))))
        // Already due at start: the next catch-up fires it, late.
        let events = h.advance(to: at(1), fireAtDueTimes: false)
        #expect(events == [
            ev(at(1), system, nil, .timerFired(key: key("rto-warning"), due: at(-20), lateBy: .minutes(21))),
            ev(at(1), system, nil, .notificationQueued(Notification(id: "n2", channel: "execs", message: "One hour left before the RTO of file shares", trigger: "timer:rto-warning"))),
        ])
    }

    @Test("a decision's deadline takes the default, recorded as the system's choice")
    func deadlineDefault() {
        var h = declaringHarness()
        let events = h.advance(to: at(30))
        #expect(events == [
            ev(at(21), system, nil, .timerFired(key: key("deadline:declare-major"), due: at(21), lateBy: .zero)),
            ev(at(21), system, nil, .decisionMade(decision: "declare-major", option: "declare",
                                                   rationale: "no decision within the deadline of 15m: default taken", byDefault: true)),
            ev(at(21), system, nil, .stateEntered(state: "contain", from: "declare", cause: .decision(id: "declare-major", option: "declare"))),
            ev(at(21), system, nil, .markSet(.declared)),
        ])
        #expect(h.run.decision("declare-major")?.byDefault == true)
    }

    @Test("a deadline without a default only records that it passed")
    func deadlineWithoutDefault() {
        let playbook = PB.playbook("no-default", start: "a", states: [
            PB.state("a", decision: PB.decision("go", options: [("yes", "b")], deadline: .minutes(5))),
            PB.state("b", terminal: true),
        ])
        var h = Harness(playbook)
        h.accept("Dana", startCommand(), at: t0)
        #expect(h.advance(to: at(10)) == [ev(at(5), system, nil, .timerFired(key: key("deadline:go"), due: at(5), lateBy: .zero))])
        #expect(h.run.currentState == "a")
        h.accept("Dana", .decide(decision: "go", option: "yes", rationale: "late but sure"), at: at(11))
    }

    @Test("a timer can raise an event that moves the run; a repeat does not come back once its state is left")
    func timerRaises() {
        let playbook = PB.playbook("escalation", start: "a", states: [
            PB.state("a", timers: [PB.timer("escalate", after: .minutes(10), repeat: .minutes(10), raise: "overdue")],
                     transitions: [PB.on("overdue", to: "b")]),
            PB.state("b", timers: [PB.timer("nag", after: .minutes(5), raise: "ignored")]),
        ])
        var h = Harness(playbook)
        h.accept("Dana", startCommand(), at: t0)
        #expect(h.advance(to: at(20)) == [
            ev(at(10), system, nil, .timerFired(key: key("escalate"), due: at(10), lateBy: .zero)),
            ev(at(10), system, nil, .eventRaised(name: "overdue")),
            ev(at(10), system, nil, .stateEntered(state: "b", from: "a", cause: .event("overdue"))),
            ev(at(10), system, nil, .timerArmed(key: key("nag"), due: at(15), repeatEvery: nil)),
            ev(at(15), system, nil, .timerFired(key: key("nag"), due: at(15), lateBy: .zero)),
            ev(at(15), system, nil, .eventRaised(name: "ignored")),
        ])
        #expect(h.run.currentState == "b")
        #expect(h.run.armedTimers.isEmpty)
    }

    @Test("firing a timer that is not armed, or not yet due, is refused")
    func staleAndEarly() {
        var h = startedHarness()
        #expect(h.reject(system, .fireTimer(key("triage-overdue")), at: at(29))
                == "timer triage-overdue#1 is not due until 2026-03-06T18:10:00.000Z")
        #expect(h.reject(system, .fireTimer(key("triage-overdue", 2)), at: at(40))
                == "timer triage-overdue#2 is not armed: it was cancelled, has already fired, or never existed")
        #expect(h.reject(system, .fireTimer(key("no-such-timer")), at: at(40))
                == "timer no-such-timer#1 is not armed: it was cancelled, has already fired, or never existed")
        h.accept("Lee", .completeTask("confirm", note: nil), at: at(2))
        h.accept("Lee", .raise("confirmed"), at: at(3))
        // Cancelled by leaving triage: the shell's late firing is stale.
        #expect(h.reject(system, .fireTimer(key("triage-overdue")), at: at(31))
                == "timer triage-overdue#1 is not armed: it was cancelled, has already fired, or never existed")
    }

    @Test("TimedRun.handle fires due timers, then decides the command")
    func handle() {
        var timed = TimedRun(playbook: PB.ransomware)
        var result = timed.handle(cmd("Dana", startCommand()), at: t0, fireAtDueTimes: true)
        #expect(result.timerEvents == [] && result.rejection == nil && result.events.count == 7)
        #expect(timed.nextDue == at(30))
        result = timed.handle(cmd("Lee", .completeTask("confirm", note: nil)), at: at(31), fireAtDueTimes: true)
        #expect(result.timerEvents.map(\.body.typeName) == ["timer-fired", "notification-queued", "timer-armed"])
        #expect(result.events == [])
        #expect(result.rejection == Rejection(.notPermitted, "only the holder of it_ops (unassigned) or the incident commander can complete 'confirm'"))
        #expect(result.effects == [
            .sendNotification(Notification(id: "n2", channel: "execs", message: "Triage still open after 30m", trigger: "timer:triage-overdue")),
            .startTimer(key: key("triage-overdue"), due: at(60), repeatEvery: .minutes(30)),
        ])
        result = timed.handle(cmd("Dana", .completeTask("confirm", note: nil)), at: at(32), fireAtDueTimes: true)
        #expect(result.timerEvents == [] && result.rejection == nil)
        #expect(result.events == [ev(at(32), "Dana", ic, .taskCompleted(task: "confirm", note: nil))])
        #expect(timed.nextDue == at(60))
    }
}

@Suite("Run engine: start, notes and close")
struct RunLifecycleTests {
    @Test("commands before start are refused")
    func beforeStart() {
        var h = Harness()
        #expect(h.reject("Dana", .note("hello"), at: t0) == "the run has not started: start it first")
        #expect(h.reject(system, .fireTimer(key("x")), at: t0) == "the run has not started: start it first")
    }

    @Test("start is refused with a reason", arguments: [
        (startCommand(""), "a run needs an id"),
        (startCommand(title: ""), "a run needs a title"),
        (startCommand(commander: ""), "the incident commander needs a name"),
        (startCommand(disruptionStart: at(1)),
         "the disruption cannot begin after the run starts (disruption 2026-03-06T17:41:00.000Z, start 2026-03-06T17:40:00.000Z)"),
    ])
    func startRefusals(action: Command.Action, reason: String) {
        var h = Harness()
        #expect(h.reject("Dana", action, at: t0) == reason)
    }

    @Test("a run starts once, with the severity and mode given")
    func startOnce() {
        var h = Harness()
        h.accept("Dana", startCommand(mode: .exercise, severity: .p2), at: t0)
        #expect(h.run.severity == .p2 && h.run.mode == .exercise && h.run.title == "Finance shares encrypted" && h.run.runID == "R1")
        #expect(h.reject("Dana", startCommand(), at: at(1)) == "run R1 has already started")
    }

    @Test("a playbook the engine cannot run is refused at start, not crashed on")
    func brokenPlaybooks() {
        var h = Harness(PB.playbook("no-ic", start: "a", roles: ["it_ops"], states: [PB.state("a")]))
        #expect(h.reject("Dana", startCommand(), at: t0) == "playbook 'no-ic' defines no incident_commander role: a run needs one")
        h = Harness(PB.playbook("bad-start", start: "nowhere", states: [PB.state("a")]))
        #expect(h.reject("Dana", startCommand(), at: t0) == "start state 'nowhere' is not a state of playbook 'bad-start'")
        h = Harness(PB.playbook("bad-timer", start: "a", timers: [
            PB.timer("t", at: TimeExpression(base: .objective(service: l("payroll"), .rto)), notify: "bridge", message: "x"),
        ], states: [PB.state("a")]))
        #expect(h.reject("Dana", startCommand(), at: t0)
                == "timer 't' cannot be armed: service 'payroll' is not defined in playbook 'bad-timer'")
        h = Harness(PB.playbook("bad-target", start: "a", states: [PB.state("a", transitions: [PB.on("go", to: "b")])]))
        h.accept("Dana", startCommand(), at: t0)
        #expect(h.reject("Dana", .raise("go"), at: at(1)) == "transition target 'b' of state 'a' is not a state of playbook 'bad-target'")
    }

    @Test("anyone may add notes and lessons; people without a role act in none")
    func notesAndLessons() {
        var h = startedHarness()
        var step = h.accept("Visitor", .note("seen on the news"), at: at(3))
        #expect(step.events == [ev(at(3), "Visitor", nil, .noteAdded(text: "seen on the news"))])
        let lesson = Lesson(text: "EDR alert was fast", kind: .strength)
        step = h.accept("Lee", .lesson(lesson), at: at(4))
        #expect(step.events == [ev(at(4), "Lee", "it_ops", .lessonRecorded(lesson))])
        #expect(h.reject("Lee", .note(""), at: at(5)) == "a note needs text")
        #expect(h.reject("Lee", .lesson(Lesson(text: "")), at: at(5)) == "a lesson needs text")
        #expect(h.run.noteCount == 1 && h.run.lessonCount == 1)
    }

    @Test("closing early needs the incident commander and a reason, and cancels every timer")
    func closeEarly() {
        var h = startedHarness()
        #expect(h.reject("Lee", .close(reason: "done"), at: at(5)) == "only the incident commander (Dana) can close run R1")
        #expect(h.reject("Dana", .close(reason: nil), at: at(5))
                == "run R1 is in 'triage', which is not a terminal state: give a reason to close it early")
        #expect(h.reject("Dana", .close(reason: ""), at: at(5))
                == "run R1 is in 'triage', which is not a terminal state: give a reason to close it early")
        let step = h.accept("Dana", .close(reason: "false positive from the EDR"), at: at(5))
        #expect(step.events == [
            ev(at(5), "Dana", ic, .timerCancelled(key: key("triage-overdue"))),
            ev(at(5), "Dana", ic, .timerCancelled(key: key("rto-warning"))),
            ev(at(5), "Dana", ic, .markSet(.closed)),
            ev(at(5), "Dana", ic, .runClosed(reason: "false positive from the EDR")),
        ])
        #expect(step.effects == [.cancelTimer(key: key("triage-overdue")), .cancelTimer(key: key("rto-warning"))])
        #expect(h.run.closeReason == "false positive from the EDR")
        #expect(h.reject(system, .fireTimer(key("triage-overdue")), at: at(30)) == "run R1 is closed")
        #expect(h.reject("Lee", .completeTask("confirm", note: nil), at: at(30)) == "run R1 is closed")
        #expect(h.reject("Lee", .raise("confirmed"), at: at(30)) == "run R1 is closed")
        #expect(h.reject("Dana", .decide(decision: "declare-major", option: "declare", rationale: "x"), at: at(30)) == "run R1 is closed")
        #expect(h.reject("Dana", .relieve(role: "it_ops", handover: nil), at: at(30)) == "run R1 is closed")
        h.accept("Dana", .lesson(Lesson(text: "tune the EDR rule")), at: at(40))
    }
}
