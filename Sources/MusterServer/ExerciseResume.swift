import Foundation
import MusterCore
import MusterExercise
import MusterJournal
import ServiceLifecycle

/// What a server needs to know of an exercise run's start without replaying it: who facilitates and whether
/// a server drives it. Read once per run from its `exercise-started` event (written once, in the run's first
/// transaction, so it never changes).
final class ExerciseStarts: @unchecked Sendable {
    struct Start: Sendable {
        var facilitator: String?
        var serverDriven: Bool
    }

    private let lock = NSLock()
    private var starts: [String: Start] = [:]
    /// Runs known not to be exercises (a run's mode never changes): commands on live runs skip the lookup.
    private var notExercises: Set<String> = []
    /// Serializes re-attaching, so two requests arriving together take a run up once.
    let reattaching = NSLock()

    func start(of runID: String, in journal: Journal) -> Start? {
        lock.lock()
        let known = starts[runID]
        lock.unlock()
        if let known { return known }
        guard let head = try? journal.head(runID: runID), head.sequence > 0 else { return nil }
        let first: RunEvent?
        do { first = try journal.firstEvent(runID: runID, type: "exercise-started") } catch { return nil }
        // A practice run (exercise mode without a scenario) has no such event; as the event comes in the run's
        // first transaction, its absence is as final as its presence.
        var start = Start(facilitator: nil, serverDriven: false)
        if case .exerciseStarted(let started)? = first?.body {
            start = Start(facilitator: started.facilitator, serverDriven: started.driver == ServerState.exerciseDriver)
        }
        lock.lock()
        if starts.count >= 4_096 { starts.removeAll() }  // bounded; read again on demand
        starts[runID] = start
        lock.unlock()
        return start
    }

    /// Runs remembered (both kinds).
    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return starts.count + notExercises.count
    }

    /// Whether `runID` is an exercise run, remembering the runs that are not.
    func isExercise(_ runID: String, in journal: Journal) -> Bool {
        lock.lock()
        let known = notExercises.contains(runID) ? false : starts[runID] != nil ? true : nil
        lock.unlock()
        if let known { return known }
        guard let record = try? journal.run(runID) else { return false }
        if record.mode != .exercise {
            lock.lock()
            if notExercises.count >= 65_536 { notExercises.removeAll() }  // bounded; looked up again on demand
            notExercises.insert(runID)
            lock.unlock()
        }
        return record.mode == .exercise
    }
}

extension ServerState {
    /// Recorded as the `driver` of an exercise this server starts: such runs are taken up again after a restart.
    static let exerciseDriver = "server"

    /// The facilitator of a run: the person who started the exercise through a server, as recorded in the
    /// journal (so it survives restarts). Nil for live runs and for exercises run from the terminal console.
    func facilitator(runID: String, mode: RunMode) -> String? {
        if let held = exercise(runID) { return held.facilitator }
        guard mode == .exercise, let start = exerciseStarts.start(of: runID, in: journal), start.serverDriven else { return nil }
        return start.facilitator
    }

    /// Whether `runID` is an open exercise run started through a server (this one or another, before a restart).
    func isServerDrivenExercise(_ runID: String) -> Bool {
        guard exerciseStarts.isExercise(runID, in: journal), (try? journal.isClosed(runID: runID)) == false else { return false }
        return exerciseStarts.start(of: runID, in: journal)?.serverDriven == true
    }

    /// The session driving `runID` here. A server-driven exercise run this process does not hold (another
    /// server started it, or re-attaching at start-up failed) is taken up from the journal, after `check`
    /// (the caller's permission) passes: nobody without the right causes a re-attach. Nil for a run no server drives.
    func drivenExercise(_ runID: String, check: () throws -> Void) throws -> ExerciseHandle? {
        if let held = exercise(runID) {
            catchUp(held, runID: runID)
            return held
        }
        guard isServerDrivenExercise(runID) else { return nil }
        try check()
        // Another live server drives it (its lease says so): taking it over would suspend its clock. This control
        // is handled here on a copy that follows that server's clock, and not kept; the driver moves past it.
        if claimExercise(runID) != nil { return try follow(runID) }
        return reattach(runID)
    }

    /// Reads a held exercise again from the journal when another server's control moved it on meanwhile (this
    /// server still drives it: nothing is suspended, the clock follows the journal's anchor).
    func catchUp(_ handle: ExerciseHandle, runID: String) {
        handle.lock.lock()
        defer { handle.lock.unlock() }
        guard (try? handle.session.isBehindJournal()) == true, let record = try? journal.run(runID),
              let session = try? ExerciseSession.follow(journal: journal, record: record, clock: runtime.clock) else { return }
        handle.session = session
    }

    /// A copy of an exercise another server drives, for one control or one view (not kept).
    func follow(_ runID: String) throws -> ExerciseHandle {
        let record = try journal.run(runID)
        let session = try ExerciseSession.follow(journal: journal, record: record, clock: runtime.clock)
        return ExerciseHandle(session: session, facilitator: session.exercise.facilitator)
    }

    /// Whether another live server drives `runID` (holds its lease).
    func drivenElsewhere(_ runID: String) -> Bool {
        guard let lease = (try? journal.liveLease(Self.exerciseLease(runID))) ?? nil else { return false }
        return lease.holder != instanceID
    }

    /// Takes up one open exercise run under its lease; nil when another live server holds it or it cannot be taken up.
    func takeUp(_ runID: String) -> ExerciseHandle? {
        guard claimExercise(runID) == nil else { return nil }
        guard let handle = reattach(runID) else {
            try? journal.releaseLease(Self.exerciseLease(runID), holder: instanceID)
            return nil
        }
        return handle
    }

    /// Takes up every open exercise run that a server started (called once the server is listening: one that cannot bind its port never touches a run).
    public func reattachExercises() {
        guard let runs = try? journal.runs(), let closed = try? journal.closedRunIDs() else { return }
        for record in runs where record.mode == .exercise && !closed.contains(record.id) && exercise(record.id) == nil {
            guard exerciseStarts.start(of: record.id, in: journal)?.serverDriven == true else { continue }
            _ = takeUp(record.id)  // not one another live server drives (its lease says so)
        }
    }

    /// Re-attaches one run; nil (logged) when it cannot be taken up.
    private func reattach(_ runID: String) -> ExerciseHandle? {
        exerciseStarts.reattaching.lock()
        defer { exerciseStarts.reattaching.unlock() }
        if let held = exercise(runID) { return held }
        do {
            let record = try journal.run(runID)
            let reason = "the server driving this exercise restarted; scenario time stopped where the journal last recorded it; the facilitator resumes the clock"
            let (session, step) = try ExerciseSession.reattach(journal: journal, record: record, reason: reason, clock: runtime.clock)
            let handle = ExerciseHandle(session: session, facilitator: session.exercise.facilitator)
            keep(handle, runID: runID)
            if !step.events.isEmpty { wrote(runID: runID) }
            logger.info("exercise taken up again", metadata: [
                "run": "\(runID)", "facilitator": "\(handle.facilitator)", "suspended": "\(!step.events.isEmpty)",
                "scenario_now": "\(session.exercise.now.iso8601)",
            ])
            return handle
        } catch {
            logger.warning("exercise not taken up again", metadata: ["run": "\(runID)", "why": "\(error)"])
            return nil
        }
    }

    /// One input to a held exercise (the caller holds `handle.lock`). When another process appended to the run
    /// meanwhile (another server took it up), this copy is stale: it is dropped, so that the next control takes
    /// the run up again from the journal, and the caller gets a 409 to retry.
    func step(_ handle: ExerciseHandle, runID: String, _ input: ExerciseInput, by actor: String, key: CommandKey? = nil) throws -> ExerciseStep {
        do {
            return try handle.session.handle(input, by: actor, key: key)
        } catch JournalError.sequenceConflict where exercise(runID) === handle && !drivenElsewhere(runID) {
            // This server drives the run (its lease) and another server handled a control meanwhile: go on from
            // the journal, with the clock that control left, and decide the input again.
            let record = try journal.run(runID)
            handle.session = try ExerciseSession.follow(journal: journal, record: record, clock: runtime.clock)
            do { return try handle.session.handle(input, by: actor, key: key) } catch JournalError.sequenceConflict {
                throw APIError(409, "exercise run \(runID) was changed by another process; try again")
            }
        } catch JournalError.sequenceConflict {
            forget(handle, runID: runID)
            logger.warning("exercise changed by another process; taken up afresh on the next control", metadata: ["run": "\(runID)"])
            throw APIError(409, "exercise run \(runID) was changed by another process; try again")
        }
    }

    /// On shutdown: each running exercise clock this server drives is suspended at the scenario time reached
    /// and the suspension journaled, so a restart takes it up exactly there (paused, for the facilitator to resume).
    func suspendExercises(reason: String) {
        for (runID, handle) in heldExercises() {
            handle.lock.lock()
            let running = handle.session.exercise.clock.followsWallClock && !handle.session.exercise.hasEnded
            var suspended = false
            if running {
                do {
                    suspended = try handle.session.handle(.suspend(reason: reason), by: Command.system).refusal == nil
                } catch {
                    logger.warning("exercise clock not suspended at shutdown", metadata: ["run": "\(runID)", "why": "\(error)"])
                }
            }
            handle.lock.unlock()
            if suspended { wrote(runID: runID) }
        }
    }
}

/// Suspends the running exercise clocks when shutdown begins. Listed first among the services, so it is shut
/// down last: after the HTTP server has drained (no control in flight) and the timer pump has stopped.
struct ExerciseSuspendService: ServiceLifecycle.Service {
    let state: ServerState
    func run() async throws {
        try? await gracefulShutdown()
        state.suspendExercises(reason: "the server driving this exercise stopped; the facilitator resumes the clock when it is back")
        await DatabaseExecutor.run { state.releaseExercises() }
    }
}
