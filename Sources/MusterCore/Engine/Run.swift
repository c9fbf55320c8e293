/// One run of a playbook (a live incident or an exercise) as a pure, deterministic state machine.
///
/// - `decide(_:at:)` answers a command with the events to journal and the effects for the shell, or a
///   rejection; it never changes the run.
/// - `apply(_:)` is the only thing that changes the run; it never fails, so replaying a journal always
///   rebuilds the same state.
///
/// `decide` works on a copy and applies each event to it as it is produced, so what a replay rebuilds is,
/// by construction, what the live run decided on.
public struct Run: Sendable, Equatable {
    let compiled: CompiledPlaybook

    public private(set) var status: RunStatus = .notStarted
    /// What the start (and close) said, in one shared box: copying a run copies few references.
    var info: RunInfo
    /// Timers armed now, in the order they fall due: by due time, then by key.
    public private(set) var armedTimers: [ArmedTimer] = []
    /// How many notifications the run has queued (the next one is `n\(notificationCount + 1)`).
    public private(set) var notificationCount: Int = 0
    /// What became of the notifications so far, counted from the delivery events (they change nothing else).
    public private(set) var deliveries = DeliveryTally()
    /// How many times the run has entered a state; each entry is a new visit.
    public private(set) var visits: Int = 0
    public private(set) var noteCount: Int = 0
    public private(set) var lessonCount: Int = 0

    var stateIndex: Int = -1
    var holderByRole: [String?]
    var taskStatusByIndex: [TaskStatus]
    var decisionByIndex: [DecisionRecord?]
    /// Per timer slot of the compiled playbook: how many times it was armed, and its current anchor.
    var slotStates: [SlotState]
    var markTimes = MarkTimes()
    var log = AppendLog<LogEntry>()
    /// Pages that asked for an acknowledgement, by ack id (the latest request of each id).
    public private(set) var acks: [String: AckRecord] = [:]
    /// Who stands in for whom, as named by `nameDeputy`.
    public private(set) var deputies: [String: String] = [:]
    /// Roll calls asked for, by id (the latest request of each id).
    public private(set) var rollCalls: [String: RollCallRecord] = [:]
    /// Chat channels bound to the run, each with when it was bound (the latest binding of a channel wins).
    public private(set) var chatChannels: [ChatChannelBinding: Instant] = [:]
    /// The incident message posted in each bound channel (its latest post), by the platform's message id.
    public private(set) var chatMessages: [ChatChannelBinding: String] = [:]
    /// Armings of timers that belong to no playbook slot (escalations, roll call resends and deadlines), by timer id.
    var otherTimerInstances: [String: Int] = [:]

    public init(playbook: Playbook) {
        let compiled = CompiledPlaybook(playbook)
        self.compiled = compiled
        info = RunInfo(severity: playbook.severity)
        holderByRole = Array(repeating: nil, count: compiled.roleIDs.count)
        taskStatusByIndex = Array(repeating: .open, count: compiled.tasks.count)
        decisionByIndex = Array(repeating: nil, count: compiled.decisions.count)
        slotStates = Array(repeating: SlotState(instance: 0, anchor: Instant(millisecondsSinceEpoch: 0)), count: compiled.slots.count)
    }

    /// A run of `other`'s playbook with nothing in it, to swap with `other` (two references, no tables).
    init(placeholderFor other: Run) {
        compiled = other.compiled
        info = other.info
        holderByRole = []
        taskStatusByIndex = []
        decisionByIndex = []
        slotStates = []
    }

    public var runID: String { info.runID }
    public var mode: RunMode { info.mode }
    public var title: String { info.title }
    public var severity: Severity { info.severity }
    /// When the start command was accepted.
    public var startedAt: Instant? { info.startedAt }
    /// When the disruption began: RTO and MTPD clocks and run-wide timers count from it.
    public var disruptionStart: Instant? { info.disruptionStart }
    public var closedAt: Instant? { info.closedAt }
    public var closeReason: String? { info.closeReason }

    // MARK: Reading the run

    public var playbook: Playbook { compiled.playbook }

    /// The state the run is in; nil before start.
    public var currentState: String? { stateIndex >= 0 ? compiled.states[stateIndex].id : nil }

    /// True when the run is in a terminal state of the playbook (it may still be open for the hot wash).
    public var isInTerminalState: Bool { stateIndex >= 0 && compiled.states[stateIndex].terminal }

    /// Who holds each role now (roles nobody holds are absent).
    public var holders: [String: String] {
        var out: [String: String] = [:]
        for (i, holder) in holderByRole.enumerated() { if let holder { out[compiled.roleIDs[i]] = holder } }
        return out
    }

    public func holder(of role: String) -> String? {
        compiled.roleIndex[role].flatMap { holderByRole[$0] }
    }

    /// The commanding role's id (`incident_commander` unless the playbook names another with `commander:`).
    public var commanderRole: String { compiled.commanderRole }

    /// Who commands the run now.
    public var commander: String? { holder(of: commanderRole) }

    /// The roles a person holds, in playbook order.
    public func roles(of person: String) -> [String] {
        holderByRole.indices.filter { holderByRole[$0] == person }.map { compiled.roleIDs[$0] }
    }

    /// The status of every task of the playbook (a task is open until done or skipped in the current visit
    /// of its state; entering a state opens its tasks again).
    public var taskStatuses: [String: TaskStatus] {
        var out: [String: TaskStatus] = [:]
        for (i, task) in compiled.tasks.enumerated() where out[task.id] == nil { out[task.id] = taskStatusByIndex[i] }
        return out
    }

    public func taskStatus(_ task: String) -> TaskStatus? { compiled.taskIndex[task].map { taskStatusByIndex[$0] } }

    /// The latest choice of each decision, kept until its state is entered again (which makes it pending).
    public var decisions: [String: DecisionRecord] {
        var out: [String: DecisionRecord] = [:]
        for (i, record) in decisionByIndex.enumerated() { if let record { out[compiled.decisions[i].id] = record } }
        return out
    }

    public func decision(_ id: String) -> DecisionRecord? { compiled.decisionIndex[id].flatMap { decisionByIndex[$0] } }

    /// Key timestamps, set the first time the run enters a state carrying the mark (and `closed` on close).
    public var marks: [Mark: Instant] {
        var out: [Mark: Instant] = [:]
        for mark in Mark.allCases { if let t = markTimes[mark.slot] { out[mark] = t } }
        return out
    }

    public func mark(_ mark: Mark) -> Instant? { markTimes[mark.slot] }

    public var notes: [NoteRecord] { log.elements.compactMap { if case .note(let n) = $0 { n } else { nil } } }
    public var lessons: [LessonRecord] { log.elements.compactMap { if case .lesson(let l) = $0 { l } else { nil } } }

    /// The earliest due time of an armed timer.
    public var nextDue: Instant? { armedTimers.first?.due }

    public func armedTimer(_ key: TimerKey) -> ArmedTimer? { armedTimers.first { $0.key == key } }

    /// Whether a guard holds over the run as it is now (`all_tasks_done` is about the current state).
    public func evaluate(_ expression: GuardExpression) -> Bool {
        evaluateCompiled(CGuard(expression, roles: compiled.roleIndex, tasks: compiled.taskIndex, decisions: compiled.decisionIndex))
    }

    func evaluateCompiled(_ g: CGuard) -> Bool {
        switch g {
        case .literal(let b): return b
        case .taskDone(let t): return t >= 0 && taskStatusByIndex[t] == .done
        case .taskSkipped(let t): return t >= 0 && taskStatusByIndex[t] == .skipped
        case .allTasksDone:
            guard stateIndex >= 0 else { return false }
            for t in compiled.states[stateIndex].tasks where taskStatusByIndex[t] == .open { return false }
            return true
        case .roleAssigned(let r): return r >= 0 && holderByRole[r] != nil
        case .decisionMade(let d): return d >= 0 && decisionByIndex[d] != nil
        case .decisionIs(let d, let option, let equal): return (d >= 0 && decisionByIndex[d]?.option == option) == equal
        case .severityIs(let value, let equal): return (severity.rawValue == value) == equal
        case .modeIs(let value, let equal): return (mode.rawValue == value) == equal
        case .rollCallMeasure(let id, let option, let comparison, let quantity):
            guard let record = rollCalls[id], record.startedAt != nil else { return false }
            let n = Int64(option.map { record.people(choosing: $0) } ?? record.accounted)
            switch quantity {
            case .people(let count): return comparison.holds(n, Int64(count))
            case .percent(let percent): return comparison.holds(n * 100, Int64(percent) * Int64(record.people.count))
            }
        case .rollCallOverdue(let id): return rollCalls[id]?.overdue ?? false
        case .ack(let id, let property):
            guard let record = acks[id] else { return false }
            switch property {
            case .acknowledged: return record.acknowledgedBy != nil
            case .exhausted: return record.exhausted
            }
        case .not(let x): return !evaluateCompiled(x)
        case .and(let x, let y): return evaluateCompiled(x) && evaluateCompiled(y)
        case .or(let x, let y): return evaluateCompiled(x) || evaluateCompiled(y)
        }
    }

    // MARK: Applying events

    /// Changes the run by one journaled event. Never fails: names the playbook does not know are ignored,
    /// so that a journal always replays.
    public mutating func apply(_ event: RunEvent) {
        apply(event, index: nil)
    }

    /// `apply`, with the playbook index of the state, role, task or decision the event names when the caller
    /// (the decider, which has just resolved it) knows it: the same index the name's lookup would give, so the
    /// run changes exactly as a replay changes it, without hashing the name again.
    mutating func apply(_ event: RunEvent, index known: Int?) {
        switch event.body {
        case .runStarted(let started):
            status = .active
            info = RunInfo(runID: started.runID, mode: started.mode, title: started.title, severity: started.severity,
                           startedAt: event.at, disruptionStart: started.disruptionStart)
        case .stateEntered(let state, _, _):
            visits += 1
            assert(known == nil || known == compiled.stateIndex[state])
            stateIndex = known ?? compiled.stateIndex[state] ?? -1
            if stateIndex >= 0 {
                let entered = compiled.states[stateIndex]
                for t in entered.tasks where taskStatusByIndex[t] != .open { taskStatusByIndex[t] = .open }
                if let d = entered.decision, decisionByIndex[d] != nil { decisionByIndex[d] = nil }
            }
        case .markSet(let mark):
            markTimes[mark.slot] = event.at
        case .roleAssigned(let role, let person):
            assert(known == nil || known == compiled.roleIndex[role])
            if let r = known ?? compiled.roleIndex[role] { holderByRole[r] = person }
        case .roleRelieved(let role, _, _):
            assert(known == nil || known == compiled.roleIndex[role])
            if let r = known ?? compiled.roleIndex[role] { holderByRole[r] = nil }
        case .taskCompleted(let task, _):
            assert(known == nil || known == compiled.taskIndex[task])
            if let t = known ?? compiled.taskIndex[task] { taskStatusByIndex[t] = .done }
        case .taskSkipped(let task, _):
            assert(known == nil || known == compiled.taskIndex[task])
            if let t = known ?? compiled.taskIndex[task] { taskStatusByIndex[t] = .skipped }
        case .eventRaised:
            break
        case .chatChannelBound(let binding):
            chatChannels[binding] = event.at
        case .chatMessagePosted(let posted):
            chatMessages[posted.binding] = posted.message
        case .decisionMade(let decision, let option, let rationale, let byDefault):
            assert(known == nil || known == compiled.decisionIndex[decision])
            if let d = known ?? compiled.decisionIndex[decision] {
                decisionByIndex[d] = DecisionRecord(option: option, rationale: rationale, byDefault: byDefault, actor: event.actor, at: event.at)
            }
        case .noteAdded(let text):
            noteCount += 1
            log.append(.note(NoteRecord(at: event.at, actor: event.actor, role: event.role, text: text)))
        case .lessonRecorded(let lesson):
            lessonCount += 1
            log.append(.lesson(LessonRecord(at: event.at, actor: event.actor, role: event.role, lesson: lesson)))
        case .timerArmed(let key, let due, let repeatEvery):
            var anchor = event.at
            if let slot = compiled.slotIndex[key.id] {
                if slotStates[slot].instance != key.instance {
                    // A new arming (a repeat re-arms with the same key and keeps its anchor).
                    slotStates[slot] = SlotState(instance: key.instance,
                                                 anchor: compiled.slots[slot].anchoredAtEntry ? event.at : (disruptionStart ?? event.at))
                }
                anchor = slotStates[slot].anchor
            }
            else if otherTimerInstances[key.id, default: 0] < key.instance {
                otherTimerInstances[key.id] = key.instance
            }
            removeArmed(key)
            let timer = ArmedTimer(key: key, due: due, repeatEvery: repeatEvery, anchor: anchor)
            var i = armedTimers.count
            while i > 0, timer.sortsBefore(armedTimers[i - 1]) { i -= 1 }
            armedTimers.insert(timer, at: i)
        case .timerFired(let key, _, _):
            removeArmed(key)
            if let timer = TimerKey.rollCallTimer(key.id), timer.kind == .resend { rollCalls[timer.rollCall]?.resends += 1 }
        case .timerCancelled(let key):
            removeArmed(key)
        case .notificationQueued:
            notificationCount += 1
        case .acknowledgementRequested(let request):
            acks[request.ack] = AckRecord(request, at: event.at)
        case .acknowledged(let ack, let person, _):
            acks[ack]?.acknowledgedBy = person
            acks[ack]?.acknowledgedAt = event.at
        case .escalated(let ack, let step, let to, let person, _):
            if var record = acks[ack] {
                record.step = step
                if let person { record.pagedPeople.append(person) }
                if to != AckSpec.deputy { record.pagedRoles.append(to) }
                acks[ack] = record
            }
        case .escalationExhausted(let ack, _):
            acks[ack]?.exhausted = true
        case .deputyNamed(let person, let deputy):
            deputies[person] = deputy
        case .rollCallRequested(let request):
            rollCalls[request.rollCall] = RollCallRecord(id: request.rollCall, requestedAt: event.at)
        case .rollCallStarted(let rollCall, let people, let routes):
            rollCalls[rollCall]?.start(people, routes: routes ?? [:], at: event.at)
        case .answerReceived(let rollCall, let person, let option, let channel, _):
            rollCalls[rollCall]?.answer(person, option: option, channel: channel, at: event.at)
        case .personAccounted(let rollCall, let person, let why):
            rollCalls[rollCall]?.mark(person, by: event.actor, why: why, at: event.at)
        case .rollCallProgress:
            break
        case .rollCallOverdue(let tally):
            rollCalls[tally.rollCall]?.overdue = true
        case .exerciseStarted, .injectDelivered, .injectWithheld, .exerciseClock, .playerActionRejected, .ratingOverruled:
            // The exercise layer's facts: `ExerciseRun` reads them; the run itself does not change.
            break
        case .notificationSent:
            deliveries.sent += 1
        case .notificationFailed:
            deliveries.failedAttempts += 1
        case .notificationDeadLettered:
            deliveries.deadLettered += 1
        case .notificationSkipped:
            deliveries.skipped += 1
        case .notificationRequeued:
            deliveries.requeued += 1
        case .runClosed(let reason):
            status = .closed
            info = RunInfo(runID: info.runID, mode: info.mode, title: info.title, severity: info.severity, startedAt: info.startedAt,
                           disruptionStart: info.disruptionStart, closedAt: event.at, closeReason: reason)
        }
    }

    private mutating func removeArmed(_ key: TimerKey) {
        if let i = armedTimers.firstIndex(where: { $0.key == key }) { armedTimers.remove(at: i) }
    }

    /// The effects a shell carries out for these events, in order: the engine's effects are exactly those
    /// that follow from what it journals, so a shell that only has events (catch-up, replay) derives them here.
    public static func effects(of events: [RunEvent]) -> [Effect] {
        var out: [Effect] = []
        for event in events {
            switch event.body {
            case .timerArmed(let key, let due, let repeatEvery): out.append(.startTimer(key: key, due: due, repeatEvery: repeatEvery))
            case .timerCancelled(let key): out.append(.cancelTimer(key: key))
            case .notificationQueued(let notification): out.append(.sendNotification(notification))
            case .rollCallRequested(let request): out.append(.resolveRollCall(request))
            default: break
            }
        }
        return out
    }
}

/// A page that asked for an acknowledgement, as it stands.
public struct AckRecord: Sendable, Hashable {
    public var id: String
    /// When the first page was queued (latencies count from it).
    public var requestedAt: Instant
    public var channel: String
    public var message: String
    /// The role first paged, and its holder then.
    public var role: String
    public var person: String?
    public var within: TimeSpan
    public var escalate: [String]
    /// Escalation steps taken (0: only the first page).
    public var step: Int = 0
    /// Everyone paged so far, and every role paged so far.
    public var pagedPeople: [String]
    public var pagedRoles: [String]
    public var acknowledgedBy: String?
    public var acknowledgedAt: Instant?
    public var exhausted = false

    init(_ request: AckRequested, at time: Instant) {
        id = request.ack
        requestedAt = time
        channel = request.channel
        message = request.message
        role = request.role
        person = request.person
        within = request.within
        escalate = request.escalate
        pagedPeople = request.person.map { [$0] } ?? []
        pagedRoles = [request.role]
    }
}

/// A roll call as it stands: who it asks, who answered what (the last answer counts), who was marked.
public struct RollCallRecord: Sendable, Hashable {
    public struct Answer: Sendable, Hashable {
        public var option: String
        public var channel: String
        public var at: Instant
        /// How many answers the person gave in all.
        public var count: Int
    }

    public struct Marked: Sendable, Hashable {
        public var by: String
        public var why: String
        public var at: Instant
    }

    public var id: String
    public var requestedAt: Instant
    public var startedAt: Instant?
    /// The people asked, in the order the shell gave them.
    public private(set) var people: [String] = []
    /// Each person's last answer.
    public private(set) var answers = Answers()
    public private(set) var marked: [String: Marked] = [:]
    /// Answered anything or marked, counted as it changes (guards read it after every command).
    public private(set) var accounted = 0
    private var byOption: [String: Int] = [:]
    /// For the people not reachable on every channel of `via`: the channels they are, in `via`'s order.
    public private(set) var routes: [String: [String]] = [:]
    /// Resends so far.
    public var resends = 0
    public var overdue = false

    init(id: String, requestedAt: Instant) {
        self.id = id
        self.requestedAt = requestedAt
    }

    public func asks(_ person: String) -> Bool { answers.position[person] != nil }
    public func isAccounted(_ person: String) -> Bool { answers[person] != nil || marked[person] != nil }
    /// People whose last answer is `option`.
    public func people(choosing option: String) -> Int { byOption[option] ?? 0 }
    public var isComplete: Bool { startedAt != nil && accounted == people.count }
    /// The people not yet accounted for, in order.
    public var unaccounted: [String] { people.filter { !isAccounted($0) } }

    /// The channel of a person's message number `message` (0: the first, then each resend): the next channel
    /// that reaches them, staying on the last; `via` in order for someone reachable everywhere, or nowhere (that
    /// message fails as unreached, which is what the tally should show).
    public func channel(for person: String, message: Int, via: [String]) -> String {
        let own = routes[person].flatMap { $0.isEmpty ? nil : $0 } ?? via
        guard !own.isEmpty else { return "" }
        return own[min(message, own.count - 1)]
    }

    mutating func start(_ people: [String], routes: [String: [String]], at time: Instant) {
        startedAt = time
        self.people = people
        self.routes = routes
        answers = Answers(people)
        marked = [:]
        accounted = 0
        byOption = [:]
    }

    mutating func answer(_ person: String, option: String, channel: String, at time: Instant) {
        guard let position = answers.position[person] else { return }
        let before = answers[position]
        if let before { byOption[before.option, default: 0] -= 1 } else if marked[person] == nil { accounted += 1 }
        byOption[option, default: 0] += 1
        answers[position] = Answer(option: option, channel: channel, at: time, count: (before?.count ?? 0) + 1)
    }

    mutating func mark(_ person: String, by: String, why: String, at time: Instant) {
        guard asks(person) else { return }
        if !isAccounted(person) { accounted += 1 }
        marked[person] = Marked(by: by, why: why, at: time)
    }

    /// The tally with the options in playbook order.
    public func tally(options: [String]) -> RollCallTally {
        let markedOnly = marked.keys.filter { answers[$0] == nil }.count
        return RollCallTally(rollCall: id, people: people.count, accounted: accounted, marked: markedOnly,
                             answers: options.map { .init(option: $0, people: byOption[$0] ?? 0) })
    }
}

/// Each asked person's last answer, looked up by name. Kept in chunks of 64 people: the runtime decides on a copy of
/// a run that its cache shares, and an answer then copies the list of chunks and one chunk, not every answer of a
/// 10,000-person roll call (`muster-bench rollcall`).
public struct Answers: Sendable, Hashable {
    static let chunk = 64
    /// Each person's place; set when the roll call starts and never changed, so every copy shares it.
    fileprivate(set) var position: [String: Int] = [:]
    private var chunks: [[RollCallRecord.Answer?]] = []

    init() {}

    init(_ people: [String]) {
        var position: [String: Int] = [:]
        position.reserveCapacity(people.count)
        for person in people where position[person] == nil { position[person] = position.count }
        self.position = position
        chunks = stride(from: 0, to: position.count, by: Self.chunk).map { Array(repeating: nil, count: min(Self.chunk, position.count - $0)) }
    }

    public subscript(person: String) -> RollCallRecord.Answer? {
        guard let place = position[person] else { return nil }
        return self[place]
    }

    subscript(place: Int) -> RollCallRecord.Answer? {
        get { chunks[place / Self.chunk][place % Self.chunk] }
        set { chunks[place / Self.chunk][place % Self.chunk] = newValue }
    }

    /// The answers given, in the order the people were asked.
    public var values: [RollCallRecord.Answer] { chunks.flatMap { $0.compactMap { $0 } } }
    /// How many people answered.
    public var count: Int { chunks.reduce(0) { $0 + $1.reduce(0) { $0 + ($1 == nil ? 0 : 1) } } }
    public var isEmpty: Bool { count == 0 }
}

/// Counts of delivery events on a run's timeline (attempts, not notifications: a notification retried
/// three times counts three failed attempts).
public struct DeliveryTally: Sendable, Hashable {
    public var sent = 0
    public var failedAttempts = 0
    public var deadLettered = 0
    public var skipped = 0
    public var requeued = 0

    public init() {}
}

public enum RunStatus: String, Sendable, Hashable, Codable {
    case notStarted = "not-started"
    case active
    case closed
}

public enum TaskStatus: String, Sendable, Hashable, Codable {
    case open, done, skipped
}

public struct DecisionRecord: Sendable, Hashable {
    public var option: String
    public var rationale: String
    public var byDefault: Bool
    public var actor: String
    public var at: Instant
}

public struct NoteRecord: Sendable, Hashable {
    public var at: Instant
    public var actor: String
    public var role: String?
    public var text: String
}

public struct LessonRecord: Sendable, Hashable {
    public var at: Instant
    public var actor: String
    public var role: String?
    public var lesson: Lesson
}

public struct ArmedTimer: Sendable, Hashable {
    public var key: TimerKey
    public var due: Instant
    public var repeatEvery: TimeSpan?
    /// What `timer.elapsed` counts from: the state's entry, or the disruption's start.
    public var anchor: Instant

    func sortsBefore(_ other: ArmedTimer) -> Bool { (due, key) < (other.due, other.key) }
}

extension Mark {
    /// Its position in `allCases`, without building `allCases` (the engine's hot path reads marks).
    var slot: Int {
        switch self {
        case .detected: 0
        case .declared: 1
        case .contained: 2
        case .recovered: 3
        case .closed: 4
        }
    }
}

/// The facts of a run that change only at start and close, kept in one immutable box.
final class RunInfo: Sendable, Equatable {
    let runID: String
    let mode: RunMode
    let title: String
    let severity: Severity
    let startedAt: Instant?
    let disruptionStart: Instant?
    let closedAt: Instant?
    let closeReason: String?

    init(runID: String = "", mode: RunMode = .live, title: String = "", severity: Severity, startedAt: Instant? = nil,
         disruptionStart: Instant? = nil, closedAt: Instant? = nil, closeReason: String? = nil) {
        self.runID = runID
        self.mode = mode
        self.title = title
        self.severity = severity
        self.startedAt = startedAt
        self.disruptionStart = disruptionStart
        self.closedAt = closedAt
        self.closeReason = closeReason
    }

    static func == (a: RunInfo, b: RunInfo) -> Bool {
        a === b || (a.runID == b.runID && a.mode == b.mode && a.title == b.title && a.severity == b.severity && a.startedAt == b.startedAt
            && a.disruptionStart == b.disruptionStart && a.closedAt == b.closedAt && a.closeReason == b.closeReason)
    }
}

struct SlotState: Sendable, Equatable {
    var instance: Int
    var anchor: Instant
}

/// Five optional instants stored inline (no heap buffer to copy), indexed by `Mark.slot`.
struct MarkTimes: Sendable, Equatable {
    private var detected, declared, contained, recovered, closed: Instant?

    subscript(slot: Int) -> Instant? {
        get {
            switch slot {
            case 0: detected
            case 1: declared
            case 2: contained
            case 3: recovered
            default: closed
            }
        }
        set {
            switch slot {
            case 0: detected = newValue
            case 1: declared = newValue
            case 2: contained = newValue
            case 3: recovered = newValue
            default: closed = newValue
            }
        }
    }
}

enum LogEntry: Sendable, Equatable {
    case note(NoteRecord)
    case lesson(LessonRecord)
}
