import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MusterCore
import MusterJournal
import MusterNotify
import MusterRuntime
import NIOCore

/// Answers that come back through Slack buttons, Mattermost buttons and SMS replies: `POST /hooks/slack/interactive`,
/// `POST /hooks/mattermost/actions`, `POST /hooks/sms`. No bearer token: the platform's signature (Slack, Twilio) or
/// Muster's own signed context (Mattermost) is the authentication. A request that fails it is 401, changes nothing
/// and is logged without its body; a valid one from someone not in the directory gets a reply saying so.
/// Each answer goes through the runtime's command path as the person, with the channel it came through.
enum ChatHooks {
    static func register(on router: Router<Ctx>, state: ServerState) {
        // Literal paths (`ChatCallbackSettings.slackPath`, ...): the test that keeps openapi.json equal to the routes reads them here.
        router.post("/hooks/slack/interactive") { request, context in
            await guarded(state) { try await slack(state, request, context) }
        }
        router.post("/hooks/mattermost/actions") { request, context in
            await guarded(state) { try await mattermost(state, request, context) }
        }
        router.post("/hooks/sms") { request, context in
            await guarded(state) { try await sms(state, request, context) }
        }
    }

    /// Runs a callback off the cooperative pool; a database that cannot be reached is the API's 503, anything
    /// else unexpected a 500 logged without the request.
    static func guarded(_ state: ServerState, _ body: () async throws -> Response) async -> Response {
        do {
            return try await DatabaseExecutor.run { try await body() }
        } catch let e as APIError {
            return API.error(e)
        } catch let e as JournalError {
            if case .unavailable = e { return API.databaseUnavailable(state, e) }
            state.logger.error("callback failed", metadata: ["error": "\(e.description)"])
            return API.error(APIError(500, "the answer could not be recorded"))
        } catch let e as RuntimeError {
            if case .journal(let journalError) = e, case .unavailable = journalError { return API.databaseUnavailable(state, journalError) }
            state.logger.error("callback failed", metadata: ["error": "\(e.description)"])
            return API.error(APIError(500, "the answer could not be recorded"))
        } catch {
            state.logger.error("callback failed", metadata: ["error": "\(error)"])
            return API.error(APIError(500, "the answer could not be recorded"))
        }
    }

    // MARK: - Slack

    static func slack(_ state: ServerState, _ request: Request, _ context: Ctx) async throws -> Response {
        let bytes: [UInt8]
        do { bytes = try await API.body(request, state) } catch let e as APIError { return API.error(e) }
        guard let secret = state.configuration.chatCallbacks.slackSigningSecret else {
            return refused(state, request, context, "slack", .notConfigured)
        }
        let signature = request.headers[HTTPField.Name(SlackSignature.signatureHeader)!]
        if let why = SlackSignature(signingSecret: secret).refusal(
            signature: signature, timestamp: request.headers[HTTPField.Name(SlackSignature.timestampHeader)!], body: bytes, now: state.now) {
            return refused(state, request, context, "slack", why)
        }
        // Signed by Slack: from here on a problem is the payload's, answered as Slack shows it.
        guard let form = FormBody.parse(bytes), let payloadText = FormBody.value("payload", in: form),
              let payload = (try? JSONSerialization.jsonObject(with: Data(payloadText.utf8))) as? [String: Any] else {
            return API.error(.badRequest("a Slack interaction is form-encoded with a 'payload' field holding JSON", field: "payload"))
        }
        guard let user = payload["user"] as? [String: Any], let slackID = user["id"] as? String, !slackID.isEmpty else {
            return API.error(.badRequest("the Slack payload has no user.id", field: "payload"))
        }
        let actions = payload["actions"] as? [[String: Any]] ?? []
        let value = actions.first?["value"] as? String ?? ""
        if let button = ChatTaskButton(slackValue: value) {
            // A task button of the incident message: `/muster done TASK` by whoever pressed it.
            guard let person = try state.chatPeople.person(slackID: slackID, state) else {
                state.logger.notice("callback from someone not in the directory", metadata: ["route": "slack", "run": "\(button.runID)"])
                return slackReply(ChatCommands.notInDirectory(how: "muster people add YOUR-NAME --slack \(slackID)"))
            }
            let channel = (payload["channel"] as? [String: Any])?["id"] as? String ?? ""
            let team = (payload["team"] as? [String: Any])?["id"] as? String
            let key = signature.map { CommandKey(user: person.name, key: "slack:" + String($0.prefix(240)), requestHash: digest(bytes)) }
            let typed = ChatCommands.Typed(platform: "slack", person: person, channel: channel, team: team, key: key)
            return slackReply(ChannelPayloads.slackEscaped(try await ChatCommands.pressed(state, typed, button)))
        }
        guard let answer = ChatAnswer(slackValue: value) else {
            return slackReply("This button is not one of Muster's; nothing was recorded.")
        }
        guard let person = try state.journal.person(slackID: slackID) else {
            state.logger.notice("callback from someone not in the directory", metadata: ["route": "slack", "run": "\(answer.runID)"])
            return slackReply(notInDirectory(state, answer.runID, how: "their Slack member id (muster people add NAME --slack \(slackID))"))
        }
        // A replay of the same signed request is answered from the first (the signature is the key).
        let key = signature.map { CommandKey(user: person.name, key: "slack:" + String($0.prefix(240)), requestHash: digest(bytes)) }
        let outcome = try await record(state, answer, person: person.name, channel: "slack", key: key)
        return slackReply(outcome.text)
    }

    static func slackReply(_ text: String) -> Response {
        API.json(["response_type": "ephemeral", "replace_original": false, "text": text])
    }

    // MARK: - Mattermost

    static func mattermost(_ state: ServerState, _ request: Request, _ context: Ctx) async throws -> Response {
        let bytes: [UInt8]
        do { bytes = try await API.body(request, state) } catch let e as APIError { return API.error(e) }
        guard let secret = state.configuration.chatCallbacks.mattermostActionSecret else {
            return refused(state, request, context, "mattermost", .notConfigured)
        }
        guard let body = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            return refused(state, request, context, "mattermost", .unsigned)
        }
        var fields: [String: String] = [:]
        for (name, value) in body["context"] as? [String: Any] ?? [:] { if let text = value as? String { fields[name] = text } }
        if let task = MattermostActionSigner(secret: secret).verifyTask(context: fields) {
            switch task {
            case .failure(let why): return refused(state, request, context, "mattermost", why)
            case .success(let button): return try await mattermostTask(state, body, button)
            }
        }
        let verified: (answer: ChatAnswer, person: String)
        switch MattermostActionSigner(secret: secret).verify(context: fields) {
        case .failure(let why): return refused(state, request, context, "mattermost", why)
        case .success(let signed): verified = signed
        }
        guard let person = try state.journal.person(named: verified.person) else {
            state.logger.notice("callback from someone not in the directory", metadata: ["route": "mattermost", "run": "\(verified.answer.runID)"])
            return mattermostReply(notInDirectory(state, verified.answer.runID, how: "their Mattermost username (muster people add NAME --mattermost USERNAME)"))
        }
        // The button was made for this person: someone else pressing it (a forwarded post) answers nothing.
        if let userName = body["user_name"] as? String, !userName.isEmpty, let known = person.mattermostUser,
           plainUsername(known) != plainUsername(userName) {
            state.logger.notice("mattermost button pressed by someone it was not for", metadata: ["run": "\(verified.answer.runID)"])
            return mattermostReply("This button was sent to someone else; nothing was recorded.")
        }
        let outcome = try await record(state, verified.answer, person: person.name, channel: "mattermost", key: nil)
        return mattermostReply(outcome.text)
    }

    /// A task button of the incident message (its context signed by Muster), pressed by the Mattermost user the
    /// request names: `/muster done TASK` as that person of the directory, with their permissions.
    static func mattermostTask(_ state: ServerState, _ body: [String: Any], _ button: ChatTaskButton) async throws -> Response {
        guard let userName = body["user_name"] as? String, !userName.isEmpty else {
            return mattermostReply("Mattermost did not say who pressed the button; nothing was recorded.")
        }
        guard let person = try state.chatPeople.person(mattermostUser: userName, state) else {
            state.logger.notice("callback from someone not in the directory", metadata: ["route": "mattermost", "run": "\(button.runID)"])
            return mattermostReply(ChatCommands.notInDirectory(how: "muster people add YOUR-NAME --mattermost \(userName)"))
        }
        // Mattermost names each press by its trigger id; without one the press is still marked as Mattermost's.
        let trigger = body["trigger_id"] as? String ?? ""
        let key = CommandKey(user: person.name, key: "mattermost:" + (trigger.isEmpty ? "press:" + UUID().uuidString : String(trigger.prefix(240))),
                             requestHash: digest(Array("\(button.runID) \(button.task)".utf8)))
        let typed = ChatCommands.Typed(platform: "mattermost", person: person, channel: body["channel_id"] as? String ?? "",
                                       team: body["team_id"] as? String, key: key)
        return mattermostReply(ChannelPayloads.neutralised(try await ChatCommands.pressed(state, typed, button)))
    }

    static func plainUsername(_ name: String) -> String { (name.hasPrefix("@") ? String(name.dropFirst()) : name).lowercased() }

    static func mattermostReply(_ text: String) -> Response { API.json(["ephemeral_text": text]) }

    // MARK: - SMS

    static func sms(_ state: ServerState, _ request: Request, _ context: Ctx) async throws -> Response {
        let bytes: [UInt8]
        do { bytes = try await API.body(request, state) } catch let e as APIError { return API.error(e) }
        let settings = state.configuration.chatCallbacks
        guard let token = settings.smsAuthToken, let publicURL = settings.publicURL else {
            return refused(state, request, context, "sms", .notConfigured)
        }
        guard let form = FormBody.parse(bytes) else { return refused(state, request, context, "sms", .unsigned) }
        // Twilio signs the URL it was given: the public URL of this route, with the query string it was called with.
        let url = publicURL + request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
        let signature = request.headers[HTTPField.Name(TwilioSignature.header)!]
        if let why = TwilioSignature(authToken: token).refusal(signature: signature, url: url, parameters: form) {
            return refused(state, request, context, "sms", why)
        }
        guard let from = FormBody.value("From", in: form), !from.isEmpty else {
            return twiml("Muster could not read this message (no sender).")
        }
        let text = (FormBody.value("Body", in: form) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard let person = try state.journal.person(phone: from) else {
            state.logger.notice("callback from someone not in the directory", metadata: ["route": "sms"])
            return twiml("You are not in Muster's people directory, so nothing was recorded. Ask your incident commander or Muster administrator to add your phone number.")
        }
        guard let question = try openSMSQuestion(state, person: person.name) else {
            return twiml("Muster has no open question for you; nothing was recorded.")
        }
        guard let choice = question.choice(forReply: text) else {
            return twiml("Muster did not understand '\(String(text.prefix(40)))'. \(ChannelPayloads.smsReplyLine(question.personal))")
        }
        // One message is one answer, however often the gateway retries it (`MessageSid` names the message).
        let sid = FormBody.value("MessageSid", in: form) ?? FormBody.value("SmsSid", in: form) ?? signature ?? ""
        let key = sid.isEmpty ? nil : CommandKey(user: person.name, key: "sms:" + String(sid.prefix(240)), requestHash: digest(bytes))
        let outcome = try await record(state, question.personal.answer(choice), person: person.name, channel: "sms", key: key)
        return twiml(outcome.text)
    }

    /// `<Response><Message>TEXT</Message></Response>`, the TwiML reply Twilio sends back as an SMS.
    static func twiml(_ text: String) -> Response {
        // Element content: only `&` and `<` (and `>` for good measure) need escaping.
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            default: escaped.append(character)
            }
        }
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>\(escaped)</Message></Response>"
        return Response(status: .ok, headers: [.contentType: "text/xml; charset=utf-8", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(string: xml)))
    }

    /// A question put to a person by SMS that a reply answers, with its options in the order the SMS numbered them.
    struct SMSQuestion {
        var personal: PersonalQuestion
        var askedAt: Instant
        var answered: Bool

        /// `1`, `2`.. by the numbering of the SMS; an option's key (`SAFE`) or label, without regard to case; for a
        /// page, `1`, `ack` or `acknowledge`.
        func choice(forReply reply: String) -> PersonalQuestion.Choice? {
            let text = reply.trimmingCharacters(in: CharacterSet(charactersIn: " .!\t\r\n")).lowercased()
            guard !text.isEmpty else { return nil }
            let choices = personal.choices
            if let number = Int(text), number >= 1, number <= choices.count { return choices[number - 1] }
            if case .ack = personal.question, text == "acknowledge" || text == "ack" { return choices.first }
            return choices.first { $0.key.lowercased() == text } ?? choices.first { $0.label.lowercased() == text }
        }
    }

    /// The person's open question asked by SMS: of the open runs' roll calls that asked them through an sms channel
    /// and pages that reached them through one, the latest they have not answered, else the latest.
    static func openSMSQuestion(_ state: ServerState, person: String) throws -> SMSQuestion? {
        var found: [SMSQuestion] = []
        for open in try state.journal.openRuns() {
            guard let snapshot = try? state.runtime.snapshot(runID: open.id) else { continue }
            let run = snapshot.run
            func isSMS(_ channel: String) -> Bool { run.playbook.channel(channel)?.type.value == .sms }
            for spec in run.playbook.allRollCalls {
                guard let record = run.rollCalls[spec.id.value], let started = record.startedAt, record.asks(person),
                      spec.via.contains(where: { isSMS($0.value) }) else { continue }
                let choices = spec.options.map { PersonalQuestion.Choice(key: $0.id.value, label: $0.label) }
                found.append(SMSQuestion(personal: PersonalQuestion(runID: open.id, question: .rollCall(spec.id.value), choices: choices, person: person),
                                         askedAt: started, answered: record.isAccounted(person)))
            }
            for record in run.acks.values where record.pagedPeople.contains(person) && isSMS(record.channel) {
                found.append(SMSQuestion(personal: PersonalQuestion(runID: open.id, question: .ack(record.id), choices: [PersonalQuestion.acknowledge], person: person),
                                         askedAt: record.requestedAt, answered: record.acknowledgedBy != nil))
            }
        }
        let latest = { (a: SMSQuestion, b: SMSQuestion) in a.askedAt < b.askedAt }
        return found.filter { !$0.answered }.max(by: latest) ?? found.max(by: latest)
    }

    // MARK: - Recording

    /// What came of an answer, as the reply to the person says it.
    enum Outcome {
        case recorded(String)
        case replayed
        case notRecorded(String)

        var text: String {
            switch self {
            case .recorded(let what): "Recorded: \(what). Thank you."
            case .replayed: "Already recorded; nothing changed."
            case .notRecorded(let why): "Not recorded: \(why)"
            }
        }
    }

    /// Records the answer as `person` through the runtime's command path (the writer's group commit for live runs,
    /// the exercise session for one this server drives); `key` makes a replay change nothing.
    static func record(_ state: ServerState, _ answer: ChatAnswer, person: String, channel: String, key: CommandKey?) async throws -> Outcome {
        let action: Command.Action
        let what: String
        switch answer.question {
        case .rollCall(let id):
            action = .answer(rollCall: id, person: person, option: answer.option, channel: channel)
            let label = (try? state.runtime.snapshot(runID: answer.runID))?.run.playbook.rollCall(id)?.options.first { $0.id.value == answer.option }?.label
            what = label.map { "\($0) (\(id))" } ?? answer.option
        case .ack(let id):
            guard answer.option == PersonalQuestion.acknowledge.key else { return .notRecorded("'\(answer.option)' is not an answer to a page") }
            action = .acknowledge(id)
            what = "acknowledged (\(id))"
        }
        if let handle = try? state.drivenExercise(answer.runID, check: {}) {
            return try recordInExercise(state, handle, answer.runID, action, person: person, channel: channel, key: key, what: what)
        }
        let user = UserRecord(name: person, admin: false, createdAt: state.now)
        switch await state.writer.submit(runID: answer.runID, user: user, action: action, key: key, personal: true) {
        case .success(let result):
            if result.replayed != nil { return .replayed }
            if let rejection = result.rejection { return .notRecorded(rejection.reason) }
            state.logger.info("answer recorded", metadata: ["run": "\(answer.runID)", "channel": "\(channel)"])
            return .recorded(what)
        case .failure(let error as APIError) where error.status == 404:
            return .notRecorded("Muster has no run '\(answer.runID)'")
        case .failure(let error as APIError) where error.status == 409 || error.status == 403:
            return .notRecorded(error.message)
        case .failure(let error):
            throw error
        }
    }

    /// A server-driven exercise: the answer is a player's action in its session (under its lock, synchronous).
    static func recordInExercise(_ state: ServerState, _ handle: ServerState.ExerciseHandle, _ runID: String, _ action: Command.Action,
                                 person: String, channel: String, key: CommandKey?, what: String) throws -> Outcome {
        handle.lock.lock()
        defer { handle.lock.unlock() }
        if let key, (try state.journal.commandKeys(user: key.user, [key.key]))[key.key] != nil { return .replayed }
        let step = try state.step(handle, runID: runID, .player(Command(actor: person, action)), by: person, key: key)
        state.wrote(runID: runID)
        if let refusal = step.refusal { return .notRecorded(refusal) }
        if let rejection = step.rejection { return .notRecorded(rejection.reason) }
        state.logger.info("answer recorded", metadata: ["run": "\(runID)", "channel": "\(channel)"])
        return .recorded(what)
    }

    // MARK: - Plumbing

    /// 401 for a request that failed its check: logged with the route, the reason and the caller's address only.
    static func refused(_ state: ServerState, _ request: Request, _ context: Ctx, _ route: String, _ why: ChatRequestRefusal) -> Response {
        state.logger.warning("refused callback", metadata: ["route": "\(route)", "why": "\(why)", "remote": "\(API.address(context, request, state))"])
        return API.error(APIError(401, "refused: \(why)"))
    }

    /// Who can add someone: the run's incident commander when there is one, and whoever administers Muster.
    static func notInDirectory(_ state: ServerState, _ runID: String, how: String) -> String {
        let commander = (try? state.runtime.snapshot(runID: runID)).flatMap { $0.run.holders[$0.run.commanderRole] }
        let who = commander.map { "the incident commander (\($0)) or your Muster administrator" } ?? "your Muster administrator"
        return "You are not in Muster's people directory, so nothing was recorded. Ask \(who) to add you with \(how)."
    }

    static func digest(_ bytes: [UInt8]) -> String { Tokens.hex(Array(SHA256.hash(data: bytes))) }
}

/// `application/x-www-form-urlencoded` bodies: name and value pairs in order, `+` as a space, `%XX` decoded.
enum FormBody {
    /// nil when a name or value is not valid percent-encoded UTF-8.
    static func parse(_ bytes: [UInt8]) -> [(name: String, value: String)]? {
        var out: [(name: String, value: String)] = []
        for pair in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]), let value = decode(parts.count > 1 ? parts[1] : []) else { return nil }
            out.append((name, value))
        }
        return out
    }

    static func value(_ name: String, in form: [(name: String, value: String)]) -> String? { form.first { $0.name == name }?.value }

    static func decode(_ bytes: ArraySlice<UInt8>) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        func hex(_ b: UInt8) -> UInt8? {
            switch b {
            case 48...57: b - 48
            case 65...70: b - 55
            case 97...102: b - 87
            default: nil
            }
        }
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                out.append(32)
            } else if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex, let high = hex(bytes[index + 1]), let low = hex(bytes[index + 2]) else { return nil }
                out.append(high << 4 | low)
                index += 2
            } else {
                out.append(byte)
            }
            index += 1
        }
        return String(validating: out, as: UTF8.self)
    }
}
