import Testing
@testable import MusterCore

@Suite("Templates and guards over a run")
struct RunTemplateAndGuardTests {
    @Test("a template renders its variables and keeps unknown ones as written")
    func renderDictionary() {
        let t = template("Hello {{who}}, {{what}} at {{when}}.")
        #expect(t.render(["who": "Dana", "what": "triage"]) == "Hello Dana, triage at {{when}}.")
        #expect(template("plain").render([String: String]()) == "plain")
        #expect(template("{{a}}{{b}}").render(["a": "1", "b": "2"]) == "12")
    }

    @Test("every run variable has its value", arguments: [
        ("run.id", "R1"), ("run.title", "Finance shares encrypted"), ("run.mode", "exercise"), ("run.severity", "P2"),
        ("run.elapsed", "1h30m"),
        ("playbook.id", "ransomware-file-servers"), ("playbook.title", "Ransomware on file servers"), ("playbook.version", "3"),
        ("state.id", "triage"), ("state.title", "Triage"), ("state.phase", "detect, assess"),
        ("roles.incident_commander", "Dana"), ("roles.it_ops", "Lee"), ("roles.comms", "unassigned"),
        ("services.file-shares.title", "file-shares"), ("services.file-shares.rto", "4h"), ("services.file-shares.rpo", "1h"),
        ("services.file-shares.mtpd", "1d"),
        ("decisions.declare-major", "pending"),
        ("now", "2026-03-06T18:50:00.000Z"),
        ("timer.id", "t"), ("timer.elapsed", "5m"),
    ])
    func runVariables(variable: String, value: String) {
        var h = Harness()
        h.accept("Dana", startCommand(mode: .exercise, severity: .p2, disruptionStart: at(-20)), at: t0)
        h.accept("Dana", .assign(role: "it_ops", person: "Lee"), at: at(1))
        let context = h.run.templateContext(at: at(70), timer: (id: "t", elapsed: .minutes(5)))
        #expect(context.value(of: variable) == value)
        #expect(template("[{{\(variable)}}]").render(context) == "[\(value)]")
    }

    @Test("names the run does not know have no value", arguments: [
        "run.nope", "roles.scribe", "services.payroll.rto", "services.file-shares.nope", "decisions.nope", "timer.id", "a.b.c.d", "nope",
    ])
    func unknownVariables(variable: String) {
        var h = Harness()
        h.accept("Dana", startCommand(), at: t0)
        #expect(h.run.templateContext(at: t0).value(of: variable) == nil)
    }

    @Test("a decision's chosen option is its template value")
    func decisionValue() {
        var h = declaringHarness()
        h.accept("Dana", .decide(decision: "declare-major", option: "declare", rationale: "encrypted"), at: at(8))
        #expect(h.run.templateContext(at: at(8)).value(of: "decisions.declare-major") == "declare")
    }

    @Test("guards evaluate over the run")
    func guards() {
        var h = startedHarness()
        let run0 = h.run
        #expect(run0.evaluate(.roleAssigned(l("it_ops"))))
        #expect(!run0.evaluate(.roleAssigned(l("comms"))))
        #expect(!run0.evaluate(.roleAssigned(l("nobody"))))
        #expect(run0.evaluate(.comparison(.severity, .equal, l("P1"))))
        #expect(run0.evaluate(.comparison(.mode, .notEqual, l("exercise"))))
        #expect(!run0.evaluate(.allTasksDone))
        #expect(!run0.evaluate(.taskDone(l("confirm"))))
        #expect(run0.evaluate(.not(.taskSkipped(l("confirm")))))
        #expect(!run0.evaluate(.decisionMade(l("declare-major"))))
        #expect(run0.evaluate(.comparison(.decision(l("declare-major")), .notEqual, l("declare"))))
        #expect(run0.evaluate(.or(.literal(false), .and(.literal(true), .roleAssigned(l("it_ops"))))))
        h.accept("Lee", .completeTask("confirm", note: nil), at: at(2))
        h.accept("Lee", .skipTask("scope", reason: nil), at: at(3))
        #expect(h.run.evaluate(.allTasksDone))
        #expect(h.run.evaluate(.and(.taskDone(l("confirm")), .taskSkipped(l("scope")))))
        #expect(!h.run.evaluate(.taskDone(l("scope"))))
        #expect(!Run(playbook: PB.ransomware).evaluate(.allTasksDone))
    }

    @Test("guards print back as text with the parentheses they need")
    func guardText() {
        let g: GuardExpression = .and(.or(.taskDone(l("a")), .roleAssigned(l("b"))), .not(.and(.decisionMade(l("c")), .literal(true))))
        #expect(g.text == "(tasks.a.done or roles.b.assigned) and not (decisions.c.made and true)")
        #expect(GuardExpression.or(.and(.allTasksDone, .taskSkipped(l("x"))), .comparison(.decision(l("d")), .equal, l("yes"))).text
                == "all_tasks_done and tasks.x.skipped or decisions.d == \"yes\"")
    }
}
