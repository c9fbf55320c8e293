import Foundation
import MusterCore
import MusterExercise
import MusterJournal
import MusterYAML

/// An eight-hour scenario with 500 injects (every tenth a contingency with an `unless` guard, each with two
/// expectations) and 2,000 scripted player actions (a tenth of them refused by the engine), run at speed max
/// through the real exercise shell: `ExerciseConsole` -> `ExerciseSession` -> journal (one transaction per
/// input, NORMAL durability as exercises use), printing its timeline into a sink.
///
/// Baseline, measured in the same run: the bare engine (`TimedRun.handle`) given the same 2,000 commands at the
/// same scenario times, appending each command's events to a journal the same way (one transaction each).
/// Also reported: both without the journal, to show what dominates.
enum ExerciseBench {
    static let injects = 500
    static let actions = 2000
    static let scenario = TimeSpan.hours(8)

    static var exerciseText: String {
        var text = """
            muster: 1
            exercise: bench-8h
            title: Eight hours, 500 injects
            playbook: engine-bench
            objectives:
              - { id: O1, text: Work the loop }
              - { id: O2, text: Go round again }
            participants: { incident_commander: Dana, ops: Lee, comms: Sam }
            controllers: [Alex]
            clock: { speed: max, start: 2026-01-01T09:00:00Z }
            duration: 8h
            injects:

            """
        let step = scenario.milliseconds / Int64(injects)
        for i in 0..<injects {
            let at = TimeSpan(milliseconds: Int64(i) * step / 1000 * 1000)
            text += "  - id: I\(i + 1)\n    at: \(at.milliseconds == 0 ? "0m" : at.description)\n"
            if i % 10 == 9 {
                text += "    contingency: true\n    unless: mode == \"live\"\n"
            }
            text += """
                    to: [ops]
                    method: chat
                    message: "Inject \(i + 1): the situation changes again"
                    expect:
                      - { do: task a1, within: 10m, objective: O1 }
                      - { do: event again, within: 30m, objective: O2 }

                """
        }
        return text
    }

    /// The commands of the engine benchmark's cycle, two of ten refused.
    static let cycle: [Command] = [
        Command(actor: "Dana", .assign(role: "ops", person: "Lee")),
        Command(actor: "Dana", .assign(role: "comms", person: "Sam")),
        Command(actor: "Lee", .completeTask("a1", note: nil)),
        Command(actor: "Lee", .completeTask("a2", note: nil)),  // refused: comms task
        Command(actor: "Sam", .completeTask("a2", note: "done")),
        Command(actor: "Sam", .note("status update for the bridge")),
        Command(actor: "Lee", .completeTask("b1", note: nil)),
        Command(actor: "Lee", .raise("again")),
        Command(actor: "Kim", .completeTask("a1", note: nil)),  // refused: holds no role
        Command(actor: "Dana", .assign(role: "ops", person: "Lee")),
    ]

    static func steps(location: SourceLocation) -> [SimulationScript.Step] {
        let step = scenario.milliseconds / Int64(actions + 1)
        return (0..<actions).map { i in
            let command = cycle[i % cycle.count]
            return SimulationScript.Step(at: TimeSpan(milliseconds: Int64(i + 1) * step), actor: command.actor, action: command.action, location: location)
        }
    }

    struct Result {
        var exerciseSeconds: Double
        var bareSeconds: Double
        var exerciseMemorySeconds: Double
        var bareMemorySeconds: Double
        var exerciseEvents: Int
        var bareEvents: Int
        var ratings: String
    }

    static func run() throws -> Result {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("muster-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let playbooks = folder.appendingPathComponent("playbooks")
        try FileManager.default.createDirectory(at: playbooks, withIntermediateDirectories: true)
        try EngineBench.playbookText.write(to: playbooks.appendingPathComponent("engine-bench.yaml"), atomically: true, encoding: .utf8)
        let exercisePath = folder.appendingPathComponent("bench.yaml").path
        try exerciseText.write(toFile: exercisePath, atomically: true, encoding: .utf8)
        let loaded = ExerciseLoader.load(file: exercisePath, playbookFolders: [playbooks.path])
        guard let exercise = loaded.exercise, let playbook = loaded.playbook?.playbook, !loaded.hasErrors else {
            fatalError(loaded.diagnostics.map(\.description).joined(separator: "\n"))
        }
        let scriptSteps = steps(location: exercise.location)
        let players = PlayerScript(exerciseID: exercise.id, steps: scriptSteps.map(PlayerStep.init), location: exercise.location)
        let origin = exercise.clock.start
        let clock = ContinuousClock()

        // The exercise, through the shell, with the journal.
        var round = 0
        func journal() throws -> Journal {
            round += 1
            return try Journal.open(home: folder.appendingPathComponent("j\(round)").path, durability: .normal)
        }
        let exerciseJournal = try journal()
        var start = clock.now
        let console = ExerciseConsole(
            journal: exerciseJournal, loaded: loaded, options: .init(pace: .max, players: players, playersFile: "bench.players.yaml", hotWash: false),
            input: LineSource(read: { nil }), out: { _ in }, err: { _ in })
        let evaluation = try console.run()
        let exerciseSeconds = EngineBench.seconds(clock.now - start)
        let exerciseEvents = try exerciseJournal.head(runID: console.session!.runID).sequence

        // The bare engine, same commands at the same times, with the journal.
        let bareJournal = try journal()
        start = clock.now
        var timed = TimedRun(playbook: playbook)
        let begin = timed.handle(Command(actor: "Dana", .start(StartRun(runID: "r-bare", mode: .exercise, title: "Bare"))), at: origin, fireAtDueTimes: true)
        var head = try bareJournal.createRun(
            RunHeader(id: "r-bare", playbookID: playbook.id.value, playbookVersion: playbook.version, playbookText: EngineBench.playbookText,
                      mode: .exercise, title: "Bare", createdAt: origin),
            entries: begin.events.map { JournalEntry($0, scenarioTime: $0.at) }).head.sequence
        for step in scriptSteps {
            let result = timed.handle(step.command, at: origin + step.at, fireAtDueTimes: true)
            let events = result.timerEvents + result.events
            if !events.isEmpty {
                head = try bareJournal.append(runID: "r-bare", expectedSequence: head, entries: events.map { JournalEntry($0, scenarioTime: $0.at) }).head.sequence
            }
        }
        let bareSeconds = EngineBench.seconds(clock.now - start)

        // Both again without the journal.
        start = clock.now
        var memory = ExerciseRun(exercise: exercise, playbook: playbook)
        var memoryEvents = memory.start(runID: "x-mem", file: "bench.yaml", text: "", players: nil, wall: origin).events.count
        for step in scriptSteps {
            memoryEvents += memory.handle(.scripted(step.command, at: origin + step.at), by: step.actor, wall: origin).events.count
        }
        memoryEvents += memory.handle(.moveTo(memory.end), by: Command.system, wall: origin).events.count
        let exerciseMemorySeconds = EngineBench.seconds(clock.now - start)
        precondition(memoryEvents == exerciseEvents, "the shell journals exactly what the machine decides")

        start = clock.now
        var bare = TimedRun(playbook: playbook)
        var bareEvents = bare.handle(Command(actor: "Dana", .start(StartRun(runID: "r-bare", mode: .exercise, title: "Bare"))), at: origin, fireAtDueTimes: true).events.count
        for step in scriptSteps {
            let r = bare.handle(step.command, at: origin + step.at, fireAtDueTimes: true)
            bareEvents += r.timerEvents.count + r.events.count
        }
        let bareMemorySeconds = EngineBench.seconds(clock.now - start)

        let ratings = evaluation.objectives.map { "\($0.id) \($0.rating?.rawValue ?? "-")" }.joined(separator: ", ")
        return Result(exerciseSeconds: exerciseSeconds, bareSeconds: bareSeconds, exerciseMemorySeconds: exerciseMemorySeconds,
                      bareMemorySeconds: bareMemorySeconds, exerciseEvents: exerciseEvents, bareEvents: bareEvents, ratings: ratings)
    }
}
