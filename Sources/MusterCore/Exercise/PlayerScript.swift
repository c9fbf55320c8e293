/// Scripted players for unattended exercise runs (`exercises/X.players.yaml`): what each player does, at
/// scenario times from the exercise's start. Steps are written exactly like simulation script steps:
///
///     muster: 1
///     exercise: ransomware-tabletop-2026q4
///     steps:
///       - { at: 5m, as: Lee, done: confirm, note: "EDR shows mass renames" }
///       - { at: 9m, as: Lee, raise: confirmed }
///       - { at: 40m, as: Dana, decide: declare-major, option: declare, why: "finance share encrypted" }
public struct PlayerScript: Sendable, Hashable {
    public var exerciseID: Located<String>
    public var steps: [SimulationScript.Step]
    public var location: SourceLocation

    public init(exerciseID: Located<String>, steps: [SimulationScript.Step], location: SourceLocation) {
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
        var steps: [SimulationScript.Step] = []
        if let stepsNode = top["steps"] {
            if case .sequence(let items, _) = stepsNode {
                var previous: SimulationScript.Step?
                for item in items {
                    guard let step = reader.step(item) else { continue }
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

    /// Findings that need the exercise: another exercise's script, steps after the scenario's end, players
    /// nobody knows (a misspelt name would otherwise only show as rejected actions).
    public func check(against exercise: Exercise) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        if exerciseID.value != exercise.id.value {
            diagnostics.append(.error("script-exercise", "player script is for exercise '\(exerciseID.value)', not '\(exercise.id.value)'", at: exerciseID.location))
        }
        var people = Set(exercise.participants.map(\.person.value) + exercise.controllers + exercise.evaluators)
        for step in steps {
            if case .assign(_, let person) = step.action { people.insert(person) }
        }
        for step in steps {
            if step.at > exercise.length {
                diagnostics.append(.warning("step-after-end", "this step at \(step.at) comes after the end of the scenario (\(exercise.length)): it will not run", at: step.location))
            }
            if !people.contains(step.actor) {
                diagnostics.append(.warning("unknown-player", "'\(step.actor)' is not a participant, controller or evaluator of the exercise, and nobody assigns them a role\(Suggestion.hint(for: step.actor, in: people.sorted()))", at: step.location))
            }
        }
        return diagnostics.sortedByLocation()
    }
}
