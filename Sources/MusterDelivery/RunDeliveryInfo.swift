import MusterCore
import MusterJournal
import MusterNotify
import MusterYAML

/// What the worker needs to know about one run to deliver its notifications, read from the journal: the
/// playbook decoded from the text stored with the run (not today's file), the run's start facts, which state
/// it was in after each event, and the attempts made before a person last requeued each notification.
/// Kept between passes and brought up to date by reading only the events appended since.
struct RunDeliveryInfo {
    let record: RunRecord
    let playbook: Playbook
    var started: RunStarted?
    /// (seq, state, cause) of every state entry, in seq order.
    var entries: [(seq: Int, state: String, cause: TransitionCause)] = []
    /// Time of every event, index seq - 1.
    var times: [Instant] = []
    /// Notification id -> attempts made when it was last requeued by a person.
    var requeuedAt: [String: Int] = [:]
    /// The seq of the last event read (and the head the worker appends after).
    var sequence = 0

    /// Each roll call's options in the playbook's order (the buttons and numbered SMS replies of its messages),
    /// worked out once rather than per message.
    let rollCallChoices: [String: [PersonalQuestion.Choice]]

    init(record: RunRecord, playbook: Playbook) {
        self.record = record
        self.playbook = playbook
        var choices: [String: [PersonalQuestion.Choice]] = [:]
        for spec in playbook.allRollCalls where choices[spec.id.value] == nil {
            choices[spec.id.value] = spec.options.map { PersonalQuestion.Choice(key: $0.id.value, label: $0.label) }
        }
        rollCallChoices = choices
    }

    /// Loads a run: its record and stored playbook, then all its events.
    static func load(_ journal: Journal, runID: String) throws(DeliveryError) -> RunDeliveryInfo {
        let record: RunRecord
        do { record = try journal.run(runID) } catch { throw .journal(error) }
        let loaded = PlaybookLoader.load(text: record.playbookText, file: "stored-playbook.yaml", semanticChecks: false)
        guard let playbook = loaded.playbook else {
            let first = loaded.diagnostics.first.map { ": \($0.message)" } ?? ""
            throw .unreadablePlaybook(runID: runID, detail: "the playbook stored with run \(runID) does not decode\(first)")
        }
        var info = RunDeliveryInfo(record: record, playbook: playbook)
        try info.refresh(journal)
        return info
    }

    /// The only events whose bodies matter here (every other event counts by its time alone).
    static let typesRead: Set<String> = ["run-started", "state-entered", "notification-requeued"]

    /// Reads the events appended since the last read.
    mutating func refresh(_ journal: Journal) throws(DeliveryError) {
        let newer: [EventSummary]
        do {
            newer = try journal.eventSummaries(runID: record.id, after: sequence, decoding: Self.typesRead)
        } catch { throw .journal(error) }
        for event in newer {
            sequence += 1
            times.append(event.at)
            switch event.body {
            case .runStarted(let facts)?: started = facts
            case .stateEntered(let state, _, let cause)?: entries.append((sequence, state, cause))
            case .notificationRequeued(let id, _, _, let attempts)?: requeuedAt[id] = attempts
            default: break
            }
        }
    }

    /// The payload's view of the run when event `seq` (the notification's cause) was recorded.
    func context(atSequence seq: Int) -> NotificationContext {
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].seq <= seq { low = mid + 1 } else { high = mid }
        }
        let entry = low > 0 ? entries[low - 1] : nil
        let stateID = entry?.state ?? playbook.start.value
        let state = playbook.state(stateID)
        var event: String?
        if case .event(let name)? = entry?.cause { event = name }
        let time = seq >= 1 && seq <= times.count ? times[seq - 1] : record.createdAt
        return NotificationContext(
            runID: record.id, runTitle: started?.title ?? record.title, playbookID: playbook.id.value,
            playbookTitle: playbook.title, state: stateID, stateTitle: state?.title, mode: started?.mode ?? record.mode,
            severity: started?.severity ?? playbook.severity, event: event, time: time,
            alertAction: AlertAction.suggested(entering: state))
    }

    var mode: RunMode { started?.mode ?? record.mode }
}
