// Hearing back: pages that must be acknowledged (and escalate when they are not), and roll calls.
//
// Both belong to the run, not to the state that started them: their timers (`ack:ID`, `rollcall:ID:resend`,
// `rollcall:ID:within`) survive leaving that state and stop only at a terminal state or when the run closes.
// The engine knows no contact details and no groups: a roll call asks the shell to resolve its groups
// (`Effect.resolveRollCall`) and starts when the shell answers with the people (`startRollCall`).

extension Decider {
    // MARK: Pages and acknowledgements

    /// Queues a notification; with `to` it pages the role's holder personally, with `ack` it asks for an
    /// acknowledgement (id `ackID`, else the notification's id) and arms its escalation timer. A new request of an
    /// id replaces the one before (its escalation stops).
    mutating func queue(channel: String, message: String, trigger: String, to role: String?, ack: AckSpec?, ackID: String?) {
        let id = "n\(work.notificationCount + 1)"
        let person = role.flatMap { work.holder(of: $0) }
        let ackName = ack == nil || role == nil ? nil : (ackID ?? id)
        if let ackName { cancelRunTimer(TimerKey.escalation(of: ackName)) }
        emit(.notificationQueued(Notification(id: id, channel: channel, message: message, trigger: trigger, person: person, role: role,
                                              ack: ackName)))
        guard let ack, let ackName, let role else { return }
        emit(.acknowledgementRequested(AckRequested(
            ack: ackName, notification: id, channel: channel, role: role, person: person, within: ack.within.value,
            escalate: ack.escalate.map(\.value), message: message)))
        armRunTimer(TimerKey.escalation(of: ackName), due: now + ack.within.value)
    }

    /// The escalation timer fired: page the next step, or record that the steps are exhausted. A `deputy` step
    /// whose deputy is unknown is recorded and passed over at once.
    mutating func escalate(_ ackID: String) {
        guard let record = work.acks[ackID], record.acknowledgedBy == nil, !record.exhausted else { return }
        var step = record.step + 1
        while step <= record.escalate.count {
            let target = record.escalate[step - 1]
            let isDeputy = target == AckSpec.deputy
            let person = isDeputy ? record.person.flatMap { work.deputies[$0] } : work.holder(of: target)
            if isDeputy, person == nil {
                emit(.escalated(ack: ackID, step: step, to: target, person: nil, notification: nil))
                step += 1
                continue
            }
            let id = "n\(work.notificationCount + 1)"
            emit(.escalated(ack: ackID, step: step, to: target, person: person, notification: id))
            let first = record.person ?? "the holder of \(record.role)"
            emit(.notificationQueued(Notification(
                id: id, channel: record.channel,
                message: "Escalated (step \(step) of \(record.escalate.count)): \(first) did not acknowledge within \(record.within). \(record.message)",
                trigger: "ack:\(ackID)", person: person, role: isDeputy ? nil : target, ack: ackID)))
            armRunTimer(TimerKey.escalation(of: ackID), due: now + record.within)
            return
        }
        emit(.escalationExhausted(ack: ackID, steps: record.escalate.count))
    }

    mutating func acknowledge(_ ackID: String) throws(Rejection) {
        guard let record = work.acks[ackID] else {
            let known = work.acks.keys.sorted()
            let hint = Suggestion.hint(for: ackID, in: known)
            throw Rejection(.unknownAck, "no page of \(runName) asked for acknowledgement '\(ackID)'\(hint.isEmpty && !known.isEmpty ? " (pages: \(known.joined(separator: ", ")))" : hint)")
        }
        if let by = record.acknowledgedBy {
            throw Rejection(.alreadyDone, "'\(ackID)' was already acknowledged by \(by)")
        }
        let heldPaged = record.pagedRoles.first { work.holder(of: $0) == actor }
        let isCommander = work.holderByRole[pb.commander] == actor
        guard record.pagedPeople.contains(actor) || heldPaged != nil || isCommander else {
            let paged = (record.pagedPeople + record.pagedRoles.map { "the holder of \($0)" }).joined(separator: ", ")
            throw Rejection(.notPermitted, "only someone paged for '\(ackID)' (\(paged)) or the incident commander can acknowledge it")
        }
        role = heldPaged ?? (isCommander ? pb.commanderRole : primaryRole(of: actor))
        emit(.acknowledged(ack: ackID, person: actor, latency: now - record.requestedAt))
        cancelRunTimer(TimerKey.escalation(of: ackID))
        try settle()
    }

    mutating func nameDeputy(_ person: String, deputy: String?) throws(Rejection) {
        let isCommander = work.holderByRole[pb.commander] == actor
        guard actor == Command.system || isCommander else {
            throw Rejection(.notPermitted, "only the incident commander or the people directory (\(Command.system)) can name deputies")
        }
        guard !person.isEmpty else { throw Rejection(.invalidArgument, "naming a deputy needs the person's name") }
        let deputy = deputy.flatMap { $0.isEmpty ? nil : $0 }
        guard deputy != person else { throw Rejection(.invalidArgument, "\(person) cannot be their own deputy") }
        guard work.deputies[person] != deputy else {
            throw Rejection(.alreadyDone, deputy.map { "\($0) is already \(person)'s deputy" } ?? "\(person) has no deputy")
        }
        role = isCommander ? pb.commanderRole : nil
        emit(.deputyNamed(person: person, deputy: deputy))
        try settle()
    }

    // MARK: Roll calls

    /// A roll call in `on_enter` or a timer: ask the shell who is in its groups. A new request of an id replaces the
    /// one before (its resends and deadline stop).
    mutating func requestRollCall(_ spec: RollCallSpec) {
        let id = spec.id.value
        cancelRunTimer(TimerKey.resend(of: id))
        cancelRunTimer(TimerKey.overdue(of: id))
        var groups: [String] = [], people: [String] = []
        for audience in spec.who {
            switch audience {
            case .group(let name): if !groups.contains(name.value) { groups.append(name.value) }
            case .person(let name): if !people.contains(name.value) { people.append(name.value) }
            case .role(let role):
                if let holder = work.holder(of: role.value), !people.contains(holder) { people.append(holder) }
            }
        }
        emit(.rollCallRequested(RollCallRequest(rollCall: id, groups: groups, people: people)))
    }

    func knownRollCall(_ id: String) throws(Rejection) -> RollCallSpec {
        if let index = pb.rollCallIndex[id] { return pb.rollCalls[index] }
        let names = pb.rollCalls.map(\.id.value)
        var hint = Suggestion.hint(for: id, in: names)
        if hint.isEmpty { hint = names.isEmpty ? " (it has none)" : " (roll calls: \(names.joined(separator: ", ")))" }
        throw Rejection(.unknownRollCall, "roll call '\(id)' is not defined in playbook '\(pb.id)'\(hint)")
    }

    /// A started roll call: its spec, when it started and whether everyone was accounted for. The record itself is
    /// not handed out: a copy alive while an event changes it would make that change copy every answer of the roll
    /// call (10,000 people: 400 µs per answer instead of a few).
    func startedRollCall(_ id: String) throws(Rejection) -> (spec: RollCallSpec, startedAt: Instant, wasComplete: Bool) {
        let spec = try knownRollCall(id)
        guard let record = work.rollCalls[id], let startedAt = record.startedAt else {
            throw Rejection(.notRequested, "roll call '\(id)' has not started in \(runName)")
        }
        return (spec, startedAt, record.isComplete)
    }

    mutating func startRollCall(_ id: String, people: [String], routes given: [String: [String]]) throws(Rejection) {
        let spec = try knownRollCall(id)
        guard let record = work.rollCalls[id] else {
            throw Rejection(.notRequested, "roll call '\(id)' has not been asked for in \(runName) (it starts when its state is entered or its timer fires)")
        }
        guard record.startedAt == nil else {
            throw Rejection(.alreadyDone, "roll call '\(id)' has already started (\(record.people.count) people)")
        }
        let isCommander = work.holderByRole[pb.commander] == actor
        guard actor == Command.system || isCommander else {
            throw Rejection(.notPermitted, "only the incident commander or the people directory (\(Command.system)) can start a roll call")
        }
        var seen = Set<String>(), list: [String] = []
        list.reserveCapacity(people.count)
        for person in people where !person.isEmpty && seen.insert(person).inserted { list.append(person) }
        // Routes kept: the asked people's, with the roll call's own channels in `via`'s order; a list equal to
        // `via` says nothing and is dropped.
        let via = spec.via.map(\.value)
        let routes = spec.routes(for: list) { person, channel in given[person]?.contains(channel) ?? true }
        role = isCommander ? pb.commanderRole : nil
        emit(.rollCallStarted(rollCall: id, people: list, routes: routes))
        let ask = rollCallMessage(spec)
        let started = work.rollCalls[id]!
        for person in list {
            emit(.notificationQueued(Notification(id: "n\(work.notificationCount + 1)", channel: started.channel(for: person, message: 0, via: via),
                                                  message: ask, trigger: "rollcall:\(id)", person: person, rollCall: id)))
        }
        if list.isEmpty {
            emit(.rollCallProgress(work.rollCalls[id]!.tally(options: spec.options.map(\.id.value))))
        } else {
            if let every = spec.resendEvery?.value, every > .zero, (spec.resendMax?.value ?? 0) > 0 {
                armRunTimer(TimerKey.resend(of: id), due: now + every)
            }
            if let within = spec.within?.value, within > .zero {
                armRunTimer(TimerKey.overdue(of: id), due: now + within)
            }
        }
        try settle()
    }

    /// A started roll call that asks `person` (`startedRollCall`).
    func rollCallAsking(_ id: String, _ person: String) throws(Rejection) -> (spec: RollCallSpec, startedAt: Instant, wasComplete: Bool) {
        let started = try startedRollCall(id)
        guard work.rollCalls[id]?.asks(person) == true else {
            throw Rejection(.unknownPerson, "roll call '\(id)' does not ask \(person)")
        }
        return started
    }

    mutating func answer(_ id: String, person: String, option: String, channel: String) throws(Rejection) {
        let (spec, startedAt, wasComplete) = try rollCallAsking(id, person)
        guard spec.option(option) != nil else {
            let names = spec.options.map(\.id.value)
            throw Rejection(.unknownOption, "'\(option)' is not an option of roll call '\(id)'\(Suggestion.hint(for: option, in: names)); options: \(names.joined(separator: ", "))")
        }
        guard !channel.isEmpty else { throw Rejection(.invalidArgument, "an answer needs the channel it came through") }
        role = primaryRole(of: actor)
        emit(.answerReceived(rollCall: id, person: person, option: option, channel: channel, latency: now - startedAt))
        if !wasComplete { completeIfAccounted(spec) }
        try settle()
    }

    mutating func markAccounted(_ id: String, person: String, why: String) throws(Rejection) {
        _ = try startedRollCall(id)
        guard let acting = primaryRole(of: actor) else {
            throw Rejection(.noRole, "\(actor) holds no role in \(runName): only people with a role can account for others")
        }
        let (spec, _, wasComplete) = try rollCallAsking(id, person)
        if let marked = work.rollCalls[id]?.marked[person] {
            throw Rejection(.alreadyDone, "\(person) was already marked accounted for by \(marked.by)")
        }
        guard !why.isEmpty else { throw Rejection(.invalidArgument, "marking \(person) accounted for needs a reason (where they were seen)") }
        role = acting
        emit(.personAccounted(rollCall: id, person: person, why: why))
        if !wasComplete { completeIfAccounted(spec) }
        try settle()
    }

    /// The last person was accounted for: record the tally and stop the resends and the deadline.
    mutating func completeIfAccounted(_ spec: RollCallSpec) {
        let id = spec.id.value
        guard let record = work.rollCalls[id], record.isComplete else { return }
        emit(.rollCallProgress(record.tally(options: spec.options.map(\.id.value))))
        cancelRunTimer(TimerKey.resend(of: id))
        cancelRunTimer(TimerKey.overdue(of: id))
    }

    /// The resend timer fired (and was counted): a reminder to everyone not yet accounted for, through the next
    /// channel of `via`, and the next resend unless this was the last.
    mutating func resend(_ id: String) {
        guard let index = pb.rollCallIndex[id], let record = work.rollCalls[id], record.startedAt != nil, !record.isComplete else { return }
        let spec = pb.rollCalls[index]
        let max = spec.resendMax?.value ?? 0
        emit(.rollCallProgress(record.tally(options: spec.options.map(\.id.value))))
        let via = spec.via.map(\.value)
        let message = "Reminder \(record.resends) of \(max): " + rollCallMessage(spec)
        for person in record.unaccounted {
            emit(.notificationQueued(Notification(id: "n\(work.notificationCount + 1)", channel: record.channel(for: person, message: record.resends, via: via),
                                                  message: message, trigger: "rollcall:\(id)", person: person, rollCall: id)))
        }
        if record.resends < max, let every = spec.resendEvery?.value {
            armRunTimer(TimerKey.resend(of: id), due: now + every)
        }
    }

    /// The roll call's `within` passed.
    mutating func rollCallDeadline(_ id: String) {
        guard let index = pb.rollCallIndex[id], let record = work.rollCalls[id], record.startedAt != nil, !record.isComplete else { return }
        emit(.rollCallOverdue(record.tally(options: pb.rollCalls[index].options.map(\.id.value))))
    }

    /// The question with its options, as every message of the roll call carries it (the shell adds the answer link).
    func rollCallMessage(_ spec: RollCallSpec) -> String {
        let ask = spec.ask.value.render(RunTemplateContext(run: work, now: now, timer: nil))
        return ask + " (" + spec.options.map { "\($0.id.value): \($0.label)" }.joined(separator: " | ") + ")"
    }

    // MARK: Timers of the run

    /// Arms an escalation or roll call timer; none in a terminal state or a closed run (nothing would cancel it).
    mutating func armRunTimer(_ id: String, due: Instant) {
        guard work.status == .active, !work.isInTerminalState else { return }
        emit(.timerArmed(key: TimerKey(id: id, instance: work.otherTimerInstances[id, default: 0] + 1), due: due, repeatEvery: nil))
    }

    mutating func cancelRunTimer(_ id: String) {
        for timer in work.armedTimers where timer.key.id == id { emit(.timerCancelled(key: timer.key)) }
    }
}
