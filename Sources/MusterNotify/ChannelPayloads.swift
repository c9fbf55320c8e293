import Crypto
import MusterCore

/// What a channel's payload says about the run besides the message itself.
public struct NotificationContext: Sendable, Hashable {
    public var runID: String
    public var runTitle: String
    public var playbookID: String
    public var playbookTitle: String?
    /// The state the run is in (id), and its title when known.
    public var state: String
    public var stateTitle: String?
    public var mode: RunMode
    public var severity: Severity
    /// The event that led here (`confirmed`), when one did; webhooks fall back to the notification's trigger.
    public var event: String?
    public var time: Instant
    /// Where a person can see the run (the web console), when there is one.
    public var link: String?
    /// For PagerDuty: open, acknowledge or resolve the run's one alert.
    public var alertAction: AlertAction
    /// For a personal message that asks something (a roll call, an acknowledgement): the buttons of a Slack or
    /// Mattermost message and the numbered replies of an SMS. Set per notification by the outbox worker.
    public var question: PersonalQuestion? = nil
    /// For an SMS that asks something: the personal answer link's line, after the numbered replies (other channel
    /// types carry it at the end of the message). Set per notification by the outbox worker.
    public var answerLine: String? = nil

    public init(
        runID: String, runTitle: String, playbookID: String, playbookTitle: String? = nil, state: String,
        stateTitle: String? = nil, mode: RunMode, severity: Severity = .p3, event: String? = nil, time: Instant,
        link: String? = nil, alertAction: AlertAction = .trigger
    ) {
        self.runID = runID
        self.runTitle = runTitle
        self.playbookID = playbookID
        self.playbookTitle = playbookTitle
        self.state = state
        self.stateTitle = stateTitle
        self.mode = mode
        self.severity = severity
        self.event = event
        self.time = time
        self.link = link
        self.alertAction = alertAction
    }

    var stateDisplay: String { stateTitle ?? state }
}

/// PagerDuty Events API v2 `event_action`.
public enum AlertAction: String, Sendable, Hashable, CaseIterable {
    case trigger, acknowledge, resolve

    /// `resolve` when the run reaches a terminal state or one marked `closed`, else `trigger`
    /// (repeated triggers with the same `dedup_key` update the one alert).
    public static func suggested(entering state: State?) -> AlertAction {
        guard let state else { return .trigger }
        return state.terminal || state.marks.contains(.closed) ? .resolve : .trigger
    }
}

/// Pure functions that turn a playbook channel, a notification and its context into a `DeliveryRequest`.
/// `${VAR}` references in settings are resolved against the given environment; every resolved secret is
/// put in the request's `Redactor`.
public enum ChannelPayloads {
    public static let defaultPagerDutyURL = "https://events.pagerduty.com/v2/enqueue"
    public static let defaultSMTPURL = "smtp://localhost"
    public static let defaultFrom = "Muster <muster@localhost>"
    public static let exercisePrefix = "[EXERCISE] "
    public static let signatureHeader = "X-Muster-Signature"
    public static let idempotencyHeader = "Idempotency-Key"
    static let userAgent = "Muster/1"

    // MARK: - Keys a receiver can drop duplicates by

    /// `Idempotency-Key` of a webhook: the same for every attempt of one notification.
    public static func idempotencyKey(runID: String, notificationID: String) -> String { "\(runID).\(notificationID)" }

    /// PagerDuty `dedup_key`: one alert per run, updated by repeats.
    public static func dedupKey(runID: String) -> String { "muster-\(runID)" }

    /// Email `Message-ID` without angle brackets: `RUNID.NOTIFICATIONID@muster`.
    public static func messageID(runID: String, notificationID: String) -> String {
        func atom(_ s: String) -> String {
            String(s.map { $0.isASCII && ($0.isLetter || $0.isNumber || "-_".contains($0)) ? $0 : "-" })
        }
        return "\(atom(runID)).\(atom(notificationID))@muster"
    }

    /// The signature header's value: `sha256=<lowercase hex of HMAC-SHA256(secret, body)>`.
    static func signatureText(_ code: HashedAuthenticationCode<SHA256>) -> String { "sha256=" + hexText(code) }

    /// The message as people see it: prefixed `[EXERCISE] ` in exercise runs.
    public static func text(of notification: Notification, mode: RunMode) -> String {
        mode == .exercise && !notification.message.hasPrefix(exercisePrefix) ? exercisePrefix + notification.message : notification.message
    }

    // MARK: - Requests

    /// The request for `channel`. Throws when a `${VAR}` is unset or empty, or a required setting is
    /// missing or malformed; the error names the channel and setting, never a value.
    ///
    /// `recipient`: for a personal message, the person's contact point for this channel's type (a phone number for
    /// sms, an address for email, a Slack member id, a Mattermost `@username`); it replaces the channel's own
    /// destination and is added to the request's redactor (contact details are personal data).
    public static func request(
        for channel: Channel, notification: Notification, context: NotificationContext, environment: [String: String],
        recipient: String? = nil
    ) throws(ChannelConfigurationError) -> DeliveryRequest {
        var settings = try ResolvedSettings(channel: channel, environment: EnvironmentResolver(environment))
        return try request(settings: &settings, notification: notification, context: context, recipient: recipient)
    }

    /// Channel types that can address one person (`recipient`); the others send a personal message to the channel
    /// as configured.
    public static func addressesPeople(_ type: ChannelType) -> Bool { type.addressesPeople }

    /// A stand-in recipient for the probe requests of `prepare` and `check` (an sms channel without `to` only
    /// sends personal messages).
    static func probeRecipient(_ channel: Channel) -> String? {
        channel.type.value == .sms && channel.settings["to"] == nil ? "+10000000000" : nil
    }

    /// A channel whose settings are resolved once against an environment, for building many requests
    /// (the outbox worker): the `${VAR}` resolution, URL checks and the redactor are done at `prepare`, each
    /// request only builds its payload (and signature). The requests are the ones `request(for:...)` builds.
    public struct PreparedChannel: Sendable {
        public let channel: Channel
        fileprivate let settings: ResolvedSettings
        /// A webhook's fixed parts (nil for the other types), so that each request only writes and signs its body.
        fileprivate let webhook: PreparedWebhook?

        public func request(notification: Notification, context: NotificationContext, recipient: String? = nil) throws(ChannelConfigurationError) -> DeliveryRequest {
            if let webhook { return webhook.request(notification: notification, context: context) }
            var settings = self.settings
            return try ChannelPayloads.request(settings: &settings, notification: notification, context: context, recipient: recipient)
        }
    }

    /// What a webhook request takes from its channel, worked out once: the same values `request(settings:...)`
    /// reads, in the same header order. `@unchecked Sendable` for the HMAC: its hash states are copy-on-write
    /// values, and the stored one is only ever copied, never changed.
    struct PreparedWebhook: @unchecked Sendable {
        let url: String
        let timeouts: DeliveryTimeouts
        /// HMAC-SHA256 already keyed with the channel's secret: keying hashes two blocks, as much as signing
        /// a body, and the key is the same for every message.
        let signer: HMAC<SHA256>?
        let extraHeaders: [HTTPHeader]
        let redactor: Redactor
        let label: String

        /// Reads the webhook's settings (after its timeouts), in the order errors are reported: url, secret, headers.
        init(settings: inout ResolvedSettings, timeouts: DeliveryTimeouts) throws(ChannelConfigurationError) {
            url = try settings.httpURL("url")
            self.timeouts = timeouts
            signer = try settings.secret("secret").map { HMAC<SHA256>(key: SymmetricKey(data: Array($0.utf8))) }
            extraHeaders = try settings.extraHeaders(reserved: webhookReservedHeaders)
            // Last: resolving the secret adds it to the redactor.
            redactor = settings.redactor
            label = settings.channelID
        }

        func request(notification: Notification, context: NotificationContext) -> DeliveryRequest {
            let message = text(of: notification, mode: context.mode)
            let key = idempotencyKey(runID: context.runID, notificationID: notification.id)
            var body: [UInt8] = []
            body.reserveCapacity(320 + message.utf8.count)
            writeWebhookPayload(notification: notification, message: message, context: context, idempotencyKey: key, into: &body)
            var headers = [HTTPHeader("Content-Type", "application/json"), HTTPHeader(idempotencyHeader, key)]
            headers.reserveCapacity(3 + extraHeaders.count)
            if let signer {
                var mac = signer
                mac.update(data: body)
                headers.append(HTTPHeader(signatureHeader, signatureText(mac.finalize())))
            }
            headers += extraHeaders
            return DeliveryRequest(target: .httpPost(HTTPPost(url: url, headers: headers, body: body)), timeouts: timeouts, redactor: redactor, label: label)
        }
    }

    /// Headers a webhook channel's `headers:` may not set.
    static let webhookReservedHeaders = [idempotencyHeader, signatureHeader, "Content-Type", "Content-Length"]

    /// Resolves `channel`'s settings against `environment` once (throws what `request(for:...)` would throw).
    public static func prepare(_ channel: Channel, environment: [String: String]) throws(ChannelConfigurationError) -> PreparedChannel {
        var settings = try ResolvedSettings(channel: channel, environment: EnvironmentResolver(environment))
        // One request with a probe notification reads every setting the channel's type uses: what it
        // resolved is kept, and later requests reuse it instead of resolving again.
        let probe = Notification(id: "prepare", channel: channel.id.value, message: "prepare", trigger: "prepare")
        let context = NotificationContext(runID: "prepare", runTitle: "prepare", playbookID: "prepare", state: "prepare", mode: .live, time: Instant(millisecondsSinceEpoch: 0))
        _ = try request(settings: &settings, notification: probe, context: context, recipient: probeRecipient(channel))
        settings.replaying = true
        var webhook: PreparedWebhook?
        if channel.type.value == .webhook {
            // Replaying: these read what the probe resolved, and add nothing to the redactor.
            var replay = settings
            webhook = try PreparedWebhook(settings: &replay, timeouts: try replay.timeouts())
        }
        return PreparedChannel(channel: channel, settings: settings, webhook: webhook)
    }

    static func request(
        settings: inout ResolvedSettings, notification: Notification, context: NotificationContext, recipient: String? = nil
    ) throws(ChannelConfigurationError) -> DeliveryRequest {
        let channel = settings.channel
        let timeouts = try settings.timeouts()
        let message = text(of: notification, mode: context.mode)
        if let recipient, addressesPeople(channel.type.value) {
            // Personal data: kept out of whatever the transport says about this request.
            settings.redactor.add(recipient)
        }
        switch channel.type.value {
        case .webhook:
            return try PreparedWebhook(settings: &settings, timeouts: timeouts).request(notification: notification, context: context)
        case .slack:
            let url = try settings.httpURL("url")
            var payload = slackPayload(message: message, context: context)
            if let question = context.question { payload = payload.appendingBlock(slackAnswerBlock(question)) }
            // A member id as `channel`: a direct message (through an app's webhook or `chat.postMessage`).
            if let recipient { payload = payload.adding("channel", .string(recipient)) }
            let body = payload.bytes
            return settings.finish(.httpPost(HTTPPost(url: url, headers: [HTTPHeader("Content-Type", "application/json")], body: body)), timeouts: timeouts)
        case .mattermost:
            let url = try settings.httpURL("url")
            var payload = mattermostPayload(message: message, context: context)
            if let question = context.question, let actions = mattermostAnswerActions(question) { payload = payload.addingAttachmentActions(actions) }
            // `@username` as `channel`: a direct message from the incoming webhook.
            if let recipient { payload = payload.adding("channel", .string(recipient)) }
            let body = payload.bytes
            return settings.finish(.httpPost(HTTPPost(url: url, headers: [HTTPHeader("Content-Type", "application/json")], body: body)), timeouts: timeouts)
        case .teams:
            let url = try settings.httpURL("url")
            let body = teamsPayload(message: message, context: context).bytes
            return settings.finish(.httpPost(HTTPPost(url: url, headers: [HTTPHeader("Content-Type", "application/json")], body: body)), timeouts: timeouts)
        case .pagerduty:
            let url = try settings.httpURL("url", default: defaultPagerDutyURL)
            guard let routingKey = try settings.secret("routing_key") else { throw settings.missing("routing_key") }
            let body = pagerDutyPayload(routingKey: routingKey, notification: notification, message: message, context: context).bytes
            return settings.finish(.httpPost(HTTPPost(url: url, headers: [HTTPHeader("Content-Type", "application/json")], body: body)), timeouts: timeouts)
        case .email:
            return try emailRequest(settings: &settings, notification: notification, message: message, context: context, timeouts: timeouts,
                                    recipient: recipient)
        case .sms:
            return try smsRequest(settings: &settings, message: message, context: context, timeouts: timeouts, recipient: recipient)
        }
    }

    /// Every problem that would stop `channel` from being sent in this environment (unset variables,
    /// missing settings), all at once: for a run's start and `muster notify test`.
    public static func check(_ channel: Channel, environment: [String: String]) -> [ChannelConfigurationError] {
        var errors: [ChannelConfigurationError] = []
        let resolver = EnvironmentResolver(environment)
        for (key, located) in channel.settings.sorted(by: { $0.key < $1.key }) {
            for text in located.value.texts {
                do { _ = try resolver.resolve(text, setting: key, channel: channel.id.value, at: located.location) } catch { errors.append(error) }
            }
        }
        if !errors.isEmpty { return errors }
        let probe = Notification(id: "check", channel: channel.id.value, message: "check", trigger: "check")
        let context = NotificationContext(runID: "check", runTitle: "check", playbookID: "check", state: "check", mode: .live, time: Instant(millisecondsSinceEpoch: 0))
        do { _ = try request(for: channel, notification: probe, context: context, environment: environment, recipient: probeRecipient(channel)) } catch { errors.append(error) }
        return errors
    }

    // MARK: - Payloads

    /// The webhook body: notification id, idempotency key, run, playbook, state, event, trigger, message, time,
    /// mode and link, written directly as canonical JSON (no tree of values: this runs for every webhook sent).
    /// `PreparedWebhookTests` checks it against the same object built as a `JSONValue` and serialized.
    static func writeWebhookPayload(
        notification: Notification, message: String, context: NotificationContext, idempotencyKey key: String, into out: inout [UInt8]
    ) {
        func name(_ text: StaticString) {
            out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }
        func string(_ text: String) { JSONValue.writeString(text, into: &out) }
        func optional(_ text: String?) { if let text { string(text) } else { name("null") } }
        name("{\"notification_id\":")
        string(notification.id)
        name(",\"idempotency_key\":")
        string(key)
        name(",\"run\":{\"id\":")
        string(context.runID)
        name(",\"title\":")
        string(context.runTitle)
        name(",\"severity\":")
        string(context.severity.rawValue)
        name("},\"playbook\":{\"id\":")
        string(context.playbookID)
        name(",\"title\":")
        optional(context.playbookTitle)
        name("},\"state\":{\"id\":")
        string(context.state)
        name(",\"title\":")
        optional(context.stateTitle)
        name("},\"event\":")
        string(context.event ?? notification.trigger)
        name(",\"trigger\":")
        string(notification.trigger)
        name(",\"message\":")
        string(message)
        name(",\"time\":")
        string(context.time.iso8601)
        name(",\"mode\":")
        string(context.mode.rawValue)
        name(",\"link\":")
        optional(context.link)
        name("}")
    }

    /// Slack incoming webhook: `text` (the notification) and two blocks (the message, and a context line
    /// with run, state, severity and mode).
    public static func slackPayload(message: String, context: NotificationContext) -> JSONValue {
        let escape = slackEscaped
        let runText = context.link.map { "<\($0)|\(escape(context.runTitle).replacingAll("|", with: "/"))>" } ?? escape(context.runTitle)
        let facts = "*Run:* \(runText) · *State:* \(escape(context.stateDisplay)) · \(context.severity.rawValue) · \(context.mode.rawValue)"
        return [
            "text": .string(escape(message)),
            "blocks": [
                ["type": "section", "text": ["type": "mrkdwn", "text": .string(String(escape(message).prefix(3000)))]],
                ["type": "context", "elements": [["type": "mrkdwn", "text": .string(facts)]]],
            ],
        ]
    }

    /// Text for Slack: `&`, `<` and `>` escaped as Slack asks, so `<!channel>`, `<@U…>` and `<url|text>` written by
    /// someone show as typed and neither notify nor hide a link (plain `@here` does not notify in what an app posts).
    public static func slackEscaped(_ text: String) -> String {
        text.replacingAll("&", with: "&amp;").replacingAll("<", with: "&lt;").replacingAll(">", with: "&gt;")
    }

    /// Text for a Markdown chat (Mattermost, Teams) that can neither ping people nor hide a link behind other words:
    /// run titles, notes and names reach messages through templates, so every text is treated alike. A zero-width
    /// space (U+200B, invisible) goes after an `@` that starts a word (`@channel`, `@here`, `@all`, `@everyone`,
    /// `@user`; `ops@example.org` is left alone), after every `<` (Teams `<at>` mentions, Mattermost's Slack-style
    /// `<!channel>` and `<url|text>` links) and between `]` and `(`, `[` or `:` (Markdown links, images and
    /// reference definitions). A bare URL stays, and chat clients show it as the address it is.
    public static func neutralised(_ text: String) -> String {
        let zwsp: Unicode.Scalar = "\u{200B}"
        let scalars = text.unicodeScalars
        guard scalars.contains(where: { $0 == "@" || $0 == "<" || $0 == "]" }) else { return text }
        var out = String.UnicodeScalarView()
        var previous: Unicode.Scalar?
        for scalar in scalars {
            if let p = previous {
                if p == "]" && (scalar == "(" || scalar == "[" || scalar == ":") { out.append(zwsp) }
            }
            out.append(scalar)
            if scalar == "<" { out.append(zwsp) }
            if scalar == "@", !(previous.map { $0.properties.isAlphabetic || $0.properties.numericType != nil || $0 == "." || $0 == "_" || $0 == "-" } ?? false) {
                out.append(zwsp)
            }
            previous = scalar
        }
        return String(out)
    }

    /// Mattermost incoming webhook: `text` and one attachment with run (linked), state, severity and mode. Texts
    /// are `neutralised` (no mentions, no disguised links).
    public static func mattermostPayload(message: String, context: NotificationContext) -> JSONValue {
        let message = neutralised(message)
        var attachment: [(String, JSONValue)] = [
            ("fallback", .string(message)),
            ("color", .string(color(context.severity))),
            ("title", .string(neutralised(context.runTitle))),
        ]
        if let link = context.link { attachment.append(("title_link", .string(link))) }
        attachment.append(("text", .string(message)))
        attachment.append(("fields", [
            ["short": true, "title": "State", "value": .string(neutralised(context.stateDisplay))],
            ["short": true, "title": "Severity", "value": .string(context.severity.rawValue)],
            ["short": true, "title": "Mode", "value": .string(context.mode.rawValue)],
            ["short": true, "title": "Run", "value": .string(context.runID)],
        ]))
        return ["username": "Muster", "text": .string(message), "attachments": [.object(attachment)]]
    }

    /// Microsoft Teams (Workflows or incoming webhook): a message with one Adaptive Card attachment. Texts are
    /// `neutralised` (no `<at>` mentions, no disguised links).
    public static func teamsPayload(message: String, context: NotificationContext) -> JSONValue {
        var card: [(String, JSONValue)] = [
            ("$schema", "http://adaptivecards.io/schemas/adaptive-card.json"),
            ("type", "AdaptiveCard"),
            ("version", "1.4"),
            ("body", [
                ["type": "TextBlock", "text": .string(neutralised(context.runTitle)), "weight": "Bolder", "size": "Medium", "wrap": true],
                ["type": "TextBlock", "text": .string(neutralised(message)), "wrap": true],
                ["type": "FactSet", "facts": [
                    ["title": "Run", "value": .string(context.runID)],
                    ["title": "State", "value": .string(neutralised(context.stateDisplay))],
                    ["title": "Severity", "value": .string(context.severity.rawValue)],
                    ["title": "Mode", "value": .string(context.mode.rawValue)],
                    ["title": "Time", "value": .string(context.time.iso8601)],
                ]],
            ]),
        ]
        if let link = context.link {
            card.append(("actions", [["type": "Action.OpenUrl", "title": "Open run", "url": .string(link)]]))
        }
        return [
            "type": "message",
            "attachments": [["contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": .null, "content": .object(card)]],
        ]
    }

    /// PagerDuty Events API v2. `trigger` carries the payload (summary, source, severity from P1..P4);
    /// `acknowledge` and `resolve` need only the key and the run's `dedup_key`.
    public static func pagerDutyPayload(routingKey: String, notification: Notification, message: String, context: NotificationContext) -> JSONValue {
        var event: [(String, JSONValue)] = [
            ("routing_key", .string(routingKey)),
            ("event_action", .string(context.alertAction.rawValue)),
            ("dedup_key", .string(dedupKey(runID: context.runID))),
        ]
        if context.alertAction == .trigger {
            event.append(("payload", [
                "summary": .string(String(message.prefix(1024))),
                "source": .string("muster/\(context.playbookID)"),
                "severity": .string(pagerDutySeverity(context.severity)),
                "timestamp": .string(context.time.iso8601),
                "component": .string(context.playbookID),
                "class": .string(context.state),
                "custom_details": [
                    "run_id": .string(context.runID),
                    "run_title": .string(context.runTitle),
                    "state": .string(context.stateDisplay),
                    "mode": .string(context.mode.rawValue),
                    "notification_id": .string(notification.id),
                    "event": .string(context.event ?? notification.trigger),
                ],
            ]))
            event.append(("client", "Muster"))
            if let link = context.link {
                event.append(("client_url", .string(link)))
                event.append(("links", [["href": .string(link), "text": "Muster run"]]))
            }
        }
        return .object(event)
    }

    /// P1 critical, P2 error, P3 warning, P4 info.
    public static func pagerDutySeverity(_ severity: Severity) -> String {
        switch severity {
        case .p1: "critical"
        case .p2: "error"
        case .p3: "warning"
        case .p4: "info"
        }
    }

    static func color(_ severity: Severity) -> String {
        switch severity {
        case .p1: "#d00000"
        case .p2: "#e07000"
        case .p3: "#e0b000"
        case .p4: "#2a7ab0"
        }
    }

    // MARK: - Email

    /// The default subject: `[P1] Run title: State title`, prefixed `[EXERCISE] ` in exercise runs.
    public static func emailSubject(configured: String?, context: NotificationContext) -> String {
        let base = configured ?? "[\(context.severity.rawValue)] \(context.runTitle): \(context.stateDisplay)"
        return context.mode == .exercise && !base.hasPrefix(exercisePrefix) ? exercisePrefix + base : base
    }

    public static func emailBody(message: String, notification: Notification, context: NotificationContext) -> String {
        var lines = [message, "", "Run: \(context.runTitle) (\(context.runID))", "Playbook: \(context.playbookID)",
                     "State: \(context.stateDisplay)", "Severity: \(context.severity.rawValue)", "Mode: \(context.mode.rawValue)",
                     "Time: \(context.time.iso8601)"]
        if let link = context.link { lines.append("Link: \(link)") }
        lines.append("Notification: \(notification.id) (\(notification.trigger))")
        return lines.joined(separator: "\n")
    }

    static func emailRequest(
        settings: inout ResolvedSettings, notification: Notification, message: String, context: NotificationContext, timeouts: DeliveryTimeouts,
        recipient: String? = nil
    ) throws(ChannelConfigurationError) -> DeliveryRequest {
        // The channel's `to` is read (and checked) either way; a personal message goes to the person only.
        let configured = try settings.list("to")
        let to = recipient.map { [$0] } ?? configured
        guard !to.isEmpty else { throw settings.missing("to") }
        let from = try settings.text("from") ?? defaultFrom
        // After `${VAR}` expansion: a line break or a bracket in an address would rewrite the SMTP envelope.
        for mailbox in to {
            if let problem = MailboxRule.problem(mailbox) { throw settings.invalid("to", "has an address that \(problem)") }
        }
        if let problem = MailboxRule.problem(from) { throw settings.invalid("from", "has an address that \(problem)") }
        let smtpURL = try settings.text("smtp", secret: true) ?? defaultSMTPURL
        let lower = smtpURL.lowercased()
        guard lower.hasPrefix("smtp://") || lower.hasPrefix("smtps://") else {
            throw settings.invalid("smtp", "must start with smtp:// or smtps://")
        }
        let username = try settings.text("username")
        let password = try settings.secret("password")
        let startTLS = try settings.flag("starttls") ?? false
        let mail = MailMessage(
            from: from, to: to, subject: emailSubject(configured: try settings.text("subject"), context: context),
            date: context.time, messageID: messageID(runID: context.runID, notificationID: notification.id),
            body: emailBody(message: message, notification: notification, context: context))
        let send = SMTPSend(
            url: smtpURL, startTLS: startTLS, username: username, password: password, mailFrom: MailMessage.address(from),
            recipients: to.map(MailMessage.address), message: mail.bytes)
        return settings.finish(.smtp(send), timeouts: timeouts)
    }

    // MARK: - SMS

    /// The path of a Twilio-compatible API's "create message" call under the channel's `url`.
    public static func smsPath(account: String) -> String {
        "/2010-04-01/Accounts/\(formEncoded(account))/Messages.json"
    }

    /// The SMS text: the message, the numbered replies of a question (`Reply 1 for I am safe, 2 for ...`), the
    /// personal answer link, then the run's link when there is one.
    public static func smsBody(message: String, context: NotificationContext) -> String {
        let asked = context.question.map { "\(message)\n\(smsReplyLine($0))" } ?? message
        let answerable = asked + (context.answerLine ?? "")
        return context.link.map { "\(answerable)\n\($0)" } ?? answerable
    }

    /// `POST {url}/2010-04-01/Accounts/{account}/Messages.json`, form-encoded `To`, `From`, `Body`, with HTTP basic
    /// authentication `account:token`. The recipient is the person's phone for a personal message, else the
    /// channel's one `to` number.
    static func smsRequest(
        settings: inout ResolvedSettings, message: String, context: NotificationContext, timeouts: DeliveryTimeouts, recipient: String?
    ) throws(ChannelConfigurationError) -> DeliveryRequest {
        var base = try settings.httpURL("url")
        while base.hasSuffix("/") { base.removeLast() }
        guard let account = try settings.secret("account"), !account.isEmpty else { throw settings.missing("account") }
        guard let token = try settings.secret("token"), !token.isEmpty else { throw settings.missing("token") }
        guard let from = try settings.text("from"), !from.isEmpty else { throw settings.missing("from") }
        let configured = try settings.list("to")
        let to: String
        if let recipient {
            to = recipient
        } else {
            guard !configured.isEmpty else {
                throw settings.invalid("to", "is needed for messages to no one in particular (personal messages go to each person's phone)")
            }
            guard configured.count == 1 else { throw settings.invalid("to", "must be one number (one message per request)") }
            to = configured[0]
        }
        let credentials = MailMessage.base64(Array("\(account):\(token)".utf8))
        if !settings.replaying { settings.redactor.add(credentials) }
        let body = "To=\(formEncoded(to))&From=\(formEncoded(from))&Body=\(formEncoded(smsBody(message: message, context: context)))"
        let post = HTTPPost(
            url: base + smsPath(account: account),
            headers: [HTTPHeader("Content-Type", "application/x-www-form-urlencoded"), HTTPHeader("Authorization", "Basic \(credentials)")],
            body: Array(body.utf8))
        return settings.finish(.httpPost(post), timeouts: timeouts)
    }

    /// `application/x-www-form-urlencoded` (and path-segment safe): every byte but `A-Z a-z 0-9 - . _ ~` as `%XX`.
    public static func formEncoded(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension JSONValue {
    /// An object with `key` set to `value` (replaced where it was, else added last); other values unchanged.
    func adding(_ key: String, _ value: JSONValue) -> JSONValue {
        guard case .object(var members) = self else { return self }
        if let index = members.firstIndex(where: { $0.0 == key }) { members[index].1 = value } else { members.append((key, value)) }
        return .object(members)
    }
}

extension ChannelValue {
    /// Every string inside the value (for reference checks).
    var texts: [String] {
        switch self {
        case .text(let t): [t]
        case .list(let l): l
        case .map(let m): m.keys.sorted().compactMap { m[$0] }
        case .flag: []
        }
    }
}

/// A channel's settings with `${VAR}` resolved on access, collecting the secrets as it goes.
struct ResolvedSettings: Sendable {
    let channel: Channel
    let resolver: EnvironmentResolver
    var redactor = Redactor()
    /// Values resolved so far, by setting key and text.
    private var resolved: [ResolvedKey: String] = [:]
    /// Set once every setting the channel uses has been resolved (`ChannelPayloads.prepare`): values come
    /// from `resolved`, and the redactor already holds every secret.
    var replaying = false

    private struct ResolvedKey: Hashable, Sendable {
        var key: String
        var text: String
    }

    init(channel: Channel, environment: EnvironmentResolver) throws(ChannelConfigurationError) {
        self.channel = channel
        self.resolver = environment
    }

    var channelID: String { channel.id.value }

    func missing(_ key: String) -> ChannelConfigurationError {
        ChannelConfigurationError(
            code: .missingSetting, channel: channelID, setting: key, location: channel.id.location,
            message: "channel '\(channelID)' (\(channel.type.value.rawValue)) needs '\(key)'")
    }

    func invalid(_ key: String, _ why: String) -> ChannelConfigurationError {
        ChannelConfigurationError(
            code: .invalidSetting, channel: channelID, setting: key, location: channel.settings[key]?.location ?? channel.id.location,
            message: "channel '\(channelID)': \(key) \(why)")
    }

    mutating func resolve(_ text: String, key: String, secret: Bool) throws(ChannelConfigurationError) -> String {
        let memo = ResolvedKey(key: key, text: text)
        if replaying, let value = resolved[memo] { return value }
        let result = try resolver.resolve(text, setting: key, channel: channelID, at: channel.settings[key]?.location)
        redactor.add(result.substitutions)
        if secret { redactor.add(result.value) }
        resolved[memo] = result.value
        return result.value
    }

    mutating func text(_ key: String, secret: Bool = false) throws(ChannelConfigurationError) -> String? {
        guard let located = channel.settings[key] else { return nil }
        switch located.value {
        case .text(let t): return try resolve(t, key: key, secret: secret)
        case .list(let l) where l.count == 1: return try resolve(l[0], key: key, secret: secret)
        default: throw invalid(key, "must be a single value")
        }
    }

    mutating func secret(_ key: String) throws(ChannelConfigurationError) -> String? { try text(key, secret: true) }

    mutating func list(_ key: String) throws(ChannelConfigurationError) -> [String] {
        guard let located = channel.settings[key] else { return [] }
        let items: [String]
        switch located.value {
        case .text(let t): items = t.split(separator: ",").map { String($0).trimmingASCIIWhitespace() }.filter { !$0.isEmpty }
        case .list(let l): items = l
        default: throw invalid(key, "must be one address or a list of addresses")
        }
        var out: [String] = []
        for item in items { out.append(try resolve(item, key: key, secret: false)) }
        return out
    }

    mutating func flag(_ key: String) throws(ChannelConfigurationError) -> Bool? {
        guard let located = channel.settings[key] else { return nil }
        switch located.value {
        case .flag(let b): return b
        case .text(let t):
            switch try resolve(t, key: key, secret: false).lowercased() {
            case "true", "yes", "on", "1": return true
            case "false", "no", "off", "0": return false
            default: throw invalid(key, "must be true or false")
            }
        default: throw invalid(key, "must be true or false")
        }
    }

    /// An `http://` or `https://` URL; the whole URL and its path are secrets (webhook tokens live there).
    mutating func httpURL(_ key: String, default fallback: String? = nil) throws(ChannelConfigurationError) -> String {
        guard let url = try text(key) ?? fallback else { throw missing(key) }
        if !replaying { redactor.addURL(url) }
        let lower = url.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
            throw invalid(key, "must start with http:// or https://")
        }
        return url
    }

    /// `headers:`: names must be HTTP tokens, values single-line; a value that looks sensitive (by its
    /// header name) or came from `${VAR}` is a secret.
    mutating func extraHeaders(reserved: [String]) throws(ChannelConfigurationError) -> [HTTPHeader] {
        guard let located = channel.settings["headers"] else { return [] }
        guard case .map(let map) = located.value else { throw invalid("headers", "must be a mapping of header names to values") }
        var headers: [HTTPHeader] = []
        for name in map.keys.sorted() {
            let tokenChars = "!#$%&'*+-.^_`|~"
            guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || tokenChars.unicodeScalars.contains($0)) }) else {
                throw invalid("headers", "has '\(name)', which is not a valid header name")
            }
            guard !reserved.contains(where: { $0.lowercased() == name.lowercased() }) else {
                throw invalid("headers", "sets '\(name)', which Muster sets itself")
            }
            let lowerName = name.lowercased()
            let sensitive = ["auth", "token", "key", "secret", "password", "cookie", "signature", "session"].contains { lowerName.contains($0) }
            let value = try resolve(map[name] ?? "", key: "headers.\(name)", secret: sensitive)
            guard !value.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else {
                throw invalid("headers", "'\(name)' must be a single line")
            }
            headers.append(HTTPHeader(name, value))
        }
        return headers
    }

    /// `timeout:` is the total; the connect timeout is 10 s or the total when shorter.
    func timeouts() throws(ChannelConfigurationError) -> DeliveryTimeouts {
        guard let located = channel.settings["timeout"] else { return .standard }
        guard let text = located.value.text, let total = TimeSpan(parsing: text), total > .zero else {
            throw invalid("timeout", "must be a positive duration such as 30s or 2m")
        }
        return DeliveryTimeouts(connect: min(.seconds(10), total), total: total)
    }

    func finish(_ target: DeliveryRequest.Target, timeouts: DeliveryTimeouts) -> DeliveryRequest {
        DeliveryRequest(target: target, timeouts: timeouts, redactor: redactor, label: channelID)
    }
}
