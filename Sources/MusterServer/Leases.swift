import Foundation
import MusterCore
import MusterJournal
import MusterRuntime

/// What this server holds among the cluster's leases (rows of the journal timed by the database's clock): the
/// timer pump, and each exercise it drives. Only changes are logged.
final class LeaseBook: @unchecked Sendable {
    private let lock = NSLock()
    private var pump = false
    private var lastPrune: Instant?

    /// Records whether this server holds the timer pump now; true when that changed.
    func setPump(_ held: Bool) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let changed = pump != held
        pump = held
        return changed
    }

    var holdsPump: Bool {
        lock.lock()
        defer { lock.unlock() }
        return pump
    }

    /// Whether an hour has passed since the last prune of idempotency keys (and notes this one).
    func pruneDue(now: Instant) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if let last = lastPrune, now.millisecondsSinceEpoch - last.millisecondsSinceEpoch < TimeSpan.hours(1).milliseconds { return false }
        lastPrune = now
        return true
    }
}

extension ServerState {
    static let timerPumpLease = "timer-pump"
    static func exerciseLease(_ runID: String) -> String { "exercise:" + runID }

    var instanceID: String { configuration.instanceID }

    /// Takes or renews the timer pump's lease; whether this server holds it. A database that cannot be reached
    /// means no: nothing can be fired then anyway.
    func holdsTimerPump() -> Bool {
        (runtime.clock as? DatabaseClock).map { try? $0.synchronize(every: .seconds(30)) }
        let held = (try? journal.acquireLease(Self.timerPumpLease, holder: instanceID, for: configuration.leaseDuration))?.holder == instanceID
        if leases.setPump(held) {
            logger.notice(held ? "timer pump lease taken: this server fires the timers" : "timer pump lease lost to another server",
                          metadata: ["server": "\(instanceID)"])
        }
        return held
    }

    /// On shutdown: gives the timer pump up, so another server takes it at its next pass.
    func releaseTimerPump() {
        try? journal.releaseLease(Self.timerPumpLease, holder: instanceID)
    }

    /// On shutdown, once their clocks are suspended: gives the exercises driven here up.
    func releaseExercises() {
        for runID in heldExercises().keys { try? journal.releaseLease(Self.exerciseLease(runID), holder: instanceID) }
    }

    /// Renews the lease of each exercise driven here; one another server holds now (ours ran out, say while this
    /// server could not reach the database) is dropped: that server drives it.
    func renewExerciseLeases() {
        for (runID, handle) in heldExercises() {
            guard let lease = try? journal.acquireLease(Self.exerciseLease(runID), holder: instanceID, for: configuration.leaseDuration) else { continue }
            if lease.holder != instanceID {
                forget(handle, runID: runID)
                logger.warning("exercise taken over by another server", metadata: ["run": "\(runID)", "by": "\(lease.holder)"])
            }
        }
    }

    /// Takes the exercise's lease for this server; nil when granted, else the live holder.
    func claimExercise(_ runID: String) -> String? {
        guard let lease = try? journal.acquireLease(Self.exerciseLease(runID), holder: instanceID, for: configuration.leaseDuration) else {
            return "the database"
        }
        return lease.holder == instanceID ? nil : lease.holder
    }

    /// The timer pump's holder takes up the open server-driven exercises whose driver's lease ran out (it died):
    /// `reattach` suspends a running clock at the scenario time last recorded, so the downtime is not scenario time.
    func adoptOrphanedExercises(_ runs: [(id: String, mode: RunMode)]) {
        for record in runs where record.mode == .exercise && exercise(record.id) == nil {
            guard exerciseStarts.start(of: record.id, in: journal)?.serverDriven == true else { continue }
            if (try? journal.liveLease(Self.exerciseLease(record.id))) ?? nil != nil { continue }
            _ = takeUp(record.id)
        }
    }

    /// Forgets idempotency keys older than their retention, once an hour.
    func pruneCommandKeys(now: Instant) {
        guard leases.pruneDue(now: now) else { return }
        _ = try? journal.pruneCommandKeys(before: now - IdempotencyKeys.retention)
    }
}

/// Test hooks: one pass of the timer pump, and the pump's lease as this server sees it.
public enum ClusterControl {
    public static func pumpOnce(_ state: ServerState) { TimerPumpService(state: state).pumpOnce() }
    public static func holdsTimerPump(_ state: ServerState) -> Bool { state.leases.holdsPump }
    /// What shutdown does: gives up the timer pump's and the exercises' leases.
    public static func release(_ state: ServerState) {
        state.releaseTimerPump()
        state.releaseExercises()
    }
}
