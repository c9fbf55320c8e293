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
        try reach(journal, runID: runID, run: run, after: nil)?.reach
    }

    /// `earlier` (what the timeline said through seq `through`) brought up to the run's events now, reading only
    /// the events after it: a server answering the board's status for a roll call of 10,000 people reads each
    /// delivery event once, not on every request. Nil for a run without acks or roll calls.
    public static func reach(_ journal: Journal, runID: String, run: Run, after earlier: (through: Int, reach: HearingBackReach)?)
        throws(JournalError) -> (through: Int, reach: HearingBackReach)? {
        guard !run.acks.isEmpty || !run.rollCalls.isEmpty else { return nil }
        var (through, reach) = earlier ?? (0, HearingBackReach())
        let summaries = try journal.eventSummaries(runID: runID, after: through, decoding: HearingBackReach.eventTypes)
        for summary in summaries {
            if let body = summary.body { reach.record(body) }
        }
        through += summaries.count
        return (through, reach)
    }
}
