import Foundation
import Hummingbird
import MusterCore
import MusterExercise
import MusterJournal
import MusterRuntime

/// `GET /api/runs/{id}/evaluation`, `POST /api/runs/{id}/evaluation` (overrule a rating) and
/// `POST /api/runs/{id}/evaluation/lessons` (hot wash): what `muster exercise evaluate` shows and records,
/// through the same `ExerciseReplay` functions.
///
/// Read from the journal every time (not from a session this server holds): the journal is where overrules and
/// hot-wash lessons land, and a held session never sees writes it did not make.
enum Evaluation {
    static func show(_ state: ServerState, _ user: UserRecord, _ runID: String) throws -> Response {
        let (snapshot, access) = try Runs.authorize(state, user, runID, .read)
        let replay = try replay(state, snapshot.record)
        let evaluation = replay.exercise.evaluation()
        try Runs.require(.readEvaluation(exerciseEnded: evaluation.ended), user, access, runID)
        return API.json(object(replay, evaluation: evaluation, snapshot: snapshot, user: user, access: access))
    }

    static func overrule(_ state: ServerState, _ user: UserRecord, _ runID: String, _ bytes: [UInt8]) throws -> Response {
        let body = try JSONBody(bytes, allowed: ["objective", "rating", "note"])
        let objective = try body.string("objective")
        let ratingText = try body.string("rating")
        guard let rating = Rating(rawValue: ratingText.uppercased()) else {
            throw APIError.badRequest("field 'rating': '\(ratingText)' is not one of P, S, M, U", field: "rating")
        }
        let note = try body.string("note")
        let (snapshot, access) = try Runs.authorize(state, user, runID, .overruleRating)
        let record = try endedExercise(state, snapshot, what: "ratings are overruled")
        let ids = try replay(state, record).exercise.exercise.objectives.map(\.id.value)
        guard ids.contains(objective) else {
            // Like an unknown lesson or action: a well-formed id that names nothing here is 404, not a malformed request.
            throw APIError(404, "no objective '\(objective)' in this exercise\(Suggestion.hint(for: objective, in: ids)) (objectives: \(ids.joined(separator: ", ")))",
                           field: "objective")
        }
        try write(state, runID) { try ExerciseReplay.overrule(record, objective: objective, rating: rating, note: note, by: user.name, in: state.journal, clock: state.runtime.clock) }
        let after = try replay(state, try state.journal.run(runID))
        return API.json(object(after, evaluation: after.exercise.evaluation(), snapshot: snapshot, user: user, access: access))
    }

    static func hotWashLesson(_ state: ServerState, _ user: UserRecord, _ runID: String, _ bytes: [UInt8]) throws -> Response {
        let body = try JSONBody(bytes, allowed: ["text", "kind", "root_cause"])
        let lesson = try body.lesson()
        let (snapshot, _) = try Runs.authorize(state, user, runID, .lesson)
        let record = try endedExercise(state, snapshot, what: "hot-wash lessons are recorded (during it, POST /api/runs/{id}/commands with type lesson)")
        let events = try write(state, runID) { try ExerciseReplay.recordLessons([(user.name, lesson)], on: record, in: state.journal, clock: state.runtime.clock) }
        return API.json(["accepted": true, "events": events.map(API.eventSummary)],
                        status: .created)
    }

    // MARK: Plumbing

    static func replay(_ state: ServerState, _ record: RunRecord) throws -> ExerciseReplay {
        guard record.mode == .exercise else { throw APIError.notFound("run \(record.id) is not an exercise") }
        do { return try ExerciseReplay.load(record, from: state.journal) } catch let error as ExerciseError {
            throw APIError.notFound("run \(record.id) is an exercise-mode run without an exercise scenario (\(error.message))")
        }
    }

    /// The run's fresh record, when its exercise has ended. Writing while it runs would move the journal under the
    /// session driving it (this server's or a console's), which then refuses its next step.
    static func endedExercise(_ state: ServerState, _ snapshot: RunSnapshot, what: String) throws -> RunRecord {
        let record = try state.journal.run(snapshot.record.id)
        guard try replay(state, record).exercise.hasEnded else {
            throw APIError(409, "exercise run \(record.id) has not ended: \(what) once it ends")
        }
        return record
    }

    /// Runs a journal write for `runID`; another writer first is a 409 to try again.
    @discardableResult
    static func write<T>(_ state: ServerState, _ runID: String, _ body: () throws -> T) throws -> T {
        let lock = state.runLock(runID)
        lock.lock()
        defer { lock.unlock() }
        do {
            let result = try body()
            state.wrote(runID: runID, effects: [])
            return result
        } catch JournalError.sequenceConflict {
            throw APIError(409, "run \(runID) changed meanwhile; try again")
        } catch let error as ExerciseError {
            throw APIError(409, error.message)
        }
    }

    static func object(_ replay: ExerciseReplay, evaluation e: ExerciseEvaluation, snapshot: RunSnapshot, user: UserRecord,
                       access: RunAccess) -> [String: Any] {
        let byObjective = ExerciseView.expectationsByObjective(e)
        let objectives: [[String: Any]] = e.objectives.map { o in
            ["id": o.id, "text": o.text, "capability": o.capability ?? NSNull(), "met": o.onTime, "late": o.late, "missed": o.unmet,
             "pending": o.pending, "planned": o.planned, "in_play": o.inPlay, "partially_exercised": o.partiallyExercised,
             "score_percent": o.scorePercent ?? NSNull(), "computed_rating": o.computed?.rawValue ?? NSNull(),
             "rating": o.rating?.rawValue ?? NSNull(), "rating_meaning": o.rating?.meaning ?? NSNull(),
             "overrule": o.overrule.map { ["rating": $0.rating.rawValue, "note": $0.note, "by": $0.by, "at": $0.at.iso8601] as [String: Any] } ?? NSNull(),
             "expectations": byObjective[o.id] ?? []]
        }
        let injects: [[String: Any]] = e.injects.map { i in
            ["id": i.id, "at": i.at.description, "contingency": i.contingency, "delivered_at": i.delivered?.iso8601 ?? NSNull(),
             "withheld": i.withheld ?? NSNull(), "expectations": ExerciseView.expectations(of: i, ended: e.ended)]
        }
        let lessons = snapshot.run.lessons.map(API.lessonObject)
        return [
            "run": replay.record.id, "exercise": ["id": e.exerciseID, "title": e.title] as [String: Any], "ended": e.ended,
            "origin": e.origin.iso8601, "end": e.end.iso8601, "objectives": objectives, "injects": injects,
            "contingency_used": e.contingencyUsed, "contingency_withheld": e.contingencyWithheld,
            "ad_hoc": e.adHoc.map { ["id": $0.id, "at": $0.at.iso8601, "message": $0.message] },
            "lessons": lessons, "text": ExerciseText.evaluation(e),
            "you": ["may_overrule": Permissions.decide(.overruleRating, by: user.name, on: access).isAllowed && e.ended],
        ]
    }
}
