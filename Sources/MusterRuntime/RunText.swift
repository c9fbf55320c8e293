import MusterCore
import MusterJournal

/// Words for events and runs, shared by `muster incident status|timeline` and `muster watch`.
public enum RunText {
    /// One line saying what an event records.
    public static func describe(_ body: RunEvent.Body) -> String {
        switch body {
        case .runStarted(let s):
            return "run started: '\(s.title)' (playbook \(s.playbookID) v\(s.playbookVersion), \(s.severity.rawValue), \(s.mode.rawValue), disruption since \(s.disruptionStart.iso8601))"
        case let .stateEntered(state, from, cause):
            let why: String
            switch cause {
            case .start: why = "at start"
            case .guardHeld: why = "its condition held"
            case .event(let name): why = "on event '\(name)'"
            case let .decision(id, option): why = "decision \(id) = \(option)"
            }
            return "entered state '\(state)'" + (from.map { " from '\($0)'" } ?? "") + " (\(why))"
        case .markSet(let mark):
            return "marked \(mark.rawValue)"
        case let .roleAssigned(role, person):
            return "\(person) assigned to \(role)"
        case let .roleRelieved(role, person, handover):
            return "\(person) relieved from \(role)" + (handover.map { " (handover: \($0))" } ?? "")
        case let .taskCompleted(task, note):
            return "task '\(task)' done" + (note.map { ": \($0)" } ?? "")
        case let .taskSkipped(task, reason):
            return "task '\(task)' skipped" + (reason.map { ": \($0)" } ?? "")
        case .eventRaised(let name):
            return "event '\(name)' raised"
        case let .decisionMade(decision, option, rationale, byDefault):
            return "decision '\(decision)': \(option)" + (byDefault ? " (by default at the deadline)" : "") + ": \(rationale)"
        case .noteAdded(let text):
            return "note: \(text)"
        case .lessonRecorded(let lesson):
            return "lesson (\(lesson.kind.rawValue)" + (lesson.rootCause.map { ", root cause \($0)" } ?? "") + "): \(lesson.text)"
        case let .timerArmed(key, due, repeatEvery):
            return "timer \(key) armed, due \(due.iso8601)" + (repeatEvery.map { ", repeats every \($0)" } ?? "")
        case let .timerFired(key, due, lateBy):
            return "timer \(key) fired (due \(due.iso8601)" + (lateBy.milliseconds > 0 ? ", late by \(lateBy)" : "") + ")"
        case .timerCancelled(let key):
            return "timer \(key) cancelled"
        case .notificationQueued(let n):
            return "notification \(n.id) to \(n.channel): \(n.message)"
        case .runClosed(let reason):
            return "run closed" + (reason.map { ": \($0)" } ?? "")
        case .exerciseStarted(let s):
            return "exercise \(s.exercise) started (\(s.type), speed \(s.speed)): '\(s.title)'"
        case .injectDelivered(let inject):
            return "inject \(inject.inject) delivered" + (inject.from.map { " from \($0)" } ?? "") + " (\(inject.method)): \(inject.message)"
        case let .injectWithheld(inject, reason):
            return "inject \(inject) withheld: \(reason)"
        case .exerciseClock(let change):
            switch change {
            case .started(let speed): return "scenario clock started at speed \(speed)"
            case .paused: return "scenario clock paused"
            case .resumed: return "scenario clock resumed"
            case .speedChanged(let speed): return "scenario clock speed \(speed)"
            case .skipped(let span): return "scenario clock skipped \(span)"
            case .ended(let reason): return "exercise ended: \(reason)"
            case .suspended(let reason): return "scenario clock suspended: \(reason)"
            }
        case let .playerActionRejected(action, reason):
            return "player action '\(action)' rejected: \(reason)"
        case let .ratingOverruled(objective, rating, note):
            return "rating of \(objective) overruled to \(rating): \(note)"
        case let .chatChannelBound(binding):
            return "\(binding.platform) channel \(binding.channel) bound to the run"
        case let .chatMessagePosted(posted):
            return "incident message posted in \(posted.binding.platform) channel \(posted.binding.channel)"
        case let .notificationSent(id, channel, status, latencyMs, attempt):
            return "notification \(id) sent to \(channel)" + (status.map { " (\($0))" } ?? "") + " in \(latencyMs) ms, attempt \(attempt)"
        case let .notificationFailed(id, channel, reason, attempt, nextAttempt):
            return "notification \(id) to \(channel) failed, attempt \(attempt): \(reason)" + (nextAttempt.map { "; next attempt \($0.iso8601)" } ?? "")
        case let .notificationDeadLettered(id, channel, reason, attempts):
            return "notification \(id) to \(channel) dead-lettered after \(attempts) \(attempts == 1 ? "attempt" : "attempts"): \(reason)"
        case let .notificationSkipped(id, channel, reason):
            return "notification \(id) to \(channel) skipped: \(reason)"
        case let .notificationRequeued(id, channel, previousStatus, attempts):
            return "notification \(id) to \(channel) requeued (was \(previousStatus) after \(attempts) \(attempts == 1 ? "attempt" : "attempts"))"
        case .acknowledgementRequested, .acknowledged, .escalated, .escalationExhausted, .deputyNamed, .rollCallRequested,
             .rollCallStarted, .answerReceived, .personAccounted, .rollCallProgress, .rollCallOverdue:
            // The words of the core's timeline, after the event's kind (`answer received: staff-safety: Lee answered safe ...`).
            return String(body.typeName.map { $0 == "-" ? " " : $0 }) + ": " + (TimelineText.hearingBack(body) ?? "")
        }
    }

    /// `SEQ  TIME  ACTOR (ROLE)  TYPE  WHAT`, the timeline's text form.
    public static func line(_ stored: StoredEvent) -> String {
        let who = stored.event.actor + (stored.event.role.map { " (\($0))" } ?? "")
        return "#\(stored.seq)  \(stored.event.at.iso8601)  \(who)  \(stored.type)  \(describe(stored.event.body))"
    }

    /// The state of a run at `now`: state and phases, tasks by role with holders, decision, countdowns to the
    /// next timers, RTO and MTPD clocks per service (from the disruption's start). `maxTimers` bounds the list.
    public static func status(_ snapshot: RunSnapshot, now: Instant, maxTimers: Int = 8) -> [String] {
        let run = snapshot.run
        let playbook = run.playbook
        var out: [String] = []
        let status = run.status == .closed ? "closed" : (run.isInTerminalState ? "active, terminal state" : run.status.rawValue)
        out.append("run \(snapshot.record.id)  '\(run.title)'  [\(run.mode.rawValue), \(run.severity.rawValue), \(status)]")
        var started = "playbook \(playbook.id.value) v\(playbook.version)"
        if let startedAt = run.startedAt {
            started += "  declared \(startedAt.iso8601)"
            let end = run.closedAt ?? now
            started += "  elapsed \((end - startedAt).clock)"
        }
        out.append(started)
        if let closedAt = run.closedAt {
            out.append("closed   \(closedAt.iso8601)" + (run.closeReason.map { ": \($0)" } ?? ""))
        }
        let state = run.currentState.flatMap { id in playbook.states.first { $0.id.value == id } }
        if let state {
            let phases = state.phases.map(\.rawValue).joined(separator: ", ")
            out.append("state    \(state.id.value): \(state.displayTitle)  [phase: \(phases)]" + (state.owner.map { "  owner \($0.value)" } ?? ""))
        } else if let id = run.currentState {
            out.append("state    \(id) (not in the stored playbook)")
        }
        let marks = Mark.allCases.compactMap { mark in run.mark(mark).map { "\(mark.rawValue) \($0.iso8601)" } }
        if !marks.isEmpty { out.append("marks    " + marks.joined(separator: ", ")) }

        out.append("roles")
        for role in playbook.roles {
            let holder = run.holder(of: role.id.value) ?? (role.required ? "UNASSIGNED (required)" : "unassigned")
            out.append("  \(role.id.value): \(holder)")
        }

        if let state, !state.tasks.isEmpty {
            out.append("tasks in \(state.id.value)")
            var roleOrder: [String] = []
            for task in state.tasks where !roleOrder.contains(task.role.value) { roleOrder.append(task.role.value) }
            for role in roleOrder {
                out.append("  \(role) (\(run.holder(of: role) ?? "unassigned"))")
                for task in state.tasks where task.role.value == role {
                    let mark: String
                    switch run.taskStatus(task.id.value) ?? .open {
                    case .open: mark = "[ ]"
                    case .done: mark = "[x]"
                    case .skipped: mark = "[-]"
                    }
                    out.append("    \(mark) \(task.id.value): \(task.title)" + (task.evidenceRequired ? " (evidence)" : ""))
                }
            }
        }
        if let decision = state?.decision {
            let options = decision.options.map(\.name.value).joined(separator: " | ")
            if let made = run.decision(decision.id.value) {
                out.append("decision \(decision.id.value): \(made.option) (\(made.byDefault ? "by default" : "by \(made.actor)"))")
            } else {
                var line = "decision \(decision.id.value): PENDING, by \(decision.by.value): \(decision.question) [\(options)]"
                if let d = decision.defaultOption { line += " default \(d.value)" }
                out.append(line)
            }
        }

        if !run.armedTimers.isEmpty {
            out.append("timers")
            for timer in run.armedTimers.prefix(maxTimers) {
                let left = timer.due - now
                let when = left.milliseconds >= 0 ? "in \(left.clock)" : "OVERDUE by \((-left).clock)"
                out.append("  \(timer.key.id)  due \(timer.due.iso8601)  \(when)" + (timer.repeatEvery.map { "  (every \($0))" } ?? ""))
            }
            if run.armedTimers.count > maxTimers { out.append("  ... and \(run.armedTimers.count - maxTimers) more") }
        }

        if !playbook.services.isEmpty, let disruption = run.disruptionStart {
            out.append("services (disruption since \(disruption.iso8601))")
            let end = run.mark(.recovered) ?? run.closedAt ?? now
            let elapsed = end - disruption
            for service in playbook.services {
                var clocks: [String] = []
                for (name, objective) in [("RTO", service.rto), ("MTPD", service.mtpd)] {
                    guard let objective else { continue }
                    let left = objective.value - elapsed
                    clocks.append(left.milliseconds >= 0 ? "\(name) \(objective.value): \(left.clock) left" : "\(name) \(objective.value): EXCEEDED by \((-left).clock)")
                }
                if clocks.isEmpty { clocks.append("no objectives") }
                out.append("  \(service.id.value): " + clocks.joined(separator: "   ") + (run.mark(.recovered) != nil ? "  (recovered)" : ""))
            }
        }
        return out
    }
}
