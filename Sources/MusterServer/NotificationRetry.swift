import Foundation
import Hummingbird
import MusterDelivery
import MusterJournal
import MusterReports

/// `POST /api/runs/{id}/notifications/{nid}/retry`: `muster outbox retry` for one notification of a run, through
/// the same `OutboxAdmin.requeue` (the item back to pending, due now, and a `notification-requeued` event on the
/// run's timeline in one transaction); then the server's outbox worker is woken.
enum NotificationRetry {
    static func retry(_ state: ServerState, _ user: UserRecord, _ runID: String, _ notificationID: String) throws -> Response {
        _ = try Runs.authorize(state, user, runID, .retryNotification(byAdmin: user.admin))
        let items = try state.journal.outboxItems(runID: runID).filter { $0.notificationID == notificationID }
        guard !items.isEmpty else { throw APIError.notFound("run \(runID) has no notification '\(notificationID)' in the outbox") }
        let retryable = items.filter { OutboxAdmin.requeueable.contains($0.status) }
        guard !retryable.isEmpty else {
            let statuses = items.map { "\($0.channel): \($0.status.rawValue)" }.joined(separator: ", ")
            throw APIError(409, "notification \(notificationID) is not dead-lettered or failed (\(statuses)); nothing to retry")
        }
        var requeued: [[String: Any]] = []
        for item in retryable {
            do {
                let after = try OutboxAdmin.requeue(state.journal, id: item.id, actor: user.name, at: state.now)
                requeued.append(["outbox_id": after.id, "channel": after.channel, "previous_status": item.status.rawValue, "status": after.status.rawValue])
            } catch .notRetryable(let moved) {
                throw APIError(409, RequeueError.notRetryable(moved).description)
            } catch .journal(let error) {
                throw error
            }
        }
        state.wrote(runID: runID)  // nudges the run's live stream and rings the outbox worker's bell
        state.logger.info("notification requeued", metadata: ["run": "\(runID)", "notification": "\(notificationID)", "by": "\(user.name)"])
        let progress = try Board.progress(state, runID).first { $0.id == notificationID }
        return API.json(["run": runID, "notification": progress.map(Board.object) ?? NSNull(), "requeued": requeued])
    }
}
