/// The exercise as people read it: the live timeline (scenario time only, so that the same exercise and
/// player script print the same bytes every time), the facilitator's status board, and the evaluation.
public enum ExerciseText {
    /// One timeline line: `+00:05:00  Lee (it_ops)            task-completed          confirm "EDR alert"`,
    /// followed for an inject by its questions.
    public static func lines(_ event: RunEvent, origin: Instant, exercise: Exercise?) -> [String] {
        let who = event.role.map { "\(event.actor) (\($0))" } ?? event.actor
        var type = event.body.typeName
        switch event.body {
        case .injectDelivered: type = "INJECT"
        case .playerActionRejected: type = "REJECTED"
        default: break
        }
        var out = [trimmedRight(TimelineText.offsetText(event.at - origin) + "  " + PresentationText.padded(who, to: 26) + "  "
                                + PresentationText.padded(type, to: 22) + "  " + TimelineText.details(event, origin: origin))]
        if case .injectDelivered(let delivery) = event.body, !delivery.adHoc, let inject = exercise?.inject(delivery.inject) {
            for question in inject.questions { out.append("           ? " + question) }
        }
        return out
    }

    // MARK: Status board

    public static func status(_ exercise: ExerciseRun) -> String {
        let run = exercise.run
        let playbook = run.playbook
        let origin = exercise.origin
        var out: [String] = []
        let clock = exercise.clock
        var pace: String
        switch clock.pace {
        case .rate: pace = "running at \(clock.pace)x"
        case .manual: pace = "manual (advances with 'skip')"
        case .max: pace = "max"
        }
        if clock.isPaused { pace = "PAUSED (speed \(clock.pace))" }
        if exercise.hasEnded { pace = "ENDED" }
        out.append("clock: \(TimelineText.offsetText(exercise.now - origin))  \(TimelineText.utc(exercise.now))  \(pace); ends at \(TimelineText.offsetText(exercise.end - origin))")
        if let stateID = run.currentState, let state = playbook.state(stateID) {
            out.append("state: \(stateID) (\(state.displayTitle))" + (run.status == .closed ? ", run closed" : ""))
            if let decision = state.decision, run.decision(decision.id.value) == nil {
                let by = run.holder(of: decision.by.value) ?? "unassigned"
                out.append("decision pending: \(decision.id.value) by \(decision.by.value) (\(by)): \(decision.question) options: \(decision.options.map(\.name.value).joined(separator: ", "))")
            }
            var byRole: [(String, [String])] = []
            for task in state.tasks {
                let role = task.role.value
                let status = run.taskStatus(task.id.value)?.rawValue ?? "open"
                if let i = byRole.firstIndex(where: { $0.0 == role }) { byRole[i].1.append("\(task.id.value) \(status)") }
                else { byRole.append((role, ["\(task.id.value) \(status)"])) }
            }
            if !byRole.isEmpty {
                out.append("tasks:")
                for (role, tasks) in byRole {
                    out.append("  \(role) (\(run.holder(of: role) ?? "unassigned")): \(tasks.joined(separator: ", "))")
                }
            }
        }
        if !run.armedTimers.isEmpty {
            out.append("timers: " + run.armedTimers.map { "\($0.key.id) due \(TimelineText.offsetText($0.due - origin))" }.joined(separator: ", "))
        }
        let delivered = exercise.deliveryOrder.map { "\($0) \(TimelineText.offsetText(exercise.deliveries[$0]! - origin))" }
        out.append("injects delivered: " + (delivered.isEmpty ? "none" : delivered.joined(separator: ", ")))
        let coming = exercise.comingInjects.map { "\($0.id.value) \(TimelineText.offsetText($0.at.value))" + ($0.contingency ? " (contingency)" : "") }
        out.append("injects coming: " + (coming.isEmpty ? "none" : coming.joined(separator: ", ")))
        return out.joined(separator: "\n") + "\n"
    }

    // MARK: Evaluation

    /// Printed when the hot wash starts.
    public static let hotWashPrompt = "hot wash: record lessons, one per line ('+ text' a strength, '- text' an area for improvement); "
        + "'overrule OBJECTIVE P|S|M|U because NOTE' changes a rating, 'help' lists the rest; an empty line ends"

    public static func evaluation(_ e: ExerciseEvaluation) -> String {
        var out: [String] = []
        let origin = e.origin
        func offset(_ at: Instant) -> String { TimelineText.offsetText(at - origin) }
        out.append("EVALUATION  \(e.exerciseID): \(e.title)")
        out.append(e.ended ? "ended at \(offset(e.end))  \(TimelineText.utc(e.end))" : "in progress at \(offset(e.end)) (interim)")
        out.append("")
        out.append("injects:")
        let width = e.injects.flatMap(\.expectations).map(\.text.count).max() ?? 0
        for inject in e.injects {
            var head = "  \(inject.id)  planned \(TimelineText.offsetText(inject.at))"
            if inject.contingency { head += "  contingency" }
            if let delivered = inject.delivered { head += "  delivered \(offset(delivered))" }
            else if let reason = inject.withheld { head += "  withheld: \(reason)" }
            else { head += "  not delivered" }
            out.append(head)
            for x in inject.expectations {
                let status: String
                var detail: String
                switch x.outcome {
                case .onTime:
                    status = "met"
                    detail = "at \(offset(x.metAt!)), \(x.latency!) after delivery"
                case .late(let by):
                    status = "LATE"
                    detail = "at \(offset(x.metAt!)), \(x.latency!) after delivery, \(by) late"
                case .unmet:
                    status = "UNMET"
                    detail = "not done"
                case .pending:
                    status = "pending"
                    detail = "window still open"
                case .notDelivered:
                    status = "-"
                    detail = "inject not delivered: not counted"
                }
                if let within = x.within { detail += " (within \(within))" }
                if let reached = x.detail { detail += "; \(reached)" }
                if let objective = x.objective { detail += " [\(objective)]" }
                out.append("      " + PresentationText.padded(status, to: 7) + "  " + PresentationText.padded(x.text, to: width) + "  " + detail)
            }
        }
        out.append("")
        let t = e.thresholds
        out.append("objectives (P at \(t.performed)%, S from \(t.some)%, M from \(t.major)%, U below; a late expectation counts \(t.lateCredit)%):")
        for o in e.objectives {
            let rating = o.rating?.rawValue ?? "-"
            var line = "  \(o.id)  \(rating)  "
            if let score = o.scorePercent {
                line += "score \(score)%: \(o.onTime) on time, \(o.late) late, \(o.unmet) unmet"
                if o.pending > 0 { line += ", \(o.pending) pending" }
                line += "; \(o.coverageText)"
                if o.partiallyExercised { line += ": partially exercised, not rated" }
            } else {
                line += o.pending > 0 ? "\(o.pending) pending" : "not rated: no expectation was counted"
            }
            out.append(line)
            out.append("      \(o.text)" + (o.capability.map { " (\($0))" } ?? ""))
            if let rating = o.rating { out.append("      \(rating.rawValue): \(rating.meaning)") }
            if let overrule = o.overrule {
                out.append("      overruled by \(overrule.by) at \(offset(overrule.at)): \(overrule.rating.rawValue) (computed \(o.computed?.rawValue ?? "-")) \"\(overrule.note)\"")
            }
        }
        out.append("")
        out.append("contingency injects used: " + (e.contingencyUsed.isEmpty ? "none" : e.contingencyUsed.joined(separator: ", "))
                   + (e.contingencyWithheld.isEmpty ? "" : "; withheld: " + e.contingencyWithheld.joined(separator: ", ")))
        if !e.adHoc.isEmpty {
            out.append("ad-hoc injects: " + e.adHoc.map { "\($0.id) at \(offset($0.at)) \"\($0.message)\"" }.joined(separator: "; "))
        }
        let ratings = e.objectives.map { "\($0.id) \($0.rating?.rawValue ?? "-")" }.joined(separator: ", ")
        out.append("ratings: " + (ratings.isEmpty ? "none" : ratings))
        return out.joined(separator: "\n") + "\n"
    }

    static func trimmedRight(_ text: String) -> String {
        var text = text
        while text.last == " " { text.removeLast() }
        return text
    }
}
