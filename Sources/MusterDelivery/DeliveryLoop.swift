import Foundation
import MusterCore
import MusterJournal

/// Rung by whatever may have queued notifications (a command, a declaration, the timer pump, an exercise step),
/// after its transaction committed: wakes a `DeliveryLoop` at once instead of at its next check. Rings
/// coalesce: many rings while the loop is busy give one more pass, not many.
public final class DeliveryBell: @unchecked Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var pending = false

    public init() {}

    public func ring() {
        lock.lock()
        let signal = !pending
        pending = true
        lock.unlock()
        if signal { semaphore.signal() }
    }

    /// Blocks the calling thread (never the cooperative pool) until a ring or `timeout`; true when rung.
    func wait(milliseconds: Int64) -> Bool {
        let rung = semaphore.wait(timeout: .now() + .milliseconds(Int(max(0, milliseconds)))) == .success
        lock.lock()
        pending = false
        lock.unlock()
        return rung
    }
}

/// An outbox worker that keeps delivering, on a thread of its own (a slow receiver never delays a timer or a
/// request): a pass whenever items are due, woken by `bell`, otherwise asleep until the next due attempt, at
/// most `idleCheck` (so that notifications queued by another process, or claims whose lease ran out, are
/// picked up too). What `muster watch` and `muster serve` run. Stopping lets the pass in progress finish (its
/// transfers are bounded by their timeouts; every outcome is recorded with the item's status) and waits for
/// the thread.
public final class DeliveryLoop: @unchecked Sendable {
    public let worker: OutboxWorker
    public let bell: DeliveryBell
    private let idleCheck: Int64
    private let onOutcome: @Sendable (DeliveryOutcome) -> Void
    private let onError: @Sendable (String) -> Void
    private let lock = NSLock()
    private var stopping = false
    private var exited = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private let exitedSemaphore = DispatchSemaphore(value: 0)

    /// `onOutcome` hears every attempt's outcome, `onError` what stopped a pass (the loop goes on).
    public init(worker: OutboxWorker, bell: DeliveryBell = DeliveryBell(), idleCheck: TimeSpan,
                onOutcome: @escaping @Sendable (DeliveryOutcome) -> Void = { _ in },
                onError: @escaping @Sendable (String) -> Void) {
        self.worker = worker
        self.bell = bell
        self.idleCheck = max(10, idleCheck.milliseconds)
        self.onOutcome = onOutcome
        self.onError = onError
    }

    public func start() {
        let thread = Thread { [self] in
            loop()
            lock.lock()
            exited = true
            let resume = waiters
            waiters = []
            lock.unlock()
            exitedSemaphore.signal()
            for w in resume { w.resume() }
        }
        thread.name = "muster-outbox"
        thread.start()
    }

    /// Lets the pass in progress finish, then ends the loop; returns once its thread is done (for threads).
    public func stop() {
        beginStopping()
        _ = exitedSemaphore.wait(timeout: .now() + 60)
        exitedSemaphore.signal()
        worker.transport.shutdown()
    }

    /// `stop()` for async callers: suspends instead of blocking a thread of the cooperative pool.
    public func stop() async {
        beginStopping()
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = lock.withLock { () -> Bool in
                if exited { return true }
                waiters.append(c)
                return false
            }
            if done { c.resume() }
        }
        worker.transport.shutdown()
    }

    private func beginStopping() {
        lock.withLock { stopping = true }
        bell.ring()
    }

    private var isStopping: Bool { lock.withLock { stopping } }

    private func loop() {
        while !isStopping {
            var sleep = idleCheck
            do {
                let now = worker.clock()
                if try !worker.journal.dueOutbox(now: now, limit: 1, lease: worker.lease).isEmpty {
                    let report = try worker.deliverDueBlocking()
                    for outcome in report.outcomes { onOutcome(outcome) }
                    // Something was due but nothing could be claimed (another worker took it): do not spin.
                    if !report.outcomes.isEmpty { continue }
                    sleep = 100
                } else if let next = try worker.journal.nextOutboxAttempt() {
                    sleep = min(idleCheck, max(1, (next - now).milliseconds))
                }
            } catch {
                onError("notification delivery: \(error)")
            }
            _ = bell.wait(milliseconds: sleep)
        }
    }
}
