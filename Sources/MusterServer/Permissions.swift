import MusterCore

/// What a person asks to do on a run, as far as permissions care. The engine's own rules apply afterwards.
public enum RunAction: Sendable, Hashable {
    case read
    case note
    case lesson
    case raiseEvent
    case assign
    case relieve
    case close
    /// Complete or skip a task; `role` is the task's role in the playbook (nil: no such task, the engine says so).
    case task(role: String?)
    /// Make a decision; `role` is the decision's `by` role (nil: no such decision).
    case decide(role: String?)
    /// The facilitator's clock and inject controls in an exercise.
    case exerciseControl
    /// Read an exercise's evaluation (objectives, expectations, ratings). Before the exercise ends it shows what
    /// is expected of injects still to come, so only the facilitator and the incident commander see it then.
    case readEvaluation(exerciseEnded: Bool)
    /// Overrule an objective's computed rating with a note: the facilitator or the incident commander.
    case overruleRating
    /// Send a dead-lettered notification back to the outbox: the incident commander, or an admin who sees the run.
    case retryNotification(byAdmin: Bool)
    /// Acknowledge a page: anyone who sees the run (the engine checks that they were paged, hold a paged role or
    /// command the run: a deputy paged by escalation holds no role).
    case acknowledge
    /// Answer a roll call for `person`: the person themself (no role needed: the people asked are mostly not on
    /// the run), or anyone holding a role on the run answering for someone else (a warden relaying a phone call).
    case answer(for: String)
    /// Mark a person accounted for by hand: anyone holding a role on the run.
    case markAccounted
}

/// Who is on a run: the role holders, whether it is restricted, and (exercises started by the server) the facilitator.
public struct RunAccess: Sendable, Hashable {
    /// role id -> person
    public var holders: [String: String]
    public var restricted: Bool
    public var facilitator: String?
    /// The run's commanding role (`Run.commanderRole`: `incident_commander` unless its playbook names another).
    public var commanderRole: String

    public init(holders: [String: String], restricted: Bool = false, facilitator: String? = nil,
                commanderRole: String = Playbook.incidentCommander) {
        self.holders = holders
        self.restricted = restricted
        self.facilitator = facilitator
        self.commanderRole = commanderRole
    }

    /// Who commands the run.
    public var commander: String? { holders[commanderRole] }

    public func holds(_ person: String, _ role: String) -> Bool { holders[role] == person }
    public func isOn(_ person: String) -> Bool { holders.values.contains(person) || facilitator == person }
}

/// The answer: allowed; forbidden (403, with why); or hidden (404: a restricted run the person is not on).
public enum PermissionDecision: Sendable, Hashable {
    case allowed
    case forbidden(String)
    case hidden

    public var isAllowed: Bool { self == .allowed }

    /// What the API answers when refused: 404 for a run the person may not know of, 403 saying why; nil when allowed.
    func refusal(runID: String) -> APIError? {
        switch self {
        case .allowed: nil
        case .hidden: .notFound("no run '\(runID)'")
        case .forbidden(let why): APIError(403, why)
        }
    }
}

/// The server's permission rules, as one pure function (table-tested in `PermissionTests`).
///
/// - Restricted run, person not on it: hidden (404) for everything, reading included.
/// - Anyone who sees the run reads it and adds notes.
/// - Tasks: the holder of the task's role, or the incident commander.
/// - Decisions: the holder of the decision's role.
/// - Assign, relieve, close: the incident commander.
/// - Events and lessons: anyone on the run (an observer only reads and notes).
/// - Exercise clock and injects: the facilitator.
/// - An exercise's evaluation: the facilitator and the incident commander; everyone who sees the run once it ended.
/// - Overruling a rating: the facilitator or the incident commander.
/// - Retrying a dead-lettered notification: the incident commander, or an admin.
/// - Acknowledging a page: anyone who sees the run (the engine checks who was paged).
/// - Answering a roll call: the person asked, for themself; for someone else, a role holder.
/// - Marking a person accounted for: a role holder.
public enum Permissions {
    public static func decide(_ action: RunAction, by person: String, on access: RunAccess) -> PermissionDecision {
        let onRun = access.isOn(person)
        if access.restricted, !onRun { return .hidden }
        let commander = access.holds(person, access.commanderRole)
        switch action {
        case .read, .note:
            return .allowed
        case .lesson, .raiseEvent:
            return onRun ? .allowed : .forbidden("\(person) is not on this run (an observer reads and adds notes only)")
        case .assign, .relieve, .close:
            return commander ? .allowed : .forbidden("only the incident commander (\(access.commander ?? "unassigned")) may \(verb(action))")
        case .task(let role):
            guard let role else {
                return onRun ? .allowed : .forbidden("\(person) is not on this run (an observer reads and adds notes only)")
            }
            if commander || access.holds(person, role) { return .allowed }
            return .forbidden("only the holder of \(role) (\(access.holders[role] ?? "unassigned")) or the incident commander may complete or skip its tasks")
        case .decide(let role):
            guard let role else {
                return onRun ? .allowed : .forbidden("\(person) is not on this run (an observer reads and adds notes only)")
            }
            if access.holds(person, role) { return .allowed }
            return .forbidden("the decision belongs to \(role) (\(access.holders[role] ?? "unassigned"))")
        case .exerciseControl:
            if let facilitator = access.facilitator, facilitator == person { return .allowed }
            return .forbidden("only the facilitator (\(access.facilitator ?? "none in this server")) controls the exercise clock and injects")
        case .readEvaluation(let ended):
            if ended || commander || access.facilitator == person { return .allowed }
            return .forbidden("until the exercise ends only the facilitator (\(access.facilitator ?? "none in this server")) and the incident commander (\(access.commander ?? "unassigned")) see its evaluation")
        case .overruleRating:
            if commander || access.facilitator == person { return .allowed }
            return .forbidden("only the facilitator (\(access.facilitator ?? "none in this server")) or the incident commander (\(access.commander ?? "unassigned")) may overrule a rating")
        case .retryNotification(let admin):
            if commander || admin { return .allowed }
            return .forbidden("only the incident commander (\(access.commander ?? "unassigned")) or an admin may retry a notification")
        case .acknowledge:
            return .allowed
        case .answer(let answerer):
            if answerer == person || access.holders.values.contains(person) { return .allowed }
            return .forbidden("\(person) may answer for themself only: answering for \(answerer) takes a role on this run")
        case .markAccounted:
            if access.holders.values.contains(person) { return .allowed }
            return .forbidden("only someone holding a role on this run may mark people accounted for")
        }
    }

    static func verb(_ action: RunAction) -> String {
        switch action {
        case .assign: "assign roles on this run"
        case .relieve: "relieve roles on this run"
        case .close: "close this run"
        default: "do that"
        }
    }
}

/// The permission question a command asks (`RunAction`), from the run's playbook: task id -> owning role and
/// decision id -> deciding role, indexed once per playbook rather than scanned per command.
struct RoleIndex {
    var tasks: [String: String] = [:]
    var decisions: [String: String] = [:]

    init(_ playbook: Playbook) {
        for state in playbook.states {
            for task in state.tasks where tasks[task.id.value] == nil { tasks[task.id.value] = task.role.value }
            if let d = state.decision, decisions[d.id.value] == nil { decisions[d.id.value] = d.by.value }
        }
    }

    func action(_ action: Command.Action) -> RunAction {
        switch action {
        case .completeTask(let task, _), .skipTask(let task, _): .task(role: tasks[task])
        case .decide(let decision, _, _): .decide(role: decisions[decision])
        case .assign: .assign
        case .relieve: .relieve
        case .close: .close
        case .note: .note
        case .lesson: .lesson
        case .raise: .raiseEvent
        case .start, .fireTimer: .close
        // Hearing back: the engine checks who was paged and who is asked; the personal answer routes (links, chat
        // buttons, SMS replies) are not wired yet.
        case .acknowledge: .acknowledge
        case .answer(_, let person, _, _): .answer(for: person)
        case .markAccounted: .markAccounted
        case .nameDeputy, .startRollCall: .assign
        }
    }
}
