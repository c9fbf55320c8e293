/// A simulation's timeline for people, one line per event:
///
///     +00:02:00  2026-03-06 17:42:00Z  Dana (incident_commander)  role-assigned        it_ops: Lee
///     +00:10:00  2026-03-06 17:50:00Z  Lee                        REJECTED             done isolate: ...
///
/// followed by a summary: final state, marks with times, decisions, lessons and the verdict.
public enum TimelineText {
    public static func render(_ result: SimulationResult) -> String {
        var lines = timeline(result)
        lines.append("")
        lines.append(contentsOf: summary(result))
        return lines.joined(separator: "\n") + "\n"
    }

    /// The event lines alone, columns aligned.
    public static func timeline(_ result: SimulationResult) -> [String] {
        let rows: [(offset: String, time: String, who: String, type: String, details: String)] = result.entries.map { entry in
            switch entry {
            case .event(let event):
                return (offsetText(event.at - result.origin), utc(event.at), who(event.actor, event.role),
                        event.body.typeName, details(event, origin: result.origin))
            case .rejection(let rejection):
                return (offsetText(rejection.at - result.origin), utc(rejection.at), rejection.actor,
                        rejection.expected ? "REJECTED (expected)" : "REJECTED",
                        "\(rejection.step): \(oneLine(rejection.reason))")
            }
        }
        let offsetWidth = rows.map(\.offset.count).max() ?? 0
        let whoWidth = rows.map(\.who.count).max() ?? 0
        let typeWidth = rows.map(\.type.count).max() ?? 0
        return rows.map { row in
            let line = PresentationText.padded(row.offset, to: offsetWidth) + "  " + row.time + "  "
                + PresentationText.padded(row.who, to: whoWidth) + "  " + PresentationText.padded(row.type, to: typeWidth)
                + "  " + row.details
            return trimmedRight(line)
        }
    }

    public static func summary(_ result: SimulationResult) -> [String] {
        var out: [String] = []
        var final = "final state: \(result.finalState ?? "none")"
        var notes: [String] = []
        if result.finalStateIsTerminal { notes.append("terminal") }
        if result.closed { notes.append("run closed") }
        if !notes.isEmpty { final += " (" + notes.joined(separator: ", ") + ")" }
        out.append(final)
        out.append("clock stopped at: +\(offsetBody(result.end - result.origin))  \(utc(result.end))")
        if !result.marks.isEmpty {
            out.append("marks:")
            let width = result.marks.map(\.mark.rawValue.count).max() ?? 0
            for mark in result.marks {
                out.append("  " + PresentationText.padded(mark.mark.rawValue, to: width) + "  "
                           + offsetText(mark.at - result.origin) + "  " + utc(mark.at))
            }
        }
        if !result.decisions.isEmpty {
            out.append("decisions:")
            for decision in result.decisions {
                var line = "  \(decision.decision): \(decision.option)"
                line += decision.byDefault ? " (by default)" : " by \(decision.actor)"
                line += " at \(offsetText(decision.at - result.origin))"
                if !decision.rationale.isEmpty { line += " \(quoted(decision.rationale))" }
                out.append(line)
            }
        }
        if !result.lessons.isEmpty {
            out.append("lessons:")
            for lesson in result.lessons {
                var line = "  \(lesson.lesson.kind.rawValue): \(quoted(lesson.lesson.text))"
                if let cause = lesson.lesson.rootCause { line += " (root cause: \(cause))" }
                line += " by \(lesson.actor) at \(offsetText(lesson.at - result.origin))"
                out.append(line)
            }
        }
        if result.succeeded {
            out.append("result: ok")
        } else {
            out.append("result: FAILED")
            for failure in result.failures { out.append("  - \(failure)") }
        }
        return out
    }

    /// The details column of one event.
    public static func details(_ event: RunEvent, origin: Instant) -> String {
        switch event.body {
        case .runStarted(let started):
            var text = "\(quoted(started.title)) \(started.mode.rawValue) \(started.severity.rawValue), "
                + "playbook \(started.playbookID) v\(started.playbookVersion), run \(started.runID)"
            if started.disruptionStart != event.at { text += ", disruption since \(utc(started.disruptionStart))" }
            return text
        case .stateEntered(let state, let from, let cause):
            var text = state
            if let from { text += " from \(from)" }
            switch cause {
            case .start: text += " (start)"
            case .guardHeld: text += " (guard held)"
            case .event(let name): text += " (on \(name))"
            case .decision(let id, let option): text += " (decision \(id): \(option))"
            }
            return text
        case .markSet(let mark): return mark.rawValue
        case .roleAssigned(let role, let person): return "\(role): \(person)"
        case .roleRelieved(let role, let person, let handover):
            return "\(role): \(person) relieved" + (handover.map { ", handover \(quoted($0))" } ?? "")
        case .taskCompleted(let task, let note): return task + (note.map { " \(quoted($0))" } ?? "")
        case .taskSkipped(let task, let reason): return task + (reason.map { " \(quoted($0))" } ?? "")
        case .eventRaised(let name): return name
        case .decisionMade(let decision, let option, let rationale, let byDefault):
            var text = "\(decision): \(option)"
            if byDefault { text += " (default)" }
            if !rationale.isEmpty { text += " \(quoted(rationale))" }
            return text
        case .noteAdded(let text): return quoted(text)
        case .lessonRecorded(let lesson):
            return "\(lesson.kind.rawValue): \(quoted(lesson.text))" + (lesson.rootCause.map { " (root cause: \($0))" } ?? "")
        case .timerArmed(let key, let due, let repeatEvery):
            return "\(key) due \(offsetText(due - origin))" + (repeatEvery.map { ", every \($0.description)" } ?? "")
        case .timerFired(let key, _, let lateBy):
            return "\(key)" + (lateBy > .zero ? " (late by \(lateBy.forPeople()))" : "")
        case .timerCancelled(let key): return "\(key)"
        case .notificationQueued(let notification):
            return "\(notification.id) to \(notification.channel): \(quoted(notification.message))"
        case .runClosed(let reason): return reason.map(quoted) ?? ""
        case .exerciseStarted(let started):
            return "exercise \(started.exercise) (\(started.type)) \(quoted(started.title)), speed \(started.speed)"
                + (started.players.map { ", players \($0)" } ?? "")
        case .injectDelivered(let inject):
            var text = inject.adHoc ? "\(inject.inject) (ad hoc)" : inject.inject
            if inject.contingency { text += " (contingency)" }
            text += " " + (inject.from.map { "from \($0) " } ?? "")
            if !inject.to.isEmpty { text += "to \(inject.to.joined(separator: ", ")) " }
            return text + "(\(inject.method)): \(quoted(inject.message))"
        case .injectWithheld(let inject, let reason): return "\(inject): \(oneLine(reason))"
        case .exerciseClock(let change):
            switch change {
            case .started(let speed): return "started, speed \(speed)"
            case .paused: return "paused"
            case .resumed: return "resumed"
            case .speedChanged(let speed): return "speed \(speed)"
            case .skipped(let span): return "skipped \(span.description)"
            case .ended(let reason): return "ended: \(oneLine(reason))"
            case .suspended(let reason): return "suspended: \(oneLine(reason))"
            }
        case .playerActionRejected(let action, let reason): return "\(action): \(oneLine(reason))"
        case .ratingOverruled(let objective, let rating, let note): return "\(objective): \(rating) \(quoted(note))"
        case .chatChannelBound(let binding): return "\(binding.platform) \(binding.channel)"
        case .chatMessagePosted(let posted): return "\(posted.binding.platform) \(posted.binding.channel) message \(posted.message)"
        case .notificationSent(let id, let channel, let status, let latencyMs, let attempt):
            return "\(id) to \(channel)" + (status.map { ": \($0)" } ?? "") + ", \(latencyMs) ms, attempt \(attempt)"
        case .notificationFailed(let id, let channel, let reason, let attempt, let nextAttempt):
            return "\(id) to \(channel), attempt \(attempt): \(quoted(reason))" + (nextAttempt.map { ", next attempt \(utc($0))" } ?? "")
        case .notificationDeadLettered(let id, let channel, let reason, let attempts):
            return "\(id) to \(channel) after \(attempts) \(attempts == 1 ? "attempt" : "attempts"): \(quoted(reason))"
        case .notificationSkipped(let id, let channel, let reason):
            return "\(id) to \(channel): \(quoted(reason))"
        case .notificationRequeued(let id, let channel, let previousStatus, let attempts):
            return "\(id) to \(channel) (was \(previousStatus) after \(attempts) \(attempts == 1 ? "attempt" : "attempts"))"
        case .acknowledgementRequested, .acknowledged, .escalated, .escalationExhausted, .deputyNamed, .rollCallRequested,
             .rollCallStarted, .answerReceived, .personAccounted, .rollCallProgress, .rollCallOverdue:
            return hearingBack(event.body) ?? ""
        }
    }

    /// One line for an event about acknowledgements and roll calls (nil for other events). Names only: contact
    /// details never reach the timeline.
    public static func hearingBack(_ body: RunEvent.Body) -> String? {
        func tally(_ t: RollCallTally) -> String {
            var parts = t.answers.map { "\($0.option) \($0.people)" }
            if t.marked > 0 { parts.append("marked \(t.marked)") }
            return "\(t.rollCall): \(t.accounted) of \(t.people) accounted for" + (parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")")
        }
        switch body {
        case .acknowledgementRequested(let r):
            return "\(r.ack): \(r.person ?? "nobody holds \(r.role)") (\(r.role)) paged by \(r.notification), acknowledge within \(r.within)"
                + (r.escalate.isEmpty ? "" : ", then \(r.escalate.joined(separator: ", "))")
        case .acknowledged(let ack, let person, let latency):
            return "\(ack) by \(person) after \(latency.forPeople())"
        case .escalated(let ack, let step, let to, let person, let notification):
            guard let notification else { return "\(ack): step \(step) (\(to)) passed over: no deputy known" }
            return "\(ack): step \(step) to \(person ?? "nobody") (\(to)) paged by \(notification)"
        case .escalationExhausted(let ack, let steps):
            return "\(ack): nobody acknowledged after \(steps) escalation \(steps == 1 ? "step" : "steps")"
        case .deputyNamed(let person, let deputy):
            return deputy.map { "\($0) stands in for \(person)" } ?? "\(person) has no deputy"
        case .rollCallRequested(let r):
            let who = r.groups.map { "group \($0)" } + (r.people.isEmpty ? [] : ["\(r.people.count) named"])
            return "\(r.rollCall) asked of \(who.isEmpty ? "nobody" : who.joined(separator: ", "))"
        case .rollCallStarted(let rollCall, let people, _):
            return "\(rollCall) with \(people.count) \(people.count == 1 ? "person" : "people")"
        case .answerReceived(let rollCall, let person, let option, let channel, let latency):
            return "\(rollCall): \(person) answered \(option) by \(channel) after \(latency.forPeople())"
        case .personAccounted(let rollCall, let person, let why):
            return "\(rollCall): \(person) accounted for: \(quoted(why))"
        case .rollCallProgress(let t):
            return tally(t)
        case .rollCallOverdue(let t):
            return tally(t) + ", \(t.unaccounted) not"
        default:
            return nil
        }
    }

    /// `+01:30:00`, or `-00:20:00` before the origin.
    public static func offsetText(_ span: TimeSpan) -> String {
        span < .zero ? "-" + offsetBody(-span) : "+" + offsetBody(span)
    }

    private static func offsetBody(_ span: TimeSpan) -> String { span.clock }

    /// `2026-03-06 17:42:00Z`, with milliseconds only when there are some.
    public static func utc(_ instant: Instant) -> String {
        var text = instant.iso8601
        if text.hasSuffix(".000Z") { text = String(text.dropLast(5)) + "Z" }
        return text.replacingFirst("T", with: " ")
    }

    static func who(_ actor: String, _ role: String?) -> String {
        role.map { "\(actor) (\($0))" } ?? actor
    }

    /// Double-quoted on one line: quotes and backslashes escaped, line breaks as `\n`.
    static func quoted(_ text: String) -> String { "\"" + oneLine(text, escapeQuotes: true) + "\"" }

    static func oneLine(_ text: String, escapeQuotes: Bool = false) -> String {
        var out = ""
        for ch in text {
            switch ch {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\"" where escapeQuotes: out += "\\\""
            case "\\" where escapeQuotes: out += "\\\\"
            default: out.append(ch)
            }
        }
        return out
    }

    private static func trimmedRight(_ text: String) -> String {
        var text = text
        while text.last == " " { text.removeLast() }
        return text
    }
}

extension String {
    func replacingFirst(_ character: Character, with replacement: String) -> String {
        guard let found = firstIndex(of: character) else { return self }
        return String(self[..<found]) + replacement + String(self[self.index(after: found)...])
    }
}
