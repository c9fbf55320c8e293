/// What the incident message in a bound chat channel shows (docs/chat.md), the same for Slack and Mattermost: the
/// run's state and phase, who holds each role, the open tasks by role (each with a button), the pending decision
/// with its options and deadline, the next timers, the RTO and MTPD countdowns and the roll calls' tallies; an
/// exercise says EXERCISE first. Pure: built from the run and an instant, rendered by each platform's payload.
///
/// Times are whole minutes ("in 42m", `TimeSpan.forPeople` as every message to a channel words them), so the message changes when something happens or a minute passes, not
/// every second: the edits stay few.
public struct IncidentMessage: Sendable, Hashable {
    public struct RoleHolder: Sendable, Hashable {
        public var role: String
        public var title: String
        public var holder: String?
        public var required: Bool
    }

    public struct OpenTask: Sendable, Hashable {
        public var id: String
        public var title: String
        public var evidence: Bool
    }

    /// Open tasks of one role, in the playbook's order.
    public struct RoleTasks: Sendable, Hashable {
        public var role: String
        public var holder: String?
        public var tasks: [OpenTask]
    }

    public struct PendingDecision: Sendable, Hashable {
        public var id: String
        public var question: String
        public var role: String
        public var holder: String?
        public var options: [String]
        public var defaultOption: String?
        public var deadline: Instant?
    }

    public struct Countdown: Sendable, Hashable {
        /// A timer's id, or `RTO file-shares`.
        public var name: String
        public var due: Instant
        /// "in 42m", "OVERDUE by 3m", or for objectives after recovery "met (recovered after 3h10m)".
        public var text: String
    }

    public var runID: String
    public var title: String
    public var exercise: Bool
    public var severity: String
    public var closed: Bool
    public var closeReason: String?
    /// `isolate: Isolate affected hosts` and its phases, or nil when the run is in no known state.
    public var state: String?
    public var phases: [String]
    public var roles: [RoleHolder]
    public var openTasks: [RoleTasks]
    public var decision: PendingDecision?
    public var timers: [Countdown]
    /// Timers left out of `timers` (more than `maxTimers`).
    public var moreTimers: Int
    public var objectives: [Countdown]
    /// One line per roll call: its id and `HearingBackText.tally`.
    public var rollCalls: [String]
    public var asOf: Instant

    public static let maxTimers = 5

    public init(runID: String, run: Run, now: Instant) {
        let playbook = run.playbook
        self.runID = runID
        title = run.title
        exercise = run.mode == .exercise
        severity = run.severity.rawValue
        closed = run.status == .closed
        closeReason = run.closeReason
        asOf = now
        let current = run.currentState.flatMap { id in playbook.states.first { $0.id.value == id } }
        state = current.map { "\($0.id.value): \($0.displayTitle)" } ?? run.currentState
        phases = current?.phases.map(\.rawValue) ?? []
        roles = playbook.roles.map { RoleHolder(role: $0.id.value, title: $0.title, holder: run.holder(of: $0.id.value), required: $0.required) }

        var byRole: [RoleTasks] = []
        if let current, !closed {
            for task in current.tasks where (run.taskStatus(task.id.value) ?? .open) == .open {
                let open = OpenTask(id: task.id.value, title: task.title, evidence: task.evidenceRequired)
                if let index = byRole.firstIndex(where: { $0.role == task.role.value }) {
                    byRole[index].tasks.append(open)
                } else {
                    byRole.append(RoleTasks(role: task.role.value, holder: run.holder(of: task.role.value), tasks: [open]))
                }
            }
        }
        openTasks = byRole

        decision = nil
        if let current, !closed, let spec = current.decision, run.decision(spec.id.value) == nil {
            let deadline = run.armedTimers.first { $0.key.id == TimerKey.deadline(of: spec.id.value) }?.due
            decision = PendingDecision(id: spec.id.value, question: spec.question, role: spec.by.value, holder: run.holder(of: spec.by.value),
                                       options: spec.options.map(\.name.value), defaultOption: spec.defaultOption?.value, deadline: deadline)
        }

        let armed = closed ? [] : run.armedTimers
        timers = armed.prefix(Self.maxTimers).map { Countdown(name: $0.key.id, due: $0.due, text: Self.countdown(to: $0.due, now: now)) }
        moreTimers = max(0, armed.count - Self.maxTimers)

        var objectives: [Countdown] = []
        if let disruption = run.disruptionStart {
            let recovered = run.mark(.recovered)
            for service in playbook.services {
                for (name, objective) in [("RTO", service.rto), ("MTPD", service.mtpd)] {
                    guard let objective else { continue }
                    let due = disruption + objective.value
                    let text: String
                    if let recovered {
                        let took = recovered - disruption
                        text = (recovered <= due ? "met" : "EXCEEDED") + " (recovered after \(took.forPeople(unit: .minutes(1))))"
                    } else if closed {
                        text = "not marked recovered"
                    } else {
                        text = Self.countdown(to: due, now: now)
                    }
                    objectives.append(Countdown(name: "\(name) \(service.id.value) (\(objective.value))", due: due, text: text))
                }
            }
        }
        self.objectives = objectives

        let hearingBack = HearingBack(run, now: now, reach: nil)
        rollCalls = hearingBack.rollCalls.map { "\($0.id): " + HearingBackText.tally($0, now: now) }
    }

    /// "in 42m", "in 1h5m", "due now", "OVERDUE by 3m": whole minutes, as messages to channels word spans
    /// (`TimeSpan.forPeople`), rounded up while ahead so that "in 1m" lasts until it is due.
    public static func countdown(to due: Instant, now: Instant) -> String {
        let minute = TimeSpan.minutes(1)
        let left = (due - now).milliseconds
        if left > 0 { return "in " + TimeSpan(milliseconds: (left + minute.milliseconds - 1) / minute.milliseconds * minute.milliseconds).forPeople(unit: minute) }
        if left > -minute.milliseconds { return "due now" }
        return "OVERDUE by " + TimeSpan(milliseconds: -left).forPeople(unit: minute)
    }
}
