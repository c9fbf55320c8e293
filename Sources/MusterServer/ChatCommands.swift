import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MusterCore
import MusterJournal
import MusterNotify
import MusterRuntime
import NIOCore

/// The `/muster` slash command (docs/chat.md): `POST /hooks/slack/commands` (signed with the Slack app's signing
/// secret, as the interactive route is) and `POST /hooks/mattermost/commands` (the command's token). The typist is
/// the directory person their chat id names, acting with exactly the permissions the API gives a user of that name;
/// every verb goes through the command path of `POST /api/runs/{id}/commands` (the writer's batch for live runs,
/// the exercise session for exercises this server drives). The reply goes to the typist only (`ephemeral`).
enum ChatCommands {
    static func register(on router: Router<Ctx>, state: ServerState) {
        // Literal paths (`ChatCallbackSettings.slackCommandsPath`, ...): the openapi test reads them here.
        router.post("/hooks/slack/commands") { request, context in
            await ChatHooks.guarded(state) { try await slack(state, request, context) }
        }
        router.post("/hooks/mattermost/commands") { request, context in
            await ChatHooks.guarded(state) { try await mattermost(state, request, context) }
        }
    }

    /// Who typed what, where.
    struct Typed {
        /// `slack` or `mattermost`: the chat channel's platform, and the `via` of what is recorded.
        var platform: String
        var person: Person
        var channel: String
        var team: String?
        /// Makes a retried request change nothing (`slack:SIGNATURE`, `mattermost:TRIGGER_ID`); also says, in the
        /// journal's command keys, which platform a command came through.
        var key: CommandKey?

        var user: UserRecord { UserRecord(name: person.name, admin: false, createdAt: Instant(millisecondsSinceEpoch: 0)) }
    }

    // MARK: - Slack

    static func slack(_ state: ServerState, _ request: Request, _ context: Ctx) async throws -> Response {
        let bytes: [UInt8]
        do { bytes = try await API.body(request, state) } catch let e as APIError { return API.error(e) }
        guard let secret = state.configuration.chatCallbacks.slackSigningSecret else {
            return ChatHooks.refused(state, request, context, "slack-commands", .notConfigured)
        }
        let signature = request.headers[HTTPField.Name(SlackSignature.signatureHeader)!]
        if let why = SlackSignature(signingSecret: secret).refusal(
            signature: signature, timestamp: request.headers[HTTPField.Name(SlackSignature.timestampHeader)!], body: bytes, now: state.now) {
            return ChatHooks.refused(state, request, context, "slack-commands", why)
        }
        guard let form = FormBody.parse(bytes), let userID = FormBody.value("user_id", in: form), !userID.isEmpty,
              let channel = FormBody.value("channel_id", in: form), !channel.isEmpty else {
            return reply("slack", "Muster could not read this command (a slash command is form-encoded with user_id and channel_id).")
        }
        guard let person = try state.chatPeople.person(slackID: userID, state) else {
            state.logger.notice("slash command from someone not in the directory", metadata: ["route": "slack-commands"])
            return reply("slack", notInDirectory(how: "muster people add YOUR-NAME --slack \(userID)"))
        }
        let key = signature.map { CommandKey(user: person.name, key: "slack:" + String($0.prefix(240)), requestHash: ChatHooks.digest(bytes)) }
        let typed = Typed(platform: "slack", person: person, channel: channel, team: FormBody.value("team_id", in: form), key: key)
        return reply("slack", try await answer(state, typed, text: FormBody.value("text", in: form) ?? ""))
    }

    // MARK: - Mattermost

    static func mattermost(_ state: ServerState, _ request: Request, _ context: Ctx) async throws -> Response {
        let bytes: [UInt8]
        do { bytes = try await API.body(request, state) } catch let e as APIError { return API.error(e) }
        guard let token = state.configuration.chatCallbacks.mattermostCommandToken else {
            return ChatHooks.refused(state, request, context, "mattermost-commands", .notConfigured)
        }
        guard let form = FormBody.parse(bytes) else { return ChatHooks.refused(state, request, context, "mattermost-commands", .unsigned) }
        if let why = MattermostCommandToken(token: token).refusal(sent: FormBody.value("token", in: form)) {
            return ChatHooks.refused(state, request, context, "mattermost-commands", why)
        }
        guard let userName = FormBody.value("user_name", in: form), !userName.isEmpty,
              let channel = FormBody.value("channel_id", in: form), !channel.isEmpty else {
            return reply("mattermost", "Muster could not read this command (a slash command is form-encoded with user_name and channel_id).")
        }
        guard let person = try state.chatPeople.person(mattermostUser: userName, state) else {
            state.logger.notice("slash command from someone not in the directory", metadata: ["route": "mattermost-commands"])
            return reply("mattermost", notInDirectory(how: "muster people add YOUR-NAME --mattermost \(userName)"))
        }
        // Mattermost names each slash command request by its trigger id: a retry of the same request has the same one.
        let trigger = FormBody.value("trigger_id", in: form) ?? ""
        let key = trigger.isEmpty ? nil : CommandKey(user: person.name, key: "mattermost:" + String(trigger.prefix(240)), requestHash: ChatHooks.digest(bytes))
        let typed = Typed(platform: "mattermost", person: person, channel: channel, team: FormBody.value("team_id", in: form), key: key)
        return reply("mattermost", try await answer(state, typed, text: FormBody.value("text", in: form) ?? ""))
    }

    // MARK: - Replies

    /// What the typist reads, and nobody else: the text neutralised for the platform (it may quote titles,
    /// notes and reasons others typed).
    enum Reply {
        case text(String)
        /// Muster's own text (help): not neutralised, so its code spans show as code.
        case trusted(String)
    }

    static func reply(_ platform: String, _ text: String) -> Response { reply(platform, .text(text)) }

    static func reply(_ platform: String, _ reply: Reply) -> Response {
        let text: String
        switch reply {
        case .trusted(let own): text = own
        case .text(let untrusted): text = platform == "slack" ? ChannelPayloads.slackEscaped(untrusted) : ChannelPayloads.neutralised(untrusted)
        }
        // Written directly (the JSON `API.json` would give, keys sorted): JSONSerialization took as long as the rest
        // of a slash command.
        var out: [UInt8] = []
        out.reserveCapacity(48 + text.utf8.count)
        out.append(contentsOf: #"{"response_type":"ephemeral","text":"#.utf8)
        EventJSON.string(text, into: &out)
        out.append(UInt8(ascii: "}"))
        return Response(status: .ok, headers: API.jsonHeaders, body: .init(byteBuffer: ByteBuffer(bytes: out)))
    }

    static func notInDirectory(how: String) -> String {
        "You are not in Muster's people directory, so nothing was done. Ask your Muster administrator to add you: \(how)"
    }

    static let unbound = "This channel is not bound to a run. Type /muster declare PLAYBOOK TITLE to start one here, or /muster bind RUN to work an existing one from here."

    // MARK: - Commands

    /// Parses and carries out what was typed; the text of the reply (a refusal's reason included).
    static func answer(_ state: ServerState, _ typed: Typed, text: String) async throws -> Reply {
        let command: ChatCommand
        switch ChatCommand.parse(text) {
        case .failure(let why): return .text(why.description)
        case .success(let parsed): command = parsed
        }
        do {
            switch command {
            case .help:
                return .trusted(ChatCommand.helpText)
            case .declare(let playbook, let title):
                return .text(try declare(state, typed, playbook: playbook, title: title))
            case .bind(let runID):
                return .text(try bind(state, typed, runID: runID))
            default:
                break
            }
            // A run found closed on the way (closed meanwhile by another server) ends its binding: the channel's
            // latest binding among the other open runs is taken, if any.
            for _ in 0..<3 {
                guard let runID = try boundRun(state, platform: typed.platform, channel: typed.channel) else { return .text(unbound) }
                do {
                    return try await act(state, typed, command, on: runID)
                } catch is BindingEnded {
                    state.chatBindings.ended(runID)
                }
            }
            return .text(unbound)
        } catch let error as APIError {
            return .text("Refused: \(error.message)")
        }
    }

    /// The bound run was found closed.
    struct BindingEnded: Error {}

    /// Carries out a command on the run the channel is bound to.
    static func act(_ state: ServerState, _ typed: Typed, _ command: ChatCommand, on runID: String) async throws -> Reply {
        switch command {
        case .status:
            let (snapshot, _) = try Runs.authorize(state, typed.user, runID, .read)
            if snapshot.run.status == .closed { throw BindingEnded() }
            return .text(RunText.status(snapshot, now: max(state.now, snapshot.lastEventAt)).joined(separator: "\n"))
        case .acknowledge(let ack):
            let snapshot = try Runs.snapshot(state, runID)
            if snapshot.run.status == .closed { throw BindingEnded() }
            let open = snapshot.run.acks.values.filter { $0.pagedPeople.contains(typed.person.name) && $0.acknowledgedBy == nil }
            let id: String
            if let ack { id = ack } else {
                guard open.count == 1 else {
                    return .text(open.isEmpty ? "No page sent to you is waiting for an acknowledgement on run \(runID)."
                                              : "Several pages wait for you (\(open.map(\.id).sorted().joined(separator: ", "))): type /muster ack PAGE.")
                }
                id = open[0].id
            }
            return .text(try await submit(state, typed, runID, .acknowledge(id)))
        case .assign(let role, let mention):
            guard let person = try mentioned(state, platform: typed.platform, mention) else {
                return .text("\(mention) is not in Muster's people directory; an administrator adds them with muster people add.")
            }
            return .text(try await submit(state, typed, runID, .assign(role: role, person: person.name)))
        case .act(let action):
            return .text(try await submit(state, typed, runID, action))
        case .help, .declare, .bind:
            return .text("")
        }
    }

    /// `/muster declare`: the API's declaration (a live run, the typist its declarer), then this channel bound to it.
    static func declare(_ state: ServerState, _ typed: Typed, playbook: String, title: String) throws -> String {
        let path = try Runs.playbookPath(state, playbook)
        let request = DeclareRequest(playbookPath: path, title: title, actor: typed.person.name)
        let declared = try Runs.declareRun(state, typed.user, request, playbookName: playbook, key: typed.key)
        if declared.replayed { return "Already declared: run \(declared.runID); nothing changed." }
        try record(state, binding(typed), on: declared.runID, by: typed.person.name)
        return "Declared run \(declared.runID) (\(playbook)): \(title). This channel is bound to it: /muster status shows where it stands."
    }

    /// `/muster bind RUN`: someone on the run (a role holder, or the facilitator) binds it to this channel.
    static func bind(_ state: ServerState, _ typed: Typed, runID: String) throws -> String {
        let (snapshot, _) = try Runs.authorize(state, typed.user, runID, .raiseEvent)
        guard snapshot.run.status != .closed else { throw APIError(409, "run \(runID) is closed") }
        let binding = binding(typed)
        if try boundRun(state, platform: typed.platform, channel: typed.channel) == runID {
            return "This channel is already bound to run \(runID)."
        }
        try record(state, binding, on: runID, by: typed.person.name)
        return "This channel is bound to run \(runID) (\(snapshot.run.title)): commands typed here act on it."
    }

    static func binding(_ typed: Typed) -> ChatChannelBinding {
        ChatChannelBinding(platform: typed.platform, channel: typed.channel, team: typed.team)
    }

    /// Appends the binding to the run's journal (a fact beside the workflow, as delivery facts are): every server
    /// sees it, and an auditor reads who bound which channel when.
    static func record(_ state: ServerState, _ binding: ChatChannelBinding, on runID: String, by person: String) throws {
        let at = try appendFact(state, .chatChannelBound(binding), on: runID, by: person)
        state.chatBindings.bound(binding, to: runID, at: at)
        state.logger.info("chat channel bound", metadata: ["run": "\(runID)", "platform": "\(binding.platform)"])
    }

    /// Appends one event that changes nothing in the workflow (a binding, a posted incident message) at the run's
    /// head, deciding under the run's lock in the journal (`Journal.appendDeciding`): it waits its turn behind
    /// other writers, on any server, instead of retrying. Its time.
    @discardableResult
    static func appendFact(_ state: ServerState, _ body: RunEvent.Body, on runID: String, by person: String) throws -> Instant {
        let event = RunEvent(at: state.now, actor: person, role: nil, body)
        let known = try state.runtime.snapshot(runID: runID).sequence
        _ = try state.journal.appendDeciding(runID: runID, after: known) { _, _ in PendingAppend(entries: [JournalEntry(event)]) }
        state.wrote(runID: runID, effects: [])
        return event.at
    }

    /// The open run this chat channel is bound to (its latest binding), from the server's index of bindings
    /// (`ChatBindingIndex`: this server's own at once, others' within a second).
    static func boundRun(_ state: ServerState, platform: String, channel: String) throws -> String? {
        try state.chatBindings.boundRun(state, platform: platform, channel: channel)
    }

    /// The person a mention names: Slack `<@U123|name>` or `<@U123>` by Slack member id, Mattermost `@username` by
    /// username; a plain name as the directory spells it on either.
    static func mentioned(_ state: ServerState, platform: String, _ mention: String) throws -> Person? {
        if mention.hasPrefix("<@"), mention.hasSuffix(">") {
            let inner = mention.dropFirst(2).dropLast()
            let id = String(inner.prefix { $0 != "|" })
            return try state.journal.person(slackID: id)
        }
        if mention.hasPrefix("@") {
            if let person = try state.journal.person(mattermostUser: mention) { return person }
            return try state.journal.person(named: String(mention.dropFirst()))
        }
        return try state.journal.person(named: mention)
    }

    /// A task button of an incident message pressed: the task completed as the presser, through the same path as
    /// `/muster done TASK` (their permissions, the exercise's session when this server drives it).
    static func pressed(_ state: ServerState, _ typed: Typed, _ button: ChatTaskButton) async throws -> String {
        do {
            return try await submit(state, typed, button.runID, .completeTask(button.task, note: nil))
        } catch let error as APIError {
            return "Refused: \(error.message)"
        }
    }

    /// Runs `action` as the typist on the run through the API's command path; the reply says what happened or why not.
    static func submit(_ state: ServerState, _ typed: Typed, _ runID: String, _ action: Command.Action) async throws -> String {
        let user = typed.user
        if let handle = try state.drivenExercise(runID, check: { _ = try Runs.authorize(state, user, runID, .read) }) {
            return try exerciseStep(state, typed, runID, handle, action)
        }
        // `openOnly`: a note too is refused on a closed run, whose binding has ended (the API takes notes there).
        switch await state.writer.submit(runID: runID, user: user, action: action, key: typed.key, openOnly: true) {
        case .success(let result):
            if result.replayed != nil { return "Already done; nothing changed." }
            if let rejection = result.rejection { return "Refused: \(rejection.reason)" }
            state.logger.info("chat command recorded", metadata: ["run": "\(runID)", "via": "\(typed.platform)"])
            return done(result.events)
        case .failure(let error as APIError):
            // The writer's batch brought the runtime's copy of the run up to date: closed, the binding ended.
            if error.status == 409, (try? state.runtime.remembered(runID: runID))?.status == .closed { throw BindingEnded() }
            return "Refused: \(error.message)"
        case .failure(let error):
            throw error
        }
    }

    /// A player's action in an exercise this server drives, as `POST /api/runs/{id}/commands` takes it.
    static func exerciseStep(_ state: ServerState, _ typed: Typed, _ runID: String, _ handle: ServerState.ExerciseHandle,
                             _ action: Command.Action) throws -> String {
        handle.lock.lock()
        defer { handle.lock.unlock() }
        if handle.session.exercise.run.status == .closed { throw BindingEnded() }
        _ = try Runs.authorize(state, typed.user, runID, RoleIndex(handle.session.exercise.run.playbook).action(action))
        if let key = typed.key, try state.journal.commandKeys(user: key.user, [key.key])[key.key] != nil {
            return "Already done; nothing changed."
        }
        let step = try state.step(handle, runID: runID, .player(Command(actor: typed.person.name, action)), by: typed.person.name, key: typed.key)
        state.wrote(runID: runID)
        if let refusal = step.refusal { return "Refused: \(refusal)" }
        if let rejection = step.rejection { return "Refused: \(rejection.reason)" }
        state.logger.info("chat command recorded", metadata: ["run": "\(runID)", "via": "\(typed.platform)", "exercise": "true"])
        return done(step.events)
    }

    static func done(_ events: [RunEvent]) -> String {
        let lines = events.prefix(6).map { RunText.describe($0.body) }
        return "Done: " + (lines.isEmpty ? "recorded" : lines.joined(separator: "; ")) + (events.count > 6 ? "; and \(events.count - 6) more" : "")
    }
}
