import Foundation
import Logging
import MusterCore
import MusterDelivery
import MusterJournal
import MusterNotify
import ServiceLifecycle

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
    let loop: DeliveryLoop

    public init(state: ServerState, environment: [String: String], idleCheck: Duration = .seconds(1),
                transport: CurlTransport = CurlTransport()) {
        let clock = state.runtime.clock
        let worker = OutboxWorker(journal: state.journal, transport: transport, environment: environment,
                                  answerLinkBase: state.configuration.publicURL, clock: { clock.now })
        let logger = state.logger
        let c = idleCheck.components
        loop = DeliveryLoop(
            worker: worker, bell: state.deliveryBell, idleCheck: TimeSpan(milliseconds: c.seconds * 1000 + c.attoseconds / 1_000_000_000_000_000),
            onOutcome: { logger.info("notification: \($0)") }, onError: { logger.error("\($0)") })
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
