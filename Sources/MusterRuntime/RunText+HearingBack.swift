import MusterCore
import MusterJournal

extension RunText {
    /// The run's pages that asked for an acknowledgement and its roll calls, for `muster incident status` and
    /// `muster watch`: each ack acknowledged (by whom, when) or pending (who was paged last, and when the next
    /// escalation is due); each roll call's tally (answered per option, marked by hand, not yet answered,
    /// unreached, against its `within`) and the names of the people still unaccounted for. Names only: no contact
    /// details. Empty when the run has neither. The words are `HearingBackText`'s, shared with every other view.
    public static func hearingBack(_ run: Run, now: Instant, reach: HearingBackReach? = nil, maxNames: Int = 20) -> [String] {
        HearingBackText.lines(HearingBack(run, now: now, reach: reach), maxNames: maxNames)
    }

    /// What the timeline says about a run's personal messages (for the "unreached" counts); nil for a run
    /// without acks or roll calls, where nobody asks (no read of the timeline).
    public static func reach(_ journal: Journal, runID: String, run: Run) throws(JournalError) -> HearingBackReach? {
        guard !run.acks.isEmpty || !run.rollCalls.isEmpty else { return nil }
        var reach = HearingBackReach()
        for summary in try journal.eventSummaries(runID: runID, decoding: HearingBackReach.eventTypes) {
            if let body = summary.body { reach.record(body) }
        }
        return reach
    }
}
