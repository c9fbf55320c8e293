import GRDB
import MusterCore

extension Journal {
    /// The ids of runs that have a `run-closed` event (closed runs still take notes and lessons). Read from
    /// `run_summary` (format 4), not by scanning the events.
    public func closedRunIDs() throws(JournalError) -> Set<String> {
        try read { db in
            Set(try String.fetchAll(db, sql: "SELECT run_id FROM run_summary WHERE closed_at IS NOT NULL"))
        }
    }
}
