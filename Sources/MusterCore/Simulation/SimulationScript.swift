/// A scripted run: timed commands for the engine, driven by a virtual clock (`muster simulate`).
///
///     muster: 1
///     playbook: ransomware-file-servers
///     start: { at: 2026-03-06T17:40:00Z, as: Dana, title: Ransomware, mode: live, severity: P1, disruption_started: 20m }
///     steps:
///       - { at: 2m, as: Dana, assign: it_ops, to: Lee }
///       - { at: 5m, as: Lee, done: confirm, note: "EDR shows mass renames" }
///     until: 10h
///     expect: { state: closed }
public struct SimulationScript: Sendable, Hashable {
    public var playbookID: Located<String>
    /// The virtual clock's origin: the instant of the start command.
    public var startAt: Instant
    /// Who starts the run (and becomes incident commander).
    public var startedBy: String
    /// The run's title (`{{run.title}}`).
    public var title: String
    public var mode: RunMode
    public var severity: Severity?
    /// How long before the start the disruption began.
    public var disruptionStarted: TimeSpan?
    public var steps: [Step]
    /// How long after the start the clock runs (so that timers fire); the last step's offset when nil.
    public var until: Located<TimeSpan>?
    public var expect: Expectation
    public var location: SourceLocation

    public static let defaultStart = Instant(iso8601: "2026-01-01T09:00:00Z")!

    public init(
        playbookID: Located<String>, startAt: Instant = SimulationScript.defaultStart, startedBy: String,
        title: String, mode: RunMode = .live, severity: Severity? = nil, disruptionStarted: TimeSpan? = nil,
        steps: [Step] = [], until: Located<TimeSpan>? = nil, expect: Expectation = Expectation(), location: SourceLocation
    ) {
        self.playbookID = playbookID
        self.startAt = startAt
        self.startedBy = startedBy
        self.title = title
        self.mode = mode
        self.severity = severity
        self.disruptionStarted = disruptionStarted
        self.steps = steps
        self.until = until
        self.expect = expect
        self.location = location
    }

    public struct Step: Sendable, Hashable {
        /// Offset from the start.
        public var at: TimeSpan
        public var actor: String
        public var action: Command.Action
        /// `expect: rejected`: the engine must refuse this step.
        public var expectRejected: Bool
        public var location: SourceLocation

        public init(at: TimeSpan, actor: String, action: Command.Action, expectRejected: Bool = false, location: SourceLocation) {
            self.at = at
            self.actor = actor
            self.action = action
            self.expectRejected = expectRejected
            self.location = location
        }

        public var command: Command { Command(actor: actor, action) }
    }

    public struct Expectation: Sendable, Hashable {
        /// The state the run must end in.
        public var state: Located<String>?
        public init(state: Located<String>? = nil) { self.state = state }
    }

    /// Findings that need the playbook: the script names another playbook, or expects a state it lacks.
    public func check(against playbook: Playbook) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        if playbookID.value != playbook.id.value {
            diagnostics.append(.error(
                "script-playbook",
                "script is for playbook '\(playbookID.value)', not '\(playbook.id.value)'",
                at: playbookID.location))
        }
        if let state = expect.state, playbook.state(state.value) == nil {
            diagnostics.append(.error(
                "unknown-state",
                "expected state '\(state.value)' is not a state of '\(playbook.id.value)'"
                    + Suggestion.hint(for: state.value, in: playbook.states.map(\.id.value)),
                at: state.location))
        }
        return diagnostics
    }
}

// MARK: Decoding

extension SimulationScript {
    static let topKeys = ["muster", "playbook", "start", "steps", "until", "expect"]
    static let startKeys = ["at", "as", "title", "mode", "severity", "disruption_started"]
    static let expectKeys = ["state"]
    /// Keys that name what a step does; exactly one per step (`note` alone is an action too).
    static let actionKeys = ["assign", "relieve", "done", "skip", "raise", "decide", "lesson", "close", "ack"]
    static let commonStepKeys = ["at", "as", "expect"]
    static let actionModifiers: [String: [String]] = [
        "assign": ["to"], "relieve": ["handover"], "done": ["note"], "skip": ["reason"], "raise": [],
        "decide": ["option", "why"], "lesson": ["kind", "root_cause"], "close": [], "note": [], "ack": [],
    ]
    static var allStepKeys: [String] {
        commonStepKeys + actionKeys + ["note", "to", "handover", "reason", "option", "why", "kind", "root_cause"]
    }

    /// Decodes a script from its YAML tree; nil when any error was found. Diagnostics are in file order.
    public static func decode(_ node: SourceNode) -> (script: SimulationScript?, diagnostics: [Diagnostic]) {
        var reader = Reader()
        let script = reader.script(node)
        let diagnostics = reader.diagnostics.sortedByLocation()
        return (diagnostics.hasErrors ? nil : script, diagnostics)
    }

    /// Internal (not private) so that exercise player scripts decode their steps with the same rules.
    struct Reader {
        var diagnostics: [Diagnostic] = []

        mutating func error(_ code: String, _ message: String, at location: SourceLocation) {
            diagnostics.append(.error(code, message, at: location))
        }

        mutating func mapping(_ node: SourceNode, what: String) -> SourceNode.Mapping? {
            if case .mapping(let m) = node { return m }
            error("wrong-type", "\(what) must be a mapping, found \(node.kindDescription)", at: node.location)
            return nil
        }

        mutating func checkKeys(_ mapping: SourceNode.Mapping, allowed: [String], in what: String) {
            for entry in mapping.entries where !allowed.contains(entry.key.text) {
                error("unknown-key", "unknown key '\(entry.key.text)' in \(what)" + Suggestion.hint(for: entry.key.text, in: allowed),
                      at: entry.key.location)
            }
        }

        mutating func text(_ node: SourceNode, key: String) -> Located<String>? {
            guard case .scalar(let s) = node, !s.isNull else {
                error("wrong-type", "'\(key)' must be text, found \(node.kindDescription)", at: node.location)
                return nil
            }
            return Located(s.text, at: s.location)
        }

        mutating func required(_ mapping: SourceNode.Mapping, _ key: String, in what: String) -> SourceNode? {
            if let value = mapping[key] { return value }
            error("missing-key", "\(what) is missing required key '\(key)'", at: mapping.location)
            return nil
        }

        mutating func duration(_ node: SourceNode, key: String) -> Located<TimeSpan>? {
            guard let text = text(node, key: key) else { return nil }
            guard let span = TimeSpan(parsing: text.value) else {
                error("bad-duration", "'\(key)' must be a duration such as 30s, 15m, 4h, 2d or 1h30m, found '\(text.value)'",
                      at: text.location)
                return nil
            }
            return Located(span, at: text.location)
        }

        mutating func oneOf<T: RawRepresentable & CaseIterable>(_ node: SourceNode, key: String, _ type: T.Type) -> T?
        where T.RawValue == String {
            guard let text = text(node, key: key) else { return nil }
            if let value = T(rawValue: text.value) { return value }
            let names = T.allCases.map(\.rawValue)
            error("bad-value", "'\(key)' must be one of \(names.joined(separator: ", ")), found '\(text.value)'"
                    + Suggestion.hint(for: text.value, in: names), at: text.location)
            return nil
        }

        mutating func script(_ node: SourceNode) -> SimulationScript? {
            guard let top = mapping(node, what: "a simulation script") else { return nil }
            checkKeys(top, allowed: SimulationScript.topKeys, in: "the script")
            if let version = required(top, "muster", in: "the script"), let text = text(version, key: "muster"),
               text.value != "1" {
                error("format-version", "unsupported script format 'muster: \(text.value)' (this muster reads format 1)",
                      at: text.location)
            }
            let playbook = required(top, "playbook", in: "the script").flatMap { text($0, key: "playbook") }

            var startAt = SimulationScript.defaultStart
            var startedBy: String?
            var title: String?
            var mode = RunMode.live
            var severity: Severity?
            var disruption: TimeSpan?
            if let startNode = required(top, "start", in: "the script"), let start = mapping(startNode, what: "'start'") {
                checkKeys(start, allowed: SimulationScript.startKeys, in: "'start'")
                if let at = start["at"], let text = text(at, key: "at") {
                    if let instant = Instant(iso8601: text.value) {
                        startAt = instant
                    } else {
                        error("bad-time", "'at' must be a UTC time such as 2026-03-06T17:40:00Z, found '\(text.value)'",
                              at: text.location)
                    }
                }
                startedBy = required(start, "as", in: "'start'").flatMap { text($0, key: "as") }?.value
                title = required(start, "title", in: "'start'").flatMap { text($0, key: "title") }?.value
                if let node = start["mode"], let value = oneOf(node, key: "mode", RunMode.self) { mode = value }
                severity = start["severity"].flatMap { oneOf($0, key: "severity", Severity.self) }
                if let node = start["disruption_started"], let span = duration(node, key: "disruption_started") {
                    if span.value < .zero {
                        error("bad-duration", "'disruption_started' must not be negative", at: span.location)
                    }
                    disruption = span.value
                }
            }

            var steps: [Step] = []
            if let stepsNode = top["steps"] {
                if case .sequence(let items, _) = stepsNode {
                    var previous: Step?
                    for item in items {
                        guard let step = self.step(item) else { continue }
                        if let previous, step.at < previous.at {
                            error("step-order",
                                  "steps must be in time order: this step at \(step.at.description) comes after a step at \(previous.at.description) (line \(previous.location.line))",
                                  at: step.location)
                        }
                        previous = step
                        steps.append(step)
                    }
                } else if !(stepsNode.isNullScalar) {
                    error("wrong-type", "'steps' must be a list, found \(stepsNode.kindDescription)", at: stepsNode.location)
                }
            }

            var until: Located<TimeSpan>?
            if let node = top["until"], let span = duration(node, key: "until") {
                if let last = steps.last, span.value < last.at {
                    error("bad-duration", "'until' (\(span.value.description)) is before the last step (\(last.at.description))",
                          at: span.location)
                }
                until = span
            }

            var expect = Expectation()
            if let node = top["expect"], let m = mapping(node, what: "'expect'") {
                checkKeys(m, allowed: SimulationScript.expectKeys, in: "'expect'")
                expect.state = m["state"].flatMap { text($0, key: "state") }
            }

            guard let playbook, let startedBy, let title else { return nil }
            return SimulationScript(
                playbookID: playbook, startAt: startAt, startedBy: startedBy, title: title, mode: mode,
                severity: severity, disruptionStarted: disruption, steps: steps, until: until, expect: expect,
                location: top.location)
        }

        mutating func step(_ node: SourceNode) -> Step? {
            guard let m = mapping(node, what: "a step") else { return nil }
            let before = diagnostics.count
            let unknownKeys = m.entries.filter { !SimulationScript.allStepKeys.contains($0.key.text) }
            for entry in unknownKeys {
                error("unknown-key", "unknown key '\(entry.key.text)' in step" + Suggestion.hint(for: entry.key.text, in: SimulationScript.allStepKeys),
                      at: entry.key.location)
            }
            let at = required(m, "at", in: "step").flatMap { duration($0, key: "at") }
            if let at, at.value < .zero { error("bad-duration", "'at' must not be negative", at: at.location) }
            let actor = required(m, "as", in: "step").flatMap { text($0, key: "as") }
            var expectRejected = false
            if let node = m["expect"], let text = text(node, key: "expect") {
                switch text.value {
                case "rejected": expectRejected = true
                case "accepted": expectRejected = false
                default:
                    error("bad-value", "'expect' in a step must be 'rejected' or 'accepted', found '\(text.value)'"
                            + Suggestion.hint(for: text.value, in: ["rejected", "accepted"]), at: text.location)
                }
            }

            let actions = m.entries.filter { SimulationScript.actionKeys.contains($0.key.text) }
            let actionEntry: SourceNode.Mapping.Entry
            if actions.count > 1 {
                error("step-action",
                      "a step does exactly one thing, found " + actions.map { "'\($0.key.text)'" }.joined(separator: " and "),
                      at: actions[1].key.location)
                return nil
            } else if let only = actions.first {
                actionEntry = only
            } else if let note = m.entry("note") {
                actionEntry = note
            } else {
                // A misspelt action key was reported above; "does nothing" would only repeat it.
                if !unknownKeys.isEmpty { return nil }
                error("step-action",
                      "step does nothing: add one of " + (SimulationScript.actionKeys + ["note"]).map { "'\($0)'" }.joined(separator: ", "),
                      at: m.location)
                return nil
            }
            let name = actionEntry.key.text
            let modifiers = SimulationScript.actionModifiers[name] ?? []
            for entry in m.entries {
                let key = entry.key.text
                guard !SimulationScript.commonStepKeys.contains(key), key != name, !modifiers.contains(key),
                      SimulationScript.allStepKeys.contains(key), !SimulationScript.actionKeys.contains(key) else { continue }
                error("unknown-key", "'\(key)' does not apply to a '\(name)' step", at: entry.key.location)
            }

            let value = actionEntry.value
            var action: Command.Action?
            switch name {
            case "assign":
                if let role = text(value, key: name), let person = required(m, "to", in: "an 'assign' step").flatMap({ text($0, key: "to") }) {
                    action = .assign(role: role.value, person: person.value)
                }
            case "relieve":
                if let role = text(value, key: name) {
                    action = .relieve(role: role.value, handover: m["handover"].flatMap { text($0, key: "handover") }?.value)
                }
            case "done":
                if let task = text(value, key: name) {
                    action = .completeTask(task.value, note: m["note"].flatMap { text($0, key: "note") }?.value)
                }
            case "skip":
                if let task = text(value, key: name) {
                    action = .skipTask(task.value, reason: m["reason"].flatMap { text($0, key: "reason") }?.value)
                }
            case "raise":
                if let event = text(value, key: name) { action = .raise(event.value) }
            case "ack":
                if let ack = text(value, key: name) { action = .acknowledge(ack.value) }
            case "decide":
                if let decision = text(value, key: name),
                   let option = required(m, "option", in: "a 'decide' step").flatMap({ text($0, key: "option") }) {
                    // An auditor asks why: the rationale is part of the decision record.
                    if let why = required(m, "why", in: "a 'decide' step").flatMap({ text($0, key: "why") }) {
                        action = .decide(decision: decision.value, option: option.value, rationale: why.value)
                    }
                }
            case "lesson":
                if let statement = text(value, key: name) {
                    var kind = LessonKind.improvement
                    if let node = m["kind"], let k = oneOf(node, key: "kind", LessonKind.self) { kind = k }
                    let rootCause = m["root_cause"].flatMap { text($0, key: "root_cause") }?.value
                    action = .lesson(Lesson(text: statement.value, kind: kind, rootCause: rootCause))
                }
            case "close":
                if value.isNullScalar {
                    action = .close(reason: nil)
                } else if let reason = text(value, key: name) {
                    action = .close(reason: reason.value)
                }
            case "note":
                if let note = text(value, key: name) { action = .note(note.value) }
            default:
                break
            }
            guard diagnostics.count == before, let at, let actor, let action else { return nil }
            return Step(at: at.value, actor: actor.value, action: action, expectRejected: expectRejected, location: m.location)
        }
    }
}

extension SourceNode {
    var isNullScalar: Bool { if case .scalar(let s) = self { s.isNull } else { false } }
}

extension Command.Action {
    /// The step as a script would write it: `done isolate`, `decide declare-major: declare`.
    public var scriptText: String {
        switch self {
        case .start(let start): "start \"\(start.title)\""
        case .assign(let role, let person): "assign \(role) to \(person)"
        case .relieve(let role, _): "relieve \(role)"
        case .completeTask(let task, _): "done \(task)"
        case .skipTask(let task, _): "skip \(task)"
        case .raise(let event): "raise \(event)"
        case .decide(let decision, let option, _): "decide \(decision): \(option)"
        case .note: "note"
        case .lesson: "lesson"
        case .fireTimer(let key): "fire \(key)"
        case .close: "close"
        case .acknowledge(let ack): "acknowledge \(ack)"
        case .nameDeputy(let person, let deputy): "deputy of \(person): \(deputy ?? "none")"
        case .startRollCall(let id, let people, _): "start roll call \(id) (\(people.count) people)"
        case .answer(let rollCall, let person, let option, _): "answer \(rollCall): \(person) \(option)"
        case .markAccounted(let rollCall, let person, _): "accounted \(rollCall): \(person)"
        }
    }
}
