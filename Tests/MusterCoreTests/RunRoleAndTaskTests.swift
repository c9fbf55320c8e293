import Testing
@testable import MusterCore

/// A run of the ransomware playbook started by Dana at t0, with Lee as it_ops.
func startedHarness(itOps: String? = "Lee") -> Harness {
    var h = Harness()
    h.accept("Dana", startCommand(), at: t0)
    if let itOps { h.accept("Dana", .assign(role: "it_ops", person: itOps), at: at(1)) }
    return h
}

@Suite("Run engine: roles")
struct RunRoleTests {
    @Test("the start command may name another incident commander")
    func startWithCommander() {
        var h = Harness()
        let step = h.accept("Ops bot", startCommand(commander: "Dana"), at: t0)
        #expect(step.events[1] == ev(t0, "Ops bot", nil, .roleAssigned(role: ic, person: "Dana")))
        #expect(h.run.holders == [ic: "Dana"])
    }

    @Test("assigning incident_commander is a handover: the old commander is relieved, the new one assigned")
    func commanderHandover() {
        var h = startedHarness()
        let step = h.accept("Dana", .assign(role: ic, person: "Kim"), at: at(5))
        #expect(step.events == [
            ev(at(5), "Dana", ic, .roleRelieved(role: ic, person: "Dana", handover: nil)),
            ev(at(5), "Dana", ic, .roleAssigned(role: ic, person: "Kim")),
        ])
        #expect(step.effects == [])
        #expect(h.run.holder(of: ic) == "Kim")
        #expect(h.reject("Dana", .assign(role: "comms", person: "Sam"), at: at(6)) == "only the incident commander (Kim) can assign roles")
        h.accept("Kim", .assign(role: "comms", person: "Sam"), at: at(7))
    }

    @Test("relieving the incident commander is refused")
    func relieveCommander() {
        var h = startedHarness()
        #expect(h.reject("Dana", .relieve(role: ic, handover: "going home"), at: at(5))
                == "a run always has exactly one incident commander: assign a successor instead")
    }

    @Test("assigning a held role relieves the previous holder first")
    func reassign() {
        var h = startedHarness()
        let step = h.accept("Dana", .assign(role: "it_ops", person: "Max"), at: at(5))
        #expect(step.events == [
            ev(at(5), "Dana", ic, .roleRelieved(role: "it_ops", person: "Lee", handover: nil)),
            ev(at(5), "Dana", ic, .roleAssigned(role: "it_ops", person: "Max")),
        ])
        #expect(h.run.holders == [ic: "Dana", "it_ops": "Max"])
    }

    @Test("one person may hold several roles")
    func severalRoles() {
        var h = startedHarness()
        h.accept("Dana", .assign(role: "comms", person: "Lee"), at: at(5))
        #expect(h.run.roles(of: "Lee") == ["it_ops", "comms"])
    }

    @Test("relieving a role records the handover note")
    func relieveWithHandover() {
        var h = startedHarness()
        h.accept("Dana", .assign(role: "comms", person: "Sam"), at: at(2))
        let step = h.accept("Dana", .relieve(role: "comms", handover: "Sam takes over tomorrow"), at: at(3))
        #expect(step.events == [ev(at(3), "Dana", ic, .roleRelieved(role: "comms", person: "Sam", handover: "Sam takes over tomorrow"))])
        #expect(h.run.holder(of: "comms") == nil)
    }

    @Test("role commands are refused with a reason", arguments: [
        ("Lee", Command.Action.assign(role: "comms", person: "Sam"), "only the incident commander (Dana) can assign roles"),
        ("Lee", .relieve(role: "it_ops", handover: nil), "only the incident commander (Dana) can relieve roles"),
        ("Dana", .assign(role: "it_op", person: "Sam"), "role 'it_op' is not defined in playbook 'ransomware-file-servers' (did you mean 'it_ops'?)"),
        ("Dana", .assign(role: "scribe", person: "Sam"),
         "role 'scribe' is not defined in playbook 'ransomware-file-servers' (roles: incident_commander, it_ops, comms)"),
        ("Dana", .relieve(role: "comms", handover: nil), "comms is not assigned: nothing to relieve"),
        ("Dana", .assign(role: "it_ops", person: "Lee"), "Lee already holds it_ops"),
        ("Dana", .assign(role: ic, person: "Dana"), "Dana already holds incident_commander"),
        ("Dana", .assign(role: "comms", person: ""), "assigning comms needs a person's name"),
    ])
    func refusals(actor: String, action: Command.Action, reason: String) {
        var h = startedHarness()
        #expect(h.reject(actor, action, at: at(5)) == reason)
    }
}

@Suite("Run engine: tasks")
struct RunTaskTests {
    @Test("the incident commander may complete any task of the current state, acting as incident commander")
    func commanderCompletes() {
        var h = startedHarness()
        let step = h.accept("Dana", .completeTask("confirm", note: nil), at: at(5))
        #expect(step.events == [ev(at(5), "Dana", ic, .taskCompleted(task: "confirm", note: nil))])
    }

    @Test("a commander who also holds the task's role acts in the task's role")
    func commanderHoldingTaskRole() {
        var h = startedHarness(itOps: "Dana")
        let step = h.accept("Dana", .skipTask("scope", reason: nil), at: at(5))
        #expect(step.events == [ev(at(5), "Dana", "it_ops", .taskSkipped(task: "scope", reason: nil))])
    }

    @Test("an empty note counts as no note")
    func emptyNote() {
        var h = startedHarness()
        let step = h.accept("Lee", .completeTask("confirm", note: ""), at: at(5))
        #expect(step.events == [ev(at(5), "Lee", "it_ops", .taskCompleted(task: "confirm", note: nil))])
    }

    @Test("task commands are refused with a reason", arguments: [
        ("Sam", Command.Action.completeTask("confirm", note: nil), "only the holder of it_ops (Lee) or the incident commander can complete 'confirm'"),
        ("Sam", .skipTask("confirm", reason: nil), "only the holder of it_ops (Lee) or the incident commander can skip 'confirm'"),
        ("Lee", .completeTask("isolate", note: "x"), "task 'isolate' belongs to state 'contain', but run R1 is in 'triage'"),
        ("Lee", .completeTask("confrim", note: nil), "task 'confrim' is not defined in playbook 'ransomware-file-servers' (did you mean 'confirm'?)"),
        ("Lee", .completeTask("make-coffee", note: nil),
         "task 'make-coffee' is not defined in playbook 'ransomware-file-servers' (tasks in 'triage': confirm, scope)"),
    ])
    func refusals(actor: String, action: Command.Action, reason: String) {
        var h = startedHarness()
        #expect(h.reject(actor, action, at: at(5)) == reason)
    }

    @Test("nobody holding the task's role is said so")
    func unassignedRole() {
        var h = startedHarness(itOps: nil)
        #expect(h.reject("Lee", .completeTask("confirm", note: nil), at: at(5))
                == "only the holder of it_ops (unassigned) or the incident commander can complete 'confirm'")
    }

    @Test("a task is done or skipped once per visit of its state")
    func onlyOpenTasks() {
        var h = startedHarness()
        h.accept("Lee", .completeTask("confirm", note: nil), at: at(5))
        h.accept("Lee", .skipTask("scope", reason: nil), at: at(6))
        #expect(h.reject("Lee", .completeTask("confirm", note: nil), at: at(7)) == "task 'confirm' is already done")
        #expect(h.reject("Lee", .skipTask("confirm", reason: nil), at: at(7)) == "task 'confirm' is already done")
        #expect(h.reject("Lee", .completeTask("scope", note: nil), at: at(7)) == "task 'scope' is already skipped")
    }

    @Test("re-entering a state opens its tasks again and makes its decision pending again")
    func reentryResets() {
        var h = startedHarness()
        h.accept("Lee", .completeTask("confirm", note: nil), at: at(5))
        h.accept("Lee", .raise("confirmed"), at: at(6))
        let step = h.accept("Dana", .decide(decision: "declare-major", option: "keep-watching", rationale: "only one host"), at: at(8))
        #expect(step.events == [
            ev(at(8), "Dana", ic, .decisionMade(decision: "declare-major", option: "keep-watching", rationale: "only one host", byDefault: false)),
            ev(at(8), "Dana", ic, .timerCancelled(key: key("deadline:declare-major"))),
            ev(at(8), "Dana", ic, .stateEntered(state: "triage", from: "declare", cause: .decision(id: "declare-major", option: "keep-watching"))),
            ev(at(8), "Dana", ic, .notificationQueued(Notification(id: "n2", channel: "bridge",
                message: "Ransomware playbook started: Finance shares encrypted (IC: Dana)", trigger: "enter:triage"))),
            ev(at(8), "Dana", ic, .timerArmed(key: key("triage-overdue", 2), due: at(38), repeatEvery: .minutes(30))),
        ])
        #expect(h.run.taskStatus("confirm") == .open)
        // The decision stays recorded until its state is entered again.
        #expect(h.run.decision("declare-major")?.option == "keep-watching")
        #expect(h.reject("Lee", .raise("confirmed"), at: at(9))
                == "event 'confirmed' cannot be taken in state 'triage' yet: its guard 'tasks.confirm.done' does not hold")
        h.accept("Lee", .completeTask("confirm", note: nil), at: at(10))
        h.accept("Lee", .raise("confirmed"), at: at(11))
        #expect(h.run.decision("declare-major") == nil)
        #expect(h.run.armedTimer(key("deadline:declare-major", 2))?.due == at(26))
    }
}
