import MusterCore

/// Where a notification is on its way out. `sent` and `skipped` are final; `dead` waits for a person
/// (`muster outbox retry`), who may send it back to `pending`.
public enum OutboxStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case pending, sending, sent, failed, dead, skipped

    /// The statuses an item may move to from this one.
    public var successors: Set<OutboxStatus> {
        switch self {
        case .pending: [.sending, .skipped, .dead]
        // Back to pending: a worker gives up its claim without an attempt outcome (shutdown).
        // Skipped: routing at delivery time found the channel must not be used (live_only in an exercise).
        case .sending: [.sent, .failed, .dead, .pending, .skipped]
        case .failed: [.sending, .dead, .skipped, .pending]
        case .dead: [.pending]
        case .sent, .skipped: []
        }
    }
}

/// An outbox row to write together with the events of one append.
public struct OutboxRequest: Sendable, Hashable {
    /// The notification's id within the run (`Notification.id`).
    public var notificationID: String
    public var channel: String
    /// What the delivery worker needs, as JSON text (stored canonically).
    public var payload: String
    /// Sent with every attempt so receivers can drop duplicates; `RUN_ID/NOTIFICATION_ID` when nil.
    public var idempotencyKey: String?
    /// Index, in the same append's events, of the event that caused the item. When nil, the
    /// `notificationQueued` event with the same notification id in that append.
    public var causeIndex: Int?
    /// No attempt before this instant; the causing event's time when nil.
    public var notBefore: Instant?
    /// `pending` normally; `skipped` for a `live_only` channel in an exercise (with the reason in `note`).
    public var status: OutboxStatus
    public var note: String?

    public init(
        notificationID: String, channel: String, payload: String, idempotencyKey: String? = nil,
        causeIndex: Int? = nil, notBefore: Instant? = nil, status: OutboxStatus = .pending, note: String? = nil
    ) {
        self.notificationID = notificationID
        self.channel = channel
        self.payload = payload
        self.idempotencyKey = idempotencyKey
        self.causeIndex = causeIndex
        self.notBefore = notBefore
        self.status = status
        self.note = note
    }

    /// An item for a queued notification, with the notification itself (canonical JSON) as payload.
    public init(_ notification: Notification, idempotencyKey: String? = nil, notBefore: Instant? = nil, status: OutboxStatus = .pending, note: String? = nil) throws {
        self.init(
            notificationID: notification.id, channel: notification.channel,
            payload: try CanonicalJSON.encode(notification), idempotencyKey: idempotencyKey,
            notBefore: notBefore, status: status, note: note)
    }
}

/// One outbox row.
public struct OutboxItem: Sendable, Hashable {
    public var id: Int64
    public var runID: String
    /// The seq of the event that caused it.
    public var seq: Int
    public var notificationID: String
    public var channel: String
    public var payload: String
    public var status: OutboxStatus
    /// Attempts started (each move to `sending` counts one).
    public var attempts: Int
    public var nextAttempt: Instant
    public var lastError: String?
    public var idempotencyKey: String
    public var updatedAt: Instant
}
