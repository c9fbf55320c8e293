/// A tabletop exercise, drill or test of a playbook (HSEEP): objectives, participants in playbook roles, a
/// scenario clock, and the master scenario events list (injects) with the player actions each one expects.
///
/// Every part keeps where it was written, so that the validator can point back at the file.
public struct Exercise: Sendable, Hashable {
    public var id: Located<String>
    public var title: String
    public var type: ExerciseType
    /// The playbook under test, by id, and the version the exercise was written for (any version when nil).
    public var playbook: Located<String>
    public var playbookVersion: Located<Int>?
    public var scenario: String?
    public var objectives: [ExerciseObjective]
    /// Who plays which playbook role from the start (role -> person, in file order).
    public var participants: [Participant]
    public var controllers: [String]
    public var evaluators: [String]
    public var clock: ClockSettings
    /// How long the scenario runs; when nil, until the last inject plus its longest `within`.
    public var duration: Located<TimeSpan>?
    public var ratings: RatingThresholds
    public var injects: [Inject]
    /// Simulated people for a drill's roll calls and escalations, used instead of the people directory; nil: the
    /// directory.
    public var roster: [RosterPerson]?
    public var location: SourceLocation

    public init(
        id: Located<String>, title: String, type: ExerciseType, playbook: Located<String>, playbookVersion: Located<Int>? = nil,
        scenario: String? = nil, objectives: [ExerciseObjective] = [], participants: [Participant] = [],
        controllers: [String] = [], evaluators: [String] = [], clock: ClockSettings = ClockSettings(),
        duration: Located<TimeSpan>? = nil, ratings: RatingThresholds = .defaults, injects: [Inject] = [],
        roster: [RosterPerson]? = nil, location: SourceLocation
    ) {
        self.id = id
        self.title = title
        self.type = type
        self.playbook = playbook
        self.playbookVersion = playbookVersion
        self.scenario = scenario
        self.objectives = objectives
        self.participants = participants
        self.controllers = controllers
        self.evaluators = evaluators
        self.clock = clock
        self.duration = duration
        self.ratings = ratings
        self.injects = injects
        self.roster = roster
        self.location = location
    }

    /// The scenario's length: `duration`, or the last inject plus its longest `within` (at least the last inject).
    public var length: TimeSpan {
        if let duration { return duration.value }
        var end = TimeSpan.zero
        for inject in injects {
            let longest = inject.expect.compactMap { $0.within?.value }.max() ?? .zero
            end = max(end, inject.at.value + longest)
        }
        return end
    }

    /// Injects in delivery order: by scenario time, then file order.
    public var injectsInDeliveryOrder: [Inject] {
        injects.enumerated().sorted { ($0.element.at.value, $0.offset) < ($1.element.at.value, $1.offset) }.map(\.element)
    }

    public func inject(_ id: String) -> Inject? { injects.first { $0.id.value == id } }
    public func objective(_ id: String) -> ExerciseObjective? { objectives.first { $0.id.value == id } }

    /// Who plays `role` from the start.
    public func participant(for role: String) -> String? { participants.first { $0.role.value == role }?.person.value }

    /// The person who starts the run: the incident commander's participant.
    public var commander: String? { participant(for: Playbook.incidentCommander) }

    /// The person who starts a run of `playbook`: the participant of its commanding role.
    public func commander(in playbook: Playbook) -> String? { participant(for: playbook.commanderRole) }

    /// Who acts for the facilitator when no name is given: the first controller.
    public var facilitator: String { controllers.first ?? "facilitator" }
}

/// HSEEP exercise types, plus the ISO 22301 technical recovery test.
public enum ExerciseType: String, Sendable, Hashable, Codable, CaseIterable {
    case walkthrough, tabletop, drill, functional, simulation
    case fullScale = "full-scale"
    case technicalRecovery = "technical-recovery"
}

public struct ExerciseObjective: Sendable, Hashable {
    public var id: Located<String>
    public var text: String
    /// The capability it exercises (HSEEP core capability or your own name), reported with the rating.
    public var capability: String?
    public var location: SourceLocation

    public init(id: Located<String>, text: String, capability: String? = nil, location: SourceLocation) {
        self.id = id
        self.text = text
        self.capability = capability
        self.location = location
    }
}

public struct Participant: Sendable, Hashable {
    public var role: Located<String>
    public var person: Located<String>

    public init(role: Located<String>, person: Located<String>) {
        self.role = role
        self.person = person
    }
}

/// How fast scenario time runs against the wall clock.
public enum ScenarioPace: Sendable, Hashable, CustomStringConvertible {
    /// Scenario milliseconds per 1,000 wall milliseconds (`speed: 30` is 30,000; `speed: 0.5` is 500).
    case rate(thousandths: Int64)
    /// Scenario time moves only when the facilitator skips ahead.
    case manual
    /// Scenario time jumps from one event to the next (unattended runs).
    case max

    public static func speed(_ n: Int64) -> ScenarioPace { .rate(thousandths: n * 1000) }

    /// `30`, `0.5`, `manual`, `max`: as written in the file and on the command line.
    public var description: String {
        switch self {
        case .manual: return "manual"
        case .max: return "max"
        case .rate(let t):
            let whole = t / 1000, frac = t % 1000
            if frac == 0 { return "\(whole)" }
            var digits = String(frac)
            digits = String(repeating: "0", count: 3 - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            return "\(whole).\(digits)"
        }
    }

    /// Parses `30`, `0.5`, `2.25`, `manual`, `max` (at most three decimals; more than 0, at most 100,000).
    public init?(parsing text: String) {
        switch text {
        case "manual": self = .manual
        case "max": self = .max
        default:
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count <= 2, let first = parts.first, !first.isEmpty, first.allSatisfy({ $0.isASCII && $0.isNumber }),
                  first.count <= 6, let whole = Int64(first) else { return nil }
            var frac: Int64 = 0
            if parts.count == 2 {
                let decimals = parts[1]
                guard !decimals.isEmpty, decimals.count <= 3, decimals.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
                frac = Int64(decimals + String(repeating: "0", count: 3 - decimals.count))!
            }
            let t = whole * 1000 + frac
            guard t > 0, t <= 100_000_000 else { return nil }
            self = .rate(thousandths: t)
        }
    }
}

public struct ClockSettings: Sendable, Hashable {
    public var pace: ScenarioPace
    /// Scenario time at the start of the exercise (UTC).
    public var start: Instant
    /// How long before the start the disruption began (RTO and MTPD clocks count from it).
    public var disruptionStarted: TimeSpan?

    public static let defaultStart = Instant(iso8601: "2026-01-01T09:00:00Z")!

    public init(pace: ScenarioPace = .speed(1), start: Instant = ClockSettings.defaultStart, disruptionStarted: TimeSpan? = nil) {
        self.pace = pace
        self.start = start
        self.disruptionStarted = disruptionStarted
    }
}

/// When an objective is rated P, S, M or U: thresholds on its score, the percentage of its expectations met,
/// where a late one counts `lateCredit` percent. All whole percentages.
public struct RatingThresholds: Sendable, Hashable {
    public var performed: Int
    public var some: Int
    public var major: Int
    public var lateCredit: Int

    public init(performed: Int, some: Int, major: Int, lateCredit: Int) {
        self.performed = performed
        self.some = some
        self.major = major
        self.lateCredit = lateCredit
    }

    /// P at 100% (everything on time), S from 60%, M from 30%, U below; a late expectation counts half.
    public static let defaults = RatingThresholds(performed: 100, some: 60, major: 30, lateCredit: 50)
}

/// HSEEP performance ratings.
public enum Rating: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case performed = "P", some = "S", major = "M", unable = "U"

    public var meaning: String {
        switch self {
        case .performed: "performed without challenges"
        case .some: "performed with some challenges"
        case .major: "performed with major challenges"
        case .unable: "unable to be performed"
        }
    }

    public static func < (a: Rating, b: Rating) -> Bool {
        let order: [Rating] = [.performed, .some, .major, .unable]
        return order.firstIndex(of: a)! < order.firstIndex(of: b)!
    }
}

/// A row of the master scenario events list.
public struct Inject: Sendable, Hashable {
    public var id: Located<String>
    /// Scenario time from the exercise's start.
    public var at: Located<TimeSpan>
    /// Delivered only when an expectation of an earlier inject is still unmet.
    public var contingency: Bool
    /// Not delivered when this guard holds over the run (for example, the decision it chases was taken).
    public var unless: Located<GuardExpression>?
    public var from: String?
    /// Roles it is addressed to.
    public var to: [Located<String>]
    public var method: InjectMethod
    public var message: String
    public var expect: [InjectExpectation]
    /// Questions the facilitator asks the players (printed with the inject).
    public var questions: [String]
    /// The controller who delivers it; the exercise's first controller when nil.
    public var controller: String?
    /// Notes for evaluators (printed in the evaluation).
    public var notes: String?
    public var location: SourceLocation

    public init(
        id: Located<String>, at: Located<TimeSpan>, contingency: Bool = false, unless: Located<GuardExpression>? = nil,
        from: String? = nil, to: [Located<String>] = [], method: InjectMethod = .inPerson, message: String,
        expect: [InjectExpectation] = [], questions: [String] = [], controller: String? = nil, notes: String? = nil,
        location: SourceLocation
    ) {
        self.id = id
        self.at = at
        self.contingency = contingency
        self.unless = unless
        self.from = from
        self.to = to
        self.method = method
        self.message = message
        self.expect = expect
        self.questions = questions
        self.controller = controller
        self.notes = notes
        self.location = location
    }
}

public enum InjectMethod: Sendable, Hashable, CustomStringConvertible {
    case phone, email, chat, inPerson
    /// Sent through a playbook channel (as a notification, routed like the run's others in exercise mode).
    case channel(Located<String>)

    public static let names = ["phone", "email", "chat", "in-person", "channel:NAME"]

    public var description: String {
        switch self {
        case .phone: "phone"
        case .email: "email"
        case .chat: "chat"
        case .inPerson: "in-person"
        case .channel(let c): "channel:\(c.value)"
        }
    }
}

/// A player action an inject expects, within a time from its delivery.
public struct InjectExpectation: Sendable, Hashable {
    public var what: ExpectedAction
    /// Required; nil only when it was left out (the validator reports it).
    public var within: Located<TimeSpan>?
    public var objective: Located<String>?
    /// The `do:` text as written (`decision declare-major = declare`).
    public var text: String
    public var location: SourceLocation

    public init(what: ExpectedAction, within: Located<TimeSpan>?, objective: Located<String>? = nil, text: String, location: SourceLocation) {
        self.what = what
        self.within = within
        self.objective = objective
        self.text = text
        self.location = location
    }
}

/// What counts as the expected action, matched against the run's timeline.
public enum ExpectedAction: Sendable, Hashable {
    /// `task ID`: the task was completed (skipping does not count).
    case task(Located<String>)
    /// `event NAME`: a person raised the event (events raised by timers do not count).
    case event(Located<String>)
    /// `decision ID` or `decision ID = OPTION`: a person took the decision (a default taken at the deadline does not count).
    case decision(Located<String>, option: Located<String>?)
    /// `state ID`: the run entered the state.
    case state(Located<String>)
    /// `role ID` or `role ID = PERSON`: someone (that person) was assigned the role.
    case role(Located<String>, person: Located<String>?)
    /// `notification CHANNEL`: the run queued a notification to the playbook channel.
    case notification(Located<String>)
    /// `rollcall ID PERCENT%`: the roll call's accounted share reached the percentage (answers and marks).
    case rollCall(Located<String>, percent: Located<Int>)
    /// `ack ID`: someone acknowledged the page.
    case ack(Located<String>)

    public static let kinds = ["task", "event", "decision", "state", "role", "notification", "rollcall", "ack"]

    /// The key under which the timeline's facts are indexed (see `ExerciseFacts`).
    public var factKey: String {
        switch self {
        case .task(let t): "task:\(t.value)"
        case .event(let e): "event:\(e.value)"
        case .decision(let d, let option): option.map { "decision:\(d.value)=\($0.value)" } ?? "decision:\(d.value)"
        case .state(let s): "state:\(s.value)"
        case .role(let r, let person): person.map { "role:\(r.value)=\($0.value)" } ?? "role:\(r.value)"
        case .notification(let c): "notification:\(c.value)"
        case .rollCall(let r, let percent): "rollcall:\(r.value)>=\(percent.value)"
        case .ack(let a): "ack:\(a.value)"
        }
    }
}
