import GRDB
import MusterCore

extension Journal {
    /// The ids of runs that have a `run-closed` event (closed runs still take notes and lessons).
    public func closedRunIDs() throws(JournalError) -> Set<String> {
        try read { db in
            Set(try String.fetchAll(db, sql: "SELECT DISTINCT run_id FROM events WHERE type = 'run-closed'"))
        }
    }
}
