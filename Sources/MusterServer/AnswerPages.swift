import Foundation
import HTTPTypes
import Hummingbird
import MusterCore
import MusterJournal
import MusterReports
import MusterRuntime
import NIOCore

/// `GET /a/{token}` and `POST /a/{token}`: personal answer links (`docs/people.md`), the only routes without
/// sign-in. The token is the capability: it names one person and one question of one run, so whoever holds it
/// answers that question as that person and nothing else. Answers go through the same group-committed commands as
/// the API (`answer` with channel `link`, `acknowledge`). Every refusal is a small HTML page saying what to do;
/// refusals are logged with the remote address and never the token. Unknown and malformed tokens count against the
/// address (`answerLinkFailureLimit` a minute, then 429), which bounds guessing; the token's 256 bits are the
/// real defence.
enum AnswerPages {
    static let channel = "link"

    static func respond(_ state: ServerState, _ request: Request, _ context: Ctx, post: Bool) async -> Response {
        let raw = context.parameters.get("token") ?? ""
        var fields: [String: String] = [:]
        if post {
            guard let bytes = try? await API.body(request, state) else {
                return page(.contentTooLarge, title: "Answer not recorded", lead: "The answer sent was too large.", body: "")
            }
            // The first of each name; a body that is not valid form encoding reads as no choice.
            fields = Dictionary(FormBody.parse(bytes) ?? [], uniquingKeysWith: { first, _ in first })
        }
        return await DatabaseExecutor.run { await handle(state, request, context, raw: raw, post: post, fields: fields) }
    }

    private static func handle(_ state: ServerState, _ request: Request, _ context: Ctx, raw: String, post: Bool,
                               fields: [String: String]) async -> Response {
        let remote = API.address(context, request, state)
        let now = state.now
        func refuse(_ why: String) {
            state.answerLimiter.recordFailure(remote, now: now)
            state.logger.warning("answer link refused", metadata: ["remote": "\(remote)", "why": "\(why)", "method": "\(request.method)"])
        }
        if let wait = state.answerLimiter.retryAfter(remote, now: now) {
            state.logger.warning("answer link refused: too many refused links", metadata: ["remote": "\(remote)"])
            var response = page(.tooManyRequests, title: "Too many tries",
                                lead: "Too many links that do not work came from your address.",
                                body: "<p>Try again in \(wait) seconds, with the link exactly as you received it.</p>")
            response.headers[.retryAfter] = String(wait)
            return response
        }
        guard AnswerToken.isWellFormed(raw) else {
            refuse("malformed token")
            return page(.notFound, title: "This link is not complete",
                        lead: "The answer link is cut short or changed.",
                        body: "<p>Open the link exactly as it is in your message (some apps break long links over two lines). "
                            + "If it still does not work, answer through another way your message offers, or tell the incident team.</p>")
        }
        if post, let origin = request.headers[.requestOrigin], !origin.isEmpty, origin != "null" {
            // A form posted from another site (the token leaked into one) is refused: the page's own form posts
            // same-origin. (`null`, what a browser sends under `Referrer-Policy: no-referrer`, passes: the token is
            // the capability; this is a second fence.)
            let host = request.head.authority
            let originHost = origin.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first.map(String.init)
            if host == nil || originHost?.lowercased() != host?.lowercased() {
                refuse("cross-origin post")
                return page(.forbidden, title: "Answer not recorded", lead: "This answer was sent from another site.",
                            body: "<p>Open the link from your message and answer on its page.</p>")
            }
        }
        let found: AnswerLink?
        do {
            // A link never changes once minted: a page opened and then answered reads it once. Unknown tokens are
            // not remembered (a guesser cannot fill the cache).
            let hash = AnswerToken.sha256(raw)
            if let known = state.answerLinks.value(hash) {
                found = known
            } else {
                found = try state.journal.answerLink(tokenSHA256: hash)
                if let found { state.answerLinks.store(found, for: hash) }
            }
        } catch {
            return unavailable(state, error)
        }
        guard let link = found else {
            refuse("unknown token")
            return page(.notFound, title: "Unknown link", lead: "This answer link is not known here.",
                        body: "<p>Check that you opened the whole link from your message. If it came from another Muster, "
                            + "answer there; otherwise answer through another way your message offers, or tell the incident team.</p>")
        }
        // An answer is decided by the engine on the run as the journal has it; the page around it needs only the
        // options and the title, so a POST reads the runtime's copy as it is (no journal read), a GET the run now.
        let run: Run
        do {
            run = post ? try state.runtime.remembered(runID: link.runID) : try state.runtime.snapshot(runID: link.runID).run
        } catch {
            return unavailable(state, error)
        }
        let runTitle = html(run.title)
        if run.status != .active {
            return page(.gone, title: "The incident is closed", lead: "\(runTitle) is closed: answers are no longer taken.",
                        body: "<p>If you still need help, call the incident team or your manager.</p>")
        }
        if link.isExpired(at: now) {
            state.logger.notice("answer link refused: expired", metadata: ["remote": "\(remote)", "run": "\(link.runID)"])
            return page(.gone, title: "This link has expired",
                        lead: "The link for this question expired at \(html(link.expiresAt.iso8601)).",
                        body: "<p>Nothing was recorded. If you received a newer message, use its link; otherwise tell the incident team.</p>")
        }
        switch link.question {
        case .rollCall(let id):
            guard let spec = run.playbook.rollCall(id) else {
                return page(.notFound, title: "Unknown question", lead: "This run has no roll call '\(html(id))'.", body: "")
            }
            let options = spec.options.map { (id: $0.id.value, label: $0.label) }
            var notice = ""
            var status: HTTPResponse.Status = .ok
            if post {
                guard let option = fields["option"], options.contains(where: { $0.id == option }) else {
                    return page(.badRequest, title: "Answer not recorded", lead: "Choose one of the answers below.",
                                body: rollCallForm(link: link, options: options, current: nil))
                }
                let user = UserRecord(name: link.person, admin: false, createdAt: link.createdAt, revokedAt: nil)
                switch await record(state, link.runID, user, .answer(rollCall: id, person: link.person, option: option, channel: channel)) {
                case .recorded:
                    let label = options.first { $0.id == option }?.label ?? option
                    notice = "<p class=\"recorded\" role=\"status\">Recorded: <strong>\(html(label))</strong>. You can change your answer below.</p>"
                case .refused(let code, let reason):
                    status = code
                    notice = "<p class=\"refused\" role=\"alert\">Not recorded: \(html(reason))</p>"
                }
            }
            let current = post ? nil : currentAnswer(state, link, id)
            let currentLine = current.map { option in
                "<p class=\"recorded\" role=\"status\">Your answer so far: <strong>\(html(options.first { $0.id == option }?.label ?? option))</strong>. You can change it.</p>"
            } ?? ""
            return page(status, title: "Your answer", lead: "\(runTitle), for \(html(link.person))",
                        body: "<p class=\"message\">\(html(link.message))</p>" + notice + currentLine
                            + rollCallForm(link: link, options: options, current: current))
        case .ack(let id):
            var notice = ""
            var status: HTTPResponse.Status = .ok
            if post {
                let user = UserRecord(name: link.person, admin: false, createdAt: link.createdAt, revokedAt: nil)
                switch await record(state, link.runID, user, .acknowledge(id)) {
                case .recorded:
                    notice = "<p class=\"recorded\" role=\"status\">Recorded: <strong>acknowledged</strong> by \(html(link.person)).</p>"
                case .refused(let code, let reason):
                    status = code
                    notice = "<p class=\"refused\" role=\"alert\">Not recorded: \(html(reason))</p>"
                }
                return page(status, title: "Acknowledgement", lead: "\(runTitle), for \(html(link.person))",
                            body: "<p class=\"message\">\(html(link.message))</p>" + notice)
            }
            if let by = run.acks[id]?.acknowledgedBy {
                return page(.ok, title: "Acknowledgement", lead: "\(runTitle), for \(html(link.person))",
                            body: "<p class=\"message\">\(html(link.message))</p><p class=\"recorded\" role=\"status\">Already acknowledged by \(html(by)).</p>")
            }
            let form = """
                <form method="post"><button type="submit" name="acknowledge" value="yes">I acknowledge</button></form>
                """
            return page(.ok, title: "Acknowledgement", lead: "\(runTitle), for \(html(link.person))",
                        body: "<p class=\"message\">\(html(link.message))</p>" + notice + form)
        }
    }

    /// The journal could not be read: nothing was recorded, try again.
    private static func unavailable(_ state: ServerState, _ error: any Error) -> Response {
        state.logger.error("answer link: journal error", metadata: ["error": "\(error)"])
        var response = page(.serviceUnavailable, title: "Try again shortly", lead: "Muster cannot record answers just now.",
                            body: "<p>Nothing was recorded. Open the link again in a minute.</p>")
        response.headers[.retryAfter] = "5"
        return response
    }

    /// The person's last answer to the roll call, from the runtime's copy of the run (nil when none).
    private static func currentAnswer(_ state: ServerState, _ link: AnswerLink, _ rollCall: String) -> String? {
        guard let run = try? state.runtime.snapshot(runID: link.runID).run else { return nil }
        return run.rollCalls[rollCall]?.answers[link.person]?.option
    }

    private enum Outcome {
        case recorded
        case refused(HTTPResponse.Status, String)
    }

    /// Through the server's command writer (group commit; the permission check sees `person` answering for themself).
    private static func record(_ state: ServerState, _ runID: String, _ user: UserRecord, _ action: Command.Action) async -> Outcome {
        let outcome: CommandWriter.Outcome
        if let handle = try? state.drivenExercise(runID, check: {}) {
            return exerciseRecord(state, runID, handle, user, action)
        }
        outcome = await state.writer.submit(runID: runID, user: user, action: action)
        switch outcome {
        case .success(let result):
            if let rejection = result.rejection { return .refused(.conflict, rejection.reason) }
            return .recorded
        case .failure(let error as APIError):
            return .refused(HTTPResponse.Status(code: error.status), error.message)
        case .failure(let error):
            state.logger.error("answer link: could not record", metadata: ["error": "\(error)"])
            return .refused(.serviceUnavailable, "Muster could not record it just now; try again")
        }
    }

    /// In an exercise this server drives: through its session, under its lock (as `Runs.exerciseCommand`).
    private static func exerciseRecord(_ state: ServerState, _ runID: String, _ handle: ServerState.ExerciseHandle, _ user: UserRecord,
                                       _ action: Command.Action) -> Outcome {
        handle.lock.lock()
        defer { handle.lock.unlock() }
        do {
            let step = try state.step(handle, runID: runID, .player(Command(actor: user.name, action)), by: user.name)
            state.wrote(runID: runID)
            if let refusal = step.refusal { return .refused(.conflict, refusal) }
            if let rejection = step.rejection { return .refused(.conflict, rejection.reason) }
            return .recorded
        } catch {
            return .refused(.serviceUnavailable, "Muster could not record it just now; try again")
        }
    }

    private static func rollCallForm(link: AnswerLink, options: [(id: String, label: String)], current: String?) -> String {
        var out = "<form method=\"post\" class=\"options\"><fieldset><legend>Choose your answer</legend>"
        for option in options {
            let chosen = option.id == current ? " aria-describedby=\"chosen\" class=\"chosen\"" : ""
            out += "<button type=\"submit\" name=\"option\" value=\"\(html(option.id))\"\(chosen)>\(html(option.label))</button>"
        }
        if current != nil { out += "<span id=\"chosen\" class=\"hidden\">(your current answer)</span>" }
        return out + "</fieldset></form>"
    }

    // MARK: - The page

    /// The pages' policy: their own inline stylesheet, no script, forms only to this server.
    static let policy = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

    static let css = """
        body{margin:0;font:18px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111;background:#fff}
        main{max-width:32rem;margin:0 auto;padding:1rem}
        h1{font-size:1.5rem;margin:.5rem 0}
        .lead{color:#333}
        .message{font-size:1.2rem;border-left:4px solid #0b4f8a;padding-left:.75rem}
        fieldset{border:0;padding:0;margin:1rem 0}
        legend{font-weight:600;margin-bottom:.5rem}
        button{display:block;width:100%;min-height:3rem;margin:.5rem 0;padding:.75rem 1rem;font:inherit;font-weight:600;
          color:#fff;background:#0b4f8a;border:2px solid #0b4f8a;border-radius:.5rem;cursor:pointer}
        button.chosen{background:#06325a;border-color:#111;outline:3px solid #f2a900}
        button:focus-visible{outline:3px solid #f2a900;outline-offset:2px}
        .recorded{background:#e6f4ea;border:1px solid #1e6b34;padding:.5rem .75rem;border-radius:.25rem}
        .refused{background:#fdecea;border:1px solid #a4262c;padding:.5rem .75rem;border-radius:.25rem}
        .hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
        """

    static func page(_ status: HTTPResponse.Status, title: String, lead: String, body: String) -> Response {
        let text = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="referrer" content="no-referrer"><title>\(title) · Muster</title><style>\(css)</style></head>
            <body><main><h1>\(title)</h1><p class="lead">\(lead)</p>\(body)</main></body></html>
            """
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                                                  .contentSecurityPolicy: policy],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func html(_ text: String) -> String { TextBuffer.html(text) }
}

extension HTTPField.Name {
    static let requestOrigin = HTTPField.Name("Origin")!
}
