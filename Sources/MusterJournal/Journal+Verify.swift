import MusterCore

extension Journal {
    /// Walks the run's chain from its header and reports the first broken link: the seq and what is wrong.
    ///
    /// Detects an altered row (its hash no longer matches its content), a removed, reordered or rewritten row
    /// (a gap in seq, or a `prev_hash` that is not the previous row's hash) and altered playbook text. Removing
    /// the LAST events of a run cannot be seen from the chain alone: compare the head with a copy kept elsewhere.
    public func verify(runID: String) throws(JournalError) -> VerificationReport {
        let path = self.path
        return try read { db in
            guard let run = try db.one("SELECT playbook_id, playbook_version, playbook_sha256, playbook_text FROM runs WHERE id = ?", [runID]) else {
                throw JournalError.unknownRun(runID, path: path)
            }
            var warnings: [String] = []
            let present = try db.triggerNames()
            for trigger in Schema.guardTriggers where !present.contains(trigger) {
                warnings.append("the append-only trigger \(trigger) is missing: the database was modified outside Muster")
            }
            let storedSHA: String = run[2]
            let text: String = run[3]
            var report = VerificationReport(
                runID: runID, eventCount: 0,
                headHash: Chain.headerHash(runID: runID, playbookID: run[0], playbookVersion: run[1], playbookSHA256: storedSHA),
                firstBroken: nil, warnings: warnings)
            let computedSHA = Digest256.hex(of: Array(text.utf8))
            if computedSHA != storedSHA {
                report.firstBroken = BrokenLink(seq: 0, problem: .playbookAltered(stored: storedSHA, computed: computedSHA))
                return report
            }
            var expected = 1
            let rows = try db.all("""
                SELECT seq, at_ms, scenario_ms, actor, role, type, payload, prev_hash, hash
                FROM events WHERE run_id = ? ORDER BY seq
                """, [runID])
            for row in rows {
                let seq: Int = row[0]
                guard seq == expected else {
                    report.firstBroken = BrokenLink(seq: expected, problem: .sequenceGap(expected: expected, found: seq))
                    return report
                }
                let payload: String = row[6]
                let prevHash: String = row[7]
                let storedHash: String = row[8]
                let computed = Chain.eventHash(
                    runID: runID, seq: seq, atMS: row[1], scenarioMS: row[2], actor: row[3], role: row[4],
                    type: row[5], payload: payload, prevHash: prevHash)
                guard computed == storedHash else {
                    report.firstBroken = BrokenLink(seq: seq, problem: .hashMismatch(stored: storedHash, computed: computed))
                    return report
                }
                guard prevHash == report.headHash else {
                    report.firstBroken = BrokenLink(seq: seq, problem: .prevHashMismatch(stored: prevHash, expected: report.headHash))
                    return report
                }
                report.eventCount += 1
                report.headHash = storedHash
                expected += 1
            }
            return report
        }
    }

    /// `verify` for every run, oldest first.
    public func verifyAll() throws(JournalError) -> [VerificationReport] {
        var reports: [VerificationReport] = []
        for run in try runs() { reports.append(try verify(runID: run.id)) }
        return reports
    }
}
