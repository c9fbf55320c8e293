import MusterCore
import Testing

private func validate(_ playbook: Playbook) -> [Diagnostic] { PlaybookValidator.validate(playbook) }
private func error(_ code: String, _ message: String, _ line: Int, _ column: Int) -> Diagnostic {
    .error(code, message, at: B.at(line, column))
}
private func warning(_ code: String, _ message: String, _ line: Int, _ column: Int) -> Diagnostic {
    .warning(code, message, at: B.at(line, column))
}

@Suite("Playbook validator")
struct PlaybookValidatorTests {
    // MARK: Clean playbooks

    @Test("the ransomware example of the issue is clean")
    func exampleIsClean() {
        #expect(validate(B.ransomware()) == [])
    }

    @Test("the smallest playbook is clean")
    func minimalIsClean() {
        #expect(validate(B.minimal()) == [])
    }

    @Test("findings come in file order, all of them in one pass")
    func allFindingsInOnePass() {
        var p = B.ransomware()
        p.states[3].owner = B.name("comm", 59, 12)
        p.states[2].tasks[0].role = B.name("it_opps", 54, 50)
        p.states[1].decision!.by = B.name("incident_comander", 46, 11)
        #expect(validate(p) == [
            error("unknown-role", "decision role 'incident_comander' is not a role (did you mean 'incident_commander'?)", 46, 11),
            error("unknown-role", "task role 'it_opps' is not a role (did you mean 'it_ops'?)", 54, 50),
            error("unknown-role", "state owner 'comm' is not a role (did you mean 'comms'?)", 59, 12),
        ])
    }

    // MARK: Incident commander

    @Test("a missing incident_commander role is reported at the roles mapping")
    func missingCommanderAtRoles() {
        var p = B.minimal(roles: [B.role("it_ops", 15, required: true)])
        for i in p.states.indices where p.states[i].owner != nil { p.states[i].owner = B.name("it_ops", 31, 12) }
        #expect(validate(p) == [
            error("missing-incident-commander",
                  "the 'incident_commander' role is missing (every run needs an incident commander: add it under 'roles')", 15, 3),
        ])
    }

    @Test("without any roles the missing incident_commander is reported at the playbook")
    func missingCommanderWithoutRoles() {
        var p = B.minimal(roles: [])
        p.states[0].owner = nil
        #expect(validate(p) == [
            error("missing-incident-commander",
                  "the 'incident_commander' role is missing (every run needs an incident commander: add it under 'roles')", 1, 1),
            warning("no-owner", "state 'open' has no owner (add 'owner: ROLE')", 30, 3),
        ])
    }

    @Test("a misspelt incident_commander role is pointed at")
    func misspeltCommander() {
        var p = B.minimal(roles: [B.role("incident_comander", 14, required: true)])
        p.states[0].owner = B.name("incident_comander", 31, 12)
        #expect(validate(p) == [
            error("missing-incident-commander",
                  "the 'incident_commander' role is missing (is 'incident_comander' a misspelling of it?)", 14, 3),
        ])
    }

    // MARK: References to states

    @Test("the start must be a state")
    func unknownStart() {
        var p = B.minimal()
        p.start = B.name("opn", 20, 8)
        #expect(validate(p) == [error("unknown-state", "start state 'opn' is not a state (did you mean 'open'?)", 20, 8)])
    }

    @Test("a transition target must be a state")
    func unknownTransitionTarget() {
        var p = B.ransomware()
        p.states[0].transitions[1].to = B.name("contian", 40, 60)
        #expect(validate(p) == [
            error("unknown-state", "transition target 'contian' is not a state (did you mean 'contain'?)", 40, 60),
        ])
    }

    @Test("a decision option must lead to a state")
    func unknownOptionTarget() {
        var p = B.ransomware()
        p.states[1].decision!.options[1].target = B.name("triag", 47, 53)
        #expect(validate(p) == [
            error("unknown-state", "decision option target 'triag' is not a state (did you mean 'triage'?)", 47, 53),
        ])
    }

    // MARK: References to channels

    @Test("notify and exercise channels must be channels")
    func unknownChannels() {
        var p = B.ransomware()
        p.timers[0].notify = B.name("exec", 24, 13)
        guard case .notify(var action) = p.states[0].onEnter[0] else { Issue.record("fixture changed"); return }
        action.channel = B.name("brige", 31, 17)
        p.states[0].onEnter[0] = .notify(action)
        p.channels[0].exerciseOverride = B.name("bridge-test", 18, 40)
        #expect(validate(p) == [
            error("unknown-channel", "exercise channel 'bridge-test' is not a channel", 18, 40),
            error("unknown-channel", "notify channel 'exec' is not a channel (did you mean 'execs'?)", 24, 13),
            error("unknown-channel", "notify channel 'brige' is not a channel (did you mean 'bridge'?)", 31, 17),
        ])
    }

    // MARK: Guards

    @Test("a guard must name known tasks, decisions, options and roles")
    func guardReferences() {
        var p = B.ransomware()
        p.states[0].transitions[0].when = Located(.or(
            .and(.taskDone(B.name("confrim", 39, 36)), .decisionMade(B.name("declare-majr", 39, 60))),
            .or(
                .comparison(.decision(B.name("declare-major", 39, 90)), .equal, B.name("declar", 39, 108)),
                .and(
                    .comparison(.decision(B.name("declare-major", 39, 120)), .notEqual, B.name("maybe", 39, 138)),
                    .not(.roleAssigned(B.name("comm", 39, 150)))))),
            at: B.at(39, 30))
        #expect(validate(p) == [
            error("unknown-task", "guard task 'confrim' is not a task (did you mean 'confirm'?)", 39, 36),
            error("unknown-decision", "guard decision 'declare-majr' is not a decision (did you mean 'declare-major'?)", 39, 60),
            error("unknown-option", "'declar' is not an option of decision 'declare-major' (did you mean 'declare'?)", 39, 108),
            error("unknown-option", "'maybe' is not an option of decision 'declare-major' (options: declare, keep-watching)", 39, 138),
            error("unknown-role", "guard role 'comm' is not a role (did you mean 'comms'?)", 39, 150),
        ])
    }

    @Test("a guard compares severity with P1..P4 and mode with live or exercise")
    func guardSeverityAndMode() {
        var p = B.ransomware()
        p.states[0].transitions[1].when = Located(.or(
            .comparison(.severity, .equal, B.name("P7", 40, 44)),
            .or(.comparison(.mode, .equal, B.name("exercize", 40, 60)), .comparison(.mode, .notEqual, B.name("drill", 40, 80)))),
            at: B.at(40, 30))
        #expect(validate(p) == [
            error("unknown-severity", "'P7' is not a severity (severities: P1, P2, P3, P4)", 40, 44),
            error("unknown-mode", "'exercize' is not a run mode (did you mean 'exercise'?)", 40, 60),
            error("unknown-mode", "'drill' is not a run mode (modes: live, exercise)", 40, 80),
        ])
    }

    @Test("a guard on a task of another state is a warning")
    func foreignTask() {
        var p = B.ransomware()
        p.states[0].transitions[0].when = Located(.taskSkipped(B.name("restore-backup", 39, 36)), at: B.at(39, 30))
        #expect(validate(p) == [
            warning("foreign-task", "guard task 'restore-backup' belongs to state 'restore', not to 'triage' where this transition is", 39, 36),
        ])
    }

    // MARK: Graph

    @Test("a state that cannot be reached from the start is an error")
    func unreachable() {
        var p = B.minimal()
        p.states.append(B.state("orphan", 50, transitions: [B.transition(53, on: "done", to: "closed")]))
        #expect(validate(p) == [
            error("unreachable-state", "state 'orphan' cannot be reached from the start state 'open'", 50, 3),
        ])
    }

    @Test("states reachable only through a decision are reachable")
    func reachableThroughDecision() {
        // In the example, `contain` and `restore` are only reached through the decision's options.
        #expect(validate(B.ransomware()).filter { $0.code == "unreachable-state" } == [])
    }

    @Test("a state from which no terminal state can be reached is an error")
    func noTerminalReachable() {
        var p = B.minimal()
        p.states[0].transitions.append(B.transition(34, on: "stuck", to: "limbo"))
        p.states.append(B.state("limbo", 50, transitions: [B.transition(53, on: "retry", to: "limbo-2")]))
        p.states.append(B.state("limbo-2", 60, transitions: [B.transition(63, on: "again", to: "limbo")]))
        #expect(validate(p) == [
            error("no-terminal-reachable", "no terminal state can be reached from state 'limbo' (the run would never end)", 50, 3),
            error("no-terminal-reachable", "no terminal state can be reached from state 'limbo-2' (the run would never end)", 60, 3),
        ])
    }

    @Test("a playbook without any terminal state is reported once")
    func noTerminalState() {
        var p = B.minimal()
        p.states[1].terminal = false
        p.states[1].transitions = [B.transition(93, on: "reopen", to: "open")]
        #expect(validate(p) == [
            error("no-terminal-state", "no state is terminal, so no run can end (mark the final state with 'terminal: true')", 30, 3),
            warning("no-owner", "state 'closed' has no owner (add 'owner: ROLE')", 90, 3),
        ])
    }

    @Test("a non-terminal state with no transition and no decision has no way out")
    func noWayOut() {
        var p = B.minimal()
        p.states[0].transitions.append(B.transition(34, on: "wait", to: "stuck"))
        p.states.append(B.state("stuck", 50))
        #expect(validate(p) == [
            error("no-way-out", "state 'stuck' is not terminal and has no way out (add a transition or a decision, or mark it terminal: true)", 50, 3),
        ])
    }

    @Test("a terminal state must have neither transitions nor a decision")
    func terminalWithExits() {
        var p = B.minimal()
        p.states[1].transitions = [B.transition(93, on: "reopen", to: "open")]
        p.states[1].decision = Decision(
            id: B.name("reopen", 95, 11), question: "Reopen?", by: B.name("incident_commander", 96, 11),
            options: [.init(name: B.name("yes", 97, 20), target: B.name("open", 97, 25))], deadline: B.span("1h", 98, 17),
            location: B.at(95, 7))
        #expect(validate(p) == [
            error("terminal-has-exit", "terminal state 'closed' has transitions (a run ends here: remove them or drop 'terminal: true')", 93, 9),
            error("terminal-has-exit", "terminal state 'closed' has a decision (a run ends here: remove it or drop 'terminal: true')", 95, 7),
        ])
    }

    @Test("a cycle of eventless transitions is reported once, at its first transition, naming the cycle")
    func eventlessCycle() {
        let assigned = GuardExpression.roleAssigned(B.name("incident_commander", 33, 40))
        var p = B.minimal()
        p.states[0].transitions.insert(B.transition(32, when: assigned, to: "check"), at: 0)
        p.states.insert(B.state("check", 40, transitions: [
            B.transition(43, when: .not(assigned), to: "verify"),
            B.transition(44, when: .literal(false), to: "open"),
        ]), at: 1)
        p.states.insert(B.state("verify", 50, transitions: [B.transition(53, when: .literal(true), to: "open")]), at: 2)
        #expect(validate(p) == [
            error("eventless-cycle",
                  "eventless transitions form a cycle open -> check -> open, which could loop for ever (give one of them an 'on:' event)", 32, 9),
        ])
    }

    @Test("an eventless transition to its own state is a cycle")
    func eventlessSelfLoop() {
        var p = B.minimal()
        p.states[0].transitions.append(B.transition(34, when: .literal(true), to: "open"))
        #expect(validate(p) == [
            error("eventless-cycle",
                  "eventless transitions form a cycle open -> open, which could loop for ever (give one of them an 'on:' event)", 34, 9),
        ])
    }

    @Test("transitions with an event break eventless cycles")
    func eventedCycleIsFine() {
        var p = B.minimal()
        p.states[0].transitions.append(B.transition(34, on: "again", to: "open"))
        #expect(validate(p) == [])
    }

    @Test("two separate eventless cycles are both reported")
    func twoEventlessCycles() {
        var p = B.minimal()
        p.states[0].transitions.append(B.transition(34, when: .literal(true), to: "open"))
        p.states[0].transitions.append(B.transition(35, on: "next", to: "b"))
        p.states.insert(B.state("b", 40, transitions: [
            B.transition(43, on: "done", to: "closed"),
            B.transition(44, when: .literal(true), to: "c"),
        ]), at: 1)
        p.states.insert(B.state("c", 50, transitions: [B.transition(53, when: .literal(true), to: "b")]), at: 2)
        #expect(validate(p).map(\.message) == [
            "eventless transitions form a cycle open -> open, which could loop for ever (give one of them an 'on:' event)",
            "eventless transitions form a cycle b -> c -> b, which could loop for ever (give one of them an 'on:' event)",
        ])
    }

    // MARK: Objectives and durations

    @Test("rto must not exceed mtpd")
    func rtoExceedsMTPD() {
        var p = B.ransomware()
        p.services[0].rto = B.span("30h", 9, 10)
        #expect(validate(p) == [
            error("rto-exceeds-mtpd",
                  "rto of service 'file-shares' (1d6h) is longer than its mtpd (1d): recovery must come before the disruption becomes intolerable",
                  9, 10),
        ])
    }

    @Test("rto and mtpd must be positive; an rpo of zero is legitimate")
    func objectivesPositive() {
        let service = Service(id: B.name("payroll", 8, 3), rto: B.span("0m", 9, 10), rpo: B.span("0m", 10, 10), mtpd: B.span("0m", 11, 11))
        #expect(validate(B.minimal(services: [service])) == [
            error("non-positive-duration", "rto of service 'payroll' must be positive, found 0m", 9, 10),
            error("non-positive-duration", "mtpd of service 'payroll' must be positive, found 0m", 11, 11),
        ])
        let negative = Service(id: B.name("payroll", 8, 3), rpo: B.span("-1h", 10, 10))
        #expect(validate(B.minimal(services: [negative])) == [
            error("negative-duration", "rpo of service 'payroll' must not be negative, found -1h", 10, 10),
        ])
    }

    @Test("a decision's default must be one of its options")
    func decisionDefault() {
        var p = B.ransomware()
        p.states[1].decision!.defaultOption = B.name("maybe", 49, 16)
        #expect(validate(p) == [
            error("unknown-option", "default 'maybe' is not an option of decision 'declare-major' (options: declare, keep-watching)", 49, 16),
        ])
        p.states[1].decision!.defaultOption = B.name("keep-watchin", 49, 16)
        #expect(validate(p) == [
            error("unknown-option", "default 'keep-watchin' is not an option of decision 'declare-major' (did you mean 'keep-watching'?)", 49, 16),
        ])
    }

    @Test("a decision deadline must be positive")
    func decisionDeadline() {
        var p = B.ransomware()
        p.states[1].decision!.deadline = B.span("0m", 48, 17)
        #expect(validate(p) == [
            error("non-positive-duration", "deadline of decision 'declare-major' must be positive, found 0m", 48, 17),
        ])
    }

    @Test("timer after and repeat must be positive")
    func timerDurations() {
        var p = B.ransomware()
        p.states[0].timers[0].anchor = .after(B.span("0m", 37, 38))
        p.states[0].timers[0].repeatEvery = B.span("-5m", 37, 51)
        #expect(validate(p) == [
            error("non-positive-duration", "'after' of timer 'triage-overdue' must be positive, found 0m", 37, 38),
            error("non-positive-duration", "'repeat' of timer 'triage-overdue' must be positive, found -5m", 37, 51),
        ])
    }

    @Test("a timer's at expression must resolve to a time after the run start", arguments: [
        (TimeExpression.Base.objective(service: B.name("file-shares", 23, 18), .rto), TimeSpan.hours(-4), "0m"),
        (.objective(service: B.name("file-shares", 23, 18), .rpo), .hours(-3), "-2h"),
        (.runStart, .zero, "0m"),
        (.runStart, .minutes(-15), "-15m"),
    ])
    func timerAtBeforeStart(base: TimeExpression.Base, offset: TimeSpan, resolved: String) {
        var p = B.ransomware()
        p.timers[0].anchor = .at(Located(TimeExpression(base: base, offset: offset), at: B.at(23, 9)))
        #expect(validate(p) == [
            error("timer-not-after-start", "timer 'rto-warning' resolves to \(resolved) from the run start; it must fire after the start", 23, 9),
        ])
    }

    @Test("a time expression must name a service that has the objective")
    func timeExpressionService() {
        var p = B.ransomware()
        p.timers[0].anchor = .at(Located(
            TimeExpression(base: .objective(service: B.name("file-share", 23, 18), .rto), offset: -.hours(1)), at: B.at(23, 9)))
        #expect(validate(p) == [
            error("unknown-service", "service 'file-share' in time expression is not a service (did you mean 'file-shares'?)", 23, 18),
        ])
        p.services[0].mtpd = nil
        p.timers[0].anchor = .at(Located(
            TimeExpression(base: .objective(service: B.name("file-shares", 23, 18), .mtpd), offset: -.hours(1)), at: B.at(23, 9)))
        #expect(validate(p) == [
            error("missing-objective", "service 'file-shares' has no mtpd (add it under services.file-shares)", 23, 18),
        ])
    }

    // MARK: Templates

    @Test("template variables must be known, with a suggestion")
    func unknownTemplateVariables() {
        var p = B.ransomware()
        // Columns: the message starts at 18; each path starts two columns after its `{{`.
        p.states[0].onEnter[0] = .notify(NotifyAction(
            channel: B.name("bridge", 31, 17),
            message: B.template("{{run.titel}} {{now}} {{state.phase}} {{services.file-shares.owner}} {{incident}}", 32, 18),
            location: B.at(31, 9)))
        #expect(validate(p) == [
            error("unknown-template-variable", "unknown template variable 'run.titel' (did you mean 'run.title'?)", 32, 20),
            error("unknown-template-variable", "unknown template variable 'services.file-shares.owner'", 32, 58),
            error("unknown-template-variable", "unknown template variable 'incident'", 32, 89),
        ])
    }

    @Test("template variables must name known roles, services and decisions")
    func templateReferences() {
        var p = B.ransomware()
        p.states[0].onEnter[0] = .notify(NotifyAction(
            channel: B.name("bridge", 31, 17),
            message: B.template("{{roles.it_opps}} {{services.file-share.rto}} {{decisions.declare-majr}} {{decisions.declare-major}}", 32, 18),
            location: B.at(31, 9)))
        #expect(validate(p) == [
            error("unknown-role", "role 'it_opps' in template variable 'roles.it_opps' is not a role (did you mean 'it_ops'?)", 32, 26),
            error("unknown-service",
                  "service 'file-share' in template variable 'services.file-share.rto' is not a service (did you mean 'file-shares'?)", 32, 47),
            error("unknown-decision",
                  "decision 'declare-majr' in template variable 'decisions.declare-majr' is not a decision (did you mean 'declare-major'?)", 32, 76),
        ])
    }

    @Test("in a block scalar, where variables are located at the scalar, a wrong name is reported there")
    func blockScalarTemplate() {
        var p = B.ransomware()
        let block = Template(source: "Call {{roles.it_opps}}\n", parts: [.text("Call "), .variable(B.name("roles.it_opps", 32, 18))])
        p.states[0].onEnter[0] = .notify(NotifyAction(
            channel: B.name("bridge", 31, 17), message: Located(block, at: B.at(32, 18)), location: B.at(31, 9)))
        #expect(validate(p) == [
            error("unknown-role", "role 'it_opps' in template variable 'roles.it_opps' is not a role (did you mean 'it_ops'?)", 32, 18),
        ])
    }

    @Test("timer variables are only available in a timer's message")
    func timerVariablesOutsideTimers() {
        var p = B.ransomware()
        p.states[0].onEnter[0] = .notify(NotifyAction(
            channel: B.name("bridge", 31, 17), message: B.template("open for {{timer.elapsed}}", 32, 18), location: B.at(31, 9)))
        p.timers[0].message = B.template("{{timer.id}} {{timer.elapsd}}", 25, 14)
        #expect(validate(p) == [
            error("unknown-template-variable", "unknown template variable 'timer.elapsd' (did you mean 'timer.elapsed'?)", 25, 29),
            error("timer-variable-outside-timer", "template variable 'timer.elapsed' is only available in a timer's message", 32, 29),
        ])
    }

    // MARK: Ids

    @Test("decision ids are unique across the playbook and differ from task ids")
    func decisionIDs() {
        var p = B.ransomware()
        p.states[2].decision = Decision(
            id: B.name("declare-major", 56, 11), question: "Again?", by: B.name("incident_commander", 56, 40),
            options: [.init(name: B.name("go", 56, 60), target: B.name("restore", 56, 65))], deadline: B.span("5m", 56, 80),
            location: B.at(56, 7))
        p.states[3].decision = Decision(
            id: B.name("isolate", 60, 11), question: "Isolate?", by: B.name("it_ops", 60, 40),
            options: [.init(name: B.name("go", 60, 60), target: B.name("closed", 60, 65))], deadline: B.span("5m", 60, 80),
            location: B.at(60, 7))
        #expect(validate(p) == [
            error("duplicate-id", "duplicate decision id 'declare-major' (first defined at 44:11)", 56, 11),
            error("id-clash", "decision id 'isolate' is also a task id (task written at 54:16)", 60, 11),
        ])
    }

    @Test("task and timer ids are unique across states")
    func taskAndTimerIDs() {
        var p = B.ransomware()
        p.states[3].tasks.append(B.task("confirm", 62, role: "it_ops"))
        p.states[2].timers.append(TimerSpec(
            id: B.name("rto-warning", 56, 15), anchor: .after(B.span("1h", 56, 38)), raise: B.name("restored", 56, 60), location: B.at(56, 9)))
        #expect(validate(p) == [
            error("duplicate-id", "duplicate timer id 'rto-warning' (first defined at 22:11)", 56, 15),
            error("duplicate-id", "duplicate task id 'confirm' (first defined at 34:16)", 62, 16),
        ])
    }

    // MARK: Warnings

    @Test("a non-terminal state without an owner is a warning")
    func noOwner() {
        var p = B.minimal()
        p.states[0].owner = nil
        #expect(validate(p) == [warning("no-owner", "state 'open' has no owner (add 'owner: ROLE')", 30, 3)])
    }

    @Test("a channel that would reach its live audience in an exercise is a warning; rerouted, live_only and exercise channels are not")
    func liveChannelInExercises() {
        var p = B.ransomware()
        p.channels = [
            Channel(id: B.name("bridge", 18, 3), type: Located(.slack, at: B.at(18, 19)), exerciseOverride: B.name("bridge-exercise", 18, 40)),
            Channel(id: B.name("bridge-exercise", 19, 3), type: Located(.slack, at: B.at(19, 19))),
            Channel(id: B.name("execs", 20, 3), type: Located(.email, at: B.at(20, 18))),
            Channel(id: B.name("pager", 21, 3), type: Located(.pagerduty, at: B.at(21, 18)), liveOnly: true),
        ]
        #expect(validate(p) == [
            warning("live-channel-in-exercises", "channel 'execs' would reach its live audience in exercise runs: add 'exercise: CHANNEL' (where exercise messages go) or 'live_only: true'", 20, 3),
        ])
    }

    @Test("a decision without a deadline is a warning")
    func noDeadline() {
        var p = B.ransomware()
        p.states[1].decision!.deadline = nil
        #expect(validate(p) == [
            warning("no-deadline", "decision 'declare-major' has no deadline, so the run may wait for it for ever (add 'deadline' and 'default')", 44, 11),
        ])
    }

    @Test("an event raised by a timer or on entry that no transition listens to is a warning")
    func unheardEvents() {
        var p = B.ransomware()
        p.timers[0].raise = B.name("restord", 26, 12)
        p.states[1].onEnter = [.raise(B.name("escalate", 43, 18))]
        #expect(validate(p) == [
            warning("unheard-event", "timer 'rto-warning' raises 'restord', but no transition listens to it with 'on: restord' (did you mean 'restored'?)", 26, 12),
            warning("unheard-event", "entering state 'declare' raises 'escalate', but no transition listens to it with 'on: escalate'", 43, 18),
        ])
    }

    @Test("a required role that owns nothing is a warning")
    func idleRequiredRole() {
        var p = B.ransomware()
        p.roles.append(B.role("scribe", 17, required: true))
        p.roles.append(B.role("observer", 18))
        #expect(validate(p) == [warning("idle-role", "required role 'scribe' owns no state, task or decision", 17, 3)])
    }

    @Test("an eventless transition without a guard in a state with tasks skips the tasks")
    func skipsTasks() {
        var p = B.ransomware()
        p.states[2].transitions[0].when = nil
        #expect(validate(p) == [
            warning("skips-tasks",
                    "transition to 'restore' has neither 'on' nor 'when', so it is taken at once and skips the tasks of state 'contain' (add 'when: all_tasks_done'?)",
                    57, 9),
        ])
    }

    @Test("an empty phase list is a warning")
    func emptyPhases() {
        var p = B.minimal()
        p.states[0].phases = []
        #expect(validate(p) == [warning("no-phase", "state 'open' has an empty phase list (tag it with at least one phase)", 30, 3)])
    }
}
