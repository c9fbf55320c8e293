import MusterCore

/// One person of the directory (`docs/people.md`): who holds roles and whom Muster can reach. Email, phone and
/// the chat handles are personal data: they are stored in the `people` table only, never on a run's timeline, in
/// a report or in the access log (which records which fields changed, not what they hold).
public struct Person: Sendable, Hashable {
    /// The name roles hold and users sign in with (`UserName`'s rules). Looked up without regard to case.
    public var name: String
    public var email: String?
    /// E.164: `+` then 8 to 15 digits, nothing else.
    public var phone: String?
    /// A Slack member id (`U024BE7LH`).
    public var slackID: String?
    /// A Mattermost username.
    public var mattermostUser: String?
    /// Group names (`crisis-team`, `site-hq`), sorted, each once.
    public var groups: [String]
    public var site: String?
    /// Another person of the directory, who stands in for this one.
    public var deputy: String?
    /// Set by the journal: when the person was first added and last changed.
    public var addedAt: Instant?
    public var updatedAt: Instant?

    public init(name: String, email: String? = nil, phone: String? = nil, slackID: String? = nil, mattermostUser: String? = nil,
                groups: [String] = [], site: String? = nil, deputy: String? = nil) {
        self.name = name
        self.email = email
        self.phone = phone
        self.slackID = slackID
        self.mattermostUser = mattermostUser
        self.groups = Array(Set(groups)).sorted()
        self.site = site
        self.deputy = deputy
    }

    /// A field of a person, named as the table's column and the CSV header name it.
    public enum Field: String, Sendable, Hashable, CaseIterable {
        case name, email, phone
        case slackID = "slack_id"
        case mattermostUser = "mattermost_user"
        case groups, site, deputy

        /// Contact details: personal data shown only to admins and used only to reach the person.
        public var isContact: Bool { [.email, .phone, .slackID, .mattermostUser].contains(self) }
    }

    /// The field's value as text (groups joined with `;`, as the CSV has them), nil when unset.
    public func text(_ field: Field) -> String? {
        switch field {
        case .name: name
        case .email: email
        case .phone: phone
        case .slackID: slackID
        case .mattermostUser: mattermostUser
        case .groups: groups.isEmpty ? nil : groups.joined(separator: ";")
        case .site: site
        case .deputy: deputy
        }
    }

    /// The fields that hold a value.
    public var setFields: [Field] { Field.allCases.filter { $0 != .name && text($0) != nil } }

    /// The fields whose values differ from `other`'s (the name aside).
    func changedFields(from other: Person) -> [Field] {
        Field.allCases.filter { $0 != .name && text($0) != other.text($0) }
    }

    /// The first thing wrong with this person, field by field in `Field` order; nil when every field is valid.
    /// (Whether the deputy exists is the directory's question: `Journal.upsertPerson` and `importPeople` ask it.)
    public var problem: PersonProblem? {
        if let reason = UserName.problem(name) { return PersonProblem(.name, reason) }
        if let email, let reason = Self.emailProblem(email) { return PersonProblem(.email, reason) }
        if let phone, let reason = Self.phoneProblem(phone) { return PersonProblem(.phone, reason) }
        if let slackID, !Self.only(slackID, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", length: 2...32) {
            return PersonProblem(.slackID, "a Slack member id is 2 to 32 upper-case letters and digits, like U024BE7LH ('\(slackID.prefix(40))' is not)")
        }
        if let mattermostUser, !Self.only(mattermostUser.lowercased(), "abcdefghijklmnopqrstuvwxyz0123456789._-", length: 1...64) {
            return PersonProblem(.mattermostUser, "a Mattermost username is 1 to 64 letters, digits, '.', '_' and '-' ('\(mattermostUser.prefix(40))' is not)")
        }
        for group in groups where !Self.isGroupName(group) {
            return PersonProblem(.groups, "a group name is 1 to 64 lower-case letters, digits, '-' and '_', like crisis-team ('\(group.prefix(40))' is not)")
        }
        if let site {
            if site.isEmpty || site.unicodeScalars.count > 100 || site.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                return PersonProblem(.site, "a site is 1 to 100 characters without control characters")
            }
        }
        if let deputy {
            if let reason = UserName.problem(deputy) { return PersonProblem(.deputy, reason) }
            if deputy.lowercased() == name.lowercased() { return PersonProblem(.deputy, "\(name) cannot be their own deputy") }
        }
        return nil
    }

    /// E.164: `+`, then 8 to 15 digits (the country code first, no spaces).
    public static func phoneProblem(_ phone: String) -> String? {
        let digits = phone.utf8.dropFirst()
        guard phone.utf8.first == UInt8(ascii: "+"), (8...15).contains(digits.count), digits.allSatisfy({ (0x30...0x39).contains($0) }),
              digits.first != UInt8(ascii: "0")
        else {
            return "a phone number is E.164: '+', the country code and 8 to 15 digits in all, no spaces, like +442079460958 ('\(phone.prefix(40))' is not)"
        }
        return nil
    }

    /// One `@` between a local part and a domain with a dot, no spaces or control characters, at most 254 bytes.
    public static func emailProblem(_ email: String) -> String? {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        let bad = email.utf8.count > 254 || parts.count != 2 || parts[0].isEmpty || parts[1].isEmpty
            || !parts[1].contains(".") || parts[1].hasPrefix(".") || parts[1].hasSuffix(".")
            || email.unicodeScalars.contains { $0.properties.isWhitespace || $0.properties.generalCategory == .control || "<>,;\"".unicodeScalars.contains($0) }
        return bad ? "an email address is NAME@DOMAIN, without spaces, like lee@example.org ('\(email.prefix(60))' is not)" : nil
    }

    public static func isGroupName(_ group: String) -> Bool {
        only(group, "abcdefghijklmnopqrstuvwxyz0123456789-_", length: 1...64)
    }

    private static func only(_ text: String, _ allowed: String, length: ClosedRange<Int>) -> Bool {
        length.contains(text.unicodeScalars.count) && text.unicodeScalars.allSatisfy { allowed.unicodeScalars.contains($0) }
    }
}

/// What is wrong with a person, naming the field; `record` is the person's place (0-based) in an import.
public struct PersonProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var field: Person.Field
    public var message: String
    public var record: Int?

    public init(_ field: Person.Field, _ message: String, record: Int? = nil) {
        self.field = field
        self.message = message
        self.record = record
    }

    public var description: String { "\(field.rawValue): \(message)" }
}

/// What `upsertPerson` did.
public enum PersonChange: Sendable, Hashable {
    case added
    case updated(fields: [Person.Field])
    case unchanged
}

/// What `importPeople` did: names by what happened to them.
public struct PeopleImportReport: Sendable, Hashable {
    public var added: [String] = []
    public var updated: [String] = []
    public var unchanged: [String] = []
}

extension Person {
    /// A contact field for a channel type that sends to one person, with what the field is called (for a reason
    /// that names it, never its value).
    public struct ContactPoint: Sendable, Hashable {
        public var value: String?
        public var field: String
        public var isSet: Bool { !(value ?? "").isEmpty }
    }

    /// The person's contact point for a channel of `type`: phone (sms), email address (email), Slack member id
    /// (slack), `@username` (mattermost). Nil for the types that post to one place for everyone (webhook, teams,
    /// pagerduty): those reach anyone.
    public func contactPoint(for type: ChannelType) -> ContactPoint? {
        switch type {
        case .sms: ContactPoint(value: phone, field: "phone number")
        case .email: ContactPoint(value: email, field: "email address")
        case .slack: ContactPoint(value: slackID, field: "Slack member id (slack_id)")
        case .mattermost: ContactPoint(value: mattermostUser.map { $0.hasPrefix("@") ? $0 : "@" + $0 }, field: "Mattermost username (mattermost_user)")
        case .webhook, .teams, .pagerduty: nil
        }
    }

    /// Whether a channel of `type` can reach this person.
    public func isReachable(through type: ChannelType) -> Bool { contactPoint(for: type)?.isSet ?? true }
}
