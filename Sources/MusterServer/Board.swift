import Foundation
import Hummingbird
import MusterCore
import MusterDelivery
import MusterExercise
import MusterJournal
import MusterReports
import MusterYAML

/// Routes the web board needs beyond the run's status: the playbooks one may declare a run of, a run's
/// notifications with their delivery status, and an exercise run's facilitator and player views.
enum Board {
    // MARK: GET /api/playbooks

    /// Valid playbooks in the server's playbooks folder (what `POST /api/runs` accepts as `playbook`).
    static func playbooks(_ state: ServerState) throws -> Response {
        var out: [[String: Any]] = []
        var seen: Set<String> = []
        for loaded in PlaybookLoader.loadAll(paths: [state.configuration.playbooksFolder], cache: state.playbookCache) {
            guard let playbook = loaded.playbook, !loaded.diagnostics.contains(where: { $0.severity == .error }),
                  seen.insert(playbook.id.value).inserted else { continue }
            out.append(["id": playbook.id.value, "title": playbook.title, "version": playbook.version, "severity": playbook.severity.rawValue])
        }
        return API.json(["playbooks": out.sorted { ($0["id"] as! String) < ($1["id"] as! String) }])
    }

    // MARK: GET /api/runs/{id}/notifications

    /// `dead`: only dead-lettered ones (`muster outbox list --dead`). Each says whether it may be retried.
    static func notifications(_ state: ServerState, _ user: UserRecord, _ runID: String, dead: Bool = false) throws -> Response {
        _ = try Runs.authorize(state, user, runID, .read)
        let (events, items) = try state.journal.eventsAndOutbox(runID: runID)
        let retryableIDs = Set(items.filter { OutboxAdmin.requeueable.contains($0.status) }.map(\.notificationID))
        var list = progress(events: events, items: items)
        if dead { list = list.filter { if case .deadLettered = $0.status { true } else { false } } }
        return API.json(["run": runID, "notifications": list.map {
            var o = object($0)
            o["retryable"] = retryableIDs.contains($0.id)
            return o
        }])
    }

    static func progress(_ state: ServerState, _ runID: String) throws -> [NotificationProgress] {
        let (events, items) = try state.journal.eventsAndOutbox(runID: runID)
        return progress(events: events, items: items)
    }

    static func progress(events: [RunEvent], items: [OutboxItem]) -> [NotificationProgress] {
        let rows = items.map {
            NotificationProgress.OutboxRow(notificationID: $0.notificationID, channel: $0.channel, status: $0.status.rawValue,
                                           attempts: $0.attempts, lastError: $0.lastError)
        }
        return NotificationProgress.list(events: events, outbox: rows)
    }

    /// One notification as the API shows it: the status's facts flattened beside it (absent when they do not apply).
    static func object(_ n: NotificationProgress) -> [String: Any] {
        var o: [String: Any] = ["id": n.id, "channel": n.channel, "message": n.message, "trigger": n.trigger, "status": n.status.name,
                                "queued_at": n.queuedAt?.iso8601 ?? NSNull(), "updated_at": n.updatedAt?.iso8601 ?? NSNull()]
        switch n.status {
        case .queued: break
        case .sending(let attempt): o["attempt"] = attempt
        case .sent(let status, let latency, let attempt):
            o["http_status"] = status ?? NSNull()
            o["latency_ms"] = latency
            o["attempt"] = attempt
        case .retrying(let attempt, let next, let error):
            o["attempt"] = attempt
            o["next_attempt"] = next?.iso8601 ?? NSNull()
            o["last_error"] = error
        case .deadLettered(let attempts, let reason):
            o["attempt"] = attempts
            o["last_error"] = reason
        case .skipped(let reason): o["reason"] = reason
        }
        return o
    }

    // MARK: GET /api/runs/{id}/exercise

    /// The exercise view. The facilitator gets the clock, every inject (delivered, coming with its scenario time,
    /// withheld; contingency ones marked) with its expectations, and each objective's expectations with their
    /// status. Everyone else who may read the run gets the clock and the injects delivered so far, nothing ahead.
    static func exercise(_ state: ServerState, _ user: UserRecord, _ runID: String) throws -> Response {
        let (snapshot, access) = try Runs.authorize(state, user, runID, .read)
        guard snapshot.record.mode == .exercise else { throw APIError.notFound("run \(runID) is not an exercise") }
        let exercise: ExerciseRun
        // Held here, or driven by another live server (its lease): the clock as the driver has it.
        let held = state.exercise(runID).map { state.catchUp($0, runID: runID); return $0 }
            ?? (state.drivenElsewhere(runID) ? try? state.follow(runID) : nil)
        if let held {
            held.lock.lock()
            exercise = held.session.exercise
            held.lock.unlock()
        } else {
            do { exercise = try ExerciseReplay.load(snapshot.record, from: state.journal).exercise } catch {
                throw APIError.notFound("run \(runID) is an exercise-mode run without an exercise scenario")
            }
        }
        let facilitator = Permissions.decide(.exerciseControl, by: user.name, on: access) == .allowed
        return API.json(ExerciseView.object(exercise, runID: runID, driven: held != nil, facilitator: access.facilitator,
                                            full: facilitator, wall: state.now))
    }
}

/// `GET /api/runs/{id}/exercise` as JSON.
enum ExerciseView {
    static func object(_ x: ExerciseRun, runID: String, driven: Bool, facilitator: String?, full: Bool, wall: Instant) -> [String: Any] {
        let evaluation = x.evaluation()
        // Between pump ticks the clock may be ahead of the last scenario instant the machine reached.
        var scenarioNow = x.now
        if driven, x.started, !x.hasEnded { scenarioNow = min(max(x.now, x.clock.scenarioTime(at: wall)), x.end) }
        let clock: [String: Any] = [
            "scenario_now": scenarioNow.iso8601, "origin": x.origin.iso8601, "end": x.end.iso8601,
            "elapsed": (scenarioNow - x.origin).description, "speed": x.clock.pace.description,
            "running": x.started && !x.hasEnded && !x.clockIsPaused, "paused": x.clockIsPaused, "ended": x.hasEnded,
            "next_due": x.nextDue?.iso8601 ?? NSNull(),
        ]
        let results = Dictionary(evaluation.injects.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var injects: [[String: Any]] = []
        for inject in x.exercise.injects {
            let id = inject.id.value
            let delivered = x.deliveries[id]
            guard full || delivered != nil else { continue }
            var o: [String: Any] = [
                "id": id, "at": inject.at.value.description, "scenario_at": (x.origin + inject.at.value).iso8601,
                "from": inject.from ?? NSNull(), "to": inject.to.map(\.value), "method": inject.method.description, "message": inject.message,
                "status": delivered != nil ? "delivered" : x.withheld[id] != nil ? "withheld" : "coming",
                "delivered_at": delivered?.iso8601 ?? NSNull(),
            ]
            if full {
                o["contingency"] = inject.contingency
                o["withheld_reason"] = x.withheld[id] ?? NSNull()
                o["questions"] = inject.questions
                o["expectations"] = results[id].map { expectations(of: $0, ended: evaluation.ended) } ?? []
            }
            injects.append(o)
        }
        var out: [String: Any] = [
            "run": runID, "driven": driven, "facilitator": facilitator ?? NSNull(), "you_facilitate": full,
            "exercise": ["id": x.exercise.id.value, "title": x.exercise.title, "type": x.exercise.type.rawValue,
                         "scenario": x.exercise.scenario ?? NSNull()] as [String: Any],
            "clock": clock, "injects": injects,
            "ad_hoc": evaluation.adHoc.map { ["id": $0.id, "at": $0.at.iso8601, "message": $0.message] },
        ]
        if full {
            let byObjective = expectationsByObjective(evaluation)
            var objectives: [[String: Any]] = evaluation.objectives.map { o in
                ["id": o.id, "text": o.text, "met": o.onTime, "late": o.late, "missed": o.unmet, "pending": o.pending,
                 "score_percent": o.scorePercent ?? NSNull(), "rating": o.rating?.rawValue ?? NSNull(),
                 "expectations": byObjective[o.id] ?? []]
            }
            if let loose = byObjective[""], !loose.isEmpty {
                objectives.append(["id": NSNull(), "text": "Expectations without an objective", "expectations": loose])
            }
            out["objectives"] = objectives
        }
        return out
    }

    /// Every inject's expectations (as `expectation`, with the inject's id) by objective id ("" for none).
    static func expectationsByObjective(_ evaluation: ExerciseEvaluation) -> [String: [[String: Any]]] {
        var byObjective: [String: [[String: Any]]] = [:]
        for inject in evaluation.injects {
            for var o in expectations(of: inject, ended: evaluation.ended) {
                o["inject"] = inject.id
                byObjective[(o["objective"] as? String) ?? "", default: []].append(o)
            }
        }
        return byObjective
    }

    /// An inject's expectations: met (on time) / late / missed / pending / not-delivered, and awaiting-inject for
    /// those of an inject still to come in an exercise that has not ended (not delivered yet, not withheld).
    static func expectations(of inject: ExerciseEvaluation.InjectResult, ended: Bool) -> [[String: Any]] {
        let awaiting = !ended && inject.delivered == nil && inject.withheld == nil
        return inject.expectations.map { expectation($0, awaitingInject: awaiting) }
    }

    private static func expectation(_ e: ExerciseEvaluation.ExpectationResult, awaitingInject: Bool) -> [String: Any] {
        let status: String
        var late: Any = NSNull()
        switch e.outcome {
        case .onTime: status = "met"
        case .late(let by):
            status = "late"
            late = by.description
        case .unmet: status = "missed"
        case .pending: status = "pending"
        case .notDelivered: status = awaitingInject ? "awaiting-inject" : "not-delivered"
        }
        return ["text": e.text, "objective": e.objective ?? NSNull(), "within": e.within?.description ?? NSNull(), "status": status,
                "late_by": late, "met_at": e.metAt?.iso8601 ?? NSNull()]
    }
}

/// The status's `hearing_back`: each acknowledgement and roll call as the board shows them (names only, never a
/// contact detail). `unreached` is null when the timeline's delivery facts were not read.
enum HearingBackJSON {
    static func object(_ view: HearingBack, playbook: Playbook) -> [String: Any] {
        let roleTitles = Dictionary(playbook.roles.map { ($0.id.value, $0.title) }, uniquingKeysWith: { a, _ in a })
        let acks: [[String: Any]] = view.acks.map { a in
            ["id": a.id, "role": a.role, "role_title": roleTitles[a.role] ?? a.role, "first_paged": a.firstPaged ?? NSNull(),
             "channel": a.channel, "requested_at": a.requestedAt.iso8601, "within": a.within.description, "paged": a.paged,
             "steps": a.steps, "escalate": a.escalate, "acknowledged_by": a.acknowledgedBy ?? NSNull(),
             "acknowledged_at": a.acknowledgedAt?.iso8601 ?? NSNull(), "latency_ms": a.latency.map { NSNumber(value: $0.milliseconds) } ?? NSNull(),
             "exhausted": a.exhausted, "next_escalation": a.nextEscalation?.iso8601 ?? NSNull(), "next_step": a.nextStep ?? NSNull(),
             "text": HearingBackText.ack(a, now: view.now)]
        }
        let rollCalls: [[String: Any]] = view.rollCalls.map { r in
            ["id": r.id, "requested_at": r.requestedAt.iso8601, "started_at": r.startedAt?.iso8601 ?? NSNull(),
             "within": r.within?.description ?? NSNull(), "deadline": r.deadline?.iso8601 ?? NSNull(), "people": r.people,
             "accounted": r.accounted, "accounted_percent": r.accountedPercent, "marked": r.markedOnly,
             "options": r.options.map { ["option": $0.id, "label": $0.label, "people": $0.people] as [String: Any] },
             "not_yet_answered": r.notYetAnswered, "unreached": r.unreached ?? NSNull(), "unaccounted": r.unaccounted,
             "overdue": r.overdue, "complete": r.isComplete, "text": HearingBackText.tally(r, now: view.now)]
        }
        return ["acks": acks, "roll_calls": rollCalls]
    }
}
