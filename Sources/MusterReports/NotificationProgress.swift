import MusterCore

/// Where one notification of a run stands right now, for people watching the board: queued, being sent, sent
/// (HTTP status and latency), retrying (attempt, next attempt, last error), dead-lettered or skipped.
///
/// The timeline is the source: the engine journals `notification-queued`, the outbox worker one event per
/// attempt, a person's requeue `notification-requeued`. The outbox row fills in what the timeline cannot say:
/// that an attempt is in flight (`sending`), that an exercise skipped a `live_only` channel when queueing it,
/// and the notifications of injects sent through a channel (they have an outbox row and delivery events but no
/// `notification-queued`).
public struct NotificationProgress: Sendable, Hashable {
    public enum Status: Sendable, Hashable {
        /// Waiting for its first attempt (or for the next one after a person requeued it).
        case queued
        /// An attempt is in flight.
        case sending(attempt: Int)
        case sent(httpStatus: Int?, latencyMs: Int64, attempt: Int)
        /// The last attempt failed; `nextAttempt` is nil when the worker did not say when it tries again.
        case retrying(attempt: Int, nextAttempt: Instant?, lastError: String)
        case deadLettered(attempts: Int, reason: String)
        case skipped(reason: String)

        /// The status's name as the API spells it.
        public var name: String {
            switch self {
            case .queued: "queued"
            case .sending: "sending"
            case .sent: "sent"
            case .retrying: "retrying"
            case .deadLettered: "dead-lettered"
            case .skipped: "skipped"
            }
        }
    }

    /// What the outbox row of a notification says (the journal's `OutboxItem`, without the payload).
    public struct OutboxRow: Sendable, Hashable {
        public var notificationID: String
        public var channel: String
        /// `pending`, `sending`, `sent`, `failed`, `dead` or `skipped`.
        public var status: String
        public var attempts: Int
        public var lastError: String?

        public init(notificationID: String, channel: String, status: String, attempts: Int, lastError: String? = nil) {
            self.notificationID = notificationID
            self.channel = channel
            self.status = status
            self.attempts = attempts
            self.lastError = lastError
        }
    }

    public var id: String
    public var channel: String
    /// The rendered text; empty for an inject's notification (the inject is on the timeline).
    public var message: String
    /// What caused it: `enter:STATE`, `timer:ID`, `inject:ID`.
    public var trigger: String
    /// When it was queued (nil when only its outbox row or a delivery event is known).
    public var queuedAt: Instant?
    public var status: Status
    /// When its status last changed on the timeline.
    public var updatedAt: Instant?

    public init(id: String, channel: String, message: String, trigger: String, queuedAt: Instant?, status: Status, updatedAt: Instant?) {
        self.id = id
        self.channel = channel
        self.message = message
        self.trigger = trigger
        self.queuedAt = queuedAt
        self.status = status
        self.updatedAt = updatedAt
    }

    /// Every notification of a run in the order it first appeared, with its status after `events` (the run's
    /// whole timeline, in order) and, where the timeline is silent, its outbox row.
    public static func list(events: [RunEvent], outbox: [OutboxRow] = []) -> [NotificationProgress] {
        var list: [NotificationProgress] = []
        var index: [String: Int] = [:]
        func entry(_ id: String, channel: String, at: Instant?) -> Int {
            if let i = index[id] { return i }
            index[id] = list.count
            let trigger = id.hasPrefix("inject-") ? "inject:" + id.dropFirst("inject-".count) : ""
            list.append(NotificationProgress(id: id, channel: channel, message: "", trigger: trigger, queuedAt: nil, status: .queued, updatedAt: at))
            return list.count - 1
        }
        for event in events {
            switch event.body {
            case .notificationQueued(let n):
                let i = entry(n.id, channel: n.channel, at: event.at)
                list[i].message = n.message
                list[i].trigger = n.trigger
                list[i].queuedAt = event.at
                list[i].status = .queued
            case .notificationSent(let id, let channel, let status, let latencyMs, let attempt):
                let i = entry(id, channel: channel, at: event.at)
                list[i].status = .sent(httpStatus: status, latencyMs: latencyMs, attempt: attempt)
                list[i].updatedAt = event.at
            case .notificationFailed(let id, let channel, let reason, let attempt, let next):
                let i = entry(id, channel: channel, at: event.at)
                list[i].status = .retrying(attempt: attempt, nextAttempt: next, lastError: reason)
                list[i].updatedAt = event.at
            case .notificationDeadLettered(let id, let channel, let reason, let attempts):
                let i = entry(id, channel: channel, at: event.at)
                list[i].status = .deadLettered(attempts: attempts, reason: reason)
                list[i].updatedAt = event.at
            case .notificationSkipped(let id, let channel, let reason):
                let i = entry(id, channel: channel, at: event.at)
                list[i].status = .skipped(reason: reason)
                list[i].updatedAt = event.at
            case .notificationRequeued(let id, let channel, _, _):
                let i = entry(id, channel: channel, at: event.at)
                list[i].status = .queued
                list[i].updatedAt = event.at
            default:
                break
            }
        }
        for row in outbox {
            let known = index[row.notificationID] != nil
            let i = entry(row.notificationID, channel: row.channel, at: nil)
            // The timeline outranks the row, except while it has nothing after the queueing to say.
            guard !known || list[i].status == .queued else { continue }
            switch row.status {
            case "sending": list[i].status = .sending(attempt: row.attempts)
            case "skipped": list[i].status = .skipped(reason: row.lastError ?? "not sent")
            default: break
            }
        }
        return list
    }
}
