/// The readable summary `muster show` prints: what the playbook protects, who acts, and its states in the
/// order a responder meets them. Channels show their type only: URLs, addresses and secrets stay in the file.
public enum PlaybookSummary {
    public static func render(_ playbook: Playbook) -> String {
        var out: [String] = []
        out.append(playbook.title)
        out.append("id: \(playbook.id.value)  version: \(playbook.version)  severity: \(playbook.severity.rawValue)")
        if let summary = playbook.summary, !summary.isEmpty { out.append(summary) }

        if !playbook.services.isEmpty {
            out.append("")
            out.append("Services")
            for service in playbook.services {
                var head = "  \(service.id.value)"
                if let title = service.title { head += "  \(title)" }
                out.append(head)
                let objectives = [("RTO", service.rto), ("RPO", service.rpo), ("MTPD", service.mtpd)]
                    .compactMap { name, value in value.map { "\(name) \($0.value.description)" } }
                if !objectives.isEmpty { out.append("    " + objectives.joined(separator: "  ")) }
                if let capacity = service.minimumCapacity { out.append("    minimum capacity: \(capacity)") }
                let dependencies = DependencyElement.allCases.compactMap { element -> String? in
                    guard let names = service.dependsOn[element], !names.isEmpty else { return nil }
                    return "\(element.rawValue): \(names.joined(separator: ", "))"
                }
                if !dependencies.isEmpty { out.append("    depends on: " + dependencies.joined(separator: "; ")) }
            }
        }

        if !playbook.roles.isEmpty {
            out.append("")
            out.append("Roles")
            let width = playbook.roles.map(\.id.value.count).max() ?? 0
            for role in playbook.roles {
                var line = "  " + PresentationText.padded(role.id.value, to: width) + "  " + role.title
                if role.required { line += " (required)" }
                out.append(line)
                if let responsibilities = role.responsibilities, !responsibilities.isEmpty {
                    out.append("  " + String(repeating: " ", count: width) + "  " + responsibilities)
                }
            }
        }

        if !playbook.channels.isEmpty {
            out.append("")
            out.append("Channels")
            let width = playbook.channels.map(\.id.value.count).max() ?? 0
            for channel in playbook.channels {
                var line = "  " + PresentationText.padded(channel.id.value, to: width) + "  " + channel.type.value.rawValue
                var notes: [String] = []
                if let exercise = channel.exerciseOverride { notes.append("exercise: \(exercise.value)") }
                if channel.liveOnly { notes.append("live only") }
                if !notes.isEmpty { line += " (" + notes.joined(separator: ", ") + ")" }
                out.append(line)
            }
        }

        if !playbook.timers.isEmpty {
            out.append("")
            out.append("Timers (run-wide)")
            let width = playbook.timers.map(\.id.value.count).max() ?? 0
            for timer in playbook.timers { out.append("  " + timerLine(timer, idWidth: width)) }
        }

        out.append("")
        out.append("States (start: \(playbook.start.value))")
        for (index, state) in PresentationText.statesInReadingOrder(playbook).enumerated() {
            out.append("")
            out.append(contentsOf: stateLines(state, number: index + 1, playbook: playbook))
        }
        return out.joined(separator: "\n") + "\n"
    }

    private static func timerLine(_ timer: TimerSpec, idWidth: Int) -> String {
        "\(PresentationText.padded(timer.id.value, to: idWidth))  \(PresentationText.timerScheduleText(timer))  \(PresentationText.timerActionText(timer))"
    }

    private static func stateLines(_ state: State, number: Int, playbook: Playbook) -> [String] {
        var out: [String] = []
        var head = "  \(number). \(state.id.value)"
        if let title = state.title { head += "  \(title)" }
        head += "  [\(PresentationText.phasesText(state.phases))]"
        var flags: [String] = []
        if state.id.value == playbook.start.value { flags.append("start") }
        if state.terminal { flags.append("terminal") }
        if !flags.isEmpty { head += "  (" + flags.joined(separator: ", ") + ")" }
        out.append(head)
        let pad = "     "
        if let owner = state.owner { out.append(pad + "owner: \(owner.value)") }
        if !state.marks.isEmpty { out.append(pad + "marks: " + state.marks.map(\.rawValue).joined(separator: ", ")) }
        if !state.onEnter.isEmpty {
            out.append(pad + "on enter:")
            for action in state.onEnter {
                switch action {
                case .notify(let notify): out.append(pad + "  notify \(notify.channel.value) \"\(notify.message.value.source)\"")
                case .raise(let event): out.append(pad + "  raise \(event.value)")
                case .rollCall(let rollCall):
                    out.append(pad + "  roll call \(rollCall.id.value) \"\(rollCall.ask.value.source)\" (\(rollCall.options.map(\.id.value).joined(separator: ", ")))")
                }
            }
        }
        if !state.tasks.isEmpty {
            out.append(pad + "tasks:")
            var roleOrder: [String] = []
            for task in state.tasks where !roleOrder.contains(task.role.value) { roleOrder.append(task.role.value) }
            for role in roleOrder {
                out.append(pad + "  \(role):")
                let tasks = state.tasks.filter { $0.role.value == role }
                let width = tasks.map(\.id.value.count).max() ?? 0
                for task in tasks {
                    var line = pad + "    - " + PresentationText.padded(task.id.value, to: width) + "  " + task.title
                    if task.evidenceRequired { line += " (evidence required)" }
                    out.append(line)
                }
            }
        }
        if let decision = state.decision {
            out.append(pad + "decision \(decision.id.value): \(decision.question)")
            var terms = ["by \(decision.by.value)"]
            if let deadline = decision.deadline { terms.append("deadline \(deadline.value.description)") }
            if let option = decision.defaultOption { terms.append("default \(option.value)") }
            out.append(pad + "  " + terms.joined(separator: ", "))
            for option in decision.options {
                out.append(pad + "  \(option.name.value) -> \(option.target.value)")
            }
        }
        if !state.timers.isEmpty {
            out.append(pad + "timers:")
            let width = state.timers.map(\.id.value.count).max() ?? 0
            for timer in state.timers { out.append(pad + "  " + timerLine(timer, idWidth: width)) }
        }
        if !state.transitions.isEmpty {
            out.append(pad + "transitions:")
            for transition in state.transitions {
                out.append(pad + "  \(PresentationText.triggerText(transition)) -> \(transition.to.value)")
            }
        }
        return out
    }
}
