import Foundation
import HTTPTypes
import Hummingbird
import MusterCore
import MusterExercise
import MusterJournal
import MusterReports
import MusterRuntime
import MusterYAML
import NIOCore
import ServiceLifecycle

/// `GET /api/runs/{id}/stream`: Server-Sent Events, one per timeline event, `id:` its seq.
///
/// An open stream is authorized again while it runs: every `streamReauthInterval`, before writing events that
/// change who holds a role, and at once when a user is revoked through this server. When the token is no longer
/// valid or its user may no longer read the run (a person relieved from a restricted run), the stream ends
/// without writing anything more. A stream with nothing to send for `heartbeatInterval` writes an SSE comment,
/// so a departed client's socket fails and is closed instead of waiting for the run's next event.
enum Stream {
    static func response(_ state: ServerState, _ user: UserRecord, token: String, _ runID: String, after: Int) throws -> Response {
        _ = try Runs.authorize(state, user, runID, .read)
        let limits = state.configuration
        // Subscribe before reading the backlog: nothing appended in between is missed; the seq filter drops repeats.
        guard let subscription = try state.hub.subscribe(runID: runID, user: user.name, limit: limits.maxStreamsPerUser) else {
            state.logger.warning("denied: too many open streams", metadata: ["user": "\(user.name)", "run": "\(runID)"])
            var response = API.error(APIError(429, "\(user.name) already has \(limits.maxStreamsPerUser) live streams open; close one first"))
            response.headers[.retryAfter] = "5"
            return response
        }
        let backlog = try state.journal.storedEvents(runID: runID, after: after)
        let body = ResponseBody { writer in
            // The handler's timer: heartbeats and periodic re-authorization come through the same queue as events.
            let tick = min(limits.heartbeatInterval, limits.streamReauthInterval)
            let ticker = _Concurrency.Task {
                while !_Concurrency.Task.isCancelled {
                    try? await _Concurrency.Task.sleep(for: tick)
                    subscription.continuation.yield(.tick)
                }
            }
            defer {
                ticker.cancel()
                subscription.continuation.finish()
            }
            let clock = ContinuousClock()
            var last = after
            var buffer = ByteBuffer()
            buffer.writeString("retry: 1000\n: muster live timeline of \(runID)\n\n")
            for event in backlog where event.seq > last {
                append(event, to: &buffer)
                last = event.seq
            }
            try await writer.write(buffer)
            var lastWrite = clock.now
            var lastCheck = clock.now
            // Whether the stream may go on: the token still valid (the authenticator's cache lasts 2 s; a
            // revocation through this server clears it) and its user still allowed to read the run.
            func allowed() -> Bool {
                lastCheck = clock.now
                guard let current = try? state.auth.user(token: token, now: state.now), current.name == user.name else {
                    state.logger.notice("stream ended: token revoked", metadata: ["user": "\(user.name)", "run": "\(runID)"])
                    return false
                }
                do {
                    _ = try Runs.authorize(state, current, runID, .read)
                    return true
                } catch {
                    state.logger.notice("stream ended: may no longer read the run", metadata: ["user": "\(user.name)", "run": "\(runID)"])
                    return false
                }
            }
            // Hummingbird shuts its HTTP server down before the app's other services (it is last in their group)
            // and waits for open connections; a stream left open would hold shutdown forever. So the stream
            // itself ends the feeds when the server's graceful shutdown begins (this handler runs in the server's
            // task tree, whose graceful-shutdown signal it sees).
            try await withGracefulShutdownHandler {
                streaming: for await signal in subscription.signals {
                    switch signal {
                    case .batch(let batch):
                        if batch.changesAccess, !allowed() { break streaming }
                        let (out, newLast) = batch.after(last)
                        last = newLast
                        if let out {
                            try await writer.write(out)
                            lastWrite = clock.now
                        }
                    case .recheck:
                        if !allowed() { break streaming }
                    case .tick:
                        let now = clock.now
                        if now - lastCheck >= limits.streamReauthInterval - tick / 2, !allowed() { break streaming }
                        if now - lastWrite >= limits.heartbeatInterval - tick / 2 {
                            try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                            lastWrite = now
                        }
                    }
                }
            } onGracefulShutdown: {
                state.hub.stop()
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store", .init("X-Accel-Buffering")!: "no"], body: body)
    }

    static func append(_ event: StoredEvent, to buffer: inout ByteBuffer) {
        var frame = EventHub.frame(event)
        buffer.writeBuffer(&frame)
    }
}

/// `/api/exercises` and the facilitator controls `POST /api/runs/{id}/exercise`.
enum Exercises {
    static func files(_ state: ServerState) -> [String] {
        let folder = state.configuration.exercisesFolder
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml")) && !ExerciseLoader.isPlayerScriptName($0) }.sorted().map { "\(folder)/\($0)" }
    }

    static func list(_ state: ServerState) throws -> Response {
        var out: [[String: Any]] = []
        for path in files(state) {
            let loaded = ExerciseLoader.load(file: path, cache: state.playbookCache)
            guard let exercise = loaded.exercise else { continue }
            out.append(["id": exercise.id.value, "title": exercise.title, "file": path, "playbook": loaded.playbook?.playbook?.id.value ?? NSNull(),
                        "valid": !loaded.hasErrors, "pace": exercise.clock.pace.description])
        }
        return API.json(["exercises": out])
    }

    /// Starts an exercise run held by this server; the person starting it is its facilitator.
    static func start(_ state: ServerState, _ user: UserRecord, _ bytes: [UInt8]) throws -> Response {
        let body = try JSONBody(bytes, allowed: ["exercise", "speed", "restricted"])
        let name = try body.string("exercise")
        var pace: ScenarioPace?
        if let text = try body.optionalString("speed") {
            guard let p = ScenarioPace(parsing: text) else {
                throw APIError.badRequest("field 'speed': '\(text)' is not a speed (a number like 30, manual or max)", field: "speed")
            }
            pace = p
        }
        let restricted = try body.bool("restricted", default: false)
        guard let path = files(state).first(where: { ExerciseLoader.load(file: $0, cache: state.playbookCache).exercise?.id.value == name }) else {
            throw APIError(404, "no exercise '\(name)' in \(state.configuration.exercisesFolder)")
        }
        let loaded = ExerciseLoader.load(file: path, cache: state.playbookCache)
        let session: ExerciseSession
        do {
            (session, _) = try ExerciseSession.start(journal: state.journal, loaded: loaded, playersFile: nil, pace: pace, clock: state.runtime.clock,
                                                     facilitator: user.name, driver: ServerState.exerciseDriver, restricted: restricted)
        } catch let error as ExerciseError {
            throw APIError(409, error.message)
        }
        state.keep(ServerState.ExerciseHandle(session: session, facilitator: user.name), runID: session.runID)
        state.wrote(runID: session.runID)
        state.logger.info("exercise started", metadata: ["run": "\(session.runID)", "facilitator": "\(user.name)", "restricted": "\(restricted)"])
        return API.json(["id": session.runID, "facilitator": user.name, "exercise": name], status: .created)
    }

    /// The fields of each facilitator control.
    static let controlFields: [String: Set<String>] = [
        "tick": ["control"], "pause": ["control"], "resume": ["control"], "next": ["control"],
        "skip": ["control", "by"], "speed": ["control", "speed"], "inject": ["control", "message", "to"],
        "deliver": ["control", "inject"], "end": ["control", "reason"],
    ]

    static func control(_ state: ServerState, _ user: UserRecord, _ runID: String, _ bytes: [UInt8]) throws -> Response {
        let loose = try JSONBody(bytes, allowed: Set(controlFields.values.flatMap { $0 }))
        let control = try loose.string("control")
        guard let allowed = controlFields[control] else {
            throw APIError.badRequest("field 'control': '\(control)' is not one of tick, pause, resume, skip, speed, inject, deliver, next, end", field: "control")
        }
        // Each control takes its own fields (openapi.json's oneOf): a field another control takes is a 400 naming it.
        let body = try JSONBody(fields: loose.fields, allowed: allowed)
        // Permission before taking a run up again from the journal: a player's control re-attaches nothing.
        guard let handle = try state.drivenExercise(runID, check: { _ = try Runs.authorize(state, user, runID, .exerciseControl) }) else {
            _ = try Runs.authorize(state, user, runID, .read)
            throw APIError(409, "run \(runID) is not an exercise driven by this server (start it with POST /api/exercises)")
        }
        _ = try Runs.authorize(state, user, runID, .exerciseControl)
        var input: ExerciseInput
        switch control {
        case "tick": input = .tick
        case "pause": input = .pause
        case "resume": input = .resume
        case "skip":
            let text = try body.string("by")
            guard let span = TimeSpan(parsing: text) else { throw APIError.badRequest("field 'by': '\(text)' is not a duration like 15m", field: "by") }
            input = .skip(span)
        case "speed":
            let text = try body.string("speed")
            guard let pace = ScenarioPace(parsing: text) else { throw APIError.badRequest("field 'speed': '\(text)' is not a speed", field: "speed") }
            input = .speed(pace)
        case "inject":
            let to = try body.optionalString("to").map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? []
            input = .injectNow(message: try body.string("message"), to: to)
        case "deliver": input = .deliver(inject: try body.string("inject"))
        case "next": input = .skipToNextInject
        case "end": input = .end(reason: try body.optionalString("reason") ?? "ended by the facilitator")
        default:
            throw APIError.badRequest("field 'control': '\(control)' is not one of tick, pause, resume, skip, speed, inject, deliver, next, end", field: "control")
        }
        handle.lock.lock()
        defer { handle.lock.unlock() }
        let step = try state.step(handle, runID: runID, input, by: user.name)
        state.wrote(runID: runID)
        if let refusal = step.refusal { throw APIError(409, refusal) }
        let exercise = handle.session.exercise
        return API.json(["control": control, "events": step.events.map { ["type": $0.body.typeName, "description": RunText.describe($0.body)] },
                         "scenario_now": exercise.now.iso8601, "ended": exercise.hasEnded])
    }
}

/// `GET /api/lessons`, `GET/POST /api/actions`, `POST /api/actions/{id}/transitions`: the improvement log.
enum Improvement {
    /// The lessons `muster lessons list` lists, of the runs `user` may read; `id` (`RUN/SEQ`) is what an action cites.
    static func lessons(_ state: ServerState, _ user: UserRecord) throws -> Response {
        let readable = try Runs.readableRunIDs(state, user)
        let records: ImprovementRecords
        do { records = try ImprovementRecords.load(state.journal, now: state.now) } catch { throw APIError(500, error.description) }
        var out: [[String: Any]] = []
        var perRun: [String: Int] = [:]
        for entry in records.lessons where readable.contains(entry.runID) {
            perRun[entry.runID, default: 0] += 1
            let lesson = entry.lesson
            out.append(["id": entry.id, "run": entry.runID, "run_title": entry.runTitle, "index": perRun[entry.runID]!, "at": lesson.at.iso8601,
                        "actor": lesson.by, "text": lesson.text, "kind": lesson.kind.rawValue, "root_cause": lesson.rootCause ?? NSNull()])
        }
        return API.json(["lessons": out])
    }

    /// The runs whose lessons `user` may not see: restricted runs they are not on. An action that cites a lesson of
    /// one of them is hidden from that user altogether (title and lesson ids would tell what the run was about).
    static func hiddenRunIDs(_ state: ServerState, _ user: UserRecord) throws -> Set<String> {
        let readable = try Runs.readableRunIDs(state, user)
        return Set(try state.journal.runs().map(\.id)).subtracting(readable)
    }

    /// A lesson id is `RUN/SEQ`.
    static func cites(_ lessons: [String], anyOf runIDs: Set<String>) -> Bool {
        !runIDs.isEmpty && lessons.contains { lesson in
            runIDs.contains(String(lesson.prefix { $0 != "/" }))
        }
    }

    /// The actions `user` may see, in log order.
    static func visibleActions(_ state: ServerState, _ user: UserRecord) throws -> [ImprovementAction] {
        let (log, _) = try load(state)
        let hidden = try hiddenRunIDs(state, user)
        return log.actions.filter { !cites($0.draft.lessons, anyOf: hidden) }
    }

    /// The log through the loader `muster actions` uses.
    static func load(_ state: ServerState) throws -> (ImprovementLog, Int) {
        do { return try ImprovementRecords.actionLog(state.journal) } catch {
            throw APIError(500, error.description)
        }
    }

    static func object(_ a: ImprovementAction, today: Day) -> [String: Any] {
        ["id": a.id, "title": a.draft.title, "status": a.status.rawValue, "owner": a.draft.owner, "organization": a.draft.organization,
         "due": "\(a.draft.due)", "lessons": a.draft.lessons, "element": a.draft.element.rawValue, "overdue": a.isOverdue(today: today),
         "capability": a.draft.capability, "issue": a.draft.issue]
    }

    static func list(_ state: ServerState, _ user: UserRecord) throws -> Response {
        let today = Day(state.now)
        return API.json(["actions": try visibleActions(state, user).map { object($0, today: today) }])
    }

    static func add(_ state: ServerState, _ user: UserRecord, _ bytes: [UInt8]) throws -> Response {
        let body = try JSONBody(bytes, allowed: ["lesson", "title", "owner", "organization", "due", "element", "capability", "issue"])
        let dueText = try body.string("due")
        guard let due = Day(dueText) else { throw APIError.badRequest("field 'due': '\(dueText)' is not a date like 2027-01-31", field: "due") }
        let elementText = try body.optionalString("element") ?? "planning"
        guard let element = CapabilityElement(rawValue: elementText) else {
            throw APIError.badRequest("field 'element': '\(elementText)' is not one of \(CapabilityElement.allCases.map(\.rawValue).joined(separator: ", "))", field: "element")
        }
        let lesson = try body.string("lesson")
        // As `muster actions add`: the lesson must exist (and be one this person may see), and capability and
        // issue default to what the lesson says.
        let hidden = try hiddenRunIDs(state, user)
        let records: ImprovementRecords
        do { records = try ImprovementRecords.load(state.journal, now: state.now) } catch { throw APIError(500, error.description) }
        let draft: ActionDraft
        do {
            draft = try ActionDraft.answering(
                [lesson], among: records.lessons.filter { !hidden.contains($0.runID) }, title: try body.string("title"),
                owner: try body.string("owner"), organization: try body.string("organization"), element: element, due: due,
                capability: try body.optionalString("capability"), issue: try body.optionalString("issue"))
        } catch let unknown as ActionDraft.UnknownLesson {
            throw APIError(404, "no lesson '\(unknown.id)'; lesson ids are RUN/SEQ as GET /api/lessons gives them")
        }
        return try apply(state, user, .add(draft), status: .created)
    }

    /// The fields of each move of an improvement action.
    static let transitionFields: [String: Set<String>] = [
        "start": ["to"], "done": ["to", "note"], "review": ["to", "method", "result", "note"], "close": ["to", "note"],
    ]

    static func transition(_ state: ServerState, _ user: UserRecord, _ id: String, _ bytes: [UInt8]) throws -> Response {
        // No "reviewer": the reviewer recorded is the signed-in user (who must not be who marked the action done).
        let loose = try JSONBody(bytes, allowed: ["to", "note", "method", "result"])
        let to = try loose.string("to")
        guard let allowed = transitionFields[to] else {
            throw APIError.badRequest("field 'to': '\(to)' is not one of start, done, review, close", field: "to")
        }
        // Each move takes its own fields (openapi.json's oneOf): `method` and `result` belong to a review only.
        let body = try JSONBody(fields: loose.fields, allowed: allowed)
        let command: ActionCommand
        switch to {
        case "start": command = .start(id)
        case "done": command = .done(id, note: try body.optionalString("note"))
        case "review":
            let resultText = try body.string("result")
            guard let result = ReviewResult(rawValue: resultText) else {
                throw APIError.badRequest("field 'result': '\(resultText)' is not a review result", field: "result")
            }
            command = .review(id, method: try body.string("method"), result: result, reviewer: user.name, note: try body.optionalString("note"))
        case "close": command = .close(id, note: try body.optionalString("note"))
        default: throw APIError.badRequest("field 'to': '\(to)' is not one of start, done, review, close", field: "to")
        }
        if let action = try load(state).0.action(ImprovementLog.normalizedActionID(id)) {
            let hidden = try hiddenRunIDs(state, user)
            if cites(action.draft.lessons, anyOf: hidden) { throw APIError(404, "no improvement action '\(id)'") }
            try requireTransitionRight(state, user, action)
        }
        return try apply(state, user, command, status: .ok)
    }

    /// An action's transitions belong to its owner, an admin, or the incident commander of a run one of its
    /// lessons comes from (403 otherwise).
    static func requireTransitionRight(_ state: ServerState, _ user: UserRecord, _ action: ImprovementAction) throws {
        if user.admin || action.draft.owner == user.name { return }
        let runIDs = Set(action.draft.lessons.map { String($0.prefix { $0 != "/" }) })
        for runID in runIDs.sorted() {
            if let snapshot = try? state.runtime.snapshot(runID: runID), snapshot.run.commander == user.name { return }
        }
        throw APIError(403, "only the owner of \(action.id) (\(action.draft.owner)), an admin or the incident commander of a run it answers may move it")
    }

    /// `ImprovementRecords.apply` (as `muster actions` does), in HTTP terms.
    static func apply(_ state: ServerState, _ user: UserRecord, _ command: ActionCommand, status: HTTPResponse.Status) throws -> Response {
        let (log, head) = try load(state)
        let result = Result { () throws(ImprovementApplyError) in
            try ImprovementRecords.apply(command, actor: user.name, at: state.now, in: state.journal, log: log, head: head)
        }
        switch result {
        case .success(let applied):
            return API.json(object(applied.action, today: Day(state.now)), status: status)
        case .failure(.rejected(let rejection, _)):
            throw APIError.rejected(rejection)
        case .failure(.busy):
            throw APIError(503, "the improvement log is busy; try again")
        case .failure(.load(let error)):
            throw APIError(500, error.description)
        case .failure(.journal(let error)):
            throw error
        case .failure(let error):
            throw APIError(500, error.description)
        }
    }
}

/// `/api/users` (admin only).
enum Users {
    static func requireAdmin(_ user: UserRecord) throws {
        guard user.admin else { throw APIError(403, "user management needs an admin (\(user.name) is not one)") }
    }

    static func list(_ state: ServerState, _ user: UserRecord) throws -> Response {
        try requireAdmin(user)
        return API.json(["users": try state.journal.users().map {
            ["name": $0.name, "admin": $0.admin, "created_at": $0.createdAt.iso8601, "revoked_at": $0.revokedAt?.iso8601 ?? NSNull()] as [String: Any]
        }])
    }

    static func add(_ state: ServerState, _ user: UserRecord, _ bytes: [UInt8]) throws -> Response {
        try requireAdmin(user)
        let body = try JSONBody(bytes, allowed: ["name", "admin"])
        let name = try body.string("name")
        let token = Tokens.make()
        let admin = try body.bool("admin", default: false)
        let result = Result { () throws(JournalError) in
            try state.journal.addUser(name: name, tokenSHA256: Tokens.sha256(token), admin: admin, at: state.now, by: user.name)
        }
        switch result {
        case .success: break
        case .failure(.userExists): throw APIError(409, "a user named '\(name)' exists already", field: "name")
        case .failure(.invalidUserName(_, let reason)): throw APIError.badRequest("field 'name': \(reason)", field: "name")
        case .failure(let error): throw error
        }
        return API.json(["name": name, "token": token], status: .created)
    }

    static func revoke(_ state: ServerState, _ user: UserRecord, _ name: String) throws -> Response {
        try requireAdmin(user)
        let result = Result { () throws(JournalError) in try state.journal.revokeUser(name: name, at: state.now, by: user.name) }
        switch result {
        case .success: break
        case .failure(.unknownUser): throw APIError(404, "no active user named '\(name)'")
        case .failure(let error): throw error
        }
        // Takes effect at once in this server: no cached answer for the token, and open streams check again.
        state.auth.forget(name: name)
        state.hub.recheckAll()
        return API.json(["name": name, "revoked": true])
    }
}
