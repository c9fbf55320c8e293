import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MusterCore
import MusterExercise
import MusterJournal
import MusterReports
import MusterRuntime
import MusterYAML
import NIOCore
import ServiceLifecycle

typealias Ctx = MusterRequestContext

/// The routes. Every `/api` route authenticates with `Authorization: Bearer TOKEN`; permissions come from the run.
enum API {
    static func register(on router: Router<Ctx>, state: ServerState) {
        router.get("/") { _, _ in try Static.file("index.html") }
        router.get("/app.js") { _, _ in try Static.file("app.js") }
        router.get("/style.css") { _, _ in try Static.file("style.css") }
        router.get("/stream-worker.js") { _, _ in try Static.file("stream-worker.js") }
        router.get("/openapi.json") { _, _ in try Static.openAPI() }
        router.get("/healthz") { _, _ in await DatabaseExecutor.run { state.health.response() } }
        // Personal answer links: no sign-in, the token is the capability (not API: HTML pages, like the board's).
        router.get("/a/:token") { request, context in await AnswerPages.respond(state, request, context, post: false) }
        router.post("/a/:token") { request, context in await AnswerPages.respond(state, request, context, post: true) }

        let api = router.group("api")
        api.get("me") { request, context in
            try await handle(state, request, context) { user in
                json(["name": user.name, "admin": user.admin])
            }
        }
        api.get("runs") { request, context in
            try await handle(state, request, context) { user in try Runs.list(state, user) }
        }
        api.post("runs") { request, context in
            try await handle(state, request, context) { user in
                let bytes = try await body(request, state)
                return try Runs.declare(state, user, bytes, key: try IdempotencyKeys.key(request, user: user, body: bytes))
            }
        }
        api.get("runs/:id") { request, context in
            try await handle(state, request, context) { user in try Runs.status(state, user, try id(context)) }
        }
        api.get("runs/:id/notifications") { request, context in
            try await handle(state, request, context) { user in
                try Board.notifications(state, user, try id(context), dead: try flag(request, "dead"))
            }
        }
        api.post("runs/:id/notifications/:nid/retry") { request, context in
            try await handle(state, request, context) { user in
                try NotificationRetry.retry(state, user, try id(context), try id(context, "nid"))
            }
        }
        api.get("runs/:id/verify") { request, context in
            try await handle(state, request, context) { user in try Integrity.run(state, user, try id(context)) }
        }
        api.get("runs/:id/timeline") { request, context in
            try await handle(state, request, context) { user in
                try Exports.timeline(state, user, try id(context), format: request.uri.queryParameters.get("format") ?? "text")
            }
        }
        api.get("runs/:id/evaluation") { request, context in
            try await handle(state, request, context) { user in try Evaluation.show(state, user, try id(context)) }
        }
        api.post("runs/:id/evaluation") { request, context in
            try await handle(state, request, context) { user in
                try Evaluation.overrule(state, user, try id(context), try await body(request, state))
            }
        }
        api.post("runs/:id/evaluation/lessons") { request, context in
            try await handle(state, request, context) { user in
                try Evaluation.hotWashLesson(state, user, try id(context), try await body(request, state))
            }
        }
        api.get("runs/:id/exercise") { request, context in
            try await handle(state, request, context) { user in try Board.exercise(state, user, try id(context)) }
        }
        api.get("playbooks") { request, context in
            try await handle(state, request, context) { _ in try Board.playbooks(state) }
        }
        api.get("runs/:id/events") { request, context in
            try await handle(state, request, context) { user in
                let after = try query(request, "after")
                return try Runs.events(state, user, try id(context), after: after)
            }
        }
        api.post("runs/:id/commands") { request, context in
            try await handle(state, request, context) { user in
                let bytes = try await body(request, state)
                return try await Runs.command(state, user, try id(context), bytes, key: try IdempotencyKeys.key(request, user: user, body: bytes))
            }
        }
        api.get("runs/:id/report") { request, context in
            try await handle(state, request, context) { user in
                try Runs.report(state, user, try id(context), format: request.uri.queryParameters.get("format") ?? "html")
            }
        }
        api.get("runs/:id/stream") { request, context in
            try await handle(state, request, context, allowQueryToken: true) { user in
                let header = request.headers[.lastEventID].flatMap { Int($0) }
                let last = try header ?? query(request, "after") ?? 0
                return try Stream.response(state, user, token: bearerToken(request, allowQueryToken: true) ?? "", try id(context), after: last)
            }
        }
        api.post("runs/:id/exercise") { request, context in
            try await handle(state, request, context) { user in
                try Exercises.control(state, user, try id(context), try await body(request, state))
            }
        }
        api.get("exercises") { request, context in
            try await handle(state, request, context) { _ in try Exercises.list(state) }
        }
        api.post("exercises") { request, context in
            try await handle(state, request, context) { user in try Exercises.start(state, user, try await body(request, state)) }
        }
        api.get("lessons") { request, context in
            try await handle(state, request, context) { user in try Improvement.lessons(state, user) }
        }
        api.get("actions") { request, context in
            try await handle(state, request, context) { user in try Improvement.list(state, user) }
        }
        api.get("actions/verify") { request, context in
            try await handle(state, request, context) { _ in try Integrity.improvementLog(state) }
        }
        api.get("actions/report") { request, context in
            try await handle(state, request, context) { user in
                try Exports.actionsReport(state, user, format: request.uri.queryParameters.get("format") ?? "md")
            }
        }
        api.get("programme") { request, context in
            try await handle(state, request, context) { user in
                try Exports.programme(state, user, format: request.uri.queryParameters.get("format") ?? "md")
            }
        }
        api.get("readiness") { request, context in
            try await handle(state, request, context) { user in
                try Exports.readiness(state, user, format: request.uri.queryParameters.get("format") ?? "json")
            }
        }
        api.post("actions") { request, context in
            try await handle(state, request, context) { user in try Improvement.add(state, user, try await body(request, state)) }
        }
        api.post("actions/:id/transitions") { request, context in
            try await handle(state, request, context) { user in
                try Improvement.transition(state, user, try id(context), try await body(request, state))
            }
        }
        api.get("users") { request, context in
            try await handle(state, request, context) { user in try Users.list(state, user) }
        }
        api.post("users") { request, context in
            try await handle(state, request, context) { user in try Users.add(state, user, try await body(request, state)) }
        }
        api.delete("users/:id") { request, context in
            try await handle(state, request, context) { user in try Users.revoke(state, user, try id(context)) }
        }
    }

    // MARK: - Plumbing

    /// A path parameter, percent-decoded (`/api/users/Zo%C3%AB%20O'Brien` names `Zoë O'Brien`).
    static func id(_ context: Ctx, _ name: String = "id") throws(APIError) -> String {
        guard let raw = context.parameters.get(name) else { throw .badRequest("missing \(name) in the path") }
        guard let id = raw.removingPercentEncoding else { throw .badRequest("the path segment '\(raw)' is not valid percent-encoded UTF-8") }
        return id
    }

    /// A boolean query parameter: absent is false; anything but true or false is a 400 naming it.
    static func flag(_ request: Request, _ name: String) throws(APIError) -> Bool {
        guard let text = request.uri.queryParameters.get(name) else { return false }
        switch text {
        case "true": return true
        case "false": return false
        default: throw .badRequest("query parameter '\(name)' must be true or false", field: name)
        }
    }

    static func query(_ request: Request, _ name: String) throws(APIError) -> Int? {
        guard let text = request.uri.queryParameters.get(name) else { return nil }
        guard let value = Int(text), value >= 0 else { throw .badRequest("query parameter '\(name)' must be a non-negative integer", field: name) }
        return value
    }

    static func body(_ request: Request, _ state: ServerState) async throws -> [UInt8] {
        let limit = state.configuration.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError(413, "the request body is \(length) bytes; at most \(limit) are accepted")
        }
        var request = request
        do {
            let buffer = try await request.collectBody(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError(413, "the request body is larger than \(limit) bytes")
        } catch is NIOTooManyBytesError {
            // A chunked body (no Content-Length) found too large while it streams in: the same JSON 413.
            throw APIError(413, "the request body is larger than \(limit) bytes")
        }
    }

    /// The client's address (the peer, or what a trusted proxy says in `X-Forwarded-For`).
    static func address(_ context: Ctx, _ request: Request, _ state: ServerState) -> String {
        ClientAddress.resolve(peer: context.remoteAddress?.ipAddress ?? "unknown", forwardedFor: request.headers[ClientAddress.forwardedFor],
                              trusted: state.configuration.trustedProxies)
    }

    /// Authenticates, runs the route, maps errors to statuses with a JSON body `{"error", "status", "code", "field"?}`.
    static func handle(
        _ state: ServerState, _ request: Request, _ context: Ctx, allowQueryToken: Bool = false,
        _ body: (UserRecord) async throws -> Response
    ) async throws -> Response {
        try await DatabaseExecutor.run { try await authenticated(state, request, context, allowQueryToken: allowQueryToken, body) }
    }

    private static func authenticated(
        _ state: ServerState, _ request: Request, _ context: Ctx, allowQueryToken: Bool,
        _ body: (UserRecord) async throws -> Response
    ) async throws -> Response {
        let remote = address(context, request, state)
        let now = state.now
        // The token is checked first and only failures are throttled: a correct token is never refused, also
        // from an address (a proxy, a shared NAT) where someone else keeps failing.
        func throttled() -> Response? {
            guard let wait = state.limiter.retryAfter(remote, now: now) else { return nil }
            state.logger.warning("denied: too many failed logins", metadata: ["remote": "\(remote)", "path": "\(request.uri.path)"])
            var response = error(APIError(429, "too many failed logins from \(remote); try again in \(wait) s"))
            response.headers[.retryAfter] = String(wait)
            return response
        }
        do {
            guard let token = bearerToken(request, allowQueryToken: allowQueryToken) else {
                if let refused = throttled() { return refused }
                state.limiter.recordFailure(remote, now: now)
                state.logger.warning("denied: no bearer token", metadata: ["remote": "\(remote)", "path": "\(request.uri.path)"])
                return unauthorized("missing 'Authorization: Bearer TOKEN' (create a token with: muster users add NAME)")
            }
            guard let user = try state.auth.user(token: token, now: now) else {
                if let refused = throttled() { return refused }
                state.limiter.recordFailure(remote, now: now)
                state.logger.warning("denied: unknown or revoked token", metadata: ["remote": "\(remote)", "path": "\(request.uri.path)"])
                return unauthorized("the token is unknown or revoked")
            }
            do {
                return try await body(user)
            } catch let e as APIError {
                if e.status == 403 || e.status == 404 {
                    state.logger.notice("denied", metadata: ["user": "\(user.name)", "status": "\(e.status)", "why": "\(e.message)",
                                                             "method": "\(request.method)", "path": "\(request.uri.path)"])
                }
                return error(e)
            }
        } catch let e as APIError {
            return error(e)
        } catch let e as JournalError {
            switch e {
            case .unknownRun: return error(APIError(404, e.description))
            case .unavailable: return databaseUnavailable(state, e)
            case .idempotencyKeyUsed: return error(APIError(422, e.description, code: .idempotencyKeyReused))
            default:
                state.logger.error("journal error", metadata: ["error": "\(e.description)"])
                return error(APIError(500, e.description))
            }
        } catch let e as RuntimeError {
            if case .journal(let journalError) = e, case .unavailable = journalError { return databaseUnavailable(state, journalError) }
            if case .journal(let journalError) = e, case .idempotencyKeyUsed = journalError {
                return error(APIError(422, journalError.description, code: .idempotencyKeyReused))
            }
            state.logger.error("runtime error", metadata: ["error": "\(e.description)"])
            return error(APIError(500, e.description))
        }
    }

    /// The database cannot be reached (a restart, a failover): 503 with `Retry-After`, never a hang or a 500.
    /// Nothing of the request was recorded; the journal reconnects by itself on the next request.
    static func databaseUnavailable(_ state: ServerState, _ e: JournalError) -> Response {
        state.logger.warning("database unavailable", metadata: ["error": "\(e.description)"])
        // "Nothing recorded" is not certain: a connection lost during COMMIT may have committed. The key makes the
        // retry safe either way.
        var response = error(APIError(503, "the database cannot be reached just now; retry (with the same Idempotency-Key the request is "
            + "applied at most once, even if the connection was lost while it committed): \(e.description)"))
        response.headers[.retryAfter] = "5"
        return response
    }

    /// The request's token: `Authorization: Bearer TOKEN`, or (routes that allow it) `?token=`; nil when none.
    static func bearerToken(_ request: Request, allowQueryToken: Bool) -> String? {
        var token: String?
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { token = trimmedWhitespace(parts[1]) }
        } else if allowQueryToken {
            token = request.uri.queryParameters.get("token").map { String(describing: $0) }
        }
        guard let token, !token.isEmpty else { return nil }
        return token
    }

    /// `trimmingCharacters(in: .whitespaces)` without the NSString bridge (a measurable cost on every request):
    /// the same set, scalars of `CharacterSet.whitespaces` at both ends.
    static func trimmedWhitespace(_ text: Substring) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !CharacterSet.whitespaces.contains($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !CharacterSet.whitespaces.contains($0) })!
        return String(scalars[first...last])
    }

    static func unauthorized(_ message: String) -> Response {
        var response = error(APIError(401, message))
        response.headers[.wwwAuthenticate] = "Bearer realm=\"muster\""
        return response
    }

    static func error(_ e: APIError) -> Response {
        var object: [String: Any] = ["error": e.message, "status": e.status, "code": e.code.rawValue]
        if let field = e.field { object["field"] = field }
        if let rejection = e.rejection { object["rejection"] = rejection.rawValue }
        return json(object, status: HTTPResponse.Status(integerLiteral: e.status))
    }

    static func json(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Response(status: status, headers: jsonHeaders, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// An event as a command's answer lists it.
    static func eventSummary(_ event: RunEvent) -> [String: Any] {
        ["type": event.body.typeName, "actor": event.actor, "description": RunText.describe(event.body)]
    }

    /// A lesson as the run status and the evaluation show it.
    static func lessonObject(_ record: MusterCore.LessonRecord) -> [String: Any] {
        ["at": record.at.iso8601, "actor": record.actor, "text": record.lesson.text, "kind": record.lesson.kind.rawValue,
         "root_cause": record.lesson.rootCause ?? NSNull()]
    }

    /// Built once: a header dictionary literal per answer was a measurable cost on every command.
    static let jsonHeaders: HTTPFields = [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"]
}

/// Files shipped in the package (`Sources/MusterServer/Web`, `openapi.json`).
enum Static {
    static func file(_ name: String) throws -> Response {
        guard let url = Bundle.module.url(forResource: "Web/\(name)", withExtension: nil) ?? Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Web"),
              let data = try? Data(contentsOf: url) else {
            throw HTTPError(.notFound)
        }
        let type = name.hasSuffix(".html") ? "text/html; charset=utf-8" : name.hasSuffix(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8"
        return Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-cache",
                                               .contentSecurityPolicy: SecurityHeaders.boardPolicy],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func openAPIData() -> Data? {
        Bundle.module.url(forResource: "openapi", withExtension: "json").flatMap { try? Data(contentsOf: $0) }
    }

    static func openAPI() throws -> Response {
        guard let data = openAPIData() else { throw HTTPError(.notFound) }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension HTTPField.Name {
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
}
