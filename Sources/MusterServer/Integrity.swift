import Foundation
import Hummingbird
import MusterJournal
import MusterRuntime

/// `GET /api/runs/{id}/verify` and `GET /api/actions/verify`: the hash chains `muster verify` and
/// `muster actions verify` walk, through the same journal functions.
enum Integrity {
    static func run(_ state: ServerState, _ user: UserRecord, _ runID: String) throws -> Response {
        _ = try Runs.authorize(state, user, runID, .read)
        let report = try state.journal.verify(runID: runID)
        var out = object(report)
        out["run"] = runID
        out["description"] = report.description
        return API.json(out)
    }

    static func improvementLog(_ state: ServerState) throws -> Response {
        let report = try state.journal.verifyImprovementLog()
        var out = object(report)
        out["description"] = report.improvementLogDescription
        return API.json(out)
    }

    /// Intact or the first broken link (seq, problem); the event count and head hash cover the rows checked.
    static func object(_ report: VerificationReport) -> [String: Any] {
        ["intact": report.isIntact, "event_count": report.eventCount, "head_hash": report.headHash,
         "first_broken": report.firstBroken.map { ["seq": $0.seq, "problem": $0.problem.description] as [String: Any] } ?? NSNull(),
         "warnings": report.warnings]
    }
}
