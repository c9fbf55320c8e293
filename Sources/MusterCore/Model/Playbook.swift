/// An incident playbook, format version 1: a state machine whose states carry lifecycle phases,
/// tasks owned by roles, guarded transitions, decisions, timers and the continuity objectives of services.
///
/// Every part keeps where it was written so that the validator and the engine can point back at the file.
/// Collections keep file order (people read playbooks top to bottom).
public struct Playbook: Sendable, Hashable {
    /// Whether `text` can be a playbook id: `[a-z0-9][a-z0-9-_]*`. An id also names
    /// its file (`playbooks/ID.yaml`), so it holds no `/`, `.` or anything a path could climb out with.
    public static func isValidID(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, ("a"..."z").contains(first) || ("0"..."9").contains(first) else { return false }
        return text.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
    }

    public var formatVersion: Int
    public var id: Located<String>
    public var version: Int
    public var title: String
    public var summary: String?
    public var severity: Severity
    /// How often the playbook must be exercised or reviewed; defaults to 12 months (365 days).
    public var reviewEvery: TimeSpan?
    public var services: [Service]
    public var roles: [Role]
    public var channels: [Channel]
    public var start: Located<String>
    public var timers: [TimerSpec]
    public var states: [State]
    /// `commander: ROLE`: the role that commands the run, when it is not called `incident_commander`.
    public var commander: Located<String>?
    /// Where the playbook itself begins (the top mapping), for findings about the whole file.
    public var location: SourceLocation

    /// The id of the commanding role: `commander:`, else `incident_commander`.
    public var commanderRole: String { commander?.value ?? Playbook.incidentCommander }

    public init(
        formatVersion: Int = 1, id: Located<String>, version: Int, title: String, summary: String? = nil,
        severity: Severity, reviewEvery: TimeSpan? = nil, services: [Service] = [], roles: [Role] = [],
        channels: [Channel] = [], start: Located<String>, timers: [TimerSpec] = [], states: [State],
        commander: Located<String>? = nil, location: SourceLocation
    ) {
        self.commander = commander
        self.formatVersion = formatVersion
        self.id = id
        self.version = version
        self.title = title
        self.summary = summary
        self.severity = severity
        self.reviewEvery = reviewEvery
        self.services = services
        self.roles = roles
        self.channels = channels
        self.start = start
        self.timers = timers
        self.states = states
        self.location = location
    }

    /// The commanding role's id unless the playbook names another with `commander:`. Every run always has exactly
    /// one holder of its commanding role.
    public static let incidentCommander = "incident_commander"

    public func state(_ id: String) -> State? { states.first { $0.id.value == id } }
    public func role(_ id: String) -> Role? { roles.first { $0.id.value == id } }
    public func channel(_ id: String) -> Channel? { channels.first { $0.id.value == id } }
    public func service(_ id: String) -> Service? { services.first { $0.id.value == id } }

    /// Every task with the state it belongs to (task ids are unique across a playbook).
    public var allTasks: [(state: State, task: Task)] {
        states.flatMap { state in state.tasks.map { (state, $0) } }
    }

    public func task(_ id: String) -> (state: State, task: Task)? { allTasks.first { $0.task.id.value == id } }

    public var allDecisions: [(state: State, decision: Decision)] {
        states.compactMap { state in state.decision.map { (state, $0) } }
    }

    public func decision(_ id: String) -> (state: State, decision: Decision)? {
        allDecisions.first { $0.decision.id.value == id }
    }

    /// Every roll call of the playbook (in `on_enter` and in timers), in file order.
    public var allRollCalls: [RollCallSpec] {
        var out: [RollCallSpec] = timers.compactMap(\.rollCall)
        for state in states {
            for action in state.onEnter { if case .rollCall(let r) = action { out.append(r) } }
            out += state.timers.compactMap(\.rollCall)
        }
        return out
    }

    public func rollCall(_ id: String) -> RollCallSpec? { allRollCalls.first { $0.id.value == id } }

    /// The acknowledgement ids guards can name: `id:` of `on_enter` pages, and the ids of timers that page with
    /// `ack_within`, each with where it is written.
    public var namedAcks: [Located<String>] {
        var out: [Located<String>] = timers.compactMap { $0.ack == nil ? nil : $0.id }
        for state in states {
            for action in state.onEnter { if case .notify(let n) = action, let id = n.ack?.id { out.append(id) } }
            out += state.timers.compactMap { $0.ack == nil ? nil : $0.id }
        }
        return out
    }
}

public enum Severity: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case p1 = "P1", p2 = "P2", p3 = "P3", p4 = "P4"

    public static func < (a: Severity, b: Severity) -> Bool { a.rawValue < b.rawValue }
}

/// Lifecycle phase tags (ISO/IEC 27031, ISO/IEC 27035, NIST SP 800-61r3). A state may carry several.
public enum Phase: String, Sendable, Hashable, Codable, CaseIterable {
    case prepare, detect, assess, respond, recover, learn
}

/// Key timestamps a run records the first time it enters a state that carries the mark.
public enum Mark: String, Sendable, Hashable, Codable, CaseIterable {
    case detected, declared, contained, recovered, closed
}

/// A business service with its continuity objectives from the business impact analysis.
public struct Service: Sendable, Hashable {
    public var id: Located<String>
    public var title: String?
    public var rto: Located<TimeSpan>?
    public var rpo: Located<TimeSpan>?
    public var mtpd: Located<TimeSpan>?
    public var minimumCapacity: String?
    /// Dependencies by IRBC element: people, facilities, technology, data, processes, suppliers.
    public var dependsOn: [DependencyElement: [String]]

    public init(
        id: Located<String>, title: String? = nil, rto: Located<TimeSpan>? = nil, rpo: Located<TimeSpan>? = nil,
        mtpd: Located<TimeSpan>? = nil, minimumCapacity: String? = nil, dependsOn: [DependencyElement: [String]] = [:]
    ) {
        self.id = id
        self.title = title
        self.rto = rto
        self.rpo = rpo
        self.mtpd = mtpd
        self.minimumCapacity = minimumCapacity
        self.dependsOn = dependsOn
    }

    public func objective(_ kind: Objective) -> Located<TimeSpan>? {
        switch kind {
        case .rto: rto
        case .rpo: rpo
        case .mtpd: mtpd
        }
    }

    public enum Objective: String, Sendable, Hashable, Codable, CaseIterable {
        case rto, rpo, mtpd
    }
}

public enum DependencyElement: String, Sendable, Hashable, Codable, CaseIterable {
    case people, facilities, technology, data, processes, suppliers
}

public struct Role: Sendable, Hashable {
    public var id: Located<String>
    public var title: String
    public var required: Bool
    public var responsibilities: String?

    public init(id: Located<String>, title: String, required: Bool = false, responsibilities: String? = nil) {
        self.id = id
        self.title = title
        self.required = required
        self.responsibilities = responsibilities
    }
}

/// Where notifications go. Delivery is an adapter's business; the core keeps the settings as written
/// (values may be `${VAR}` references resolved at delivery time).
public struct Channel: Sendable, Hashable {
    public var id: Located<String>
    public var type: Located<ChannelType>
    /// Type-specific settings (`url`, `secret`, `to`, `routing_key`, ...), checked by the validator per type.
    public var settings: [String: Located<ChannelValue>]
    /// In exercise runs, notifications go to this channel instead (another channel of the playbook).
    public var exerciseOverride: Located<String>?
    /// Never sent in exercise runs; skipped and recorded as such.
    public var liveOnly: Bool
    public var maxAttempts: Int?

    public init(
        id: Located<String>, type: Located<ChannelType>, settings: [String: Located<ChannelValue>] = [:],
        exerciseOverride: Located<String>? = nil, liveOnly: Bool = false, maxAttempts: Int? = nil
    ) {
        self.id = id
        self.type = type
        self.settings = settings
        self.exerciseOverride = exerciseOverride
        self.liveOnly = liveOnly
        self.maxAttempts = maxAttempts
    }
}

public enum ChannelType: String, Sendable, Hashable, Codable, CaseIterable {
    case webhook, slack, teams, mattermost, pagerduty, email, sms

    /// Whether a personal message through this type goes to the person's own contact point (phone, email address,
    /// chat handle) rather than to the one place the channel names.
    public var addressesPeople: Bool {
        switch self {
        case .sms, .email, .slack, .mattermost: true
        case .webhook, .teams, .pagerduty: false
        }
    }
}

public enum ChannelValue: Sendable, Hashable {
    case text(String)
    case list([String])
    case map([String: String])
    case flag(Bool)

    public var text: String? { if case .text(let t) = self { t } else { nil } }
    public var list: [String]? { if case .list(let l) = self { l } else { nil } }
}

public struct Task: Sendable, Hashable {
    public var id: Located<String>
    public var title: String
    public var role: Located<String>
    /// When true, completing the task requires a note that says what shows it is done.
    public var evidenceRequired: Bool
    public var location: SourceLocation

    public init(id: Located<String>, title: String, role: Located<String>, evidenceRequired: Bool = false, location: SourceLocation) {
        self.id = id
        self.title = title
        self.role = role
        self.evidenceRequired = evidenceRequired
        self.location = location
    }
}

public struct Transition: Sendable, Hashable {
    /// The event that triggers it; nil for an eventless transition, taken as soon as its guard holds.
    public var on: Located<String>?
    public var when: Located<GuardExpression>?
    public var to: Located<String>
    public var location: SourceLocation

    public init(on: Located<String>? = nil, when: Located<GuardExpression>? = nil, to: Located<String>, location: SourceLocation) {
        self.on = on
        self.when = when
        self.to = to
        self.location = location
    }
}

public struct Decision: Sendable, Hashable {
    public struct Option: Sendable, Hashable {
        public var name: Located<String>
        public var target: Located<String>
        public init(name: Located<String>, target: Located<String>) {
            self.name = name
            self.target = target
        }
    }

    public var id: Located<String>
    public var question: String
    public var by: Located<String>
    public var options: [Option]
    public var deadline: Located<TimeSpan>?
    public var defaultOption: Located<String>?
    public var location: SourceLocation

    public init(
        id: Located<String>, question: String, by: Located<String>, options: [Option],
        deadline: Located<TimeSpan>? = nil, defaultOption: Located<String>? = nil, location: SourceLocation
    ) {
        self.id = id
        self.question = question
        self.by = by
        self.options = options
        self.deadline = deadline
        self.defaultOption = defaultOption
        self.location = location
    }

    public func option(_ name: String) -> Option? { options.first { $0.name.value == name } }
}

/// What a timer is measured from.
public enum TimerAnchor: Sendable, Hashable {
    /// `after:` a span from entering the state (for run-wide timers: from the run's start).
    case after(Located<TimeSpan>)
    /// `at:` an expression such as `services.file-shares.rto - 1h` or `run.start + 2h`.
    case at(Located<TimeExpression>)
}

/// `run.start ± span` or `services.ID.rto|rpo|mtpd ± span`: both measured from the run's start
/// (the start of the disruption).
public struct TimeExpression: Sendable, Hashable {
    public enum Base: Sendable, Hashable {
        case runStart
        case objective(service: Located<String>, Service.Objective)
    }

    public var base: Base
    public var offset: TimeSpan

    public init(base: Base, offset: TimeSpan = .zero) {
        self.base = base
        self.offset = offset
    }
}

/// An action taken on entering a state or when a timer fires.
public struct NotifyAction: Sendable, Hashable {
    public var channel: Located<String>
    public var message: Located<Template>
    /// `to: ROLE`: the holder of the role is paged personally (the notification names them).
    public var to: Located<String>?
    /// `ack_within` (with `escalate` and `id`): the page must be acknowledged.
    public var ack: AckSpec?
    public var location: SourceLocation

    public init(channel: Located<String>, message: Located<Template>, to: Located<String>? = nil, ack: AckSpec? = nil,
                location: SourceLocation) {
        self.channel = channel
        self.message = message
        self.to = to
        self.ack = ack
        self.location = location
    }
}

/// A page that must be acknowledged: `ack_within: 10m, escalate: [deputy, incident_commander]`.
public struct AckSpec: Sendable, Hashable {
    /// The id guards name (`acks.ID.acknowledged`): `id:` of an `on_enter` action, the timer's id for a timer.
    /// Nil for an `on_enter` page without `id:`: the acknowledgement then takes the notification's id (`n3`).
    public var id: Located<String>?
    public var within: Located<TimeSpan>
    /// Who is paged next, in order, each after another `within` without an acknowledgement:
    /// `deputy` (the deputy of the person first paged) or a role id.
    public var escalate: [Located<String>]

    public init(id: Located<String>? = nil, within: Located<TimeSpan>, escalate: [Located<String>] = []) {
        self.id = id
        self.within = within
        self.escalate = escalate
    }

    /// The escalation step that pages the deputy of the person first paged.
    public static let deputy = "deputy"
}

/// `roll_call:` asks a set of people a question with fixed answers and counts who has answered.
/// The engine does not know who is in a group: it asks the shell (`Effect.resolveRollCall`), which answers
/// with `Command.Action.startRollCall` and the people's names.
public struct RollCallSpec: Sendable, Hashable {
    public enum Audience: Sendable, Hashable {
        /// A group of the people directory (`group: site-hq`).
        case group(Located<String>)
        /// The holder of a role of the playbook when the roll call is requested (`role: it_ops`).
        case role(Located<String>)
        /// One person by name (`person: Lee`).
        case person(Located<String>)
    }

    public struct Option: Sendable, Hashable {
        public var id: Located<String>
        public var label: String
        public init(id: Located<String>, label: String) {
            self.id = id
            self.label = label
        }
    }

    public var id: Located<String>
    public var who: [Audience]
    public var ask: Located<Template>
    public var options: [Option]
    /// Playbook channels in the order people are tried: the first message goes through the first, each resend
    /// through the next (the last repeats).
    public var via: [Located<String>]
    public var resendEvery: Located<TimeSpan>?
    /// How many resends at most (none without `resend`).
    public var resendMax: Located<Int>?
    /// When the roll call is overdue, counted from its start.
    public var within: Located<TimeSpan>?
    public var location: SourceLocation

    public init(
        id: Located<String>, who: [Audience], ask: Located<Template>, options: [Option], via: [Located<String>],
        resendEvery: Located<TimeSpan>? = nil, resendMax: Located<Int>? = nil, within: Located<TimeSpan>? = nil,
        location: SourceLocation
    ) {
        self.id = id
        self.who = who
        self.ask = ask
        self.options = options
        self.via = via
        self.resendEvery = resendEvery
        self.resendMax = resendMax
        self.within = within
        self.location = location
    }

    public func option(_ id: String) -> Option? { options.first { $0.id.value == id } }
}

public enum EntryAction: Sendable, Hashable {
    case notify(NotifyAction)
    case raise(Located<String>)
    case rollCall(RollCallSpec)
}

public struct TimerSpec: Sendable, Hashable {
    public var id: Located<String>
    public var anchor: TimerAnchor
    public var repeatEvery: Located<TimeSpan>?
    /// The channel notified when it fires, with `message` rendered.
    public var notify: Located<String>?
    public var message: Located<Template>?
    /// The event raised when it fires (an escalation that moves the run on).
    public var raise: Located<String>?
    /// A condition read when the timer fires: when it does not hold, the firing is recorded but neither notifies
    /// nor raises (a repeat still comes back).
    public var when: Located<GuardExpression>?
    /// `to: ROLE` with `notify`: the holder of the role is paged personally.
    public var to: Located<String>?
    /// `ack_within` (and `escalate`) with `notify`: the page must be acknowledged; its id is the timer's id.
    public var ack: AckSpec?
    /// `roll_call:` started when the timer fires.
    public var rollCall: RollCallSpec?
    public var location: SourceLocation

    public init(
        id: Located<String>, anchor: TimerAnchor, repeatEvery: Located<TimeSpan>? = nil, notify: Located<String>? = nil,
        message: Located<Template>? = nil, raise: Located<String>? = nil, when: Located<GuardExpression>? = nil,
        to: Located<String>? = nil, ack: AckSpec? = nil, rollCall: RollCallSpec? = nil,
        location: SourceLocation
    ) {
        self.to = to
        self.ack = ack
        self.rollCall = rollCall
        self.id = id
        self.anchor = anchor
        self.repeatEvery = repeatEvery
        self.notify = notify
        self.message = message
        self.raise = raise
        self.when = when
        self.location = location
    }

    /// A deadline of a service's continuity objective (`at: services.ID.rto|mtpd ± …`): once the run is marked
    /// recovered it has no more meaning, and is cancelled.
    public var endsAtRecovery: Bool {
        guard case .at(let expression) = anchor, case .objective(_, let objective) = expression.value.base else { return false }
        return objective == .rto || objective == .mtpd
    }
}

public struct State: Sendable, Hashable {
    public var id: Located<String>
    public var title: String?
    public var phases: [Phase]
    public var owner: Located<String>?
    public var marks: [Mark]
    public var onEnter: [EntryAction]
    public var tasks: [Task]
    public var timers: [TimerSpec]
    public var transitions: [Transition]
    public var decision: Decision?
    public var terminal: Bool
    public var location: SourceLocation

    public init(
        id: Located<String>, title: String? = nil, phases: [Phase], owner: Located<String>? = nil, marks: [Mark] = [],
        onEnter: [EntryAction] = [], tasks: [Task] = [], timers: [TimerSpec] = [], transitions: [Transition] = [],
        decision: Decision? = nil, terminal: Bool = false, location: SourceLocation
    ) {
        self.id = id
        self.title = title
        self.phases = phases
        self.owner = owner
        self.marks = marks
        self.onEnter = onEnter
        self.tasks = tasks
        self.timers = timers
        self.transitions = transitions
        self.decision = decision
        self.terminal = terminal
        self.location = location
    }

    /// The title people see: the written one, or the id made readable.
    public var displayTitle: String { title ?? id.value.replacingDashesAndUnderscores() }
}

extension String {
    func replacingDashesAndUnderscores() -> String {
        String(map { $0 == "-" || $0 == "_" ? " " : $0 }).capitalizedFirst()
    }

    func capitalizedFirst() -> String {
        guard let first else { return self }
        return first.uppercased() + dropFirst()
    }
}

extension RollCallSpec {
    /// The `routes` of `startRollCall` for `people`: for each person some channel of `via` does not reach, the
    /// channels that do, in `via`'s order (empty: none); nil when every channel reaches everyone. `reaches(person,
    /// channel)` is the shell's directory (or an exercise's roster) answering.
    public func routes(for people: some Sequence<String>, reaches: (String, String) -> Bool) -> [String: [String]]? {
        let channels = via.map(\.value)
        var routes: [String: [String]] = [:]
        for person in people {
            let reachable = channels.filter { reaches(person, $0) }
            if reachable != channels { routes[person] = reachable }
        }
        return routes.isEmpty ? nil : routes
    }
}
