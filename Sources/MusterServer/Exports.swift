import Foundation
import Hummingbird
import MusterCore
import MusterExercise
import MusterJournal
import MusterReports
import MusterRuntime
import MusterYAML
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

    /// `GET /api/readiness?format=json|html|md`: the readiness scorecard (`muster readiness`) of the server's
    /// catalogue and playbooks folder. Runs the caller may not read are left out, as for the programme. 409 when
    /// the server has no catalogue or it does not validate (a state of the server, not of the request).
    static func readiness(_ state: ServerState, _ user: UserRecord, format: String) throws -> Response {
        guard ["json", "html", "md"].contains(format) else {
            throw APIError.badRequest("query parameter 'format': '\(format)' is not one of json, html, md", field: "format")
        }
        let located = CatalogueLoader.locate(explicit: state.configuration.servicesFile, environment: ProcessInfo.processInfo.environment,
                                             playbooksFolder: state.configuration.playbooksFolder)
        guard FileManager.default.fileExists(atPath: located.path) else {
            throw APIError(409, "the server has no service catalogue (\(located.path)); see docs/readiness.md")
        }
        let loaded = CatalogueLoader.load(file: located.path)
        guard let catalogue = loaded.catalogue, !loaded.hasErrors else {
            let first = loaded.diagnostics.first { $0.severity == .error }.map { ": \($0)" } ?? ""
            throw APIError(409, "the service catalogue \(located.path) is not valid\(first)")
        }
        let readable = try Runs.readableRunIDs(state, user)
        let records: ReadinessRecords
        do {
            records = try ReadinessRecords.load(catalogue: catalogue, playbooksFolder: state.configuration.playbooksFolder,
                                                journal: state.journal, now: state.now, include: { readable.contains($0.id) },
                                                cache: state.playbookCache) { run in
                try ExerciseReplay.load(run, from: state.journal).exercise.evaluation()
            }
        } catch {
            throw APIError(500, error.description)
        }
        let card = records.scorecard
        switch format {
        case "html": return document(ReadinessReport.html(card), type: "text/html; charset=utf-8")
        case "md": return document(ReadinessReport.markdown(card), type: "text/markdown; charset=utf-8")
        default: return document(ReadinessReport.json(card), type: "application/json; charset=utf-8")
        }
    }

    static func document(_ text: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
