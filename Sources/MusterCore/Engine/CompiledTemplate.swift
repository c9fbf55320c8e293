/// A message template with its variables resolved once per playbook, for the engine's notifications: rendering
/// reads the run's fields by index instead of splitting and matching each variable's name on every message.
/// Renders exactly what `Template.render(RunTemplateContext)` renders (a variable it does not resolve here is
/// left to `RunTemplateContext.value(of:)`).
struct CompiledTemplate: Sendable {
    enum Part: Sendable {
        case text(String)
        case runID, runTitle, runMode, runSeverity, runElapsed
        case stateID, stateTitle, statePhase
        case role(Int)
        case decision(Int)
        case timerID, timerElapsed
        case now
        /// Anything else (`playbook.*`, `services.*`, unknown names): through `RunTemplateContext`.
        case other(String)
    }

    let parts: [Part]

    init(_ template: Template, roles: NameIndex, decisions: NameIndex) {
        parts = template.parts.map { part in
            switch part {
            case .text(let text): return .text(text)
            case .variable(let located): return CompiledTemplate.resolve(located.value, roles: roles, decisions: decisions)
            }
        }
    }

    static func resolve(_ variable: String, roles: NameIndex, decisions: NameIndex) -> Part {
        if variable == "now" { return .now }
        let pieces = variable.split(separator: ".", omittingEmptySubsequences: false)
        guard pieces.count == 2 else { return .other(variable) }
        let name = String(pieces[1])
        switch (pieces[0], name) {
        case ("run", "id"): return .runID
        case ("run", "title"): return .runTitle
        case ("run", "mode"): return .runMode
        case ("run", "severity"): return .runSeverity
        case ("run", "elapsed"): return .runElapsed
        case ("state", "id"): return .stateID
        case ("state", "title"): return .stateTitle
        case ("state", "phase"): return .statePhase
        case ("timer", "id"): return .timerID
        case ("timer", "elapsed"): return .timerElapsed
        case ("roles", _): return roles[name].map(Part.role) ?? .other(variable)
        case ("decisions", _): return decisions[name].map(Part.decision) ?? .other(variable)
        default: return .other(variable)
        }
    }
}

extension Run {
    /// `template.render(RunTemplateContext(run: self, now: now, timer: timer))`, from the compiled form.
    func render(_ template: CompiledTemplate, now: Instant, timer: (id: String, elapsed: TimeSpan)?) -> String {
        var out = ""
        for part in template.parts {
            switch part {
            case .text(let text): out += text
            case .runID: out += runID
            case .runTitle: out += title
            case .runMode: out += mode.rawValue
            case .runSeverity: out += severity.rawValue
            case .runElapsed: out += (now - (disruptionStart ?? now)).forPeople(unit: .minutes(1))
            case .stateID, .stateTitle, .statePhase:
                guard stateIndex >= 0 else {
                    out += part.unresolvedName
                    continue
                }
                let state = compiled.states[stateIndex]
                switch part {
                case .stateID: out += state.id
                case .stateTitle: out += state.title
                default: out += state.phases
                }
            case .role(let r): out += holderByRole[r] ?? "unassigned"
            case .decision(let d): out += decisionByIndex[d]?.option ?? "pending"
            case .timerID, .timerElapsed:
                guard let timer else {
                    out += part.unresolvedName
                    continue
                }
                out += part.isTimerID ? timer.id : timer.elapsed.forPeople(unit: .minutes(1))
            case .now: out += now.iso8601
            case .other(let variable):
                out += RunTemplateContext(run: self, now: now, timer: timer).value(of: variable) ?? "{{\(variable)}}"
            }
        }
        return out
    }
}

extension CompiledTemplate.Part {
    /// How an unresolved variable stays in the text.
    var unresolvedName: String {
        switch self {
        case .stateID: "{{state.id}}"
        case .stateTitle: "{{state.title}}"
        case .statePhase: "{{state.phase}}"
        case .timerID: "{{timer.id}}"
        case .timerElapsed: "{{timer.elapsed}}"
        default: ""
        }
    }

    var isTimerID: Bool {
        if case .timerID = self { return true }
        return false
    }
}
