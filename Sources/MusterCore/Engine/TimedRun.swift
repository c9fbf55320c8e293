/// A run together with the catch-up of a virtual clock: before each command, every timer that fell due
/// fires, in (due, key) order, each exactly once.
public struct TimedRun: Sendable, Equatable {
    public var run: Run
    /// Why the last catch-up stopped at a timer the engine refused to fire (nil when every due timer fired).
    public private(set) var timerRejection: Rejection?

    public init(playbook: Playbook) {
        run = Run(playbook: playbook)
    }

    public init(run: Run) {
        self.run = run
    }

    /// The earliest due time of an armed timer.
    public var nextDue: Instant? { run.nextDue }

    /// Fires every armed timer due at or before `now`, including those a firing arms (a repeat that is
    /// already due again). With `fireAtDueTimes` each fires at its due time (a simulation replaying the
    /// clock); otherwise at `now`, marked late by how much (a runtime catching up after a restart).
    /// Returns the events applied. A firing the engine refuses (the playbook loops without settling) stops
    /// the catch-up there; its timer stays armed and `timerRejection` says why.
    public mutating func advance(to now: Instant, fireAtDueTimes: Bool) -> [RunEvent] {
        var fired: [RunEvent] = []
        timerRejection = nil
        while let timer = run.armedTimers.first, timer.due <= now {
            let at = fireAtDueTimes ? timer.due : now
            switch run.execute(Command(actor: Command.system, .fireTimer(timer.key)), at: at) {
            case .accepted(let events, _): fired.append(contentsOf: events)
            case .rejected(let rejection):
                timerRejection = rejection
                return fired
            }
        }
        return fired
    }

    /// Catches up to `now`, then decides the command and applies its events when accepted.
    public mutating func handle(_ command: Command, at now: Instant, fireAtDueTimes: Bool) -> StepResult {
        let timerEvents = advance(to: now, fireAtDueTimes: fireAtDueTimes)
        switch run.execute(command, at: now) {
        case .accepted(let events, _):
            return StepResult(timerEvents: timerEvents, events: events, effects: Run.effects(of: timerEvents + events), rejection: nil)
        case .rejected(let rejection):
            return StepResult(timerEvents: timerEvents, events: [], effects: Run.effects(of: timerEvents), rejection: rejection)
        }
    }
}

/// What one command did after the clock caught up: the timers' events first, then the command's.
/// `effects` are those of both, in order.
public struct StepResult: Sendable, Hashable {
    public var timerEvents: [RunEvent]
    public var events: [RunEvent]
    public var effects: [Effect]
    public var rejection: Rejection?

    public init(timerEvents: [RunEvent], events: [RunEvent], effects: [Effect], rejection: Rejection?) {
        self.timerEvents = timerEvents
        self.events = events
        self.effects = effects
        self.rejection = rejection
    }
}
