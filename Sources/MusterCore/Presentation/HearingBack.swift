// Hearing back as people see it: the one model behind `muster incident status`, `muster watch`, the web board and
// the report's "Hearing back" section. Names only: the run knows no contact details, and nothing here asks for them.

/// What became of the personal messages of a run (messages with a `person`), counted from the timeline:
/// `notification-queued` says who a message is for and which roll call or page it belongs to, the delivery events
/// what became of it. Feed it events in order (`record`), as the timeline gives them or as they arrive.
public struct HearingBackReach: Sendable, Hashable {
    /// Where one personal message ended up, as far as the timeline knows.
    public enum Outcome: String, Sendable, Hashable {
        /// Queued, or retrying after a failed attempt.
        case pending
        /// A receiver accepted it.
        case delivered
        /// Dead-lettered: the delivery side gave up.
        case failed
        /// Not sent: no contact point for the channel's type, or a `live_only` channel in an exercise.
        case notSent = "not-sent"
    }

    struct Message: Sendable, Hashable {
        var person: String
        var rollCall: String?
        var channel: String
        var outcome: Outcome
    }

    /// Messages per channel (as the playbook names the channel), with what became of them.
    public struct Channel: Sendable, Hashable {
        public var channel: String
        /// Personal messages queued through it.
        public var sent = 0
        public var delivered = 0
        public var failed = 0
        public var notSent = 0
        /// Not settled yet (queued, or retrying).
        public var pending = 0
    }

    private var messages: [String: Message] = [:]
    private var order: [String] = []
    /// Per roll call, the people at least one of its messages reached (since its last start).
    private var reachedByRollCall: [String: Set<String>] = [:]

    public init() {}

    public init(events: some Sequence<RunEvent>) {
        for event in events { record(event) }
    }

    /// The event types `record` reads (`RunEvent.Body.typeName`): a reader may decode only these.
    public static let eventTypes: Set<String> = [
        "notification-queued", "roll-call-started", "notification-sent", "notification-dead-lettered", "notification-skipped",
        "notification-requeued",
    ]

    public mutating func record(_ event: RunEvent) { record(event.body) }

    public mutating func record(_ body: RunEvent.Body) {
        switch body {
        case .notificationQueued(let n):
            guard let person = n.person else { return }
            if messages[n.id] == nil { order.append(n.id) }
            messages[n.id] = Message(person: person, rollCall: n.rollCall, channel: n.channel, outcome: .pending)
        case .rollCallStarted(let rollCall, _, _):
            reachedByRollCall[rollCall] = []
        case .notificationSent(let id, _, _, _, _):
            guard var message = messages[id] else { return }
            message.outcome = .delivered
            messages[id] = message
            if let rollCall = message.rollCall { reachedByRollCall[rollCall, default: []].insert(message.person) }
        case .notificationDeadLettered(let id, _, _, _):
            settle(id, .failed)
        case .notificationSkipped(let id, _, _):
            settle(id, .notSent)
        case .notificationRequeued(let id, _, _, _):
            settle(id, .pending)
        default:
            break
        }
    }

    /// A delivered message stays delivered; anything else takes the latest word.
    private mutating func settle(_ id: String, _ outcome: Outcome) {
        guard var message = messages[id], message.outcome != .delivered else { return }
        message.outcome = outcome
        messages[id] = message
    }

    /// Whether a message of `rollCall` reached `person`.
    public func reached(_ person: String, in rollCall: String) -> Bool { reachedByRollCall[rollCall]?.contains(person) ?? false }

    /// Personal messages per channel, in the order the channels were first used.
    public var channels: [Channel] {
        var out: [Channel] = []
        var index: [String: Int] = [:]
        for id in order {
            guard let message = messages[id] else { continue }
            let i: Int
            if let known = index[message.channel] { i = known } else {
                i = out.count
                index[message.channel] = i
                out.append(Channel(channel: message.channel))
            }
            out[i].sent += 1
            switch message.outcome {
            case .pending: out[i].pending += 1
            case .delivered: out[i].delivered += 1
            case .failed: out[i].failed += 1
            case .notSent: out[i].notSent += 1
            }
        }
        return out
    }
}

/// The run's acknowledgements and roll calls as they stand at `now`.
public struct HearingBack: Sendable, Hashable {
    public struct Ack: Sendable, Hashable {
        public var id: String
        /// The role first paged, and who held it then.
        public var role: String
        public var firstPaged: String?
        public var channel: String
        public var requestedAt: Instant
        public var within: TimeSpan
        /// Everyone paged so far, in order.
        public var paged: [String]
        /// Escalation steps taken, of `escalate.count`.
        public var steps: Int
        public var escalate: [String]
        public var acknowledgedBy: String?
        public var acknowledgedAt: Instant?
        public var exhausted: Bool
        /// When the next escalation step is due, and whom it pages (a role, or `deputy`).
        public var nextEscalation: Instant?
        public var nextStep: String?

        public var latency: TimeSpan? { acknowledgedAt.map { $0 - requestedAt } }
    }

    public struct RollCall: Sendable, Hashable {
        public struct Option: Sendable, Hashable {
            public var id: String
            public var label: String
            public var people: Int
        }

        public var id: String
        public var requestedAt: Instant
        /// Nil until the people directory said who it asks.
        public var startedAt: Instant?
        public var within: TimeSpan?
        /// When `within` runs out (start + within).
        public var deadline: Instant?
        public var people: Int
        /// Answered (any option) or marked accounted by hand.
        public var accounted: Int
        /// Marked by hand without having answered.
        public var markedOnly: Int
        /// People per option of their last answer, in the playbook's order.
        public var options: [Option]
        /// Not accounted for, and a message of the roll call reached them (all the unaccounted when `unreached` is nil).
        public var notYetAnswered: Int
        /// Not accounted for, and no message of the roll call reached them yet; nil when delivery is not known.
        public var unreached: Int?
        /// The people not accounted for, in the roll call's order (names only).
        public var unaccounted: [String]
        public var overdue: Bool

        public var isComplete: Bool { startedAt != nil && accounted == people }
        /// Accounted for, in whole percent rounded down (99.6% is not "100%"); 100 for a roll call of nobody.
        public var accountedPercent: Int { people == 0 ? 100 : accounted * 100 / people }
    }

    public var now: Instant
    public var acks: [Ack]
    public var rollCalls: [RollCall]

    public var isEmpty: Bool { acks.isEmpty && rollCalls.isEmpty }

    /// `reach`: what the timeline says about the personal messages (nil: not known, so nobody counts as unreached).
    public init(_ run: Run, now: Instant, reach: HearingBackReach?) {
        self.now = now
        acks = run.acks.values.sorted { ($0.requestedAt, $0.id) < ($1.requestedAt, $1.id) }.map { record in
            let timer = run.armedTimers.first { $0.key.id == TimerKey.escalation(of: record.id) }
            let pending = record.acknowledgedBy == nil && !record.exhausted
            return Ack(id: record.id, role: record.role, firstPaged: record.person, channel: record.channel, requestedAt: record.requestedAt,
                       within: record.within, paged: record.pagedPeople, steps: record.step, escalate: record.escalate,
                       acknowledgedBy: record.acknowledgedBy, acknowledgedAt: record.acknowledgedAt, exhausted: record.exhausted,
                       nextEscalation: pending ? timer?.due : nil,
                       nextStep: pending && timer != nil && record.step < record.escalate.count ? record.escalate[record.step] : nil)
        }
        var specs: [String: RollCallSpec] = [:]
        for spec in run.playbook.allRollCalls where specs[spec.id.value] == nil { specs[spec.id.value] = spec }
        rollCalls = run.rollCalls.values.sorted { ($0.requestedAt, $0.id) < ($1.requestedAt, $1.id) }.map { record in
            let spec = specs[record.id]
            let options = (spec?.options ?? []).map { RollCall.Option(id: $0.id.value, label: $0.label, people: record.people(choosing: $0.id.value)) }
            let unaccounted = record.unaccounted
            var unreached: Int?
            if let reach, record.startedAt != nil {
                unreached = unaccounted.filter { !reach.reached($0, in: record.id) }.count
            }
            let within = spec?.within?.value
            return RollCall(
                id: record.id, requestedAt: record.requestedAt, startedAt: record.startedAt, within: within,
                deadline: within.flatMap { w in record.startedAt.map { $0 + w } }, people: record.people.count,
                accounted: record.accounted, markedOnly: record.marked.keys.filter { record.answers[$0] == nil }.count,
                options: options, notYetAnswered: unaccounted.count - (unreached ?? 0), unreached: unreached,
                unaccounted: unaccounted, overdue: record.overdue)
        }
    }
}

/// Hearing back in words, one presentation for the console (`muster incident status`, `muster watch`).
public enum HearingBackText {
    /// "acknowledged by Lee at 17:46:00Z (after 00:06:00)", or "PENDING, paged Lee (it_ops), ..., next escalation ... (in 00:04:00)".
    public static func ack(_ ack: HearingBack.Ack, now: Instant) -> String {
        if let by = ack.acknowledgedBy {
            let at = ack.acknowledgedAt.map { " at \($0.iso8601) (after \(($0 - ack.requestedAt).clock))" } ?? ""
            return "\(ack.id): acknowledged by \(by)\(at)" + (ack.steps > 0 ? ", after \(ack.steps) escalation step\(ack.steps == 1 ? "" : "s")" : "")
        }
        var line = "\(ack.id): PENDING, paged \(ack.firstPaged ?? "the holder of \(ack.role)") (\(ack.role))"
        if ack.steps > 0 { line += ", escalated \(ack.steps) of \(ack.escalate.count) (last paged: \(ack.paged.last ?? "nobody"))" }
        if ack.exhausted {
            line += ", escalation exhausted"
        } else if let due = ack.nextEscalation {
            line += ", next escalation \(due.iso8601) " + countdown(to: due, now: now)
            if let step = ack.nextStep { line += " to \(step)" }
        }
        return line
    }

    /// "(in 00:04:00)", or "(due)" once it has passed.
    public static func countdown(to due: Instant, now: Instant) -> String {
        let left = due - now
        return left.milliseconds > 0 ? "(in \(left.clock))" : "(due)"
    }

    /// "2/3 accounted (66%); answered safe 1, help 0, away 1; marked by hand 1; not yet answered 1; unreached 0; within 1h: 00:48:00 left".
    public static func tally(_ r: HearingBack.RollCall, now: Instant) -> String {
        guard r.startedAt != nil else { return "asked for, not started (waiting for the people directory)" }
        var line = "\(r.accounted)/\(r.people) accounted (\(r.accountedPercent)%)"
        if !r.options.isEmpty { line += "; answered " + r.options.map { "\($0.id) \($0.people)" }.joined(separator: ", ") }
        if r.markedOnly > 0 { line += "; marked by hand \(r.markedOnly)" }
        line += "; not yet answered \(r.notYetAnswered)"
        if let unreached = r.unreached { line += "; unreached \(unreached)" }
        if let within = r.within { line += "; " + withinText(r, within: within, now: now) }
        return line
    }

    /// "within 1h: 00:48:00 left", "within 1h: OVERDUE by 00:05:00", "within 1h: all accounted".
    public static func withinText(_ r: HearingBack.RollCall, within: TimeSpan, now: Instant) -> String {
        if r.isComplete { return "within \(within): all accounted" }
        guard let deadline = r.deadline else { return "within \(within)" }
        let left = deadline - now
        if left.milliseconds > 0, !r.overdue { return "within \(within): \(left.clock) left" }
        return "within \(within): OVERDUE by \(TimeSpan(milliseconds: max(0, -left.milliseconds)).clock)"
    }

    /// "Ana, Bo, Cy", or the first `maxNames` and "and 12 more".
    public static func names(_ names: [String], max maxNames: Int) -> String {
        let shown = names.prefix(maxNames).joined(separator: ", ")
        return names.count > maxNames ? "\(shown) and \(names.count - maxNames) more" : shown
    }

    /// The whole block: a heading per kind, a line per ack and roll call, and the unaccounted names under each roll
    /// call (at most `maxNames`). Empty when the run has neither.
    public static func lines(_ view: HearingBack, maxNames: Int = 20) -> [String] {
        var out: [String] = []
        if !view.acks.isEmpty {
            out.append("acknowledgements")
            for ack in view.acks { out.append("  " + Self.ack(ack, now: view.now)) }
        }
        if !view.rollCalls.isEmpty {
            out.append("roll calls")
            for r in view.rollCalls {
                out.append("  \(r.id): " + tally(r, now: view.now))
                if r.startedAt != nil, !r.unaccounted.isEmpty {
                    out.append("    unaccounted (\(r.unaccounted.count)): " + names(r.unaccounted, max: maxNames))
                }
            }
        }
        return out
    }
}
