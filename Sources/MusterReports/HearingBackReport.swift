import MusterCore

/// The report's "Hearing back" section, computed from the timeline alone (live and exercise runs alike): time to
/// mobilise (each page that asked for an acknowledgement, and the first acknowledgement per role), each roll call's
/// curve of people accounted for over time against its `within` with its final tally, reach per channel of the
/// personal messages, and the people no message reached. Names only: the timeline holds no contact details.
public struct HearingBackReport: Sendable, Hashable {
    public struct Ack: Sendable, Hashable {
        public var id: String
        public var role: String
        public var roleTitle: String
        public var requestedAt: Instant
        public var within: TimeSpan
        /// Everyone paged, in order (the first page's person, then each escalation step's).
        public var paged: [String]
        /// Escalation steps taken.
        public var steps: Int
        public var acknowledgedBy: String?
        public var acknowledgedAt: Instant?
        /// The escalation ran out of steps without an acknowledgement.
        public var exhausted: Bool

        public var latency: TimeSpan? { acknowledgedAt.map { $0 - requestedAt } }
    }

    /// The first acknowledgement of a page to a role.
    public struct Mobilised: Sendable, Hashable {
        public var role: String
        public var roleTitle: String
        public var ack: String
        public var by: String
        public var at: Instant
        /// From that page's request.
        public var latency: TimeSpan
    }

    public struct Point: Sendable, Hashable {
        public var at: Instant
        public var accounted: Int
    }

    public struct RollCall: Sendable, Hashable {
        public struct Option: Sendable, Hashable {
            public var id: String
            public var label: String
            public var people: Int
        }

        public var id: String
        public var ask: String
        public var startedAt: Instant
        public var within: TimeSpan?
        public var people: Int
        /// People accounted for over time: the start (0), then one point per person first accounted for.
        public var curve: [Point]
        /// Final tally: last answers per option (playbook order), then those marked by hand without answering.
        public var options: [Option]
        public var markedOnly: Int
        public var accounted: Int
        /// When the last person was accounted for (nil: never all).
        public var completedAt: Instant?
        /// How many were accounted for when `within` ran out (nil: no `within`, or it had not run out yet at the
        /// last event).
        public var accountedAtWithin: Int?
        public var unaccounted: [String]
        /// Asked, never answered and reached by none of its messages (names only).
        public var neverReached: [String]

        public var accountedPercent: Int { people == 0 ? 100 : accounted * 100 / people }
    }

    public var acks: [Ack]
    public var mobilised: [Mobilised]
    public var rollCalls: [RollCall]
    public var channels: [HearingBackReach.Channel]

    /// Nil for a run without acknowledgements or roll calls (the report then has no such section).
    /// `observedUntil`: the last instant the timeline covers (a `within` after it has not run out).
    public static func build(events: [ReportEvent], playbook: Playbook, observedUntil: Instant) -> HearingBackReport? {
        var reach = HearingBackReach()
        var acks: [Ack] = []
        var ackIndex: [String: Int] = [:]
        struct Open {
            var spec: RollCallSpec?
            var rollCall: RollCall
            var asked: Set<String>
            var accounted: Set<String> = []
            var answers: [String: String] = [:]
            var marked: Set<String> = []
            var ask = ""
        }
        var rollCalls: [String: Open] = [:]
        var order: [String] = []
        var asks: [String: String] = [:]
        let roleTitles = Dictionary(playbook.roles.map { ($0.id.value, $0.title) }, uniquingKeysWith: { a, _ in a })
        var specs: [String: RollCallSpec] = [:]
        for spec in playbook.allRollCalls where specs[spec.id.value] == nil { specs[spec.id.value] = spec }
        var any = false

        func account(_ id: String, _ person: String, at: Instant) {
            guard var open = rollCalls[id], open.asked.contains(person), open.accounted.insert(person).inserted else { return }
            open.rollCall.curve.append(Point(at: at, accounted: open.accounted.count))
            if open.accounted.count == open.rollCall.people, open.rollCall.completedAt == nil { open.rollCall.completedAt = at }
            rollCalls[id] = open
        }

        for item in events {
            let e = item.event
            reach.record(e)
            switch e.body {
            case .acknowledgementRequested(let r):
                any = true
                ackIndex[r.ack] = acks.count
                acks.append(Ack(id: r.ack, role: r.role, roleTitle: roleTitles[r.role] ?? r.role, requestedAt: e.at, within: r.within,
                                paged: r.person.map { [$0] } ?? [], steps: 0, exhausted: false))
            case .escalated(let ack, let step, _, let person, _):
                guard let i = ackIndex[ack] else { break }
                acks[i].steps = step
                if let person { acks[i].paged.append(person) }
            case .escalationExhausted(let ack, _):
                if let i = ackIndex[ack] { acks[i].exhausted = true }
            case .acknowledged(let ack, let person, _):
                guard let i = ackIndex[ack] else { break }
                acks[i].acknowledgedBy = person
                acks[i].acknowledgedAt = e.at
            case .rollCallRequested:
                any = true
            case .notificationQueued(let n):
                // The question as asked (the first message of the roll call; reminders add a prefix).
                if let id = n.rollCall, asks[id] == nil { asks[id] = n.message }
            case .rollCallStarted(let id, let people, _):
                any = true
                let spec = specs[id]
                if rollCalls[id] == nil { order.append(id) }
                rollCalls[id] = Open(spec: spec, rollCall: RollCall(
                    id: id, ask: "", startedAt: e.at, within: spec?.within?.value, people: people.count,
                    curve: [Point(at: e.at, accounted: 0)], options: [], markedOnly: 0, accounted: 0, completedAt: people.isEmpty ? e.at : nil,
                    accountedAtWithin: nil, unaccounted: [], neverReached: []), asked: Set(people))
                rollCalls[id]?.rollCall.unaccounted = people
            case .answerReceived(let id, let person, let option, _, _):
                guard rollCalls[id]?.asked.contains(person) == true else { break }
                rollCalls[id]?.answers[person] = option
                account(id, person, at: e.at)
            case .personAccounted(let id, let person, _):
                guard rollCalls[id]?.asked.contains(person) == true else { break }
                rollCalls[id]?.marked.insert(person)
                account(id, person, at: e.at)
            default:
                break
            }
        }
        guard any else { return nil }

        var mobilised: [Mobilised] = []
        for ack in acks {
            guard let by = ack.acknowledgedBy, let at = ack.acknowledgedAt else { continue }
            if let i = mobilised.firstIndex(where: { $0.role == ack.role }) {
                if at < mobilised[i].at { mobilised[i] = Mobilised(role: ack.role, roleTitle: ack.roleTitle, ack: ack.id, by: by, at: at, latency: at - ack.requestedAt) }
            } else {
                mobilised.append(Mobilised(role: ack.role, roleTitle: ack.roleTitle, ack: ack.id, by: by, at: at, latency: at - ack.requestedAt))
            }
        }

        let finished: [RollCall] = order.compactMap { id -> RollCall? in
            guard let open = rollCalls[id] else { return nil }
            var r = open.rollCall
            r.ask = asks[id].map(Self.question) ?? id
            var counts: [String: Int] = [:]
            for option in open.answers.values { counts[option, default: 0] += 1 }
            r.options = (open.spec?.options ?? []).map { RollCall.Option(id: $0.id.value, label: $0.label, people: counts[$0.id.value] ?? 0) }
            r.markedOnly = open.marked.filter { open.answers[$0] == nil }.count
            r.accounted = open.accounted.count
            let people = open.rollCall.unaccounted  // the asked, in order, as started
            r.unaccounted = people.filter { !open.accounted.contains($0) }
            r.neverReached = people.filter { open.answers[$0] == nil && !reach.reached($0, in: id) }
            if let within = r.within, r.startedAt + within <= observedUntil {
                let deadline = r.startedAt + within
                r.accountedAtWithin = r.curve.last { $0.at <= deadline }?.accounted ?? 0
            }
            return r
        }
        return HearingBackReport(acks: acks, mobilised: mobilised, rollCalls: finished, channels: reach.channels)
    }

    /// A roll call's message is "Question (opt: Label | ...)": the question alone reads better above a chart.
    static func question(_ message: String) -> String {
        let chars = Array(message)
        guard chars.last == ")" else { return message }
        var i = chars.count - 2
        while i > 0 {
            if chars[i] == "(", chars[i - 1] == " " { return String(chars[..<(i - 1)]) }
            i -= 1
        }
        return message
    }
}
