/// Small text forms shared by the renderers: guards, time expressions, timers, the order states are read in.
/// Pure functions of the model, so every renderer prints the same thing the same way.
public enum PresentationText {
    /// A guard written back the way a person would type it: `tasks.confirm.done and not roles.comms.assigned`.
    public static func guardText(_ expression: GuardExpression) -> String { expression.text }

    /// `run.start + 2h`, `services.file-shares.rto - 1h`, or the bare base when the offset is zero.
    public static func timeExpressionText(_ expression: TimeExpression) -> String {
        let base: String
        switch expression.base {
        case .runStart: base = "run.start"
        case .objective(let service, let objective): base = "services.\(service.value).\(objective.rawValue)"
        }
        if expression.offset == .zero { return base }
        if expression.offset < .zero { return "\(base) - \((-expression.offset).description)" }
        return "\(base) + \(expression.offset.description)"
    }

    /// What a person reads for an armed timer (the board's clocks): what it is about, not its id. A decision's
    /// deadline names the question and the default, a service objective's timer `RTO of Payroll`, any other its
    /// message template or the event it raises.
    public static func timerLabel(id: String, in playbook: Playbook) -> String {
        for decision in playbook.states.compactMap(\.decision) where TimerKey.deadline(of: decision.id.value) == id {
            let fallback = decision.defaultOption.map { "; then the default: \($0.value)" } ?? ""
            return "deadline for the decision: \(decision.question)\(fallback)"
        }
        guard let spec = (playbook.timers + playbook.states.flatMap(\.timers)).first(where: { $0.id.value == id }) else { return id }
        if case .at(let expression) = spec.anchor, case .objective(let service, let objective) = expression.value.base {
            return "\(objective.rawValue.uppercased()) of \(playbook.service(service.value)?.title ?? service.value)"
        }
        if let message = spec.message?.value.source { return message }
        if let event = spec.raise?.value { return "raises \(event)" }
        return id
    }

    /// `after 30m, every 30m` or `at services.file-shares.rto - 1h`.
    public static func timerScheduleText(_ timer: TimerSpec) -> String {
        var text: String
        switch timer.anchor {
        case .after(let span): text = "after \(span.value.description)"
        case .at(let expression): text = "at \(timeExpressionText(expression.value))"
        }
        if let repeatEvery = timer.repeatEvery { text += ", every \(repeatEvery.value.description)" }
        return text
    }

    /// `notify execs "..."; raise escalate`.
    public static func timerActionText(_ timer: TimerSpec) -> String {
        var parts: [String] = []
        if let channel = timer.notify {
            var part = "notify \(channel.value)"
            if let message = timer.message { part += " \"\(message.value.source)\"" }
            parts.append(part)
        }
        if let event = timer.raise { parts.append("raise \(event.value)") }
        return parts.joined(separator: "; ")
    }

    /// `on confirmed when tasks.confirm.done`, `when all_tasks_done`, `on false_alarm`, or `always`.
    public static func triggerText(_ transition: Transition) -> String {
        var parts: [String] = []
        if let event = transition.on { parts.append("on \(event.value)") }
        if let condition = transition.when { parts.append("when \(guardText(condition.value))") }
        return parts.isEmpty ? "always" : parts.joined(separator: " ")
    }

    /// The states a person reads first: breadth-first from the start along transitions and decision options
    /// (in file order), then the states nothing leads to, in file order.
    public static func statesInReadingOrder(_ playbook: Playbook) -> [State] {
        var seen: Set<String> = []
        var order: [State] = []
        var queue: [String] = [playbook.start.value]
        var index = 0
        while index < queue.count {
            let id = queue[index]
            index += 1
            guard !seen.contains(id), let state = playbook.state(id) else { continue }
            seen.insert(id)
            order.append(state)
            for target in successors(of: state) where !seen.contains(target) { queue.append(target) }
        }
        for state in playbook.states where !seen.contains(state.id.value) {
            seen.insert(state.id.value)
            order.append(state)
        }
        return order
    }

    /// Targets of a state's transitions, then of its decision's options, in file order.
    static func successors(of state: State) -> [String] {
        state.transitions.map(\.to.value) + (state.decision?.options.map(\.target.value) ?? [])
    }

    /// Event names that timers raise in `state` (its own timers and the run-wide ones).
    static func timerRaisedEvents(in state: State, of playbook: Playbook) -> Set<String> {
        Set((state.timers + playbook.timers).compactMap { $0.raise?.value })
    }

    /// `detect, assess`.
    static func phasesText(_ phases: [Phase]) -> String { phases.map(\.rawValue).joined(separator: ", ") }

    /// Splits `text` into lines of at most `width` characters at spaces (a longer word gets a line of its own).
    static func wrapped(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            if current.isEmpty {
                current = String(word)
            } else if current.count + 1 + word.count <= width {
                current += " " + word
            } else {
                lines.append(current)
                current = String(word)
            }
        }
        if !current.isEmpty || lines.isEmpty { lines.append(current) }
        return lines
    }

    /// Pads `text` with spaces to `width` characters (never cuts).
    static func padded(_ text: String, to width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
