import MusterCore

/// What a personal message asks, so that its channel can offer the answers: buttons in Slack and Mattermost,
/// numbered replies in an SMS. Person and options come from the run; no contact detail is in it.
public struct PersonalQuestion: Sendable, Hashable {
    public struct Choice: Sendable, Hashable {
        /// The roll call's option key (`safe`), or `ack` for an acknowledgement.
        public var key: String
        public var label: String
        public init(key: String, label: String) {
            self.key = key
            self.label = label
        }
    }

    public var runID: String
    public var question: ChatAnswer.Question
    /// In the playbook's order: SMS replies number them from 1 in this order.
    public var choices: [Choice]
    /// The person asked, by name (signed into Mattermost contexts; never sent to Slack).
    public var person: String
    /// Where Mattermost posts a button press, and the signer of its context; nil: no Mattermost buttons (this
    /// worker has no `MUSTER_PUBLIC_URL` or `MUSTER_MATTERMOST_ACTION_SECRET`).
    public var mattermost: MattermostActions?

    public init(runID: String, question: ChatAnswer.Question, choices: [Choice], person: String, mattermost: MattermostActions? = nil) {
        self.runID = runID
        self.question = question
        self.choices = choices
        self.person = person
        self.mattermost = mattermost
    }

    /// The single choice of a page that asks for an acknowledgement.
    public static let acknowledge = Choice(key: "ack", label: "Acknowledge")

    public func answer(_ choice: Choice) -> ChatAnswer { ChatAnswer(runID: runID, question: question, option: choice.key) }
}

/// Mattermost interactive buttons: the URL of `muster serve`'s action route and the context signer.
public struct MattermostActions: Sendable, Hashable {
    public var url: String
    public var signer: MattermostActionSigner
    public init(url: String, signer: MattermostActionSigner) {
        self.url = url
        self.signer = signer
    }
}

/// Where the callbacks come in and the secrets they are checked with, from the environment of `muster serve` (the
/// routes) and of whichever process delivers the outbox (the Mattermost buttons' signed contexts).
public struct ChatCallbackSettings: Sendable, Hashable {
    public static let publicURLVariable = "MUSTER_PUBLIC_URL"
    public static let slackSecretVariable = "MUSTER_SLACK_SIGNING_SECRET"
    public static let mattermostSecretVariable = "MUSTER_MATTERMOST_ACTION_SECRET"
    public static let smsTokenVariable = "MUSTER_SMS_AUTH_TOKEN"
    public static let mattermostCommandTokenVariable = "MUSTER_MATTERMOST_COMMAND_TOKEN"

    public static let slackPath = "/hooks/slack/interactive"
    public static let mattermostPath = "/hooks/mattermost/actions"
    public static let smsPath = "/hooks/sms"
    public static let slackCommandsPath = "/hooks/slack/commands"
    public static let mattermostCommandsPath = "/hooks/mattermost/commands"

    /// The server's address as the platforms reach it (`https://muster.example.org`), without a trailing `/`.
    public var publicURL: String?
    public var slackSigningSecret: String?
    public var mattermostActionSecret: String?
    public var smsAuthToken: String?
    /// The token Mattermost sends with every request of the `/muster` slash command (its settings show it).
    public var mattermostCommandToken: String?

    public init(publicURL: String? = nil, slackSigningSecret: String? = nil, mattermostActionSecret: String? = nil, smsAuthToken: String? = nil,
                mattermostCommandToken: String? = nil) {
        func value(_ text: String?) -> String? { text.flatMap { $0.isEmpty ? nil : $0 } }
        var url = value(publicURL)
        while url?.hasSuffix("/") == true { url?.removeLast() }
        self.publicURL = url
        self.slackSigningSecret = value(slackSigningSecret)
        self.mattermostActionSecret = value(mattermostActionSecret)
        self.smsAuthToken = value(smsAuthToken)
        self.mattermostCommandToken = value(mattermostCommandToken)
    }

    public init(environment: [String: String]) {
        self.init(publicURL: environment[Self.publicURLVariable], slackSigningSecret: environment[Self.slackSecretVariable],
                  mattermostActionSecret: environment[Self.mattermostSecretVariable], smsAuthToken: environment[Self.smsTokenVariable],
                  mattermostCommandToken: environment[Self.mattermostCommandTokenVariable])
    }

    /// Mattermost buttons need both the public URL and the secret.
    public var mattermostActions: MattermostActions? {
        guard let publicURL, let mattermostActionSecret else { return nil }
        return MattermostActions(url: publicURL + Self.mattermostPath, signer: MattermostActionSigner(secret: mattermostActionSecret))
    }

    /// The secrets, for a redactor.
    public var secrets: [String] { [slackSigningSecret, mattermostActionSecret, smsAuthToken, mattermostCommandToken].compactMap { $0 } }
}

extension ChannelPayloads {
    /// A Block Kit `actions` block with one button per choice. `action_id` and `value` name run, question and option
    /// (`ChatAnswer.slackValue`); the person is whoever presses, as Slack says (`user.id`).
    public static func slackAnswerBlock(_ question: PersonalQuestion) -> JSONValue {
        var buttons: [JSONValue] = []
        for (index, choice) in question.choices.enumerated() {
            var button: [(String, JSONValue)] = [
                ("type", "button"),
                ("action_id", .string("muster-answer-\(index + 1)")),
                ("text", ["type": "plain_text", "text": .string(String(choice.label.prefix(75))), "emoji": false]),
                ("value", .string(question.answer(choice).slackValue)),
            ]
            if index == 0 && question.choices.count == 1 { button.append(("style", "primary")) }
            buttons.append(.object(button))
        }
        return ["type": "actions", "block_id": "muster-answer", "elements": .array(buttons)]
    }

    /// Mattermost message-attachment buttons, each posting its signed context to `muster serve`; nil without
    /// Mattermost settings (the message then goes without buttons).
    public static func mattermostAnswerActions(_ question: PersonalQuestion) -> JSONValue? {
        guard let actions = question.mattermost else { return nil }
        var buttons: [JSONValue] = []
        for (index, choice) in question.choices.enumerated() {
            buttons.append([
                // Mattermost action ids are letters and digits.
                "id": .string("answer\(index + 1)"),
                "type": "button",
                "name": .string(neutralised(choice.label)),
                "integration": [
                    "url": .string(actions.url),
                    "context": actions.signer.context(question.answer(choice), person: question.person),
                ],
            ])
        }
        return .array(buttons)
    }

    /// `Reply 1 for I am safe, 2 for I need help, 3 for Not on site.`; for a page, `Reply 1 to acknowledge.`
    public static func smsReplyLine(_ question: PersonalQuestion) -> String {
        if case .ack = question.question { return "Reply 1 to acknowledge." }
        let numbered = question.choices.enumerated().map { "\($0.offset + 1) for \($0.element.label)" }
        return "Reply " + numbered.joined(separator: ", ") + "."
    }
}

extension JSONValue {
    /// A Slack payload with one more block at the end of `blocks`.
    func appendingBlock(_ block: JSONValue) -> JSONValue {
        guard case .object(let members) = self, case .array(let blocks)? = members.first(where: { $0.0 == "blocks" })?.1 else { return self }
        return adding("blocks", .array(blocks + [block]))
    }

    /// A Mattermost payload whose first attachment gets `actions`.
    func addingAttachmentActions(_ actions: JSONValue) -> JSONValue {
        guard case .object(let members) = self, case .array(var attachments)? = members.first(where: { $0.0 == "attachments" })?.1,
              !attachments.isEmpty else { return self }
        attachments[0] = attachments[0].adding("actions", actions)
        return adding("attachments", .array(attachments))
    }
}
