import Foundation
import MusterCore
import MusterJournal

/// The loop inside `muster watch`: fire the timers that are due, report everything appended to the run since
/// the last step (by this or any other process), then wait until the next timer is due, but never longer
/// than `maximumWait`, so that other processes' events show up promptly. The waiting is the caller's (a
/// semaphore a signal handler can cut short), so that the loop stops between two steps, never inside one.
public final class TimerPump: @unchecked Sendable {
    public let runtime: IncidentRuntime
    public let runID: String
    public let maximumWait: TimeSpan
    /// The seq of the last event reported by `step()`.
    public private(set) var reportedSequence: Int

    /// `reportedFrom`: events up to this seq count as already reported (0 reports the whole run at first).
    public init(runtime: IncidentRuntime, runID: String, maximumWait: TimeSpan = TimeSpan(milliseconds: 500), reportedFrom: Int = 0) {
        self.runtime = runtime
        self.runID = runID
        self.maximumWait = maximumWait
        reportedSequence = reportedFrom
    }

    /// One turn: fires due timers (one transaction), then reads what is new in the journal.
    public func step() throws(RuntimeError) -> PumpStep {
        let fired = try runtime.tick(runID: runID)
        let snapshot = try runtime.snapshot(runID: runID)
        var appended: [StoredEvent] = []
        if snapshot.sequence > reportedSequence {
            do { appended = try runtime.journal.storedEvents(runID: runID, after: reportedSequence) } catch { throw .journal(error) }
            reportedSequence = appended.last?.seq ?? reportedSequence
        }
        let now = max(runtime.clock.now, snapshot.lastEventAt)
        return PumpStep(fired: fired.timerEvents, timerRejection: fired.timerRejection, appended: appended, snapshot: snapshot,
                        now: now, wait: wait(after: now, nextDue: snapshot.run.nextDue))
    }

    /// How long to sleep: until the next due time, at most `maximumWait`, at least nothing.
    public func wait(after now: Instant, nextDue: Instant?) -> TimeSpan {
        guard let nextDue else { return maximumWait }
        let until = nextDue - now
        if until.milliseconds <= 0 { return .zero }
        return min(until, maximumWait)
    }

    /// Runs steps until `shouldStop` says so (checked between steps), handing each to `onStep` and sleeping
    /// with `sleep` in between. A step that throws ends the loop with that error.
    public func run(shouldStop: () -> Bool, sleep: (TimeSpan) -> Void, onStep: (PumpStep) -> Void) throws(RuntimeError) {
        while !shouldStop() {
            let step = try step()
            onStep(step)
            if shouldStop() { return }
            sleep(step.wait)
        }
    }
}

/// What one pump step did and saw.
public struct PumpStep: Sendable {
    /// Events recorded by this step's catch-up (timer firings and what they caused).
    public var fired: [RunEvent]
    public var timerRejection: Rejection?
    /// Every event appended since the previous step, by anyone, in seq order (includes `fired`).
    public var appended: [StoredEvent]
    public var snapshot: RunSnapshot
    /// The clock when the step ended.
    public var now: Instant
    /// How long the pump will sleep before the next step.
    public var wait: TimeSpan
}
