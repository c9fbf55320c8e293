import Foundation
import Hummingbird
import MusterCore
import MusterExercise
import MusterJournal
import MusterReports
import MusterRuntime
import NIOCore

/// The CLI's printed documents over HTTP, rendered by the same library functions: a run's timeline
/// (`muster incident timeline`, `muster exercise timeline`), the improvement plan (`muster actions report`) and
/// the exercise programme (`muster programme`).
enum Exports {
    /// `GET /api/runs/{id}/timeline?format=text|json|csv|scenario` (scenario: an exercise run in scenario time).
    static func timeline(_ state: ServerState, _ user: UserRecord, _ runID: String, format: String) throws -> Response {
        let (snapshot, _) = try Runs.authorize(state, user, runID, .read)
        if format == "scenario" {
            guard snapshot.record.mode == .exercise else {
                // A state of the run, not a malformed request: the same format is fine on an exercise run.
                throw APIError(409, "format 'scenario' is for exercise runs; run \(runID) is live")
            }
            let replay: ExerciseReplay
            do { replay = try ExerciseReplay.load(snapshot.record, from: state.journal) } catch let error as ExerciseError {
                throw APIError(409, error.message)
            }
            return document(replay.scenarioTimeline, type: "text/plain; charset=utf-8")
        }
        guard let timelineFormat = TimelineFormat(rawValue: format) else {
            throw APIError.badRequest("query parameter 'format': '\(format)' is not one of text, json, csv, scenario", field: "format")
        }
        let text = TimelineFormats.render(try state.journal.storedEvents(runID: runID), as: timelineFormat)
        let type = switch timelineFormat {
        case .text: "text/plain; charset=utf-8"
        case .json: "application/json; charset=utf-8"
        case .csv: "text/csv; charset=utf-8; header=present"
        }
        return document(text, type: type)
    }

    /// `GET /api/actions/report?format=html|md|csv`: the improvement plan with the HSEEP columns.
    static func actionsReport(_ state: ServerState, _ user: UserRecord, format: String) throws -> Response {
        let actions = try Improvement.visibleActions(state, user)
        let today = Day(state.now)
        switch format {
        case "md": return document(ImprovementPlan.markdown(actions, today: today), type: "text/markdown; charset=utf-8")
        case "html": return document(ImprovementPlan.html(actions, today: today), type: "text/html; charset=utf-8")
        case "csv": return document(ImprovementPlan.csv(actions, today: today), type: "text/csv; charset=utf-8; header=present")
        default: throw APIError.badRequest("query parameter 'format': '\(format)' is not one of html, md, csv", field: "format")
        }
    }

    /// `GET /api/programme?format=html|md`: each playbook of the server's playbooks folder (and of the runs) with its
    /// last exercise and live run. Runs the caller may not read (restricted, not on them) are left out.
    static func programme(_ state: ServerState, _ user: UserRecord, format: String) throws -> Response {
        guard format == "html" || format == "md" else {
            throw APIError.badRequest("query parameter 'format': '\(format)' is not one of html, md", field: "format")
        }
        var records: ImprovementRecords
        do { records = try ImprovementRecords.load(state.journal, now: state.now, withReports: true) } catch {
            throw APIError(500, error.description)
        }
        let readable = try Runs.readableRunIDs(state, user)
        records.runs = records.runs.filter { readable.contains($0.id) }
        records.reports = records.reports.filter { readable.contains($0.key) }
        let entries = records.programme(playbooksFolder: state.configuration.playbooksFolder)
        return format == "html"
            ? document(ProgrammeReport.html(entries, now: records.now), type: "text/html; charset=utf-8")
            : document(ProgrammeReport.markdown(entries, now: records.now), type: "text/markdown; charset=utf-8")
    }

    static func document(_ text: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
