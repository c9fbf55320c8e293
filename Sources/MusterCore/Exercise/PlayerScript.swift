/// Scripted players for unattended exercise runs (`exercises/X.players.yaml`): what each player does, at
/// scenario times from the exercise's start. Steps are written exactly like simulation script steps:
///
///     muster: 1
///     exercise: ransomware-tabletop-2026q4
///     steps:
///       - { at: 5m, as: Lee, done: confirm, note: "EDR shows mass renames" }
///       - { at: 9m, as: Lee, raise: confirmed }
///       - { at: 40m, as: Dana, decide: declare-major, option: declare, why: "finance share encrypted" }
///
/// and, for drills, pages acknowledged and roll calls answered (each person answers through the channel of the
/// roll call's message that reached them):
///
///       - { at: 3m, as: Lee, ack: page-it }
///       - { at: 7m, as: Lee, answer: staff-safety, option: safe }
///       - { at: 10m, answer: staff-safety, option: safe, people: 80% }
///       - { at: 12m, answer: staff-safety, option: help, people: [Kim Ode, Ravi Shah] }
public struct PlayerScript: Sendable, Hashable {
    public var exerciseID: Located<String>
    public var steps: [PlayerStep]
    public var location: SourceLocation

    public init(exerciseID: Located<String>, steps: [PlayerStep], location: SourceLocation) {
        self.exerciseID = exerciseID
        self.steps = steps
        self.location = location
    }

    static let topKeys = ["muster", "exercise", "steps"]

    /// Decodes a player script; nil when any error was found. Diagnostics are in file order.
    public static func decode(_ node: SourceNode) -> (script: PlayerScript?, diagnostics: [Diagnostic]) {
        var reader = SimulationScript.Reader()
        guard let top = reader.mapping(node, what: "a player script") else { return (nil, reader.diagnostics) }
        reader.checkKeys(top, allowed: topKeys, in: "the player script")
        if let version = reader.required(top, "muster", in: "the player script"), let text = reader.text(version, key: "muster"),
           text.value != "1" {
            reader.error("format-version", "unsupported player script format 'muster: \(text.value)' (this muster reads format 1)", at: text.location)
        }
        let exercise = reader.required(top, "exercise", in: "the player script").flatMap { reader.text($0, key: "exercise") }
        var steps: [PlayerStep] = []
        if let stepsNode = top["steps"] {
            if case .sequence(let items, _) = stepsNode {
                var previous: PlayerStep?
                for item in items {
                    let step: PlayerStep?
                    if case .mapping(let m) = item, m["answer"] != nil || m["ack"] != nil {
                        step = hearingBackStep(m, reader: &reader)
                    } else {
                        step = reader.step(item).map(PlayerStep.init)
                    }
                    guard let step else { continue }
                    if let previous, step.at < previous.at {
                        reader.error("step-order",
                                     "steps must be in time order: this step at \(step.at) comes after a step at \(previous.at) (line \(previous.location.line))",
                                     at: step.location)
                    }
                    previous = step
                    steps.append(step)
                }
            } else if !stepsNode.isNullScalar {
                reader.error("wrong-type", "'steps' must be a list, found \(stepsNode.kindDescription)", at: stepsNode.location)
            }
        }
        let diagnostics = reader.diagnostics.sortedByLocation()
        guard let exercise, !diagnostics.hasErrors else { return (nil, diagnostics) }
        return (PlayerScript(exerciseID: exercise, steps: steps, location: top.location), diagnostics)
    }

    static let answerKeys = ["at", "as", "answer", "option", "people"]
    static let ackKeys = ["at", "as", "ack"]

    /// `answer` (with `option`, and `as` or `people`) and `ack` (with `as`) steps.
    static func hearingBackStep(_ m: SourceNode.Mapping, reader: inout SimulationScript.Reader) -> PlayerStep? {
        let before = reader.diagnostics.count
        let isAnswer = m["answer"] != nil
        if isAnswer, let ack = m.entry("ack") {
            reader.error("step-action", "a step does exactly one thing, found 'answer' and 'ack'", at: ack.key.location)
            return nil
        }
        reader.checkKeys(m, allowed: isAnswer ? answerKeys : ackKeys, in: isAnswer ? "an 'answer' step" : "an 'ack' step")
        let at = reader.required(m, "at", in: "step").flatMap { reader.duration($0, key: "at") }
        if let at, at.value < .zero { reader.error("bad-duration", "'at' must not be negative", at: at.location) }
        let actor = m["as"].flatMap { reader.text($0, key: "as") }
        guard isAnswer else {
            let ack = m["ack"].flatMap { reader.text($0, key: "ack") }
            if actor == nil, m["as"] == nil { reader.error("missing-key", "an 'ack' step needs 'as' (who acknowledges)", at: m.location) }
            guard reader.diagnostics.count == before, let at, let actor, let ack else { return nil }
            return PlayerStep(at: at.value, actor: actor.value, action: .command(.acknowledge(ack.value), expectRejected: false), location: m.location)
        }
        let rollCall = m["answer"].flatMap { reader.text($0, key: "answer") }
        let option = reader.required(m, "option", in: "an 'answer' step").flatMap { reader.text($0, key: "option") }
        var crowd: AnswerCrowd?
        if let node = m["people"] {
            if m["as"] != nil {
                reader.error("step-action", "an 'answer' step answers for 'as' (one person) or for 'people', not both", at: node.location)
            } else if case .sequence(let items, _) = node {
                let names = items.compactMap { reader.text($0, key: "people") }
                if names.isEmpty { reader.error("bad-value", "'people' needs at least one name", at: node.location) }
                crowd = .named(names.map(\.value))
            } else if let text = reader.text(node, key: "people") {
                let digits = text.value.hasSuffix("%") ? String(text.value.dropLast()) : ""
                if !digits.isEmpty, digits.count <= 3, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let percent = Int(digits), percent <= 100 {
                    crowd = .share(percent)
                } else {
                    reader.error("bad-value", "'people' must be a share of the roll call's people from 0% to 100% (such as 80%) or a list of names, found '\(text.value)'", at: text.location)
                }
            }
        } else if let actor {
            crowd = .named([actor.value])
        } else {
            reader.error("missing-key", "an 'answer' step needs 'as' (who answers) or 'people' (such as 80%, or a list of names)", at: m.location)
        }
        guard reader.diagnostics.count == before, let at, let rollCall, let option, let crowd else { return nil }
        return PlayerStep(at: at.value, actor: actor?.value ?? "", action: .answers(rollCall: rollCall.value, option: option.value, crowd: crowd),
                          location: m.location)
    }

    /// Findings that need the exercise: another exercise's script, steps after the scenario's end, players
    /// nobody knows (a misspelt name would otherwise only show as rejected actions).
    public func check(against exercise: Exercise) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        if exerciseID.value != exercise.id.value {
            diagnostics.append(.error("script-exercise", "player script is for exercise '\(exerciseID.value)', not '\(exercise.id.value)'", at: exerciseID.location))
        }
        var people = Set(exercise.participants.map(\.person.value) + exercise.controllers + exercise.evaluators
                         + (exercise.roster ?? []).map(\.name.value))
        for step in steps {
            if case .command(.assign(_, let person), _) = step.action { people.insert(person) }
        }
        func known(_ name: String, at location: SourceLocation) {
            guard !people.contains(name) else { return }
            let roster = exercise.roster == nil ? "" : ", is not on the roster"
            diagnostics.append(.warning("unknown-player", "'\(name)' is not a participant, controller or evaluator of the exercise\(roster), and nobody assigns them a role\(Suggestion.hint(for: name, in: people.sorted()))", at: location))
        }
        for step in steps {
            if step.at > exercise.length {
                diagnostics.append(.warning("step-after-end", "this step at \(step.at) comes after the end of the scenario (\(exercise.length)): it will not run", at: step.location))
            }
            if case .answers(_, _, .named(let names)) = step.action {
                for name in names { known(name, at: step.location) }
            } else if !step.actor.isEmpty {
                known(step.actor, at: step.location)
            }
        }
        return diagnostics.sortedByLocation()
    }
}
