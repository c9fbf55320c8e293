import Foundation
import Hummingbird
import MusterCore
import MusterExercise
import MusterJournal
import MusterReports
import MusterRuntime
import MusterYAML
import NIOCore

/// `/api/runs…`
enum Runs {
    // MARK: Access

    static func access(_ state: ServerState, _ snapshot: RunSnapshot) throws -> RunAccess {
        let restricted = try state.journal.isRestricted(runID: snapshot.record.id)
        return RunAccess(holders: snapshot.run.holders, restricted: restricted,
                         facilitator: state.facilitator(runID: snapshot.record.id, mode: snapshot.record.mode),
                         commanderRole: snapshot.run.commanderRole)
    }

    static func snapshot(_ state: ServerState, _ runID: String) throws -> RunSnapshot {
        let result = Result { () throws(RuntimeError) in try state.runtime.snapshot(runID: runID) }
        switch result {
        case .success(let snapshot): return snapshot
        case .failure(.journal(.unknownRun)): throw APIError.notFound("no run '\(runID)'")
        case .failure(let error): throw error
        }
    }

    /// The run, when `user` may do `action` on it: 404 for an unknown or hidden run, 403 with why.
    static func authorize(_ state: ServerState, _ user: UserRecord, _ runID: String, _ action: RunAction) throws -> (RunSnapshot, RunAccess) {
        let snapshot = try snapshot(state, runID)
        let access = try access(state, snapshot)
        if let refusal = Permissions.decide(action, by: user.name, on: access).refusal(runID: runID) { throw refusal }
        return (snapshot, access)
    }

    /// A second permission on a run already authorized for reading (same access): 403 with why.
    static func require(_ action: RunAction, _ user: UserRecord, _ access: RunAccess, _ runID: String) throws {
        if let refusal = Permissions.decide(action, by: user.name, on: access).refusal(runID: runID) { throw refusal }
    }

    /// The runs `user` may read (a restricted run they are not on is left out).
    static func readableRunIDs(_ state: ServerState, _ user: UserRecord) throws -> Set<String> {
        var out: Set<String> = []
        for record in try state.journal.runListings() {
            guard record.restricted else { out.insert(record.id); continue }
            let access = RunAccess(holders: record.holders, restricted: true, facilitator: state.facilitator(runID: record.id, mode: record.mode))
            if Permissions.decide(.read, by: user.name, on: access) == .allowed { out.insert(record.id) }
        }
        return out
    }

    // MARK: Routes

    /// Reads the runs' summaries (state, holders, closed), never their events or playbooks: the cost grows
    /// with the number of runs only.
    static func list(_ state: ServerState, _ user: UserRecord) throws -> Response {
        var out: [[String: Any]] = []
        // Runs and their restricted flags in one read: a run never appears without its flag.
        for record in try state.journal.runListings().reversed() {
            let access = RunAccess(holders: record.holders, restricted: record.restricted,
                                   facilitator: state.facilitator(runID: record.id, mode: record.mode))
            guard Permissions.decide(.read, by: user.name, on: access) == .allowed else { continue }
            out.append([
                "id": record.id, "title": record.title, "mode": record.mode.rawValue, "playbook_id": record.playbookID,
                "playbook_version": record.playbookVersion, "created_at": record.createdAt.iso8601, "events": record.lastSequence,
                "status": record.isClosed ? "closed" : "open", "state": record.state ?? NSNull(),
                "restricted": record.restricted, "on_run": access.isOn(user.name),
            ])
        }
        return API.json(["runs": out])
    }

    static func declare(_ state: ServerState, _ user: UserRecord, _ bytes: [UInt8], key: CommandKey? = nil) throws -> Response {
        let body = try JSONBody(bytes, allowed: ["playbook", "title", "severity", "disruption_started", "restricted", "commander", "mode"])
        let playbookName = try body.string("playbook")
        let title = try body.string("title")
        var severity: Severity?
        if let text = try body.optionalString("severity") {
            guard let s = Severity(parsing: text) else {
                throw APIError.badRequest("field 'severity': '\(text)' is not one of P1, P2, P3, P4", field: "severity")
            }
            severity = s
        }
        var disruption = DeclareRequest.Disruption.none
        if let text = try body.optionalString("disruption_started") {
            guard let parsed = DeclareRequest.Disruption(parsing: text) else {
                throw APIError.badRequest("field 'disruption_started': '\(text)' is neither a duration like 20m nor a UTC instant like 2026-03-06T17:20:00Z",
                                          field: "disruption_started")
            }
            disruption = parsed
        }
        let restricted = try body.bool("restricted", default: false)
        let commander = try body.optionalString("commander")
        let modeText = try body.optionalString("mode") ?? "live"
        guard let mode = RunMode(rawValue: modeText) else {
            throw APIError.badRequest("field 'mode': '\(modeText)' is not one of live, exercise", field: "mode")
        }
        let path = try playbookPath(state, playbookName)
        let request = DeclareRequest(playbookPath: path, title: title, actor: user.name, mode: mode, severity: severity,
                                     disruption: disruption, commander: commander, restricted: restricted)
        let declared = try declareRun(state, user, request, playbookName: playbookName, key: key)
        if declared.replayed {
            // A retried declaration: the run the first one created, as it stands now.
            let snapshot = try snapshot(state, declared.runID)
            var response = API.json(StatusJSON.object(snapshot, access: try access(state, snapshot), user: user, now: state.now), status: .created)
            response.headers[IdempotencyKeys.replayedHeader] = "true"
            return response
        }
        let snapshot = try snapshot(state, declared.runID)
        return API.json(StatusJSON.object(snapshot, access: try access(state, snapshot), user: user, now: state.now), status: .created)
    }

    /// Declares the run as `user` (the API's `POST /api/runs`, and `/muster declare` in chat): its id, and whether
    /// `key` had already declared it (a retry: nothing new was written).
    static func declareRun(_ state: ServerState, _ user: UserRecord, _ request: DeclareRequest, playbookName: String,
                           key: CommandKey?) throws -> (runID: String, replayed: Bool) {
        let declared = Result { () throws(RuntimeError) in try state.runtime.declare(request, key: key) }
        let result: CommandResult
        switch declared {
        case .success(let r) where r.replayed != nil:
            try IdempotencyKeys.checkSameRequest(r.replayed!, key!)
            return (r.runID, true)
        case .success(let r): result = r
        case .failure(.invalidPlaybook(_, let diagnostics)):
            throw APIError(409, "playbook '\(playbookName)' has errors: " + diagnostics.filter { $0.severity == .error }.prefix(3).map(\.description).joined(separator: "; "),
                           field: "playbook")
        case .failure(let error): throw error
        }
        if let rejection = result.rejection { throw APIError.rejected(rejection) }
        state.wrote(runID: result.runID, effects: result.allEffects)
        state.logger.info("run declared", metadata: ["run": "\(result.runID)", "by": "\(user.name)", "restricted": "\(request.restricted)"])
        return (result.runID, false)
    }

    static func playbookPath(_ state: ServerState, _ name: String) throws -> String {
        guard name.range(of: "^[a-z0-9][a-z0-9_-]*$", options: .regularExpression) != nil else {
            throw APIError.badRequest("field 'playbook': '\(name)' is not a playbook id", field: "playbook")
        }
        let folder = state.configuration.playbooksFolder
        switch PlaybookLoader.locate(id: name, in: folder, cache: state.playbookCache) {
        case .found(let path): return path
        case .notFound(let known): throw APIError(404, "no playbook '\(name)' in \(folder)" + Suggestion.hint(for: name, in: known))
        }
    }

    static func status(_ state: ServerState, _ user: UserRecord, _ runID: String) throws -> Response {
        let (snapshot, access) = try authorize(state, user, runID, .read)
        // Only a run with acks or roll calls reads its timeline, for what reached whom: the events since this
        // server last looked (a journal behind what it saw, after a failover to a standby, is read again whole).
        let earlier = state.reaches.value(runID).flatMap { $0.through <= snapshot.sequence ? $0 : nil }
        let updated = try RunText.reach(state.journal, runID: runID, run: snapshot.run, after: earlier)
        // Two requests may bring it up to date at once: the later one stays.
        if let updated { state.reaches.store(updated, for: runID, unless: { $0.through >= updated.through }) }
        let reach = updated?.reach
        return API.json(StatusJSON.object(snapshot, access: access, user: user, now: max(state.now, snapshot.lastEventAt), reach: reach))
    }

    static func events(_ state: ServerState, _ user: UserRecord, _ runID: String, after: Int?) throws -> Response {
        _ = try authorize(state, user, runID, .read)
        let events = try state.journal.storedEvents(runID: runID, after: after ?? 0)
        return API.json(["run": runID, "events": events.map(EventJSON.object)])
    }

    static func command(_ state: ServerState, _ user: UserRecord, _ runID: String, _ bytes: [UInt8], key: CommandKey? = nil) async throws -> Response {
        let request = try CommandRequest.parse(bytes)
        if let handle = try state.drivenExercise(runID, check: { _ = try authorize(state, user, runID, .read) }) {
            return try exerciseCommand(state, user, runID, handle, request, key: key)
        }
        // Permission, closed-run check, decision and append happen in the writer's batch (group commit).
        let result = try await state.writer.submit(runID: runID, user: user, action: request.action, key: key).get()
        if let stored = result.replayed, let key {
            try IdempotencyKeys.checkSameRequest(stored, key)
            return try IdempotencyKeys.commandAnswer(state, stored, command: request.name)
        }
        let produced = result.sequences.map { sequences in
            (result.timerEvents + result.events).enumerated().map { (seq: sequences.lowerBound + $0.offset, event: $0.element) }
        } ?? []
        if let rejection = result.rejection {
            return API.json(["error": rejection.reason, "status": 409, "code": APIError.Code.rejected.rawValue, "accepted": false,
                             "rejection": rejection.code.rawValue, "events": produced.map { EventJSON.object(seq: $0.seq, event: $0.event) }], status: .conflict)
        }
        // Written directly (same JSON as `API.json` would give): the hot path under load.
        var out: [UInt8] = []
        out.reserveCapacity(64 + produced.count * 320)
        out.append(contentsOf: #"{"accepted":true,"command":"#.utf8)
        EventJSON.string(request.name, into: &out)
        out.append(contentsOf: #","events":["#.utf8)
        // The payload as the journal stored it (canonical JSON, sorted keys) when the writer has it: no second
        // encoding of the body per command.
        let payloads = result.written.count == produced.count ? result.written.map(\.payload) : nil
        for (index, item) in produced.enumerated() {
            if index > 0 { out.append(44) }
            EventJSON.write(seq: item.seq, event: item.event, payload: payloads?[index], hash: nil, scenario: nil, into: &out)
        }
        out.append(contentsOf: "]}".utf8)
        return Response(status: .ok, headers: API.jsonHeaders, body: .init(byteBuffer: ByteBuffer(bytes: out)))
    }

    static func exerciseCommand(_ state: ServerState, _ user: UserRecord, _ runID: String, _ handle: ServerState.ExerciseHandle,
                                _ request: CommandRequest, key: CommandKey? = nil) throws -> Response {
        handle.lock.lock()
        defer { handle.lock.unlock() }
        _ = try authorize(state, user, runID, RoleIndex(handle.session.exercise.run.playbook).action(request.action))
        // A retry of a keyed player action: answered from what the first one recorded (looked up under the
        // exercise's lock; a copy behind the journal conflicts on its write and is read again).
        if let key, let stored = try state.journal.commandKeys(user: key.user, [key.key])[key.key] {
            try IdempotencyKeys.checkSameRequest(stored, key)
            return try IdempotencyKeys.exerciseAnswer(state, stored, command: request.name)
        }
        let step = try state.step(handle, runID: runID, .player(Command(actor: user.name, request.action)), by: user.name, key: key)
        state.wrote(runID: runID)
        if let refusal = step.refusal { throw APIError(409, refusal) }
        let events = step.events.map(API.eventSummary)
        if let rejection = step.rejection {
            return API.json(["error": rejection.reason, "status": 409, "code": APIError.Code.rejected.rawValue, "accepted": false,
                             "rejection": rejection.code.rawValue, "events": events],
                            status: .conflict)
        }
        return API.json(["accepted": true, "command": request.name, "events": events])
    }

    static func report(_ state: ServerState, _ user: UserRecord, _ runID: String, format: String) throws -> Response {
        let (snapshot, access) = try authorize(state, user, runID, .read)
        guard ["html", "md", "json"].contains(format) else {
            throw APIError.badRequest("query parameter 'format': '\(format)' is not one of html, md, json", field: "format")
        }
        let journal = state.journal
        // The evaluation follows `GET /api/runs/{id}/evaluation`'s rule: before the exercise ends only the facilitator
        // and the incident commander see it; anyone else gets the report without it.
        let catalogue = CatalogueImpact.Source(file: state.configuration.servicesFile, playbooksFolder: state.configuration.playbooksFolder)
        let built = try RunReportBuilder.build(journal, snapshot.record, playbook: snapshot.run.playbook, now: state.now, catalogue: catalogue) { record in
            let evaluation = try ExerciseReplay.load(record, from: journal).exercise.evaluation()
            let decision = Permissions.decide(.readEvaluation(exerciseEnded: evaluation.ended), by: user.name, on: access)
            return decision.isAllowed ? evaluation : nil
        }
        for warning in built.warnings { state.logger.warning("report: \(warning)") }
        let report = built.report
        let (bytes, type): ([UInt8], String) = switch format {
        case "md": (ReportMarkdown.bytes(report), "text/markdown; charset=utf-8")
        case "json": (ReportJSON.bytes(report), "application/json")
        default: (ReportHTML.bytes(report), "text/html; charset=utf-8")
        }
        return Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// A timeline event as the API and the stream show it.
enum EventJSON {
    static func object(_ stored: StoredEvent) -> [String: Any] {
        var o = object(seq: stored.seq, event: stored.event)
        o["hash"] = stored.hash
        if let scenario = stored.scenarioTime { o["scenario_at"] = scenario.iso8601 }
        return o
    }

    static func object(seq: Int, event: RunEvent) -> [String: Any] {
        var payload: Any = NSNull()
        if let data = try? JSONEncoder().encode(event.body), let value = try? JSONSerialization.jsonObject(with: data) { payload = value }
        return ["seq": seq, "at": event.at.iso8601, "actor": event.actor, "role": event.role ?? NSNull(), "type": event.body.typeName,
                "description": RunText.describe(event.body), "payload": payload]
    }
}

/// `GET /api/runs/{id}`: the board's whole state.
enum StatusJSON {
    static func object(_ snapshot: RunSnapshot, access: RunAccess, user: UserRecord, now: Instant, reach: HearingBackReach? = nil) -> [String: Any] {
        let run = snapshot.run
        let playbook = run.playbook
        let state = run.currentState.flatMap { playbook.state($0) }
        let commander = access.holds(user.name, access.commanderRole)
        var roles: [[String: Any]] = []
        for role in playbook.roles {
            roles.append(["role": role.id.value, "title": role.title, "holder": run.holder(of: role.id.value) ?? NSNull(),
                          "yours": access.holds(user.name, role.id.value)])
        }
        var groups: [String: [[String: Any]]] = [:]
        var order: [String] = []
        for task in state?.tasks ?? [] {
            let role = task.role.value
            if groups[role] == nil { order.append(role) }
            groups[role, default: []].append([
                "id": task.id.value, "title": task.title, "evidence": task.evidenceRequired,
                "status": (run.taskStatus(task.id.value) ?? .open).rawValue,
                "can_act": commander || access.holds(user.name, role),
            ])
        }
        let tasks: [[String: Any]] = order.map { role in
            ["role": role, "title": playbook.roles.first { $0.id.value == role }?.title ?? role, "holder": run.holder(of: role) ?? NSNull(),
             "tasks": groups[role] ?? []]
        }
        var decision: Any = NSNull()
        if let d = state?.decision, run.decision(d.id.value) == nil {
            let deadline = run.armedTimers.first { $0.key.id == TimerKey.deadline(of: d.id.value) }
            decision = ["id": d.id.value, "question": d.question, "by": d.by.value, "holder": run.holder(of: d.by.value) ?? NSNull(),
                        "options": d.options.map { ["option": $0.name.value, "to": $0.target.value] },
                        "default": d.defaultOption?.value ?? NSNull(), "deadline": deadline?.due.iso8601 ?? NSNull(),
                        "can_decide": access.holds(user.name, d.by.value)] as [String: Any]
        }
        let timers: [[String: Any]] = run.armedTimers.map {
            ["key": $0.key.description, "id": $0.key.id, "label": PresentationText.timerLabel(id: $0.key.id, in: playbook),
             "due": $0.due.iso8601, "due_ms": $0.due.millisecondsSinceEpoch,
             "repeat_ms": $0.repeatEvery.map { NSNumber(value: $0.milliseconds) } ?? NSNull()]
        }
        let anchor = run.disruptionStart ?? run.startedAt
        let services: [[String: Any]] = playbook.services.map { s in
            var o: [String: Any] = ["id": s.id.value, "title": s.title ?? s.id.value]
            if let rto = s.rto?.value { o["rto"] = rto.description; o["rto_due"] = anchor.map { ($0 + rto).iso8601 } ?? NSNull() }
            if let mtpd = s.mtpd?.value { o["mtpd"] = mtpd.description; o["mtpd_due"] = anchor.map { ($0 + mtpd).iso8601 } ?? NSNull() }
            return o
        }
        let decisions: [[String: Any]] = run.decisions.sorted { $0.value.at < $1.value.at }.map {
            ["id": $0.key, "option": $0.value.option, "rationale": $0.value.rationale, "by_default": $0.value.byDefault,
             "actor": $0.value.actor, "at": $0.value.at.iso8601]
        }
        // The events the current state's transitions take, for the board's "raise" buttons.
        var raisable: [String] = []
        for transition in state?.transitions ?? [] {
            if let name = transition.on?.value, !raisable.contains(name) { raisable.append(name) }
        }
        func may(_ action: RunAction) -> Bool { Permissions.decide(action, by: user.name, on: access) == .allowed }
        let can: [String: Bool] = [
            "assign": may(.assign), "relieve": may(.relieve), "close": may(.close), "raise": may(.raiseEvent),
            "lesson": may(.lesson), "note": may(.note), "exercise_control": may(.exerciseControl),
            "overrule_rating": may(.overruleRating), "retry_notification": may(.retryNotification(byAdmin: user.admin)),
            "mark_accounted": may(.markAccounted),
        ]
        // Titles for every id the timeline's events name (tasks and decisions of any state, not only the current
        // one), so that the board writes its lines as sentences ("Lee completed Evacuate the building").
        var taskNames: [String: String] = [:], stateNames: [String: String] = [:], decisionNames: [String: String] = [:]
        var timerNames: [String: String] = [:]
        for s in playbook.states {
            stateNames[s.id.value] = s.title ?? s.id.value
            for task in s.tasks { taskNames[task.id.value] = task.title }
            if let d = s.decision {
                decisionNames[d.id.value] = d.question
                let deadline = TimerKey.deadline(of: d.id.value)
                timerNames[deadline] = PresentationText.timerLabel(id: deadline, in: playbook)
            }
            for timer in s.timers { timerNames[timer.id.value] = PresentationText.timerLabel(id: timer.id.value, in: playbook) }
        }
        for timer in playbook.timers { timerNames[timer.id.value] = PresentationText.timerLabel(id: timer.id.value, in: playbook) }
        let names: [String: Any] = [
            "tasks": taskNames, "states": stateNames, "decisions": decisionNames, "timers": timerNames,
            "roles": Dictionary(playbook.roles.map { ($0.id.value, $0.title) }, uniquingKeysWith: { a, _ in a }),
        ]
        return [
            "raisable_events": raisable, "names": names,
            "id": snapshot.record.id, "title": run.title, "mode": run.mode.rawValue, "severity": run.severity.rawValue,
            "status": run.status.rawValue, "restricted": access.restricted, "sequence": snapshot.sequence, "now": now.iso8601,
            "playbook": ["id": playbook.id.value, "version": playbook.version, "title": playbook.title],
            "state": state.map { ["id": $0.id.value, "title": $0.title ?? $0.id.value, "phases": $0.phases.map(\.rawValue), "terminal": $0.terminal] as [String: Any] } ?? NSNull(),
            "started_at": run.startedAt?.iso8601 ?? NSNull(), "disruption_started_at": run.disruptionStart?.iso8601 ?? NSNull(),
            "closed_at": run.closedAt?.iso8601 ?? NSNull(),
            "marks": Dictionary(uniqueKeysWithValues: run.marks.map { ($0.key.rawValue, $0.value.iso8601) }),
            "roles": roles, "tasks": tasks, "decision": decision, "decisions": decisions, "timers": timers, "services": services,
            "notes": run.notes.map { ["at": $0.at.iso8601, "actor": $0.actor, "role": $0.role ?? NSNull(), "text": $0.text] as [String: Any] },
            "lessons": run.lessons.map(API.lessonObject),
            "hearing_back": HearingBackJSON.object(HearingBack(run, now: now, reach: reach), playbook: playbook),
            "you": ["name": user.name, "roles": run.roles(of: user.name), "commander": commander, "on_run": access.isOn(user.name),
                    "facilitator": access.facilitator == user.name, "can": can],
        ]
    }
}
