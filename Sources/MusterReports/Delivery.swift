import MusterCore

/// What the timeline says about one delivery of a notification. The engine only records that a notification
/// was queued (`notificationQueued`); delivery attempts become events of their own when the delivery side
/// journals them. Until then every queued notification is `pending` ("no delivery recorded in the timeline"),
/// and `DeliveryFact.facts(in:)` is the one place that maps those future event kinds.
public struct DeliveryFact: Sendable, Hashable {
    public enum Outcome: String, Sendable, Hashable, CaseIterable {
        /// One attempt failed; more may follow.
        case attemptFailed = "attempt-failed"
        case delivered
        /// The delivery side gave up (maximum attempts reached): a person must retry.
        case deadLettered = "dead-lettered"
        /// Not sent on purpose (a `live_only` channel in an exercise).
        case skipped
    }

    public var notificationID: String
    public var at: Instant
    public var outcome: Outcome
    public var detail: String?

    public init(notificationID: String, at: Instant, outcome: Outcome, detail: String? = nil) {
        self.notificationID = notificationID
        self.at = at
        self.outcome = outcome
        self.detail = detail
    }

    /// The delivery facts an event carries: the outbox worker journals one event per attempt.
    /// A requeue by hand carries none: the notification's status stays what the last attempt made it until the
    /// next attempt is recorded.
    public static func facts(in event: RunEvent) -> [DeliveryFact] {
        switch event.body {
        case .notificationSent(let id, _, let status, let latencyMs, _):
            [DeliveryFact(notificationID: id, at: event.at, outcome: .delivered,
                          detail: (status.map { "status \($0), " } ?? "") + "\(latencyMs) ms")]
        case .notificationFailed(let id, _, let reason, _, _):
            [DeliveryFact(notificationID: id, at: event.at, outcome: .attemptFailed, detail: reason)]
        case .notificationDeadLettered(let id, _, let reason, _):
            [DeliveryFact(notificationID: id, at: event.at, outcome: .deadLettered, detail: reason)]
        case .notificationSkipped(let id, _, let reason):
            [DeliveryFact(notificationID: id, at: event.at, outcome: .skipped, detail: reason)]
        default:
            []
        }
    }
}

/// Where a notification ended up, as far as the timeline knows.
public enum DeliveryStatus: String, Sendable, Hashable, CaseIterable {
    /// Queued, and no delivery outcome is recorded in the timeline (yet).
    case pending
    case delivered
    /// At least one attempt failed and no later outcome is recorded.
    case failed
    case deadLettered = "dead-lettered"
    case skipped
}
