extension Run {
    /// The most transitions one command may cause (eventless transitions and raised events included).
    public static let maximumTransitionsPerStep = 64

    /// Answers a command at `now` with the events to journal and the effects to carry out, or a rejection.
    /// Never changes the run: apply the events (or use `execute`) to move it on.
    public func decide(_ command: Command, at now: Instant) -> Outcome {
        var decider = Decider(work: self, now: now, actor: command.actor)
        do throws(Rejection) {
            try decider.handle(command.action)
        } catch {
            return .rejected(error)
        }
        return .accepted(events: decider.events, effects: Run.effects(of: decider.events))
    }

    /// Decides and, when accepted, applies the events: the run afterwards equals the run you would get by
    /// applying the returned events one by one.
    @discardableResult
    public mutating func execute(_ command: Command, at now: Instant) -> Outcome {
        guard !compiled.mayRefuseAfterEmitting else {
            // A refusal may come after events were applied: decide on a copy, keep it only when accepted.
            var decider = Decider(work: self, now: now, actor: command.actor)
            do throws(Rejection) {
                try decider.handle(command.action)
            } catch {
                return .rejected(error)
            }
            swap(&self, &decider.work)
            return .accepted(events: decider.events, effects: Run.effects(of: decider.events))
        }
        // Every rule is checked before the first event on this playbook: decide in place. The run's tables have
        // one owner, so applying an event changes them where they are instead of copying them first.
        // The run is swapped in and out (moves, no retains), a placeholder sharing its playbook standing in for it.
        var decider = Decider(work: Run(placeholderFor: self), now: now, actor: command.actor)
        swap(&self, &decider.work)
        do throws(Rejection) {
            try decider.handle(command.action)
        } catch {
            precondition(decider.events.isEmpty, "a refusal after an event on a playbook that checks every rule first")
            swap(&self, &decider.work)
            return .rejected(error)
        }
        swap(&self, &decider.work)
        return .accepted(events: decider.events, effects: Run.effects(of: decider.events))
    }
}

/// Works out one command on a copy of the run. Every event is applied to the copy as it is emitted, so
/// each later rule sees the state that replaying the events so far would give.
struct Decider {
    var work: Run
    var events: [RunEvent] = []
    let now: Instant
    var actor: String
    var role: String?
    var steps = 0
    /// Events raised by `on_enter`, taken after the entered state's timers are armed, if the run is still in
    /// that visit of the state.
    var pendingRaises: [(name: String, visit: Int)] = []

    let pb: CompiledPlaybook

    init(work: Run, now: Instant, actor: String) {
        self.work = work
        self.pb = work.compiled
        self.now = now
        self.actor = actor
    }

    var runName: String { "run \(work.runID)" }


    /// `index`: the playbook index of the state, role, task or decision the event names, when known here.
    mutating func emit(_ body: RunEvent.Body, index: Int? = nil) {
        let event = RunEvent(at: now, actor: actor, role: role, body)
        work.apply(event, index: index)
        if events.isEmpty { events.reserveCapacity(8) }
        events.append(consume event)
    }

    // MARK: Commands

    mutating func handle(_ action: Command.Action) throws(Rejection) {
        if case .start(let start) = action { return try self.start(start) }
        switch work.status {
        case .notStarted:
            throw Rejection(.notStarted, "the run has not started: start it first")
        case .closed:
            switch action {
            case .note, .lesson: break
            default: throw Rejection(.runClosed, "\(runName) is closed")
            }
        case .active:
            guard work.stateIndex >= 0 else {
                throw Rejection(.playbookMismatch, "\(runName) is in no state of playbook '\(pb.id)' version \(pb.playbook.version): replay it with the playbook it ran")
            }
        }
        switch action {
        case .start: break
        case .assign(let role, let person): try assign(role, to: person)
        case .relieve(let role, let handover): try relieve(role, handover: handover)
        case .completeTask(let task, let note): try work(on: task, skip: false, text: note)
        case .skipTask(let task, let reason): try work(on: task, skip: true, text: reason)
        case .raise(let name): try raise(name)
        case .decide(let decision, let option, let rationale): try decide(decision, option: option, rationale: rationale)
        case .note(let text):
            guard !text.isEmpty else { throw Rejection(.invalidArgument, "a note needs text") }
            role = primaryRole(of: actor)
            emit(.noteAdded(text: text))
        case .lesson(let lesson):
            guard !lesson.text.isEmpty else { throw Rejection(.invalidArgument, "a lesson needs text") }
            role = primaryRole(of: actor)
            emit(.lessonRecorded(lesson))
        case .fireTimer(let key): try fire(key)
        case .close(let reason): try close(reason: reason)
        case .acknowledge(let ack): try acknowledge(ack)
        case .nameDeputy(let person, let deputy): try nameDeputy(person, deputy: deputy)
        case .startRollCall(let id, let people, let routes): try startRollCall(id, people: people, routes: routes ?? [:])
        case .answer(let rollCall, let person, let option, let channel):
            try answer(rollCall, person: person, option: option, channel: channel)
        case .markAccounted(let rollCall, let person, let why): try markAccounted(rollCall, person: person, why: why)
        }
    }

    mutating func start(_ start: StartRun) throws(Rejection) {
        switch work.status {
        case .notStarted: break
        case .active: throw Rejection(.alreadyStarted, "\(runName) has already started")
        case .closed: throw Rejection(.runClosed, "\(runName) is closed")
        }
        guard !start.runID.isEmpty else { throw Rejection(.invalidArgument, "a run needs an id") }
        guard !start.title.isEmpty else { throw Rejection(.invalidArgument, "a run needs a title") }
        let commander = start.commander ?? actor
        guard !commander.isEmpty else { throw Rejection(.invalidArgument, "the incident commander needs a name") }
        guard pb.commander >= 0 else {
            throw Rejection(.playbookMismatch, "playbook '\(pb.id)' defines no \(pb.commanderRole) role: a run needs one")
        }
        guard pb.start >= 0 else {
            throw Rejection(.playbookMismatch, "start state '\(pb.playbook.start.value)' is not a state of playbook '\(pb.id)'")
        }
        let disruption = start.disruptionStart ?? now
        guard disruption <= now else {
            throw Rejection(.invalidArgument, "the disruption cannot begin after the run starts (disruption \(disruption), start \(now))")
        }
        emit(.runStarted(RunStarted(
            runID: start.runID, playbookID: pb.id, playbookVersion: pb.playbook.version, mode: start.mode,
            title: start.title, severity: start.severity ?? pb.playbook.severity, disruptionStart: disruption
        )))
        emit(.roleAssigned(role: pb.commanderRole, person: commander), index: pb.commander)
        try enter(pb.start, from: nil, cause: .start)
        try settle()
    }

    mutating func assign(_ roleID: String, to person: String) throws(Rejection) {
        let r = try knownRole(roleID)
        try requireCommander(to: "assign roles")
        guard !person.isEmpty else { throw Rejection(.invalidArgument, "assigning \(roleID) needs a person's name") }
        if let holder = work.holderByRole[r] {
            guard holder != person else { throw Rejection(.alreadyDone, "\(person) already holds \(roleID)") }
            role = pb.commanderRole
            emit(.roleRelieved(role: roleID, person: holder, handover: nil), index: r)
        }
        role = pb.commanderRole
        emit(.roleAssigned(role: roleID, person: person), index: r)
        try settle()
    }

    mutating func relieve(_ roleID: String, handover: String?) throws(Rejection) {
        let r = try knownRole(roleID)
        try requireCommander(to: "relieve roles")
        guard r != pb.commander else {
            throw Rejection(.ruleViolated, "a run always has exactly one incident commander: assign a successor instead")
        }
        guard let holder = work.holderByRole[r] else { throw Rejection(.notAssigned, "\(roleID) is not assigned: nothing to relieve") }
        role = pb.commanderRole
        emit(.roleRelieved(role: roleID, person: holder, handover: handover), index: r)
        try settle()
    }

    mutating func work(on taskID: String, skip: Bool, text: String?) throws(Rejection) {
        guard let t = pb.taskIndex[taskID] else {
            let here = work.stateIndex >= 0 ? pb.states[work.stateIndex].tasks.map { pb.tasks[$0].id } : []
            var hint = Suggestion.hint(for: taskID, in: pb.tasks.map(\.id))
            if hint.isEmpty, !here.isEmpty { hint = " (tasks in '\(pb.states[work.stateIndex].id)': \(here.joined(separator: ", ")))" }
            throw Rejection(.unknownTask, "task '\(taskID)' is not defined in playbook '\(pb.id)'\(hint)")
        }
        let task = pb.tasks[t]
        guard task.state == work.stateIndex else {
            throw Rejection(.wrongState, "task '\(taskID)' belongs to state '\(pb.states[task.state].id)', but \(runName) is in '\(currentName)'")
        }
        switch work.taskStatusByIndex[t] {
        case .open: break
        case .done: throw Rejection(.alreadyDone, "task '\(taskID)' is already done")
        case .skipped: throw Rejection(.alreadyDone, "task '\(taskID)' is already skipped")
        }
        if task.role >= 0, work.holderByRole[task.role] == actor {
            role = task.roleName
        } else if work.holderByRole[pb.commander] == actor {
            role = pb.commanderRole
        } else {
            let holder = task.role >= 0 ? work.holderByRole[task.role] : nil
            let roleName = task.roleName
            throw Rejection(.notPermitted) {
                "only the holder of \(roleName) (\(holder ?? "unassigned")) or the incident commander can \(skip ? "skip" : "complete") '\(taskID)'"
            }
        }
        let text = text.flatMap { $0.isEmpty ? nil : $0 }
        if skip {
            emit(.taskSkipped(task: taskID, reason: text), index: t)
        } else {
            guard !task.evidenceRequired || text != nil else {
                throw Rejection(.evidenceRequired, "task '\(taskID)' needs evidence: add a note saying what shows it is done")
            }
            emit(.taskCompleted(task: taskID, note: text), index: t)
        }
        try settle()
    }

    mutating func raise(_ name: String) throws(Rejection) {
        guard let acting = primaryRole(of: actor) else {
            throw Rejection(.noRole, "\(actor) holds no role in \(runName): only people with a role can raise events")
        }
        let state = pb.states[work.stateIndex]
        guard let candidates = state.onEvent[name] else {
            let hint = Suggestion.hint(for: name, in: state.eventNames)
            let takes = state.eventNames.isEmpty ? "it takes no events" : "it takes: \(state.eventNames.joined(separator: ", "))"
            throw Rejection(.unknownEvent, "state '\(state.id)' does not take event '\(name)'\(hint); \(takes)")
        }
        guard let transition = candidates.first(where: { holds($0) }) else {
            let guards = candidates.compactMap(\.guardText).map { "'\($0)'" }
            let what = guards.count == 1 ? "its guard \(guards[0]) does not hold" : "none of its guards \(guards.joined(separator: ", ")) holds"
            throw Rejection(.guardFailed, "event '\(name)' cannot be taken in state '\(state.id)' yet: \(what)")
        }
        role = acting
        emit(.eventRaised(name: name))
        try take(transition, cause: .event(name))
        try settle()
    }

    mutating func decide(_ decisionID: String, option: String, rationale: String) throws(Rejection) {
        guard let d = pb.decisionIndex[decisionID] else {
            throw Rejection(.unknownDecision, "decision '\(decisionID)' is not defined in playbook '\(pb.id)'\(Suggestion.hint(for: decisionID, in: pb.decisions.map(\.id)))")
        }
        let decision = pb.decisions[d]
        guard decision.state == work.stateIndex else {
            throw Rejection(.wrongState, "decision '\(decisionID)' belongs to state '\(pb.states[decision.state].id)', but \(runName) is in '\(currentName)'")
        }
        if let made = work.decisionByIndex[d] {
            throw Rejection(.alreadyDone, "decision '\(decisionID)' was already made in this visit of '\(currentName)' ('\(made.option)' by \(made.actor))")
        }
        let holder = decision.by >= 0 ? work.holderByRole[decision.by] : nil
        guard let holder, holder == actor else {
            throw Rejection(.notPermitted, "only the holder of \(decision.byName) (\(holder ?? "unassigned")) can decide '\(decisionID)'")
        }
        guard let chosen = decision.option(option) else {
            let names = decision.options.map(\.name)
            throw Rejection(.unknownOption, "'\(option)' is not an option of decision '\(decisionID)'\(Suggestion.hint(for: option, in: names)); options: \(names.joined(separator: ", "))")
        }
        guard !rationale.isEmpty else { throw Rejection(.invalidArgument, "decision '\(decisionID)' needs a rationale: say why") }
        role = decision.byName
        try decide(decision, chosen, rationale: rationale, byDefault: false)
        try settle()
    }

    mutating func decide(_ decision: CompiledPlaybook.CDecision, _ option: CompiledPlaybook.COption, rationale: String, byDefault: Bool) throws(Rejection) {
        guard option.target >= 0 else {
            throw Rejection(.playbookMismatch, "option '\(option.name)' of decision '\(decision.id)' leads to '\(option.targetName)', which is not a state of playbook '\(pb.id)'")
        }
        emit(.decisionMade(decision: decision.id, option: option.name, rationale: rationale, byDefault: byDefault))
        try enter(option.target, from: work.stateIndex, cause: .decision(id: decision.id, option: option.name))
    }

    mutating func fire(_ key: TimerKey) throws(Rejection) {
        guard let timer = work.armedTimer(key) else {
            throw Rejection(.unknownTimer, "timer \(key) is not armed: it was cancelled, has already fired, or never existed")
        }
        guard timer.due <= now else { throw Rejection(.notDue, "timer \(key) is not due until \(timer.due)") }
        actor = Command.system
        role = nil
        emit(.timerFired(key: key, due: timer.due, lateBy: now - timer.due))
        guard let s = pb.slotIndex[key.id] else {
            if let ack = TimerKey.escalationAck(key.id) {
                escalate(ack)
            } else if let rollCallTimer = TimerKey.rollCallTimer(key.id) {
                switch rollCallTimer.kind {
                case .resend: resend(rollCallTimer.rollCall)
                case .within: rollCallDeadline(rollCallTimer.rollCall)
                }
            }
            return try settle()
        }
        let slot = pb.slots[s]
        switch slot.kind {
        case .deadline(let d):
            let decision = pb.decisions[d]
            if work.decisionByIndex[d] == nil, decision.state == work.stateIndex,
               let name = decision.defaultOption, let option = decision.option(name) {
                let deadline = decision.deadline.map { " of \($0)" } ?? ""
                try decide(decision, option, rationale: "no decision within the deadline\(deadline): default taken", byDefault: true)
            }
            try settle()
        case .spec(let spec):
            // Catching up after downtime, a repeating timer may have fallen due several times: it fires once for
            // all of them (one message saying so, not a burst of identical ones) and comes back after `now`.
            var missed: Int64 = 1
            if let interval = slot.repeatEvery, interval.milliseconds > 0, now > timer.due {
                missed = (now - timer.due).milliseconds / interval.milliseconds + 1
            }
            let lastDue = timer.due + (slot.repeatEvery ?? .zero) * (missed - 1)
            let active = slot.guardExpression.map { work.evaluateCompiled($0) } ?? true
            if active, let channel = spec.notify?.value, let message = spec.message?.value {
                // Rendered as of the (last) due time, so "still open after 30m" says when it fell due, not when
                // a late catch-up happened to send it.
                let timerValues = (id: key.id, elapsed: lastDue - timer.anchor)
                var text = slot.message.map { work.render($0, now: lastDue, timer: timerValues) }
                    ?? message.render(RunTemplateContext(run: work, now: lastDue, timer: timerValues))
                if missed > 1, let interval = slot.repeatEvery {
                    text += " (\(missed) reminders fell due while Muster was not running, every \(interval) from "
                        + "\(TimelineText.utc(timer.due)) to \(TimelineText.utc(lastDue)): sent once)"
                }
                queue(channel: channel, message: text, trigger: "timer:\(key.id)", to: spec.to?.value, ack: spec.ack, ackID: key.id)
            }
            if active, let rollCall = spec.rollCall {
                requestRollCall(rollCall)
            }
            if active, let name = spec.raise?.value {
                try raised(name)
            }
            try settle()
            // A repeating timer comes back at its previous due time plus the interval, unless the run left the
            // visit that armed it (or reached a terminal state) meanwhile.
            if let interval = slot.repeatEvery, interval.milliseconds > 0, work.status == .active, !work.isInTerminalState,
               work.slotStates[s].instance == key.instance, work.armedTimer(key) == nil,
               slot.owner < 0 || slot.owner == work.stateIndex {
                emit(.timerArmed(key: key, due: lastDue + interval, repeatEvery: interval))
            }
        }
    }

    mutating func close(reason: String?) throws(Rejection) {
        let commander = work.holderByRole[pb.commander]
        guard commander == actor else {
            throw Rejection(.notPermitted, "only the incident commander (\(commander ?? "unassigned")) can close \(runName)")
        }
        let reason = reason.flatMap { $0.isEmpty ? nil : $0 }
        guard work.isInTerminalState || reason != nil else {
            throw Rejection(.ruleViolated, "\(runName) is in '\(currentName)', which is not a terminal state: give a reason to close it early")
        }
        role = pb.commanderRole
        cancelTimers(includingRunTimers: true) { _ in true }
        if work.mark(.closed) == nil { emit(.markSet(.closed)) }
        emit(.runClosed(reason: reason))
    }

    // MARK: Moving between states

    /// An event raised by a timer or by entering a state: recorded even when no transition takes it.
    mutating func raised(_ name: String) throws(Rejection) {
        emit(.eventRaised(name: name))
        guard work.stateIndex >= 0, let candidates = pb.states[work.stateIndex].onEvent[name],
              let transition = candidates.first(where: { holds($0) }) else { return }
        try take(transition, cause: .event(name))
    }

    mutating func take(_ transition: CompiledPlaybook.CTransition, cause: TransitionCause) throws(Rejection) {
        guard transition.target >= 0 else {
            throw Rejection(.playbookMismatch, "transition target '\(transition.targetName)' of state '\(currentName)' is not a state of playbook '\(pb.id)'")
        }
        try enter(transition.target, from: work.stateIndex, cause: cause)
    }

    mutating func enter(_ target: Int, from: Int?, cause: TransitionCause) throws(Rejection) {
        steps += 1
        let state = pb.states[target]
        if steps > Run.maximumTransitionsPerStep {
            throw Rejection(.doesNotSettle, "the run does not settle: more than \(Run.maximumTransitionsPerStep) transitions in one step (the last into '\(state.id)'); check playbook '\(pb.id)' for a loop of eventless transitions or raised events")
        }
        if state.terminal {
            cancelTimers(includingRunTimers: true) { _ in true }
        } else if let from {
            let pb = self.pb
            cancelTimers { pb.slots[$0].owner == from }
        }
        emit(.stateEntered(state: state.id, from: from.map { pb.states[$0].id }, cause: cause), index: pb.canonicalState[target])
        for mark in state.marks where work.mark(mark) == nil { emit(.markSet(mark)) }
        if state.marks.contains(.recovered) {
            // Services are back: their RTO and MTPD warnings would only mislead.
            let pb = self.pb
            cancelTimers { pb.slots[$0].endsAtRecovery }
        }
        var raises: [String] = []
        for (a, action) in state.onEnter.enumerated() {
            switch action {
            case .notify(let notify):
                let message = state.onEnterMessages[a].map { work.render($0, now: now, timer: nil) }
                    ?? notify.message.value.render(RunTemplateContext(run: work, now: now, timer: nil))
                queue(channel: notify.channel.value, message: message, trigger: "enter:\(state.id)", to: notify.to?.value,
                      ack: notify.ack, ackID: notify.ack?.id?.value)
            case .raise(let name):
                raises.append(name.value)
            case .rollCall(let rollCall):
                requestRollCall(rollCall)
            }
        }
        if !state.terminal {
            if cause == .start {
                for s in pb.runWideSlots { try arm(s) }
            }
            for s in state.timerSlots { try arm(s) }
        }
        let visit = work.visits
        for name in raises { pendingRaises.append((name, visit)) }
    }

    mutating func arm(_ s: Int) throws(Rejection) {
        let slot = pb.slots[s]
        if slot.endsAtRecovery, work.mark(.recovered) != nil { return }
        let due: Instant
        switch slot.timing {
        case .afterEntry(let span):
            due = now + span
        case .afterDisruption(let span, let problem):
            guard let span else { throw Rejection(.timerUnresolvable, "timer '\(slot.id)' cannot be armed: \(problem ?? "its time is unknown")") }
            due = (work.disruptionStart ?? now) + span
        }
        emit(.timerArmed(key: TimerKey(id: slot.id, instance: work.slotStates[s].instance + 1), due: due, repeatEvery: slot.repeatEvery))
    }

    /// Cancels, in due order, the armed timers whose slot matches (timers the playbook no longer knows go too).
    /// Escalations and roll call timers belong to the run, not to a state: they go only `includingRunTimers`
    /// (a terminal state, closing).
    mutating func cancelTimers(includingRunTimers: Bool = false, where matches: (Int) -> Bool) {
        guard !work.armedTimers.isEmpty else { return }
        for timer in work.armedTimers {
            if let slot = pb.slotIndex[timer.key.id] {
                if matches(slot) { emit(.timerCancelled(key: timer.key)) }
            } else if includingRunTimers || !TimerKey.isRunTimer(timer.key.id) {
                emit(.timerCancelled(key: timer.key))
            }
        }
    }

    /// Takes pending raised events, then eventless transitions whose guard holds, until nothing moves.
    mutating func settle() throws(Rejection) {
        while work.stateIndex >= 0 {
            if !pendingRaises.isEmpty {
                let (name, visit) = pendingRaises.removeFirst()
                if visit == work.visits {
                    try raised(name)
                } else {
                    emit(.eventRaised(name: name))
                }
                continue
            }
            guard let transition = pb.states[work.stateIndex].eventless.first(where: { holds($0) }) else { return }
            try take(transition, cause: .guardHeld)
        }
    }

    // MARK: Helpers

    func holds(_ transition: CompiledPlaybook.CTransition) -> Bool {
        transition.guardExpression.map { work.evaluateCompiled($0) } ?? true
    }

    var currentName: String { work.currentState ?? "nowhere" }

    func knownRole(_ roleID: String) throws(Rejection) -> Int {
        if let r = pb.roleIndex[roleID] { return r }
        var hint = Suggestion.hint(for: roleID, in: pb.roleIDs)
        if hint.isEmpty { hint = " (roles: \(pb.roleIDs.joined(separator: ", ")))" }
        throw Rejection(.unknownRole, "role '\(roleID)' is not defined in playbook '\(pb.id)'\(hint)")
    }

    func requireCommander(to what: String) throws(Rejection) {
        let commander = work.holderByRole[pb.commander]
        guard commander == actor else {
            throw Rejection(.notPermitted, "only the incident commander (\(commander ?? "unassigned")) can \(what)")
        }
    }

    /// The role someone acts in when the command does not say: the current state's owner if they hold it,
    /// else incident commander if they hold it, else the first role they hold in playbook order.
    func primaryRole(of person: String) -> String? {
        if work.stateIndex >= 0 {
            let owner = pb.states[work.stateIndex].owner
            if owner >= 0, work.holderByRole[owner] == person { return pb.roleIDs[owner] }
        }
        if pb.commander >= 0, work.holderByRole[pb.commander] == person { return pb.commanderRole }
        for (r, holder) in work.holderByRole.enumerated() where holder == person { return pb.roleIDs[r] }
        return nil
    }
}
