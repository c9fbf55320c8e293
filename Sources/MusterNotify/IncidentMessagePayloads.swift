import Crypto
import MusterCore

/// Where `muster serve` posts the incident messages of bound chat channels (docs/chat.md), from its environment:
/// a Slack bot token (`chat:write`) and a Mattermost bot's personal access token with the Mattermost server's
/// address. A platform without its token gets no incident message (slash commands still work).
public struct ChatPostingSettings: Sendable, Hashable {
    public static let slackTokenVariable = "MUSTER_SLACK_BOT_TOKEN"
    public static let slackAPIVariable = "MUSTER_SLACK_API_URL"
    public static let mattermostTokenVariable = "MUSTER_MATTERMOST_BOT_TOKEN"
    public static let mattermostURLVariable = "MUSTER_MATTERMOST_URL"
    public static let defaultSlackAPI = "https://slack.com/api"

    public var slackToken: String?
    /// Slack's Web API base (`https://slack.com/api`; a test points it at a local fake).
    public var slackAPI: String
    public var mattermostToken: String?
    /// The Mattermost server (`https://mattermost.example.org`); its REST API is under `/api/v4`.
    public var mattermostURL: String?

    public init(slackToken: String? = nil, slackAPI: String? = nil, mattermostToken: String? = nil, mattermostURL: String? = nil) {
        func value(_ text: String?) -> String? { text.flatMap { $0.isEmpty ? nil : $0 } }
        func base(_ text: String?) -> String? {
            var url = value(text)
            while url?.hasSuffix("/") == true { url?.removeLast() }
            return url
        }
        self.slackToken = value(slackToken)
        self.slackAPI = base(slackAPI) ?? Self.defaultSlackAPI
        self.mattermostToken = value(mattermostToken)
        self.mattermostURL = base(mattermostURL)
    }

    public init(environment: [String: String]) {
        self.init(slackToken: environment[Self.slackTokenVariable], slackAPI: environment[Self.slackAPIVariable],
                  mattermostToken: environment[Self.mattermostTokenVariable], mattermostURL: environment[Self.mattermostURLVariable])
    }

    /// Whether incident messages go to channels of this platform.
    public func posts(to platform: String) -> Bool {
        switch platform {
        case "slack": slackToken != nil
        case "mattermost": mattermostToken != nil && mattermostURL != nil
        default: false
        }
    }

    public var isEmpty: Bool { !posts(to: "slack") && !posts(to: "mattermost") }

    /// The tokens, for a redactor.
    public var secrets: [String] { [slackToken, mattermostToken].compactMap { $0 } }
}

/// A task button of the incident message: completes `task` on `runID` as whoever presses it, with that person's
/// permissions (unlike an answer button, it is not made for one person: the message is the channel's).
public struct ChatTaskButton: Sendable, Hashable {
    public var runID: String
    public var task: String

    public init(runID: String, task: String) {
        self.runID = runID
        self.task = task
    }

    /// The Slack button's `value`: `v1 RUN task TASK done` (an answer's is `v1 RUN roll_call ID OPTION`).
    public var slackValue: String { "v1 \(runID) task \(task) done" }

    public init?(slackValue value: String) {
        let parts = value.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, parts[0] == "v1", parts[2] == "task", parts[4] == "done", !parts[1].isEmpty, !parts[3].isEmpty else { return nil }
        self.init(runID: parts[1], task: parts[3])
    }
}

extension MattermostActionSigner {
    static func signedText(_ button: ChatTaskButton) -> [UInt8] { Array("muster-mattermost-task-v1\n\(button.runID)\n\(button.task)".utf8) }

    func signature(_ button: ChatTaskButton) -> String {
        hexText(HMAC<SHA256>.authenticationCode(for: Self.signedText(button), using: SymmetricKey(data: Array(secret.utf8))))
    }

    /// The context of a task button: run and task, signed (Mattermost posts it back as it was given).
    public func context(_ button: ChatTaskButton) -> JSONValue {
        ["run": .string(button.runID), "task": .string(button.task), "signature": .string(signature(button))]
    }

    /// A task button's context checked; nil when the context is not a task button's (an answer's has no `task`).
    public func verifyTask(context: [String: String]) -> Result<ChatTaskButton, ChatRequestRefusal>? {
        guard let task = context["task"] else { return nil }
        guard let signature = context["signature"], !signature.isEmpty else { return .failure(.unsigned) }
        guard let run = context["run"], context["roll_call"] == nil, context["ack"] == nil else { return .failure(.badSignature) }
        let button = ChatTaskButton(runID: run, task: task)
        guard constantTimeEqual(Array(self.signature(button).utf8), Array(signature.utf8)) else { return .failure(.badSignature) }
        return .success(button)
    }
}

/// The incident message as each platform takes it: Slack Block Kit for `chat.postMessage` / `chat.update`,
/// Mattermost markdown with message-attachment buttons for `POST /api/v4/posts` / `PUT /api/v4/posts/ID`. Every
/// piece of text people typed (titles, names) goes through the platform's neutraliser; the markup is Muster's.
public enum IncidentMessagePayloads {
    /// Buttons at most (Slack allows 25 elements per actions block and 50 blocks per message): tasks beyond are
    /// listed without one (`/muster done TASK` still works).
    public static let maxButtons = 20
    /// Slack refuses a section text over 3,000 characters.
    static let maxSectionText = 2_900

    /// `chat.postMessage`'s body (with `ts`: `chat.update`'s).
    public static func slack(_ message: IncidentMessage, channel: String, ts: String? = nil) -> JSONValue {
        let e = ChannelPayloads.slackEscaped
        var blocks: [JSONValue] = []
        func section(_ text: String) {
            let clipped = text.count > maxSectionText ? String(text.prefix(maxSectionText)) + "…" : text
            blocks.append(["type": "section", "text": ["type": "mrkdwn", "text": .string(clipped)]])
        }
        if message.exercise {
            section(":rotating_light: *EXERCISE* — this is an exercise, not a real incident. :rotating_light:")
        }
        blocks.append(["type": "header", "text": ["type": "plain_text", "text": .string(String(headline(message).prefix(150))), "emoji": false]])
        section(summary(message, escape: e, bold: { "*\($0)*" }))
        if !message.roles.isEmpty { section("*Roles*\n" + roleLines(message, escape: e).joined(separator: "\n")) }
        var buttons = 0
        for group in message.openTasks {
            section("*Open tasks: \(e(group.role))* (\(e(group.holder ?? "unassigned")))\n"
                    + group.tasks.map { "• `\(e($0.id))` \(e($0.title))" + ($0.evidence ? evidenceHint($0, escape: e) : "") }.joined(separator: "\n"))
            var elements: [JSONValue] = []
            for task in group.tasks where !task.evidence && buttons < maxButtons {
                buttons += 1
                elements.append([
                    "type": "button",
                    "action_id": .string("muster-task-\(buttons)"),
                    "text": ["type": "plain_text", "text": .string(String("Done: \(task.id)".prefix(75))), "emoji": false],
                    "value": .string(ChatTaskButton(runID: message.runID, task: task.id).slackValue),
                ])
            }
            if !elements.isEmpty { blocks.append(["type": "actions", "elements": .array(elements)]) }
        }
        for text in details(message, escape: e, bold: { "*\($0)*" }) { section(text) }
        blocks.append(["type": "context", "elements": [["type": "mrkdwn", "text": .string(footer(message))]]])
        var members: [(String, JSONValue)] = [("channel", .string(channel))]
        if let ts { members.append(("ts", .string(ts))) }
        members += [("text", .string(e(headline(message)))), ("blocks", .array(blocks))]
        if ts == nil { members += [("unfurl_links", false), ("unfurl_media", false)] }
        return .object(members)
    }

    /// `POST /api/v4/posts`'s body (with `postID`: `PUT /api/v4/posts/ID`'s). Without `actions` (no public URL
    /// or action secret), the tasks are listed without buttons.
    public static func mattermost(_ message: IncidentMessage, channel: String, postID: String? = nil, actions: MattermostActions?) -> JSONValue {
        let n = ChannelPayloads.neutralised
        var lines: [String] = []
        if message.exercise { lines.append(":rotating_light: **EXERCISE** — this is an exercise, not a real incident. :rotating_light:") }
        lines.append("#### " + n(headline(message)))
        lines.append(summary(message, escape: n, bold: { "**\($0)**" }))
        if !message.roles.isEmpty { lines.append("**Roles**\n" + roleLines(message, escape: n).map { "- " + $0 }.joined(separator: "\n")) }
        var attachments: [JSONValue] = []
        var buttons = 0
        for group in message.openTasks {
            lines.append("**Open tasks: \(n(group.role))** (\(n(group.holder ?? "unassigned")))\n"
                         + group.tasks.map { "- `\(n($0.id))` \(n($0.title))" + ($0.evidence ? evidenceHint($0, escape: n) : "") }.joined(separator: "\n"))
            guard let actions else { continue }
            var elements: [JSONValue] = []
            for task in group.tasks where !task.evidence && buttons < maxButtons {
                buttons += 1
                elements.append([
                    "id": .string("task\(buttons)"),
                    "type": "button",
                    "name": .string(n("Done: \(task.id)")),
                    "integration": ["url": .string(actions.url), "context": actions.signer.context(ChatTaskButton(runID: message.runID, task: task.id))],
                ])
            }
            if !elements.isEmpty {
                attachments.append(["fallback": .string(n("Open tasks of \(group.role)")), "title": .string(n("Open tasks: \(group.role)")), "actions": .array(elements)])
            }
        }
        lines += details(message, escape: n, bold: { "**\($0)**" })
        lines.append("_" + footer(message) + "_")
        var members: [(String, JSONValue)] = []
        if let postID { members.append(("id", .string(postID))) }
        members += [("channel_id", .string(channel)), ("message", .string(lines.joined(separator: "\n\n"))),
                    ("props", ["attachments": .array(attachments)])]
        return .object(members)
    }

    // MARK: - Shared wording

    static func headline(_ m: IncidentMessage) -> String {
        (m.exercise ? "EXERCISE: " : "") + m.title + (m.closed ? " (closed)" : "")
    }

    static func summary(_ m: IncidentMessage, escape: (String) -> String, bold: (String) -> String) -> String {
        var parts: [String] = []
        if m.closed {
            parts.append(bold("Closed") + (m.closeReason.map { ": " + escape($0) } ?? ""))
        } else if let state = m.state {
            parts.append(bold("State") + " " + escape(state) + (m.phases.isEmpty ? "" : " (" + m.phases.joined(separator: ", ") + ")"))
        }
        parts.append(bold("Severity") + " " + m.severity)
        parts.append(bold("Run") + " `" + escape(m.runID) + "`")
        return parts.joined(separator: " · ")
    }

    /// A task that needs evidence has no button (a press carries no note): the command that completes it.
    static func evidenceHint(_ task: IncidentMessage.OpenTask, escape: (String) -> String) -> String {
        " _(needs evidence: `/muster done \(escape(task.id)) WHAT SHOWS IT`)_"
    }

    static func roleLines(_ m: IncidentMessage, escape: (String) -> String) -> [String] {
        m.roles.map { role in
            let holder = role.holder.map(escape) ?? (role.required ? "UNASSIGNED (required)" : "unassigned")
            return "\(escape(role.role)) (\(escape(role.title))): \(holder)"
        }
    }

    static func details(_ m: IncidentMessage, escape: (String) -> String, bold: (String) -> String) -> [String] {
        var out: [String] = []
        if let d = m.decision {
            var text = bold("Decision pending: \(escape(d.id))") + " — \(escape(d.question))\nBy \(escape(d.role)) (\(escape(d.holder ?? "unassigned"))); options: "
                + d.options.map { "`\(escape($0))`" }.joined(separator: ", ")
            if let option = d.defaultOption { text += "; default `\(escape(option))`" }
            if let deadline = d.deadline { text += "\nDeadline \(clock(deadline)) UTC, " + IncidentMessage.countdown(to: deadline, now: m.asOf) }
            text += "\n`/muster decide \(escape(d.id)) OPTION because WHY`"
            out.append(text)
        }
        if !m.timers.isEmpty {
            out.append(bold("Next timers") + "\n" + m.timers.map { "\(escape($0.name)): \(clock($0.due)) UTC, \($0.text)" }.joined(separator: "\n")
                       + (m.moreTimers > 0 ? "\nand \(m.moreTimers) more" : ""))
        }
        if !m.objectives.isEmpty {
            out.append(bold("Continuity objectives") + "\n" + m.objectives.map { "\(escape($0.name)): \(clock($0.due)) UTC, \($0.text)" }.joined(separator: "\n"))
        }
        if !m.rollCalls.isEmpty {
            out.append(bold("Roll calls") + "\n" + m.rollCalls.map(escape).joined(separator: "\n"))
        }
        return out
    }

    static func footer(_ m: IncidentMessage) -> String {
        "Updated \(clock(m.asOf)) UTC by Muster · /muster help lists the commands"
    }

    /// `2026-12-07 14:05` (UTC, to the minute): a message read days later still says which day.
    static func clock(_ instant: Instant) -> String {
        let iso = instant.iso8601  // 2026-12-07T14:05:00Z
        guard iso.count >= 16 else { return iso }
        let date = iso.prefix(10), time = iso.dropFirst(11).prefix(5)
        return "\(date) \(time)"
    }
}
