import Testing
@testable import MusterCore

@Suite("Run engine: the ransomware playbook from start to close")
struct RunWalkthroughTests {
    @Test("a whole incident, step by step, with every event and effect")
    func wholeIncident() {
        var h = Harness()

        // Start: the starter becomes incident commander, the start state is entered, timers are armed.
        var step = h.accept("Dana", startCommand(), at: t0)
        #expect(step.events == [
            ev(t0, "Dana", nil, .runStarted(RunStarted(runID: "R1", playbookID: "ransomware-file-servers", playbookVersion: 3, mode: .live,
                                                        title: "Finance shares encrypted", severity: .p1, disruptionStart: t0))),
            ev(t0, "Dana", nil, .roleAssigned(role: ic, person: "Dana")),
            ev(t0, "Dana", nil, .stateEntered(state: "triage", from: nil, cause: .start)),
            ev(t0, "Dana", nil, .markSet(.detected)),
            ev(t0, "Dana", nil, .notificationQueued(Notification(id: "n1", channel: "bridge",
                message: "Ransomware playbook started: Finance shares encrypted (IC: Dana)", trigger: "enter:triage"))),
            ev(t0, "Dana", nil, .timerArmed(key: key("rto-warning"), due: at(180), repeatEvery: nil)),
            ev(t0, "Dana", nil, .timerArmed(key: key("triage-overdue"), due: at(30), repeatEvery: .minutes(30))),
        ])
        #expect(step.effects == [
            .sendNotification(Notification(id: "n1", channel: "bridge",
                message: "Ransomware playbook started: Finance shares encrypted (IC: Dana)", trigger: "enter:triage")),
            .startTimer(key: key("rto-warning"), due: at(180), repeatEvery: nil),
            .startTimer(key: key("triage-overdue"), due: at(30), repeatEvery: .minutes(30)),
        ])
        #expect(h.run.status == .active)
        #expect(h.run.currentState == "triage")
        #expect(h.run.holders == [ic: "Dana"])
        #expect(h.run.marks == [.detected: t0])
        #expect(h.run.startedAt == t0 && h.run.disruptionStart == t0)
        #expect(h.run.armedTimers.map(\.key) == [key("triage-overdue"), key("rto-warning")])
        #expect(h.run.nextDue == at(30))

        // The IC assigns IT operations.
        step = h.accept("Dana", .assign(role: "it_ops", person: "Lee"), at: at(2))
        #expect(step.events == [ev(at(2), "Dana", ic, .roleAssigned(role: "it_ops", person: "Lee"))])
        #expect(step.effects == [])

        // Lee completes a task in the role of it_ops.
        step = h.accept("Lee", .completeTask("confirm", note: "EDR shows mass renames"), at: at(5))
        #expect(step.events == [ev(at(5), "Lee", "it_ops", .taskCompleted(task: "confirm", note: "EDR shows mass renames"))])
        #expect(h.run.taskStatus("confirm") == .done)
        #expect(h.run.taskStatus("scope") == .open)

        step = h.accept("Lee", .skipTask("scope", reason: "covered by EDR report"), at: at(6))
        #expect(step.events == [ev(at(6), "Lee", "it_ops", .taskSkipped(task: "scope", reason: "covered by EDR report"))])

        // Raising `confirmed` leaves triage: its timer is cancelled, the decision's deadline is armed.
        step = h.accept("Lee", .raise("confirmed"), at: at(7))
        #expect(step.events == [
            ev(at(7), "Lee", "it_ops", .eventRaised(name: "confirmed")),
            ev(at(7), "Lee", "it_ops", .timerCancelled(key: key("triage-overdue"))),
            ev(at(7), "Lee", "it_ops", .stateEntered(state: "declare", from: "triage", cause: .event("confirmed"))),
            ev(at(7), "Lee", "it_ops", .timerArmed(key: key("deadline:declare-major"), due: at(22), repeatEvery: nil)),
        ])
        #expect(step.effects == [
            .cancelTimer(key: key("triage-overdue")),
            .startTimer(key: key("deadline:declare-major"), due: at(22), repeatEvery: nil),
        ])

        // The IC decides; the run moves to the option's target.
        step = h.accept("Dana", .decide(decision: "declare-major", option: "declare", rationale: "finance share encrypted"), at: at(20))
        #expect(step.events == [
            ev(at(20), "Dana", ic, .decisionMade(decision: "declare-major", option: "declare", rationale: "finance share encrypted", byDefault: false)),
            ev(at(20), "Dana", ic, .timerCancelled(key: key("deadline:declare-major"))),
            ev(at(20), "Dana", ic, .stateEntered(state: "contain", from: "declare", cause: .decision(id: "declare-major", option: "declare"))),
            ev(at(20), "Dana", ic, .markSet(.declared)),
        ])
        #expect(step.effects == [.cancelTimer(key: key("deadline:declare-major"))])
        #expect(h.run.decision("declare-major") == DecisionRecord(option: "declare", rationale: "finance share encrypted", byDefault: false, actor: "Dana", at: at(20)))

        h.accept("Dana", .assign(role: "comms", person: "Sam"), at: at(21))

        // Evidence is required for isolate.
        #expect(h.reject("Lee", .completeTask("isolate", note: nil), at: at(25))
                == "task 'isolate' needs evidence: add a note saying what shows it is done")
        step = h.accept("Lee", .completeTask("isolate", note: "switch ports shut"), at: at(25))
        #expect(step.events == [ev(at(25), "Lee", "it_ops", .taskCompleted(task: "isolate", note: "switch ports shut"))])

        // The last task makes the eventless transition's guard hold: taken in the same step.
        step = h.accept("Sam", .completeTask("notify-staff", note: nil), at: at(30))
        #expect(step.events == [
            ev(at(30), "Sam", "comms", .taskCompleted(task: "notify-staff", note: nil)),
            ev(at(30), "Sam", "comms", .stateEntered(state: "restore", from: "contain", cause: .guardHeld)),
            ev(at(30), "Sam", "comms", .markSet(.contained)),
        ])
        #expect(step.effects == [])

        h.accept("Lee", .completeTask("restore-backup", note: nil), at: at(150))

        // Entering the terminal state cancels every armed timer, run-wide ones too.
        step = h.accept("Lee", .raise("restored"), at: at(160))
        #expect(step.events == [
            ev(at(160), "Lee", "it_ops", .eventRaised(name: "restored")),
            ev(at(160), "Lee", "it_ops", .timerCancelled(key: key("rto-warning"))),
            ev(at(160), "Lee", "it_ops", .stateEntered(state: "closed", from: "restore", cause: .event("restored"))),
            ev(at(160), "Lee", "it_ops", .markSet(.recovered)),
            ev(at(160), "Lee", "it_ops", .markSet(.closed)),
        ])
        #expect(step.effects == [.cancelTimer(key: key("rto-warning"))])
        #expect(h.run.armedTimers.isEmpty)
        #expect(h.run.isInTerminalState)

        // The hot wash: lessons, then close (no reason needed in a terminal state).
        let lesson = Lesson(text: "Backups took too long to find", kind: .improvement, rootCause: "documentation")
        step = h.accept("Dana", .lesson(lesson), at: at(170))
        #expect(step.events == [ev(at(170), "Dana", ic, .lessonRecorded(lesson))])

        step = h.accept("Dana", .close(reason: nil), at: at(540))
        #expect(step.events == [ev(at(540), "Dana", ic, .runClosed(reason: nil))])
        #expect(h.run.status == .closed)
        #expect(h.run.closedAt == at(540))

        // After close: notes and lessons only.
        step = h.accept("Sam", .note("Staff told by email"), at: at(600))
        #expect(step.events == [ev(at(600), "Sam", "comms", .noteAdded(text: "Staff told by email"))])
        #expect(h.reject("Dana", .assign(role: "comms", person: "Kim"), at: at(601)) == "run R1 is closed")
        #expect(h.reject("Dana", .close(reason: "again"), at: at(601)) == "run R1 is closed")
        #expect(h.reject("Dana", startCommand(), at: at(601)) == "run R1 is closed")

        #expect(h.run.notes == [NoteRecord(at: at(600), actor: "Sam", role: "comms", text: "Staff told by email")])
        #expect(h.run.lessons == [LessonRecord(at: at(170), actor: "Dana", role: ic, lesson: lesson)])
        #expect(h.run.marks == [.detected: t0, .declared: at(20), .contained: at(30), .recovered: at(160), .closed: at(160)])
        #expect(h.run.taskStatuses == ["confirm": .done, "scope": .skipped, "isolate": .done, "notify-staff": .done, "restore-backup": .done])
        #expect(h.run.holders == [ic: "Dana", "it_ops": "Lee", "comms": "Sam"])
        #expect(h.run.notificationCount == 1)
    }

    @Test("execute gives the same state as applying the decided events")
    func executeMatchesApply() {
        var executed = Run(playbook: PB.ransomware)
        var applied = Run(playbook: PB.ransomware)
        let script: [(String, Command.Action, Instant)] = [
            ("Dana", startCommand(), t0),
            ("Dana", .assign(role: "it_ops", person: "Lee"), at(1)),
            ("Lee", .completeTask("confirm", note: nil), at(2)),
            ("Lee", .raise("confirmed"), at(3)),
            ("Dana", .decide(decision: "declare-major", option: "keep-watching", rationale: "not sure yet"), at(4)),
        ]
        for (actor, action, time) in script {
            let outcome = executed.execute(cmd(actor, action), at: time)
            let decided = applied.decide(cmd(actor, action), at: time)
            #expect(outcome == decided)
            if case .accepted(let events, _) = decided { for e in events { applied.apply(e) } }
            #expect(executed == applied)
        }
        #expect(executed.currentState == "triage")
    }
}
