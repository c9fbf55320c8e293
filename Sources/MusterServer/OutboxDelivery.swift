import Foundation
import Logging
import MusterCore
import MusterDelivery
import MusterJournal
import MusterNotify
import ServiceLifecycle

/// Rung by whatever in the server may have queued notifications (a command, a declaration, the timer pump, an
/// exercise step), after its transaction committed: wakes the outbox worker at once instead of at its next check.
/// Rings coalesce: many rings while the worker is busy give one more pass, not many.
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

/// The outbox worker of `muster serve` (`MusterDelivery.OutboxWorker` over the server's journal): on a thread of
/// its own, it runs a delivery pass whenever items are due, is woken by the server's `DeliveryBell` when a
/// command queues notifications, and otherwise sleeps until the next due attempt (at most `idleCheck`, so that
/// notifications queued by another process, or claims whose lease ran out, are picked up too). Transfers go
/// through libcurl's multi interface on the transport's thread with timeouts, so a slow receiver delays only
/// later notifications, never a request handler or the timer pump.
///
/// Graceful shutdown: when shutdown begins the loop stops after the pass in progress (its transfers are bounded
/// by their timeouts; every outcome is recorded in one transaction with the item's status).
public struct OutboxDeliveryService: ServiceLifecycle.Service {
    let loop: OutboxDeliveryLoop

    public init(state: ServerState, environment: [String: String], idleCheck: Duration = .seconds(1),
                transport: CurlTransport = CurlTransport()) {
        let clock = state.runtime.clock
        let worker = OutboxWorker(journal: state.journal, transport: transport, environment: environment, clock: { clock.now })
        loop = OutboxDeliveryLoop(worker: worker, bell: state.deliveryBell, idleCheck: idleCheck, logger: state.logger)
    }

    public func run() async throws {
        loop.start()
        try? await gracefulShutdown()
        await loop.stop()
    }
}

/// The outbox worker (`MusterDelivery.OutboxWorker`) as a service of the server, run beside the timer pump;
/// `muster serve` passes `services(for:)` as `buildApplication`'s `extraServices`.
public struct OutboxWorkerHook: Sendable {
    public var environment: [String: String]
    public var idleCheck: Duration

    public init(environment: [String: String], idleCheck: Duration = .seconds(1)) {
        self.environment = environment
        self.idleCheck = idleCheck
    }

    public func services(for state: ServerState) -> [any ServiceLifecycle.Service] {
        [OutboxDeliveryService(state: state, environment: environment, idleCheck: idleCheck)]
    }
}

final class OutboxDeliveryLoop: @unchecked Sendable {
    let worker: OutboxWorker
    let bell: DeliveryBell
    let idleCheck: Int64
    let logger: Logger
    private let lock = NSLock()
    private var stopping = false
    private var exited = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(worker: OutboxWorker, bell: DeliveryBell, idleCheck: Duration, logger: Logger) {
        self.worker = worker
        self.bell = bell
        let c = idleCheck.components
        self.idleCheck = max(10, c.seconds * 1000 + c.attoseconds / 1_000_000_000_000_000)
        self.logger = logger
    }

    func start() {
        let thread = Thread { [self] in
            loop()
            lock.lock()
            exited = true
            let resume = waiters
            waiters = []
            lock.unlock()
            for w in resume { w.resume() }
        }
        thread.name = "muster-serve-outbox"
        thread.start()
    }

    /// Lets the pass in progress finish, then ends the loop; returns once its thread is done.
    func stop() async {
        setStopping()
        bell.ring()
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in waitForExit(c) }
        worker.transport.shutdown()
    }

    private func setStopping() {
        lock.withLock { stopping = true }
    }

    private func waitForExit(_ c: CheckedContinuation<Void, Never>) {
        let done = lock.withLock { () -> Bool in
            if exited { return true }
            waiters.append(c)
            return false
        }
        if done { c.resume() }
    }

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    private func loop() {
        while !isStopping {
            var sleep = idleCheck
            do {
                let now = worker.clock()
                if try !worker.journal.dueOutbox(now: now, limit: 1, lease: worker.lease).isEmpty {
                    let report = try worker.deliverDueBlocking()
                    for outcome in report.outcomes { logger.info("notification: \(outcome)") }
                    // Something was due but nothing could be claimed (another worker took it): do not spin.
                    if !report.outcomes.isEmpty { continue }
                    sleep = 100
                } else if let next = try worker.journal.nextOutboxAttempt() {
                    sleep = min(idleCheck, max(1, (next - now).milliseconds))
                }
            } catch {
                logger.error("notification delivery: \(error)")
            }
            _ = bell.wait(milliseconds: sleep)
        }
    }
}
