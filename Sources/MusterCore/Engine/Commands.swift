/// What a person (or the clock) asks of a run. The engine answers with events and effects, or a rejection.
public struct Command: Sendable, Hashable {
    /// The person acting, by name as they are known in the run (`--as Dana`). Timers act as `Command.system`.
    public var actor: String
    public var action: Action

    public init(actor: String, _ action: Action) {
        self.actor = actor
        self.action = action
    }

    /// The actor name recorded for what the clock does.
    public static let system = "muster"

    public enum Action: Sendable, Hashable {
        case start(StartRun)
        case assign(role: String, person: String)
        case relieve(role: String, handover: String?)
        case completeTask(String, note: String?)
        case skipTask(String, reason: String?)
        case raise(String)
        case decide(decision: String, option: String, rationale: String)
        case note(String)
        case lesson(Lesson)
        case fireTimer(TimerKey)
        case close(reason: String?)
        /// The actor acknowledges a page (`acks.ID`): the person paged, anyone holding a role it paged, or
        /// the incident commander.
        case acknowledge(String)
        /// Who stands in for a person when a page to them is not acknowledged (`escalate: [deputy]`); nil forgets it.
        /// Sent by the shell from its people directory (as `muster`) or by the incident commander.
        case nameDeputy(person: String, deputy: String?)
        /// The shell's answer to `Effect.resolveRollCall`: the people the roll call asks (groups resolved), and for
        /// those the directory cannot reach on every channel of `via`, the channels it can (`routes`, in `via`'s
        /// order; an empty list: none). A person absent from `routes` is reached on every channel.
        case startRollCall(String, people: [String], routes: [String: [String]]? = nil)
        /// A person's answer to a roll call, with the channel it came through (`sms`, `slack`, `link`, ...).
        case answer(rollCall: String, person: String, option: String, channel: String)
        /// A person with a role marks someone accounted for by hand ("seen at the assembly point").
        case markAccounted(rollCall: String, person: String, why: String)
    }
}

public enum RunMode: String, Sendable, Hashable, Codable, CaseIterable {
    case live, exercise
}

public struct StartRun: Sendable, Hashable {
    public var runID: String
    public var mode: RunMode
    public var title: String
    /// The playbook's severity when nil.
    public var severity: Severity?
    /// When the disruption began, if before the start command (RTO and MTPD clocks count from it).
    public var disruptionStart: Instant?
    /// Who is incident commander from the start; the person starting the run when nil.
    public var commander: String?

    public init(runID: String, mode: RunMode, title: String, severity: Severity? = nil, disruptionStart: Instant? = nil, commander: String? = nil) {
        self.runID = runID
        self.mode = mode
        self.title = title
        self.severity = severity
        self.disruptionStart = disruptionStart
        self.commander = commander
    }
}

public enum LessonKind: String, Sendable, Hashable, Codable, CaseIterable {
    case strength, improvement
}

public struct Lesson: Sendable, Hashable, Codable {
    public var text: String
    public var kind: LessonKind
    public var rootCause: String?

    public init(text: String, kind: LessonKind = .improvement, rootCause: String? = nil) {
        self.text = text
        self.kind = kind
        self.rootCause = rootCause
    }
}

/// Names one armed timer. `id` is the playbook timer's id, or `deadline:DECISION` for a decision's deadline;
/// `instance` counts armings of that id in the run, so a timer cancelled by leaving a state and armed again
/// on re-entry is a different timer, and a stale firing is refused.
public struct TimerKey: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var id: String
    public var instance: Int

    public init(id: String, instance: Int) {
        self.id = id
        self.instance = instance
    }

    public static func deadline(of decision: String) -> String { "deadline:\(decision)" }
    /// The escalation timer of an acknowledgement.
    public static func escalation(of ack: String) -> String { "ack:\(ack)" }
    /// A roll call's resend timer.
    public static func resend(of rollCall: String) -> String { "rollcall:\(rollCall):resend" }
    /// A roll call's `within` deadline.
    public static func overdue(of rollCall: String) -> String { "rollcall:\(rollCall):within" }

    public enum RollCallTimer: Sendable { case resend, within }

    /// The roll call and kind of a roll call's timer id (`rollcall:ID:resend`, `rollcall:ID:within`).
    public static func rollCallTimer(_ id: String) -> (rollCall: String, kind: RollCallTimer)? {
        guard id.hasPrefix("rollcall:") else { return nil }
        let rest = id.dropFirst("rollcall:".count)
        if rest.hasSuffix(":resend") { return (String(rest.dropLast(":resend".count)), .resend) }
        if rest.hasSuffix(":within") { return (String(rest.dropLast(":within".count)), .within) }
        return nil
    }

    /// Whether a timer id is an escalation or a roll call's: such timers outlive the state that armed them.
    public static func isRunTimer(_ id: String) -> Bool { id.hasPrefix("ack:") || id.hasPrefix("rollcall:") }

    /// The acknowledgement of an escalation timer id (`ack:ID`).
    public static func escalationAck(_ id: String) -> String? {
        id.hasPrefix("ack:") ? String(id.dropFirst("ack:".count)) : nil
    }

    public static func < (a: TimerKey, b: TimerKey) -> Bool { (a.id, a.instance) < (b.id, b.instance) }

    public var description: String { "\(id)#\(instance)" }
}
