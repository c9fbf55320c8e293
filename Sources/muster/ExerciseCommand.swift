import ArgumentParser
import Foundation
import MusterCore
import MusterExercise
import MusterJournal
import MusterYAML

struct ExerciseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exercise",
        abstract: "Run tabletop exercises and drills against a playbook, and evaluate them.",
        subcommands: [ExerciseRunCommand.self, ExerciseEvaluateCommand.self, ExerciseTimelineCommand.self]
    )
}

extension ScenarioPace: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}

enum ExerciseJournal {
    /// Exercises use NORMAL durability (docs/journal.md): a killed process loses nothing, a power cut may lose
    /// the last commits of a rehearsal.
    static func open(create: Bool) throws -> Journal {
        do {
            return try Journal.open(JournalChoice.location, durability: .normal, create: create)
        } catch {
            throw Console.fail(error.description)
        }
    }
}

struct ExerciseRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run an exercise: the facilitator console, or scripted players for unattended runs.",
        discussion: """
            The console reads commands on standard input (type 'help'); a program can drive it the same way.
            Players default to exercises/X.players.yaml beside exercises/X.yaml when it exists; --no-players
            runs with people only. At --speed max the clock jumps from event to event.
            Exits 1 when the exercise does not load; 0 otherwise (ratings are the evaluation's business).
            """
    )

    @Argument(help: "The exercise file (exercises/X.yaml).")
    var file: String

    @Option(help: "Scripted players (YAML); default: X.players.yaml beside the exercise when it exists.")
    var players: String?

    @Flag(help: "Run without scripted players, even when X.players.yaml exists.")
    var noPlayers = false

    @Option(help: "Scenario seconds per real second (30, 0.5), manual (moves on 'skip'), or max; default: the exercise's clock.")
    var speed: ScenarioPace?

    @Flag(help: "Skip the hot-wash prompt at the end (for scripts and CI).")
    var noHotwash = false

    @Option(help: "Playbooks folder (default: playbooks/ beside the exercises folder, then ./playbooks).")
    var playbooks: String?

    @Option(help: "Run id to use (default: x-EXERCISE-N).")
    var runId: String?

    func run() throws {
        guard FileManager.default.fileExists(atPath: file) else { throw Console.fail("no such file: \(file)") }
        let loaded = ExerciseLoader.load(file: file, playbookFolders: playbooks.map { [$0] })
        guard loaded.exercise != nil, loaded.playbook?.playbook != nil, !loaded.hasErrors else {
            for diagnostic in loaded.diagnostics { Console.err(diagnostic.description + "\n") }
            let errors = loaded.diagnostics.filter { $0.severity == .error }.count
            throw Console.fail("\(file) is not a valid exercise (\("error".counted(errors)))")
        }
        for warning in loaded.diagnostics { Console.err(warning.description + "\n") }
        var playersFile = players
        if playersFile == nil, !noPlayers {
            let beside = ExerciseLoader.playersPath(for: file)
            if FileManager.default.fileExists(atPath: beside) { playersFile = beside }
        }
        if noPlayers { playersFile = nil }
        var script: PlayerScript?
        if let playersFile {
            let loadedPlayers = ExerciseLoader.loadPlayers(file: playersFile, for: loaded.exercise)
            for diagnostic in loadedPlayers.diagnostics { Console.err(diagnostic.description + "\n") }
            guard let s = loadedPlayers.script else {
                let errors = loadedPlayers.diagnostics.filter { $0.severity == .error }.count
                throw Console.fail("\(playersFile) is not a valid player script (\("error".counted(errors)))")
            }
            script = s
        }
        let journal = try ExerciseJournal.open(create: true)
        Console.err("journal: \(journal.path)\n")
        let options = ExerciseConsole.Options(
            pace: speed, players: script, playersFile: playersFile, hotWash: !noHotwash, runID: runId,
            prompt: isatty(0) == 1)
        let console = ExerciseConsole(journal: journal, loaded: loaded, options: options, input: LineSource(),
                                      out: { Console.out($0) }, err: { Console.err($0) })
        do {
            try console.run()
        } catch let error as ExerciseError {
            for diagnostic in error.diagnostics { Console.err(diagnostic.description + "\n") }
            throw Console.fail(error.message)
        } catch let error as JournalError {
            throw Console.fail(error.description)
        }
    }
}

struct ExerciseEvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Print an exercise run's evaluation (the most recent exercise by default), then the hot wash.",
        discussion: "An evaluator overrules a computed rating with --overrule O2=S --why \"...\" --as NAME (recorded on the timeline)."
    )

    @Argument(help: ArgumentHelp("Run id or prefix (default: the most recent exercise run).", valueName: "run"))
    var runName: String?

    @Option(help: "Overrule an objective's rating: OBJECTIVE=P|S|M|U.")
    var overrule: String?

    @Option(help: "Why the rating is overruled (required with --overrule).")
    var why: String?

    @Option(name: .customLong("as"), help: "Who overrules or records lessons (default: the exercise's first evaluator or controller).")
    var actor: String?

    @Flag(help: "Skip the hot-wash prompt.")
    var noHotwash = false

    func run() throws {
        let journal = try ExerciseJournal.open(create: false)
        do {
            var record = try ExerciseReplay.resolve(runName, in: journal)
            if let overrule {
                let parts = overrule.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let rating = Rating(rawValue: parts[1].uppercased()) else {
                    throw Console.fail("write --overrule OBJECTIVE=P|S|M|U (for example --overrule O2=S)")
                }
                guard let why, !why.isEmpty else { throw Console.fail("--overrule needs --why \"the evaluator's note\"") }
                let replay = try ExerciseReplay.load(record, from: journal)
                let who = actor ?? replay.exercise.exercise.evaluators.first ?? replay.exercise.exercise.facilitator
                _ = try ExerciseReplay.overrule(record, objective: parts[0], rating: rating, note: why, by: who, in: journal)
                record = try journal.run(record.id)
            }
            let replay = try ExerciseReplay.load(record, from: journal)
            Console.out("run \(record.id)\n" + ExerciseText.evaluation(replay.exercise.evaluation()))
            guard !noHotwash else { return }
            Console.out("\n" + ExerciseText.hotWashPrompt + "\n")
            // Each line is recorded as it is typed, so an interrupted hot wash keeps what was said.
            func show(_ events: [RunEvent]) {
                for event in events {
                    for line in ExerciseText.lines(event, origin: replay.exercise.origin, exercise: replay.exercise.exercise) {
                        Console.out(line + "\n")
                    }
                }
            }
            hotWash: while let raw = readLine() {
                switch ConsoleCommand.hotWash(raw) {
                case .end:
                    break hotWash
                case .lesson(let author, let lesson):
                    guard !lesson.text.isEmpty else { continue }
                    let who = author ?? actor ?? replay.exercise.exercise.facilitator
                    show(try ExerciseReplay.recordLessons([(who, lesson)], on: record, in: journal))
                case .overrule(let author, let objective, let rating, let note):
                    let who = author ?? actor ?? replay.exercise.exercise.evaluators.first ?? replay.exercise.exercise.facilitator
                    show([try ExerciseReplay.overrule(record, objective: objective, rating: rating, note: note, by: who, in: journal)])
                case .evaluate:
                    let current = try ExerciseReplay.load(try journal.run(record.id), from: journal)
                    Console.out(ExerciseText.evaluation(current.exercise.evaluation()))
                case .help:
                    Console.err(ConsoleCommand.hotWashHelpText + "\n")
                case .refused(let reason):
                    Console.err("refused: \(reason)\n")
                }
                record = try journal.run(record.id)
            }
        } catch let error as ExerciseError {
            for diagnostic in error.diagnostics { Console.err(diagnostic.description + "\n") }
            throw Console.fail(error.message)
        } catch let error as JournalError {
            throw Console.fail(error.description)
        }
    }
}

struct ExerciseTimelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "timeline",
        abstract: "Print an exercise run's timeline from the journal, in scenario time (the most recent exercise by default)."
    )

    @Argument(help: ArgumentHelp("Run id or prefix (default: the most recent exercise run).", valueName: "run"))
    var runName: String?

    func run() throws {
        let journal = try ExerciseJournal.open(create: false)
        do {
            let record = try ExerciseReplay.resolve(runName, in: journal)
            // The library renders it, so `GET /api/runs/{id}/timeline?format=scenario` gives the same bytes.
            Console.out(try ExerciseReplay.load(record, from: journal).scenarioTimeline)
        } catch let error as ExerciseError {
            throw Console.fail(error.message)
        } catch let error as JournalError {
            throw Console.fail(error.description)
        }
    }
}
