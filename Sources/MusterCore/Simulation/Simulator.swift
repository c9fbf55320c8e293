/// What a simulation did: every event in order, every refused step, and whether the script's expectations held.
public struct SimulationResult: Sendable, Hashable {
    public enum Entry: Sendable, Hashable {
        case event(RunEvent)
        case rejection(StepRejection)
    }

    /// A step the engine refused.
    public struct StepRejection: Sendable, Hashable {
        public var at: Instant
        public var actor: String
        /// The step as written: `done isolate`.
        public var step: String
        public var reason: String
        /// The script said `expect: rejected`.
        public var expected: Bool
        public var location: SourceLocation

        public init(at: Instant, actor: String, step: String, reason: String, expected: Bool, location: SourceLocation) {
            self.at = at
            self.actor = actor
            self.step = step
            self.reason = reason
            self.expected = expected
            self.location = location
        }
    }

    public struct MarkRecord: Sendable, Hashable {
        public var mark: Mark
        public var at: Instant
    }

    public struct DecisionRecord: Sendable, Hashable {
        public var decision: String
        public var option: String
        public var rationale: String
        public var byDefault: Bool
        public var actor: String
        public var at: Instant
    }

    public struct LessonRecord: Sendable, Hashable {
        public var lesson: Lesson
        public var actor: String
        public var at: Instant
    }

    public var playbookID: String
    public var playbookVersion: Int
    /// The virtual clock's origin (the script's `start.at`).
    public var origin: Instant
    /// Where the virtual clock stopped.
    public var end: Instant
    public var entries: [Entry]
    public var finalState: String?
    public var finalStateIsTerminal: Bool
    public var closed: Bool
    public var marks: [MarkRecord]
    public var decisions: [DecisionRecord]
    public var lessons: [LessonRecord]
    /// Why the simulation failed: unexpected rejections, expected rejections that did not happen, unmet `expect`.
    public var failures: [String]

    public var succeeded: Bool { failures.isEmpty }

    public var events: [RunEvent] {
        entries.compactMap { if case .event(let event) = $0 { event } else { nil } }
    }
}

/// Drives a `TimedRun` through a script with a virtual clock: timers fire at their due times, in order,
/// between steps and up to the script's `until`.
public enum Simulator {
    public static func run(playbook: Playbook, script: SimulationScript) -> SimulationResult {
        let origin = script.startAt
        var timed = TimedRun(playbook: playbook)
        var entries: [SimulationResult.Entry] = []
        var failures: [String] = []

        func record(_ events: [RunEvent]) { entries.append(contentsOf: events.map { .event($0) }) }
        // A due timer the engine refused to fire (a playbook that loops without settling) stops the clock's
        // catch-up; it is shown once and fails the simulation.
        var lastTimerRejection: Rejection?
        func recordTimerRejection(at now: Instant) {
            guard let rejection = timed.timerRejection else { return }
            defer { lastTimerRejection = rejection }
            guard rejection != lastTimerRejection else { return }
            entries.append(.rejection(.init(
                at: now, actor: Command.system, step: "fire due timers", reason: rejection.reason, expected: false,
                location: script.location)))
            failures.append("a due timer could not fire at +\((now - origin).clock): \(rejection.reason)")
        }

        let start = StartRun(
            runID: "sim-\(playbook.id.value)", mode: script.mode, title: script.title,
            severity: script.severity, disruptionStart: script.disruptionStarted.map { origin - $0 }, commander: nil)
        let started = timed.handle(Command(actor: script.startedBy, .start(start)), at: origin, fireAtDueTimes: true)
        record(started.timerEvents)
        recordTimerRejection(at: origin)
        record(started.events)
        if let rejection = started.rejection {
            entries.append(.rejection(.init(
                at: origin, actor: script.startedBy, step: "start", reason: rejection.reason, expected: false,
                location: script.location)))
            failures.append("the run did not start: \(rejection.reason)")
        } else {
            for step in script.steps {
                let now = origin + step.at
                let result = timed.handle(step.command, at: now, fireAtDueTimes: true)
                record(result.timerEvents)
                recordTimerRejection(at: now)
                record(result.events)
                let stepText = "step at line \(step.location.line) (+\(step.at.clock) \(step.actor): \(step.action.scriptText))"
                if let rejection = result.rejection {
                    entries.append(.rejection(.init(
                        at: now, actor: step.actor, step: step.action.scriptText, reason: rejection.reason,
                        expected: step.expectRejected, location: step.location)))
                    if !step.expectRejected { failures.append("\(stepText) was rejected: \(rejection.reason)") }
                } else if step.expectRejected {
                    failures.append("\(stepText) was expected to be rejected, but was accepted")
                }
            }
        }
        let endOffset = script.until?.value ?? script.steps.last?.at ?? .zero
        let end = origin + endOffset
        record(timed.advance(to: end, fireAtDueTimes: true))
        recordTimerRejection(at: end)

        var result = SimulationResult(
            playbookID: playbook.id.value, playbookVersion: playbook.version, origin: origin, end: end,
            entries: entries, finalState: nil, finalStateIsTerminal: false, closed: false, marks: [], decisions: [],
            lessons: [], failures: [])
        for event in result.events {
            switch event.body {
            case .stateEntered(let state, _, _): result.finalState = state
            case .markSet(let mark): result.marks.append(.init(mark: mark, at: event.at))
            case .decisionMade(let decision, let option, let rationale, let byDefault):
                result.decisions.append(.init(
                    decision: decision, option: option, rationale: rationale, byDefault: byDefault, actor: event.actor, at: event.at))
            case .lessonRecorded(let lesson): result.lessons.append(.init(lesson: lesson, actor: event.actor, at: event.at))
            case .runClosed: result.closed = true
            default: break
            }
        }
        result.finalStateIsTerminal = result.finalState.flatMap { playbook.state($0)?.terminal } ?? false
        if let expected = script.expect.state, expected.value != result.finalState {
            failures.append("expected final state '\(expected.value)', but the run ended in '\(result.finalState ?? "none")'")
        }
        result.failures = failures
        return result
    }
}
