import Foundation
import MusterCore
import MusterJournal
import MusterRuntime
import MusterYAML

/// Lines typed by the facilitator (or piped in by a program), read on a thread of their own so that the
/// console can wait for "a line, or the next scenario event, whichever comes first".
public final class LineSource: @unchecked Sendable {
    private let lock = NSLock()
    private let available = DispatchSemaphore(value: 0)
    private var lines: [String] = []
    private var finished = false
    private var started = false
    private let read: @Sendable () -> String?

    /// Reads standard input.
    public convenience init() { self.init(read: { Swift.readLine(strippingNewline: true) }) }

    public init(read: @escaping @Sendable () -> String?) { self.read = read }

    private func startIfNeeded() {
        lock.lock()
        defer { lock.unlock() }
        guard !started else { return }
        started = true
        let thread = Thread { [self] in
            while let line = self.read() {
                self.lock.lock()
                self.lines.append(line)
                self.lock.unlock()
                self.available.signal()
            }
            self.lock.lock()
            self.finished = true
            self.lock.unlock()
            self.available.signal()
        }
        thread.start()
    }

    public enum Next: Equatable {
        case line(String)
        case timeout
        case end
    }

    /// The next line; `.timeout` when none came before `deadline` (never, when nil); `.end` at end of input.
    public func next(before deadline: DispatchTime?) -> Next {
        startIfNeeded()
        while true {
            lock.lock()
            if !lines.isEmpty {
                let line = lines.removeFirst()
                lock.unlock()
                return .line(line)
            }
            if finished {
                lock.unlock()
                return .end
            }
            lock.unlock()
            if let deadline {
                if available.wait(timeout: deadline) == .timedOut { return .timeout }
            } else {
                available.wait()
            }
        }
    }
}

/// The facilitator console: starts the exercise, runs scripted players at their scenario times, reads
/// commands, keeps the scenario clock (following the wall clock, manual, or jumping from event to event at
/// `max`), prints the live timeline, and at the end the evaluation and the hot wash.
public final class ExerciseConsole {
    public struct Options {
        public var pace: ScenarioPace?
        public var players: PlayerScript?
        public var playersFile: String?
        public var hotWash: Bool
        public var runID: String?
        /// Print a prompt (an interactive terminal).
        public var prompt: Bool

        public init(pace: ScenarioPace? = nil, players: PlayerScript? = nil, playersFile: String? = nil, hotWash: Bool = true,
                    runID: String? = nil, prompt: Bool = false) {
            self.pace = pace
            self.players = players
            self.playersFile = playersFile
            self.hotWash = hotWash
            self.runID = runID
            self.prompt = prompt
        }
    }

    let journal: Journal
    let loaded: LoadedExercise
    let options: Options
    let input: LineSource
    let out: (String) -> Void
    let err: (String) -> Void
    let clock: any Clock
    public private(set) var session: ExerciseSession?

    public init(journal: Journal, loaded: LoadedExercise, options: Options, input: LineSource, clock: any Clock = SystemClock(),
                out: @escaping (String) -> Void, err: @escaping (String) -> Void) {
        self.journal = journal
        self.loaded = loaded
        self.options = options
        self.input = input
        self.clock = clock
        self.out = out
        self.err = err
    }

    /// Runs the exercise to its end; returns the evaluation.
    @discardableResult
    public func run() throws -> ExerciseEvaluation {
        let (session, first) = try ExerciseSession.start(
            journal: journal, loaded: loaded, playersFile: options.playersFile, pace: options.pace, runID: options.runID, clock: clock)
        self.session = session
        let exercise = session.exercise.exercise
        out("exercise \(exercise.id.value): \(exercise.title)\n")
        out("run \(session.runID) (exercise mode), playbook \(session.exercise.run.playbook.id.value) v\(session.exercise.run.playbook.version), speed \(session.exercise.clock.pace)"
            + (options.playersFile.map { ", players \($0)" } ?? "") + "\n")
        if let scenario = exercise.scenario { out("\n" + scenario + (scenario.hasSuffix("\n") ? "" : "\n")) }
        out("\n")
        show(first)
        let steps = options.players?.steps ?? []
        var next = 0
        let origin = session.exercise.origin

        /// Scripted actions due by the scenario clock's time, each at exactly its own time.
        func runDueSteps() throws {
            let reached = session.exercise.clock.scenarioTime(at: clock.now)
            while next < steps.count, origin + steps[next].at <= max(reached, session.exercise.now), !session.exercise.hasEnded {
                let step = steps[next]
                next += 1
                show(try session.handle(step.input(origin: origin), by: step.actor))
            }
        }

        /// A tick that stops at the next scripted action's time: the wall clock read inside `handle` comes a
        /// moment after `runDueSteps` read it, and at a high speed that moment is scenario seconds.
        func tickBeforeNextStep() -> ExerciseInput {
            next < steps.count ? .tickUntil(origin + steps[next].at) : .tick
        }

        if session.exercise.clock.pace == .max {
            // Unattended: the virtual clock jumps to each scripted action, then to the end.
            // Each scripted action brings the scenario up to its time itself, so what falls due before it
            // (timers, injects) is journaled in the same transaction as the action.
            while next < steps.count, !session.exercise.hasEnded {
                let step = steps[next]
                next += 1
                show(try session.handle(step.input(origin: origin), by: step.actor))
            }
            if !session.exercise.hasEnded { show(try session.handle(.moveTo(session.exercise.end), by: Command.system)) }
        } else {
            try runDueSteps()
            if options.prompt {
                out(ExerciseText.status(session.exercise))
                err(ConsoleCommand.helpText + "\n> ")
            }
            var consoleOpen = true
            while !session.exercise.hasEnded {
                // The next scenario instant something is due: a scripted action, a timer, an inject, the end.
                var target = session.exercise.nextDue
                if next < steps.count { target = min(target ?? .init(millisecondsSinceEpoch: .max), origin + steps[next].at) }
                let now = clock.now
                var deadline: DispatchTime?
                if let target, let wall = session.exercise.clock.wallTime(whenScenarioReaches: target, from: now) {
                    let wait = max(0, (wall - now).milliseconds)
                    deadline = .now() + .milliseconds(Int(min(wait, 3_600_000)))
                }
                if !consoleOpen {
                    guard let deadline else {
                        // Nothing will move the clock any more: end here.
                        show(try session.handle(.end(reason: "console input ended"), by: session.exercise.facilitator))
                        break
                    }
                    Thread.sleep(forTimeInterval: max(0, Double(Int64(deadline.uptimeNanoseconds) - Int64(DispatchTime.now().uptimeNanoseconds)) / 1e9))
                    try runDueSteps()
                    show(try session.handle(tickBeforeNextStep(), by: Command.system))
                    continue
                }
                switch input.next(before: deadline) {
                case .timeout:
                    // Scripted actions first, at their exact times; then whatever else is due by the clock.
                    try runDueSteps()
                    show(try session.handle(tickBeforeNextStep(), by: Command.system))
                case .end:
                    consoleOpen = false
                    // A person who closes the console ends the exercise, unless scripted players keep it going.
                    if steps.isEmpty || !session.exercise.clock.followsWallClock {
                        show(try session.handle(.end(reason: "console input ended"), by: session.exercise.facilitator))
                    }
                case .line(let line):
                    try command(line, session: session)
                    if options.prompt, !session.exercise.hasEnded { err("> ") }
                }
                try runDueSteps()
            }
        }

        let evaluation = session.exercise.evaluation()
        out("\n" + ExerciseText.evaluation(evaluation))
        if options.hotWash { try hotWash(session: session) }
        return evaluation
    }

    /// One console line.
    func command(_ line: String, session: ExerciseSession) throws {
        switch ConsoleCommand.parse(line) {
        case .failure(let error):
            err("error: \(error.message)\n")
        case .success(.nothing):
            break
        case .success(.help):
            err(ConsoleCommand.helpText + "\n")
        case .success(.status):
            show(try session.handle(.tick, by: Command.system))
            out(ExerciseText.status(session.exercise))
        case .success(.evaluate):
            show(try session.handle(.tick, by: Command.system))
            out(ExerciseText.evaluation(session.exercise.evaluation()))
        case .success(.action(let actor, let action)):
            let who = actor ?? session.exercise.defaultActor(for: action)
            show(try session.handle(.player(Command(actor: who, action)), by: who))
        case .success(.control(let actor, let input)):
            var who = actor ?? session.exercise.facilitator
            if case .overrule = input, actor == nil { who = session.exercise.exercise.evaluators.first ?? who }
            show(try session.handle(input, by: who))
        }
    }

    func show(_ step: ExerciseStep) {
        guard let session else { return }
        for event in step.events {
            for line in ExerciseText.lines(event, origin: session.exercise.origin, exercise: session.exercise.exercise) {
                out(line + "\n")
            }
        }
        if let refusal = step.refusal { err("refused: \(refusal)\n") }
    }

    /// Lessons from the room after the end: `+ TEXT` a strength, `- TEXT` or plain text an area for
    /// improvement, `as NAME: ...` to say who; an empty line or the end of input finishes.
    func hotWash(session: ExerciseSession) throws {
        out("\n" + ExerciseText.hotWashPrompt + "\n")
        while case .line(let raw) = input.next(before: nil) {
            switch ConsoleCommand.hotWash(raw) {
            case .end:
                return
            case .lesson(let actor, let lesson):
                guard !lesson.text.isEmpty else { continue }
                let who = actor ?? session.exercise.facilitator
                show(try session.handle(.player(Command(actor: who, .lesson(lesson))), by: who))
            case .overrule(let actor, let objective, let rating, let note):
                let who = actor ?? session.exercise.exercise.evaluators.first ?? session.exercise.facilitator
                show(try session.handle(.overrule(objective: objective, rating: rating, note: note), by: who))
            case .evaluate:
                out(ExerciseText.evaluation(session.exercise.evaluation()))
            case .help:
                err(ConsoleCommand.hotWashHelpText + "\n")
            case .refused(let reason):
                err("refused: \(reason)\n")
            }
        }
    }
}

extension PlayerStep {
    /// The exercise input that plays this step at its scenario time.
    public func input(origin: Instant) -> ExerciseInput {
        switch action {
        case .command(let action, _): .scripted(Command(actor: actor, action), at: origin + at)
        case .answers(let rollCall, let option, let crowd): .answers(rollCall: rollCall, option: option, crowd: crowd, at: origin + at)
        }
    }
}
