import MusterCore

extension Journal {
    /// The ids of runs that have a `run-closed` event (closed runs still take notes and lessons). Read from
    /// `run_summary` (format 5), not by scanning the events; a read-only copy of an older journal, which cannot be
    /// migrated, has no summaries and is scanned.
    public func closedRunIDs() throws(JournalError) -> Set<String> {
        try read { db in
            guard try db.tableExists("run_summary") else {
                return Set(try db.column(String.self, "SELECT DISTINCT run_id FROM events WHERE type = 'run-closed'"))
            }
            return Set(try db.column(String.self, "SELECT run_id FROM run_summary WHERE closed_at IS NOT NULL"))
        }
    }
}
