import MusterCore
import MusterJournal

/// What a person does to the outbox by hand.
public enum OutboxAdmin {
    /// The statuses `requeue` takes back to pending.
    public static let requeueable: Set<OutboxStatus> = [.dead, .failed]

    /// Sends a dead or failed item back to `pending` (due at once) and records who did it on the run's
    /// timeline, in one transaction. The item gets a fresh set of attempts (counted from its attempts so far).
    @discardableResult
    public static func requeue(_ journal: Journal, id: Int64, actor: String, at now: Instant) throws(RequeueError) -> OutboxItem {
        for _ in 0..<50 {
            let item: OutboxItem
            let head: Head
            do {
                item = try journal.outboxItem(id: id)
                head = try journal.head(runID: item.runID)
            } catch {
                throw .journal(error)
            }
            guard requeueable.contains(item.status) else { throw .notRetryable(item) }
            let event = RunEvent(at: now, actor: actor, role: nil, .notificationRequeued(
                id: item.notificationID, channel: item.channel, previousStatus: item.status.rawValue, attempts: item.attempts))
            do {
                try journal.append(
                    runID: item.runID, expectedSequence: head.sequence, events: [event],
                    outboxUpdates: [OutboxUpdate(id: id, status: .pending, nextAttempt: now, expected: [item.status])], at: now)
                return (try? journal.outboxItem(id: id)) ?? item
            } catch .sequenceConflict {
                continue
            } catch .invalidOutboxTransition {
                continue  // it moved meanwhile: look again
            } catch {
                throw .journal(error)
            }
        }
        throw .journal(.database(path: journal.path, detail: "outbox item \(id) kept changing; try again"))
    }
}

public enum RequeueError: Error, Sendable, CustomStringConvertible {
    case journal(JournalError)
    case notRetryable(OutboxItem)

    public var description: String {
        switch self {
        case .journal(let error): error.description
        case .notRetryable(let item):
            switch item.status {
            case .sent: "outbox item \(item.id) (\(item.runID) \(item.notificationID)) was delivered already; nothing to retry"
            case .skipped: "outbox item \(item.id) (\(item.runID) \(item.notificationID)) was skipped on purpose (live_only channel in an exercise); it is not retried"
            case .sending: "outbox item \(item.id) is being sent right now; retry it only if it ends dead or failed"
            case .pending: "outbox item \(item.id) is already pending; the next delivery pass sends it"
            default: "outbox item \(item.id) is \(item.status.rawValue) and cannot be retried"
            }
        }
    }
}
