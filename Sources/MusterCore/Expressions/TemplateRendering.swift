/// Supplies the values of template variables (`run.title`, `roles.it_ops`, ...).
public protocol TemplateContext {
    /// The text for a dotted variable path, or nil when the context does not know it.
    func value(of variable: String) -> String?
}

extension Template {
    /// The message with every `{{variable}}` replaced by its value. A variable the context does not know is
    /// left as written (`{{like.this}}`), so a message is never lost; the validator reports unknown variables.
    public func render(_ context: some TemplateContext) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .text(let text): out += text
            case .variable(let name): out += context.value(of: name.value) ?? "{{\(name.value)}}"
            }
        }
        return out
    }
}

extension Dictionary: TemplateContext where Key == String, Value == String {
    public func value(of variable: String) -> String? { self[variable] }
}

/// The variables a run offers to its messages:
/// `run.id|title|mode|severity|elapsed`, `playbook.id|title|version`, `state.id|title|phase`, `roles.ROLE`
/// (holder or "unassigned"), `services.ID.title|rto|rpo|mtpd`, `decisions.ID` (option or "pending"), `now`,
/// and inside a timer's message `timer.id`, `timer.elapsed` (time since the timer's anchor).
public struct RunTemplateContext: TemplateContext, Sendable {
    public var run: Run
    public var now: Instant
    public var timer: (id: String, elapsed: TimeSpan)?

    public init(run: Run, now: Instant, timer: (id: String, elapsed: TimeSpan)? = nil) {
        self.run = run
        self.now = now
        self.timer = timer
    }

    public func value(of variable: String) -> String? {
        let parts = variable.split(separator: ".", omittingEmptySubsequences: false)
        let pb = run.compiled
        switch parts.count {
        case 1:
            return variable == "now" ? now.iso8601 : nil
        case 2:
            let name = String(parts[1])
            switch parts[0] {
            case "run":
                switch name {
                case "id": return run.runID
                case "title": return run.title
                case "mode": return run.mode.rawValue
                case "severity": return run.severity.rawValue
                case "elapsed": return (now - (run.disruptionStart ?? now)).forPeople(unit: .minutes(1))
                default: return nil
                }
            case "playbook":
                switch name {
                case "id": return pb.id
                case "title": return pb.playbook.title
                case "version": return String(pb.playbook.version)
                default: return nil
                }
            case "state":
                guard run.stateIndex >= 0 else { return nil }
                let state = pb.states[run.stateIndex]
                switch name {
                case "id": return state.id
                case "title": return state.title
                case "phase": return state.phases
                default: return nil
                }
            case "roles":
                guard pb.roleIndex[name] != nil else { return nil }
                return run.holder(of: name) ?? "unassigned"
            case "decisions":
                guard pb.decisionIndex[name] != nil else { return nil }
                return run.decision(name)?.option ?? "pending"
            case "timer":
                guard let timer else { return nil }
                switch name {
                case "id": return timer.id
                case "elapsed": return timer.elapsed.forPeople(unit: .minutes(1))
                default: return nil
                }
            default:
                return nil
            }
        case 3:
            guard parts[0] == "services", let s = pb.serviceIndex[String(parts[1])] else { return nil }
            let service = pb.playbook.services[s]
            switch parts[2] {
            case "title": return service.title ?? service.id.value
            case "rto": return service.rto?.value.description ?? "not set"
            case "rpo": return service.rpo?.value.description ?? "not set"
            case "mtpd": return service.mtpd?.value.description ?? "not set"
            default: return nil
            }
        default:
            return nil
        }
    }
}

extension Run {
    /// The context a message rendered by this run at `now` sees.
    public func templateContext(at now: Instant, timer: (id: String, elapsed: TimeSpan)? = nil) -> RunTemplateContext {
        RunTemplateContext(run: self, now: now, timer: timer)
    }
}
