/// The scenario clock of an exercise as a pure value: which scenario instant corresponds to a wall-clock
/// instant, given pauses, resumes, speed changes and skips. The shell passes wall instants in; nothing here
/// reads a clock.
///
/// Exactness: the clock keeps one anchor (a wall instant and the scenario instant it maps to) and computes
/// `scenario = anchorScenario + (wall - anchorWall) * speed` in integer milliseconds. Every change re-anchors
/// at the exact scenario instant of that moment, so pausing, resuming and changing speed never drift: the
/// scenario time is the sum of each running stretch times its speed, rounded down once per stretch.
public struct ScenarioClock: Sendable, Hashable {
    public private(set) var pace: ScenarioPace
    public private(set) var isPaused: Bool
    private var anchorWall: Instant
    private var anchorScenario: Instant

    /// A clock showing `scenario` at wall instant `wall`, running (or paused) at `pace`.
    public init(scenario: Instant, wall: Instant, pace: ScenarioPace, paused: Bool = false) {
        self.pace = pace
        self.isPaused = paused
        anchorWall = wall
        anchorScenario = scenario
    }

    /// Whether scenario time follows the wall clock right now (running at a rate).
    public var followsWallClock: Bool {
        if isPaused { return false }
        if case .rate = pace { return true }
        return false
    }

    /// The scenario instant at wall instant `wall` (never before the anchor: a wall clock stepping back does
    /// not move the scenario back).
    public func scenarioTime(at wall: Instant) -> Instant {
        guard !isPaused, case .rate(let thousandths) = pace, wall > anchorWall else { return anchorScenario }
        let elapsed = (wall - anchorWall).milliseconds
        return anchorScenario + TimeSpan(milliseconds: elapsed * thousandths / 1000)
    }

    /// The first wall instant at which the scenario reaches `scenario` (nil when the clock does not follow the
    /// wall clock: paused, manual or max). At or before `wall` when it has already been reached.
    public func wallTime(whenScenarioReaches scenario: Instant, from wall: Instant) -> Instant? {
        guard followsWallClock, case .rate(let thousandths) = pace else { return nil }
        let now = scenarioTime(at: wall)
        if scenario <= now { return wall }
        let base = max(wall, anchorWall)
        let needed = (scenario - anchorScenario).milliseconds
        // Smallest wall offset w with w * t / 1000 >= needed.
        let offset = (needed * 1000 + thousandths - 1) / thousandths
        return max(base, anchorWall + TimeSpan(milliseconds: offset))
    }

    private mutating func reanchor(at wall: Instant) {
        anchorScenario = scenarioTime(at: wall)
        anchorWall = max(wall, anchorWall)
    }

    /// Stops scenario time; false when already paused.
    @discardableResult
    public mutating func pause(at wall: Instant) -> Bool {
        guard !isPaused else { return false }
        reanchor(at: wall)
        isPaused = true
        return true
    }

    /// Lets scenario time run again from where it stopped; false when not paused.
    @discardableResult
    public mutating func resume(at wall: Instant) -> Bool {
        guard isPaused else { return false }
        isPaused = false
        anchorWall = max(wall, anchorWall)
        return true
    }

    /// Changes the speed from this moment on; scenario time so far is kept exactly.
    public mutating func setPace(_ pace: ScenarioPace, at wall: Instant) {
        reanchor(at: wall)
        self.pace = pace
    }

    /// Moves scenario time ahead by `span` at once (paused or not).
    public mutating func skip(_ span: TimeSpan, at wall: Instant) {
        reanchor(at: wall)
        anchorScenario = anchorScenario + span
    }

    /// Sets scenario time to `scenario` if it is later (manual and max clocks, which move only on command).
    public mutating func move(to scenario: Instant, at wall: Instant) {
        reanchor(at: wall)
        if scenario > anchorScenario { anchorScenario = scenario }
    }
}
