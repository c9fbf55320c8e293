import Foundation
import MusterCore
import MusterExercise
import MusterJournal
import MusterTestSupport
import MusterYAML
import Testing

enum Fixture {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var playbooks: String { repoRoot.appendingPathComponent("playbooks").path }
    static func exercisePath(_ name: String) -> String { repoRoot.appendingPathComponent("exercises/\(name).yaml").path }

    /// A small playbook: triage (task check by ops, event confirmed) -> decide (decision go, 30m default go-on)
    /// -> fix (task repair) -> closed.
    static let playbookText = """
        muster: 1
        id: drill
        version: 1
        title: Drill
        roles:
          incident_commander: Incident commander
          ops: Operations
        channels:
          bridge: { type: slack, url: "https://example.com/hook" }
        start: triage
        states:
          triage:
            phase: detect
            owner: ops
            tasks:
              - { id: check, title: Check, role: ops }
            transitions:
              - { on: confirmed, when: tasks.check.done, to: decide }
          decide:
            phase: assess
            owner: incident_commander
            on_enter:
              - { notify: bridge, message: "Deciding" }
            decision:
              id: go
              question: Go on?
              by: incident_commander
              options: { go-on: fix, stop: closed }
              deadline: 30m
              default: go-on
          fix:
            phase: respond
            owner: ops
            tasks:
              - { id: repair, title: Repair, role: ops }
            transitions:
              - { when: all_tasks_done, to: closed }
          closed:
            phase: learn
            terminal: true

        """

    static let exerciseText = """
        muster: 1
        exercise: drill-x
        title: Drill X
        playbook: drill
        objectives:
          - { id: O1, text: Act }
        participants: { incident_commander: Dana, ops: Lee }
        controllers: [Alex]
        clock: { speed: manual, start: 2026-01-01T09:00:00Z }
        duration: 2h
        injects:
          - id: I1
            at: 0m
            to: [ops]
            message: Something is wrong
            expect:
              - { do: task check, within: 10m, objective: O1 }
              - { do: decision go = go-on, within: 20m, objective: O1 }
          - id: I2
            at: 15m
            contingency: true
            unless: decisions.go == "go-on"
            message: Hurry
          - id: I3
            at: 1h
            message: Later
            expect:
              - { do: state fix, within: 30m, objective: O1 }

        """

    static var playbook: Playbook {
        let loaded = PlaybookLoader.load(text: playbookText, file: "drill.yaml")
        precondition(!loaded.hasErrors, "\(loaded.diagnostics)")
        return loaded.playbook!
    }

    static func exercise(_ text: String = exerciseText) -> Exercise {
        let (node, _) = YAMLSource.parse(text, file: "x.yaml")
        let (exercise, diagnostics) = ExerciseDecoder.decode(node!)
        precondition(!diagnostics.hasErrors, "\(diagnostics)")
        let problems = ExerciseValidator.validate(exercise!, against: playbook)
        precondition(!problems.hasErrors, "\(problems)")
        return exercise!
    }

    /// A started exercise on a manual scenario clock.
    static func started(_ text: String = exerciseText) -> ExerciseRun {
        var run = ExerciseRun(exercise: exercise(text), playbook: playbook)
        let step = run.start(runID: "x-test", file: "x.yaml", text: text, players: nil, wall: wall0)
        precondition(step.refusal == nil)
        return run
    }

    static let origin = Instant(iso8601: "2026-01-01T09:00:00Z")!
    static let wall0 = Instant(iso8601: "2026-06-01T12:00:00Z")!

    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("muster-exercise-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

extension ExerciseRun {
    /// Moves the manual scenario clock to `origin + offset`, then a player acts.
    mutating func at(_ offset: TimeSpan, _ actor: String, _ action: Command.Action) -> ExerciseStep {
        let target = origin + offset
        var step = handle(.moveTo(target), by: Command.system, wall: Fixture.wall0)
        let acted = handle(.player(Command(actor: actor, action)), by: actor, wall: Fixture.wall0)
        step.events += acted.events
        step.rejection = acted.rejection
        return step
    }

    mutating func move(to offset: TimeSpan) -> ExerciseStep {
        handle(.moveTo(origin + offset), by: Command.system, wall: Fixture.wall0)
    }
}

extension Array where Element == RunEvent {
    func deliveries() -> [(String, Instant)] {
        compactMap { if case .injectDelivered(let d) = $0.body { (d.inject, $0.at) } else { nil } }
    }

    func withheld() -> [(String, String)] {
        compactMap { if case .injectWithheld(let i, let r) = $0.body { (i, r) } else { nil } }
    }
}

extension TimeSpan {
    static func m(_ n: Int64) -> TimeSpan { .minutes(n) }
}
