/// A fact about a run, as it is journaled. Every event names the time, the person who acted and the role
/// in which they acted (nil when they acted in none, or when the clock acted).
public struct RunEvent: Sendable, Hashable, Codable {
    public var at: Instant
    public var actor: String
    public var role: String?
    public var body: Body

    public init(at: Instant, actor: String, role: String?, _ body: Body) {
        self.at = at
        self.actor = actor
        self.role = role
        self.body = body
    }

    /// Cases whose payload is larger than a few words, or rare, are `indirect`: an event is copied and stored
    /// many times (a journal replays thousands), and an enum is as large as its largest case.
    public enum Body: Sendable, Hashable, Codable {
        indirect case runStarted(RunStarted)
        /// The run entered `state`, from `from` (nil at start), because of `cause`.
        case stateEntered(state: String, from: String?, cause: TransitionCause)
        case markSet(Mark)
        case roleAssigned(role: String, person: String)
        case roleRelieved(role: String, person: String, handover: String?)
        case taskCompleted(task: String, note: String?)
        case taskSkipped(task: String, reason: String?)
        /// An event raised by a person or a timer; `transitionTo` is nil when no transition took it.
        case eventRaised(name: String)
        case decisionMade(decision: String, option: String, rationale: String, byDefault: Bool)
        case noteAdded(text: String)
        case lessonRecorded(Lesson)
        case timerArmed(key: TimerKey, due: Instant, repeatEvery: TimeSpan?)
        case timerFired(key: TimerKey, due: Instant, lateBy: TimeSpan)
        case timerCancelled(key: TimerKey)
        indirect case notificationQueued(Notification)
        case runClosed(reason: String?)
        /// Delivery facts, recorded by the outbox worker (actor `muster`); they never change the run's workflow.
        /// `id` is the notification's id, `channel` the channel it was sent through (in an exercise, the
        /// `exercise:` override). One of `notificationSent` / `notificationFailed` per attempt.
        /// An attempt the receiver accepted: its status (HTTP status or last SMTP reply), how long it took.
        indirect case notificationSent(id: String, channel: String, status: Int?, latencyMs: Int64, attempt: Int)
        /// An attempt that failed, with the reason (secrets redacted) and, when it will be tried again, when.
        indirect case notificationFailed(id: String, channel: String, reason: String, attempt: Int, nextAttempt: Instant?)
        /// Given up: a permanent failure or the channel's `max_attempts` reached; a person may retry it.
        indirect case notificationDeadLettered(id: String, channel: String, reason: String, attempts: Int)
        /// Deliberately not sent (a `live_only` channel in an exercise run).
        indirect case notificationSkipped(id: String, channel: String, reason: String)
        /// A person sent a dead or failed notification back to the outbox (`muster outbox retry`); it gets
        /// a fresh set of attempts, counted from `attempts` (the attempts made before).
        indirect case notificationRequeued(id: String, channel: String, previousStatus: String, attempts: Int)

        // Hearing back: acknowledged pages and roll calls.
        /// A page that must be acknowledged was queued (`notification`); `step` 0 is the first page, each
        /// escalation step the next. `person` is who was paged (nil when nobody held `role`).
        indirect case acknowledgementRequested(AckRequested)
        /// `person` acknowledged `ack`, `latency` after the first page.
        indirect case acknowledged(ack: String, person: String, latency: TimeSpan)
        /// Nobody acknowledged within the time: step `step` (1-based) of `escalate` pages `person` (nil when nobody
        /// holds the role or the deputy is unknown) or `role`; `notification` is the new page.
        /// `notification` is nil for a `deputy` step when the person first paged has no known deputy: the step is
        /// recorded and passed over at once.
        indirect case escalated(ack: String, step: Int, to: String, person: String?, notification: String?)
        /// The last step passed without an acknowledgement.
        indirect case escalationExhausted(ack: String, steps: Int)
        /// Who stands in for `person` (`escalate: [deputy]`); nil: nobody.
        indirect case deputyNamed(person: String, deputy: String?)
        /// A roll call was asked for: the shell resolves `groups` from its directory and starts it with the people.
        indirect case rollCallRequested(RollCallRequest)
        /// The roll call started with these people (names only; their contact details stay in the directory).
        /// `routes`: for the people the directory cannot reach on every channel of `via`, the channels it can, in
        /// `via`'s order (names of channels, not addresses); each message to them goes through the next of those.
        /// Absent (nil) when everyone is reachable everywhere, as in journals written before it existed.
        indirect case rollCallStarted(rollCall: String, people: [String], routes: [String: [String]]? = nil)
        /// An answer, with the channel it came through and how long after the roll call's start it came.
        /// A person may answer again: every answer is recorded, the last counts.
        indirect case answerReceived(rollCall: String, person: String, option: String, channel: String, latency: TimeSpan)
        /// Someone (the event's actor) accounted for a person by hand, and why.
        indirect case personAccounted(rollCall: String, person: String, why: String)
        /// The tally at a resend, or when the last person was accounted for.
        indirect case rollCallProgress(RollCallTally)
        /// `within` passed before everyone was accounted for.
        indirect case rollCallOverdue(RollCallTally)

        // Facts of the exercise layer (`ExerciseRun`): journaled with the run's events, ignored by `Run.apply`.
        /// An exercise run began: which exercise, and the exercise file's text so that it can be evaluated later.
        indirect case exerciseStarted(ExerciseStarted)
        /// A master scenario events list row (or an ad-hoc message) reached the players.
        indirect case injectDelivered(InjectDelivery)
        /// A contingency inject (or an inject with `unless`) was not delivered, and why.
        indirect case injectWithheld(inject: String, reason: String)
        /// The scenario clock started, paused, resumed, changed speed, skipped ahead or ended.
        indirect case exerciseClock(ExerciseClockChange)
        /// A player's action the engine refused: recorded, as in a real exercise, with the engine's reason.
        indirect case playerActionRejected(action: String, reason: String)
        /// An evaluator replaced an objective's computed rating (`P`, `S`, `M`, `U`), with a note saying why.
        indirect case ratingOverruled(objective: String, rating: String, note: String)

        /// A Slack or Mattermost channel was bound to the run (`/muster declare` or `/muster bind`, docs/chat.md): slash
        /// commands typed there act on this run. The actor is who bound it. Changes nothing in the workflow.
        indirect case chatChannelBound(ChatChannelBinding)
        /// Muster posted the run's incident message in a bound chat channel (docs/chat.md): the platform's id of
        /// the message, which later edits update in place. Recorded so that any server (after a failover too)
        /// edits that message rather than posting another. Changes nothing in the workflow.
        indirect case chatMessagePosted(ChatMessagePosted)

        /// A stable name for the kind of event (journal column, timeline filters).
        public var typeName: String {
            switch self {
            case .runStarted: "run-started"
            case .stateEntered: "state-entered"
            case .markSet: "mark-set"
            case .roleAssigned: "role-assigned"
            case .roleRelieved: "role-relieved"
            case .taskCompleted: "task-completed"
            case .taskSkipped: "task-skipped"
            case .eventRaised: "event-raised"
            case .decisionMade: "decision-made"
            case .noteAdded: "note-added"
            case .lessonRecorded: "lesson-recorded"
            case .timerArmed: "timer-armed"
            case .timerFired: "timer-fired"
            case .timerCancelled: "timer-cancelled"
            case .notificationQueued: "notification-queued"
            case .runClosed: "run-closed"
            case .exerciseStarted: "exercise-started"
            case .injectDelivered: "inject-delivered"
            case .injectWithheld: "inject-withheld"
            case .exerciseClock: "exercise-clock"
            case .playerActionRejected: "player-action-rejected"
            case .ratingOverruled: "rating-overruled"
            case .chatChannelBound: "chat-channel-bound"
            case .chatMessagePosted: "chat-message-posted"
            case .notificationSent: "notification-sent"
            case .notificationFailed: "notification-failed"
            case .notificationDeadLettered: "notification-dead-lettered"
            case .notificationSkipped: "notification-skipped"
            case .notificationRequeued: "notification-requeued"
            case .acknowledgementRequested: "acknowledgement-requested"
            case .acknowledged: "acknowledged"
            case .escalated: "escalated"
            case .escalationExhausted: "escalation-exhausted"
            case .deputyNamed: "deputy-named"
            case .rollCallRequested: "roll-call-requested"
            case .rollCallStarted: "roll-call-started"
            case .answerReceived: "answer-received"
            case .personAccounted: "person-accounted"
            case .rollCallProgress: "roll-call-progress"
            case .rollCallOverdue: "roll-call-overdue"
            }
        }
    }
}

public struct RunStarted: Sendable, Hashable, Codable {
    public var runID: String
    public var playbookID: String
    public var playbookVersion: Int
    public var mode: RunMode
    public var title: String
    public var severity: Severity
    /// When the disruption began; RTO and MTPD clocks and `run.start` timers count from it.
    public var disruptionStart: Instant

    public init(runID: String, playbookID: String, playbookVersion: Int, mode: RunMode, title: String, severity: Severity, disruptionStart: Instant) {
        self.runID = runID
        self.playbookID = playbookID
        self.playbookVersion = playbookVersion
        self.mode = mode
        self.title = title
        self.severity = severity
        self.disruptionStart = disruptionStart
    }
}

/// A page that must be acknowledged.
public struct AckRequested: Sendable, Hashable, Codable {
    public var ack: String
    /// The notification that carries the page.
    public var notification: String
    public var channel: String
    /// The role paged, and its holder at the time (nil when nobody held it).
    public var role: String
    public var person: String?
    public var within: TimeSpan
    /// The escalation steps still to come, in order (`deputy` or role ids).
    public var escalate: [String]
    /// The page's text, repeated to each escalation step.
    public var message: String

    public init(ack: String, notification: String, channel: String, role: String, person: String?, within: TimeSpan,
                escalate: [String], message: String) {
        self.ack = ack
        self.notification = notification
        self.channel = channel
        self.role = role
        self.person = person
        self.within = within
        self.escalate = escalate
        self.message = message
    }
}

/// A roll call asked for, before the shell resolved its groups.
public struct RollCallRequest: Sendable, Hashable, Codable {
    public var rollCall: String
    /// Directory groups to resolve.
    public var groups: [String]
    /// People named in the playbook, and the holders of its roles at the time.
    public var people: [String]

    public init(rollCall: String, groups: [String], people: [String]) {
        self.rollCall = rollCall
        self.groups = groups
        self.people = people
    }
}

/// Where a roll call stands: how many it asks, how many are accounted for, the last answers per option.
public struct RollCallTally: Sendable, Hashable, Codable {
    public var rollCall: String
    public var people: Int
    /// Answered (any option) or marked accounted by hand.
    public var accounted: Int
    /// Marked accounted by hand without having answered.
    public var marked: Int
    /// People per option of their last answer, in the playbook's option order (options nobody chose: 0).
    public var answers: [OptionCount]

    public struct OptionCount: Sendable, Hashable, Codable {
        public var option: String
        public var people: Int
        public init(option: String, people: Int) {
            self.option = option
            self.people = people
        }
    }

    public init(rollCall: String, people: Int, accounted: Int, marked: Int, answers: [OptionCount]) {
        self.rollCall = rollCall
        self.people = people
        self.accounted = accounted
        self.marked = marked
        self.answers = answers
    }

    /// People not yet accounted for.
    public var unaccounted: Int { people - accounted }
}

/// What an exercise run records when it starts.
public struct ExerciseStarted: Sendable, Hashable, Codable {
    public var exercise: String
    public var title: String
    /// `tabletop`, `drill`, ...
    public var type: String
    /// The exercise file as named on the command line, and its text (the evaluation reads the expectations from it).
    public var file: String
    public var text: String
    /// The player script, when players were scripted.
    public var players: String?
    /// The scenario clock's speed at the start: `30`, `0.5`, `manual` or `max`.
    public var speed: String
    /// Who facilitates when it is not the exercise file's first controller: the person who started the
    /// exercise through `muster serve`. Absent (not null) otherwise, so older payloads keep their bytes.
    public var facilitator: String?
    /// `server` when `muster serve` drives the run: a server re-attaches such an open run after a restart.
    /// Absent for the terminal console.
    public var driver: String?

    public init(exercise: String, title: String, type: String, file: String, text: String, players: String?, speed: String,
                facilitator: String? = nil, driver: String? = nil) {
        self.exercise = exercise
        self.title = title
        self.type = type
        self.file = file
        self.text = text
        self.players = players
        self.speed = speed
        self.facilitator = facilitator
        self.driver = driver
    }
}

/// One inject as delivered: the row of the master scenario events list, or an ad-hoc message (`adHoc`).
public struct InjectDelivery: Sendable, Hashable, Codable {
    public var inject: String
    public var from: String?
    /// Roles it was addressed to.
    public var to: [String]
    /// `phone`, `email`, `chat`, `in-person` or `channel:NAME`.
    public var method: String
    public var message: String
    public var contingency: Bool
    public var adHoc: Bool

    public init(inject: String, from: String?, to: [String], method: String, message: String, contingency: Bool, adHoc: Bool) {
        self.inject = inject
        self.from = from
        self.to = to
        self.method = method
        self.message = message
        self.contingency = contingency
        self.adHoc = adHoc
    }
}

/// What happened to the scenario clock. Speeds are text (`30`, `0.5`, `manual`, `max`): payloads hold no fractions.
public enum ExerciseClockChange: Sendable, Hashable, Codable {
    case started(speed: String)
    case paused
    case resumed
    case speedChanged(speed: String)
    case skipped(by: TimeSpan)
    case ended(reason: String)
    /// Stopped without a person pausing it (the server driving it stopped or restarted), at the scenario time
    /// last reached; the facilitator resumes it. Replays as `paused`.
    case suspended(reason: String)
}

public enum TransitionCause: Sendable, Hashable, Codable {
    case start
    /// An eventless transition whose guard came to hold.
    case guardHeld
    case event(String)
    indirect case decision(id: String, option: String)
}

/// A notification the run wants delivered: the rendered text for a playbook channel.
public struct Notification: Sendable, Hashable, Codable {
    /// Unique within the run (`n1`, `n2`, ...), the basis of idempotency keys.
    public var id: String
    public var channel: String
    public var message: String
    /// What caused it: `enter:STATE`, `timer:ID`, `ack:ID` (an escalation), `rollcall:ID`.
    public var trigger: String
    /// A personal message: the person it is for (by name; the shell finds their contact point in its directory).
    /// Absent (not null) otherwise, so that older payloads keep their bytes.
    public var person: String?
    /// The role paged, for a page to a role's holder.
    public var role: String?
    /// The acknowledgement it asks for, if any.
    public var ack: String?
    /// The roll call it asks, if any (the shell adds the options and a personal answer link).
    public var rollCall: String?

    public init(id: String, channel: String, message: String, trigger: String, person: String? = nil, role: String? = nil,
                ack: String? = nil, rollCall: String? = nil) {
        self.id = id
        self.channel = channel
        self.message = message
        self.trigger = trigger
        self.person = person
        self.role = role
        self.ack = ack
        self.rollCall = rollCall
    }
}

/// What the shell must do after journaling the events.
public enum Effect: Sendable, Hashable {
    case startTimer(key: TimerKey, due: Instant, repeatEvery: TimeSpan?)
    case cancelTimer(key: TimerKey)
    case sendNotification(Notification)
    /// Resolve the roll call's groups from the people directory, and answer with `startRollCall` carrying
    /// `people` plus the members of `groups`.
    case resolveRollCall(RollCallRequest)
}

/// A refused command: nothing changes; `code` says which rule refused it (stable: edges map it to an exit
/// status or an HTTP answer), `reason` says why in words a responder can act on (may be reworded).
///
/// The engine builds the reason only when someone reads it: a refused command costs a comparison, not the
/// formatting of a sentence nobody may print (a benchmark or a player script refuses thousands).
public struct Rejection: Error, Sendable, Hashable, CustomStringConvertible {
    /// A machine-readable name for the rule that refused a command (like postgres-nio's `PSQLError.Code`):
    /// a string with named values, so that new codes do not break exhaustive switches. Documented in
    /// `docs/engine.md`; the CLI's exit statuses and the API's error bodies follow it.
    public struct Code: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        // The run's life.
        /// A command before `start`.
        public static let notStarted = Code("not-started")
        /// `start` on a run that has started.
        public static let alreadyStarted = Code("already-started")
        /// Anything but a note or a lesson on a closed run.
        public static let runClosed = Code("run-closed")
        /// The run's state, a target or the commanding role is not in the playbook it is replayed with.
        public static let playbookMismatch = Code("playbook-mismatch")
        /// More than `Run.maximumTransitionsPerStep` transitions in one command.
        public static let doesNotSettle = Code("does-not-settle")

        // Names the playbook does not define.
        public static let unknownRole = Code("unknown-role")
        public static let unknownTask = Code("unknown-task")
        public static let unknownDecision = Code("unknown-decision")
        public static let unknownOption = Code("unknown-option")
        /// An event the current state takes no transition on.
        public static let unknownEvent = Code("unknown-event")
        /// A timer that is not armed (cancelled, fired, re-armed, never existed).
        public static let unknownTimer = Code("unknown-timer")
        /// A person the shell does not know (roles go to known people where the shell has a directory), or a
        /// person a roll call does not ask.
        public static let unknownPerson = Code("unknown-person")
        /// An acknowledgement id no page of the run has asked for.
        public static let unknownAck = Code("unknown-ack")
        /// A roll call the playbook does not define.
        public static let unknownRollCall = Code("unknown-roll-call")
        /// A roll call that has not been asked for (`startRollCall`) or not started (answers).
        public static let notRequested = Code("not-requested")

        // Who may act.
        /// The actor does not hold the role the rule needs (incident commander, a task's or decision's role).
        public static let notPermitted = Code("not-permitted")
        /// The actor holds no role at all (raising events needs one).
        public static let noRole = Code("no-role")

        // When it may happen.
        /// The task or decision belongs to another state than the current one.
        public static let wrongState = Code("wrong-state")
        /// The task is done or skipped, the decision made in this visit, the role held by that person already.
        public static let alreadyDone = Code("already-done")
        /// Relieving a role nobody holds.
        public static let notAssigned = Code("not-assigned")
        /// The transition's guard does not hold yet.
        public static let guardFailed = Code("guard-failed")
        /// A timer fired before its due time.
        public static let notDue = Code("not-due")
        /// Relieving the commanding role, or closing outside a terminal state without a reason.
        public static let ruleViolated = Code("rule-violated")

        // What the command carries.
        /// Empty text, a missing rationale, a missing name or id, a disruption after the start.
        public static let invalidArgument = Code("invalid-argument")
        /// A task that needs evidence completed without a note.
        public static let evidenceRequired = Code("evidence-required")
        /// A timer whose due time cannot be worked out (an objective the playbook lacks).
        public static let timerUnresolvable = Code("timer-unresolvable")

        // The improvement log's rules (`MusterReports.ImprovementRecords`).
        /// No improvement action with that id.
        public static let unknownAction = Code("unknown-action")
        /// The action's status does not allow the move (start before open, review before done, ...).
        public static let wrongStatus = Code("wrong-status")
    }

    public let code: Code
    private let message: Message

    private enum Message: Sendable {
        case text(String)
        case deferred(@Sendable () -> String)
    }

    public init(_ code: Code, _ reason: String) {
        self.code = code
        message = .text(reason)
    }

    /// The reason is built when it is first read (each read builds it again: it is for printing).
    public init(_ code: Code, reason: @escaping @Sendable () -> String) {
        self.code = code
        message = .deferred(reason)
    }

    public var reason: String {
        switch message {
        case .text(let text): text
        case .deferred(let build): build()
        }
    }

    public var description: String { reason }

    public static func == (a: Rejection, b: Rejection) -> Bool { a.code == b.code && a.reason == b.reason }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(reason)
    }
}

/// The engine's answer to a command.
public enum Outcome: Sendable, Hashable {
    case accepted(events: [RunEvent], effects: [Effect])
    case rejected(Rejection)
}

/// The incident message Muster posted in a bound channel: the channel and the platform's id of the message (Slack
/// `ts`, Mattermost post id).
public struct ChatMessagePosted: Sendable, Hashable, Codable {
    public var binding: ChatChannelBinding
    public var message: String

    public init(binding: ChatChannelBinding, message: String) {
        self.binding = binding
        self.message = message
    }
}

/// A chat channel bound to a run: the platform (`slack`, `mattermost`) and the platform's id of the channel (Slack
/// `channel_id`, Mattermost `channel_id`); `team` is the Slack workspace or Mattermost team when the platform said.
public struct ChatChannelBinding: Sendable, Hashable, Codable {
    public var platform: String
    public var channel: String
    public var team: String?

    public init(platform: String, channel: String, team: String? = nil) {
        self.platform = platform
        self.channel = channel
        self.team = team
    }
}
