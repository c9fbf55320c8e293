/// A simulated participant of a drill (`roster:` in an exercise file): who a roll call asks and who stands in for
/// whom, with no contact details. A roster replaces the people directory for that exercise's runs.
public struct RosterPerson: Sendable, Hashable {
    public var name: Located<String>
    public var groups: [Located<String>]
    public var site: String?
    public var deputy: Located<String>?
    /// The playbook channels a message reaches this person on; nil: every channel. `reachable: []` is someone no
    /// message reaches (they never answer a scripted crowd).
    public var reachable: [Located<String>]?
    public var location: SourceLocation

    public init(name: Located<String>, groups: [Located<String>] = [], site: String? = nil, deputy: Located<String>? = nil,
                reachable: [Located<String>]? = nil, location: SourceLocation) {
        self.name = name
        self.groups = groups
        self.site = site
        self.deputy = deputy
        self.reachable = reachable
        self.location = location
    }
}

/// Who an exercise run calls: the roster's people, or a snapshot of the people directory (the shell takes it when
/// the exercise has no roster). Names, groups, deputies and reachable channels only: no contact details.
public struct ExercisePeople: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        public var name: String
        public var groups: [String]
        public var deputy: String?
        /// nil: reachable on every channel.
        public var reachable: Set<String>?

        public init(name: String, groups: [String], deputy: String?, reachable: Set<String>? = nil) {
            self.name = name
            self.groups = groups
            self.deputy = deputy
            self.reachable = reachable
        }
    }

    /// In roster (or directory) order.
    public private(set) var entries: [Entry] = []
    private var byName: [String: Int] = [:]
    /// Whether these are the roster's simulated people (not the directory's).
    public var simulated: Bool

    public init(_ entries: [Entry], simulated: Bool) {
        self.simulated = simulated
        for entry in entries where byName[entry.name.lowercased()] == nil {
            byName[entry.name.lowercased()] = self.entries.count
            self.entries.append(entry)
        }
    }

    public init(roster: [RosterPerson]) {
        self.init(roster.map {
            Entry(name: $0.name.value, groups: $0.groups.map(\.value), deputy: $0.deputy?.value, reachable: $0.reachable.map { Set($0.map(\.value)) })
        }, simulated: true)
    }

    public static let none = ExercisePeople([], simulated: false)

    /// Looked up without regard to case, as the directory does.
    public func entry(_ name: String) -> Entry? { byName[name.lowercased()].map { entries[$0] } }

    public func members(of group: String) -> [Entry] { entries.filter { $0.groups.contains(group) } }

    /// Whether a message through `channel` reaches `name` (someone not listed: yes, as a player at the table).
    public func reaches(_ name: String, through channel: String) -> Bool {
        guard let reachable = entry(name)?.reachable else { return true }
        return reachable.contains(channel)
    }
}

/// Whom a scripted answer step answers for (`people:` in a player script).
public enum AnswerCrowd: Sendable, Hashable, CustomStringConvertible {
    /// These people, in this order.
    case named([String])
    /// Enough of the roll call's people, in the roll call's order, to bring its accounted share up to this
    /// percentage: people already accounted for are passed over, and so is anyone no message of the roll call has
    /// reached yet on a channel they are reachable on.
    case share(Int)

    public var description: String {
        switch self {
        case .named(let names): names.joined(separator: ", ")
        case .share(let percent): "\(percent)%"
        }
    }
}

/// A scripted player step of an exercise: a player's command, or answers to a roll call given through the
/// channel of the message that reached each person.
public struct PlayerStep: Sendable, Hashable {
    public enum Action: Sendable, Hashable {
        case command(Command.Action, expectRejected: Bool)
        case answers(rollCall: String, option: String, crowd: AnswerCrowd)
    }

    public var at: TimeSpan
    /// Who acts; for a crowd of answers, each person answers for themselves and this is empty.
    public var actor: String
    public var action: Action
    public var location: SourceLocation

    public init(at: TimeSpan, actor: String, action: Action, location: SourceLocation) {
        self.at = at
        self.actor = actor
        self.action = action
        self.location = location
    }

    public init(_ step: SimulationScript.Step) {
        self.init(at: step.at, actor: step.actor, action: .command(step.action, expectRejected: step.expectRejected), location: step.location)
    }
}
