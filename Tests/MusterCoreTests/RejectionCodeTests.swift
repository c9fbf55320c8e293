import Testing
@testable import MusterCore

/// Every refusal carries a stable code beside its message (issue 13, "stable codes"): edges map the code, never
/// the wording.
@Suite("Rejection codes")
struct RejectionCodeTests {
    static func started() -> Harness {
        var h = Harness()
        h.accept("Dana", startCommand(), at: t0)
        h.accept("Dana", .assign(role: "it_ops", person: "Lee"), at: at(1))
        return h
    }

    static func code(_ h: Harness, _ actor: String, _ action: Command.Action, at time: Instant = at(2)) -> Rejection.Code? {
        if case .rejected(let rejection) = h.run.decide(cmd(actor, action), at: time) { return rejection.code }
        return nil
    }

    @Test("each rule refuses with its own code", arguments: [
        (Command.Action.assign(role: "it_opps", person: "Lee"), "Dana", "unknown-role"),
        (.assign(role: "comms", person: "Sam"), "Lee", "not-permitted"),
        (.assign(role: "it_ops", person: "Lee"), "Dana", "already-done"),
        (.relieve(role: "comms", handover: nil), "Dana", "not-assigned"),
        (.relieve(role: Playbook.incidentCommander, handover: nil), "Dana", "rule-violated"),
        (.completeTask("confrim", note: nil), "Lee", "unknown-task"),
        (.completeTask("isolate", note: nil), "Lee", "wrong-state"),
        (.completeTask("confirm", note: nil), "Sam", "not-permitted"),
        (.raise("confirmed"), "Sam", "no-role"),
        (.raise("confrimed"), "Lee", "unknown-event"),
        (.raise("confirmed"), "Lee", "guard-failed"),
        (.decide(decision: "declare-major", option: "declare", rationale: "why"), "Dana", "wrong-state"),
        (.decide(decision: "nope", option: "declare", rationale: "why"), "Dana", "unknown-decision"),
        (.note(""), "Dana", "invalid-argument"),
        (.fireTimer(TimerKey(id: "triage-overdue", instance: 9)), "Dana", "unknown-timer"),
        (.fireTimer(TimerKey(id: "triage-overdue", instance: 1)), "Dana", "not-due"),
        (.close(reason: nil), "Dana", "rule-violated"),
        (.close(reason: "done"), "Lee", "not-permitted"),
        (startCommand(), "Dana", "already-started"),
    ])
    func codes(action: Command.Action, actor: String, expected: String) {
        #expect(Self.code(Self.started(), actor, action) == Rejection.Code(rawValue: expected))
    }

    @Test("a run that has not started, and a closed run, say so by code")
    func lifecycle() {
        let fresh = Harness()
        #expect(Self.code(fresh, "Dana", .note("hello")) == .notStarted)
        var h = Self.started()
        h.accept("Dana", .close(reason: "drill over"), at: at(3))
        #expect(Self.code(h, "Dana", .raise("confirmed"), at: at(4)) == .runClosed)
    }

    @Test("a refusal's message is built when read, and equals the same message given at once")
    func deferredMessage() {
        let h = Self.started()
        guard case .rejected(let rejection) = h.run.decide(cmd("Sam", .completeTask("confirm", note: nil)), at: at(2)) else {
            Issue.record("expected a rejection")
            return
        }
        let expected = "only the holder of it_ops (Lee) or the incident commander can complete 'confirm'"
        #expect(rejection.reason == expected)
        #expect(rejection == Rejection(.notPermitted, expected))
        #expect(rejection != Rejection(.unknownTask, expected))
        #expect(rejection.description == expected)
    }
}

/// The engine renders its notifications from templates compiled with the playbook; they must say exactly
/// what the general renderer says over the same run.
@Suite("Compiled templates")
struct CompiledTemplateTests {
    @Test("every kind of variable renders as RunTemplateContext renders it", arguments: [
        "{{run.id}} {{run.title}} {{run.mode}} {{run.severity}} {{run.elapsed}}",
        "{{state.id}} / {{state.title}} / {{state.phase}}",
        "IC {{roles.incident_commander}}, ops {{roles.it_ops}}, comms {{roles.comms}}, nobody {{roles.nobody}}",
        "{{decisions.declare-major}} {{decisions.unknown}}",
        "{{playbook.id}} v{{playbook.version}}: {{playbook.title}}",
        "{{services.file-shares.rto}} {{services.file-shares.title}} {{services.nope.rto}}",
        "{{timer.id}} {{timer.elapsed}} at {{now}}",
        "{{run..title}} {{unknown}} {{run.nope}} {{a.b.c.d}} plain",
    ])
    func sameText(_ text: String) {
        var h = Harness()
        h.accept("Dana", startCommand(), at: t0)
        h.accept("Dana", .assign(role: "it_ops", person: "Lee"), at: at(1))
        let pb = h.run.compiled
        let compiled = CompiledTemplate(template(text), roles: pb.roleIndex, decisions: pb.decisionIndex)
        for timer in [nil, (id: "triage-overdue", elapsed: TimeSpan.minutes(30))] as [(id: String, elapsed: TimeSpan)?] {
            let general = template(text).render(RunTemplateContext(run: h.run, now: at(45), timer: timer))
            #expect(h.run.render(compiled, now: at(45), timer: timer) == general)
        }
        let before = Run(playbook: PB.ransomware)
        #expect(before.render(compiled, now: at(45), timer: nil) == template(text).render(RunTemplateContext(run: before, now: at(45))))
    }
}
