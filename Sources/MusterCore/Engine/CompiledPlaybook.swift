/// A playbook resolved once to integer indices, shared (by reference, immutably) by every copy of a run,
/// so that the engine's hot path does array indexing instead of searching the playbook by name.
///
/// It tolerates a playbook that did not pass validation: an unknown reference resolves to `-1` and the
/// engine rejects the command that needs it, rather than crashing.
final class CompiledPlaybook: Sendable, Equatable {
    /// Immutable once `CompiledPlaybook.init` returns (a class, so that reading one costs one retain).
    final class CState: @unchecked Sendable {
        let id: String
        let title: String
        let phases: String
        let marks: [Mark]
        let onEnter: [EntryAction]
        let tasks: [Int]
        /// Timer slots armed on entry, in playbook order.
        let timerSlots: [Int]
        let decision: Int?
        var eventless: [CTransition]
        /// Transitions by event name, each list in playbook order.
        var onEvent: [String: [CTransition]]
        /// The event names the state takes, sorted, for messages.
        var eventNames: [String]
        let terminal: Bool
        let owner: Int


        init(id: String, title: String, phases: String, marks: [Mark], onEnter: [EntryAction], tasks: [Int], timerSlots: [Int], decision: Int?, eventless: [CTransition], onEvent: [String: [CTransition]], eventNames: [String], terminal: Bool, owner: Int) {
            self.id = id
            self.title = title
            self.phases = phases
            self.marks = marks
            self.onEnter = onEnter
            self.tasks = tasks
            self.timerSlots = timerSlots
            self.decision = decision
            self.eventless = eventless
            self.onEvent = onEvent
            self.eventNames = eventNames
            self.terminal = terminal
            self.owner = owner
        }
    }

    /// Immutable once `CompiledPlaybook.init` returns (a class, so that reading one costs one retain).
    final class CTransition: @unchecked Sendable {
        let on: String?
        let guardExpression: CGuard?
        let guardText: String?
        let target: Int
        let targetName: String


        init(on: String?, guardExpression: CGuard?, guardText: String?, target: Int, targetName: String) {
            self.on = on
            self.guardExpression = guardExpression
            self.guardText = guardText
            self.target = target
            self.targetName = targetName
        }
    }

    /// Immutable once `CompiledPlaybook.init` returns (a class, so that reading one costs one retain).
    final class CTask: @unchecked Sendable {
        let id: String
        let state: Int
        let role: Int
        let roleName: String
        let evidenceRequired: Bool


        init(id: String, state: Int, role: Int, roleName: String, evidenceRequired: Bool) {
            self.id = id
            self.state = state
            self.role = role
            self.roleName = roleName
            self.evidenceRequired = evidenceRequired
        }
    }

    struct COption: Sendable {
        var name: String
        var target: Int
        var targetName: String
    }

    /// Immutable once `CompiledPlaybook.init` returns (a class, so that reading one costs one retain).
    final class CDecision: @unchecked Sendable {
        let id: String
        let state: Int
        let by: Int
        let byName: String
        let options: [COption]
        let deadline: TimeSpan?
        let defaultOption: String?
        let slot: Int?


        init(id: String, state: Int, by: Int, byName: String, options: [COption], deadline: TimeSpan?, defaultOption: String?, slot: Int?) {
            self.id = id
            self.state = state
            self.by = by
            self.byName = byName
            self.options = options
            self.deadline = deadline
            self.defaultOption = defaultOption
            self.slot = slot
        }

        func option(_ name: String) -> COption? { options.first { $0.name == name } }
    }

    enum Timing: Sendable {
        /// Due this long after the state is entered (the anchor is the entry).
        case afterEntry(TimeSpan)
        /// Due this long after the disruption began (the anchor is the disruption's start);
        /// nil when the expression names an objective the playbook does not define (`problem` says which).
        case afterDisruption(TimeSpan?, problem: String?)
    }

    enum SlotKind: Sendable {
        case spec(TimerSpec)
        case deadline(decision: Int)
    }

    /// Something that can be armed: a playbook timer or a decision's deadline.
    /// Immutable once `CompiledPlaybook.init` returns (a class, so that reading one costs one retain).
    final class CSlot: @unchecked Sendable {
        let id: String
        /// The state that arms it, or -1 for a run-wide timer.
        let owner: Int
        let kind: SlotKind
        let timing: Timing
        let repeatEvery: TimeSpan?
        /// The timer's `when:`, compiled (set once in `CompiledPlaybook.init`, when tasks and decisions are known).
        fileprivate(set) var guardExpression: CGuard?
        /// Cancelled when the run is marked recovered (an RTO or MTPD deadline).
        let endsAtRecovery: Bool

        init(id: String, owner: Int, kind: SlotKind, timing: Timing, repeatEvery: TimeSpan?) {
            if case .spec(let spec) = kind { endsAtRecovery = spec.endsAtRecovery } else { endsAtRecovery = false }
            self.id = id
            self.owner = owner
            self.kind = kind
            self.timing = timing
            self.repeatEvery = repeatEvery
        }

        var anchoredAtEntry: Bool {
            if case .afterEntry = timing { return true }
            return false
        }
    }

    let playbook: Playbook
    let id: String
    let stateIndex: [String: Int]
    let states: [CState]
    let taskIndex: [String: Int]
    let tasks: [CTask]
    let roleIndex: [String: Int]
    let roleIDs: [String]
    let commander: Int
    /// The commanding role's id (`Playbook.commanderRole`).
    let commanderRole: String
    let decisionIndex: [String: Int]
    let decisions: [CDecision]
    let slotIndex: [String: Int]
    let slots: [CSlot]
    let runWideSlots: [Int]
    let serviceIndex: [String: Int]
    let start: Int

    init(_ playbook: Playbook) {
        self.playbook = playbook
        id = playbook.id.value

        func indexed(_ names: [String]) -> [String: Int] {
            var map: [String: Int] = [:]
            for (i, name) in names.enumerated() where map[name] == nil { map[name] = i }
            return map
        }

        let stateIndex = indexed(playbook.states.map(\.id.value))
        let roleIDs = playbook.roles.map(\.id.value)
        let roleIndex = indexed(roleIDs)
        let serviceIndex = indexed(playbook.services.map(\.id.value))
        self.stateIndex = stateIndex
        self.roleIDs = roleIDs
        self.roleIndex = roleIndex
        self.serviceIndex = serviceIndex
        commanderRole = playbook.commanderRole
        commander = roleIndex[commanderRole] ?? -1
        start = stateIndex[playbook.start.value] ?? -1

        var tasks: [CTask] = []
        var decisions: [CDecision] = []
        var slots: [CSlot] = []

        func timing(of spec: TimerSpec, inState: Bool) -> Timing {
            switch spec.anchor {
            case .after(let span):
                return inState ? .afterEntry(span.value) : .afterDisruption(span.value, problem: nil)
            case .at(let expression):
                switch expression.value.base {
                case .runStart:
                    return .afterDisruption(expression.value.offset, problem: nil)
                case .objective(let service, let objective):
                    guard let index = serviceIndex[service.value] else {
                        return .afterDisruption(nil, problem: "service '\(service.value)' is not defined in playbook '\(playbook.id.value)'")
                    }
                    guard let value = playbook.services[index].objective(objective) else {
                        return .afterDisruption(nil, problem: "service '\(service.value)' has no \(objective.rawValue)")
                    }
                    return .afterDisruption(value.value + expression.value.offset, problem: nil)
                }
            }
        }

        var runWide: [Int] = []
        for spec in playbook.timers {
            runWide.append(slots.count)
            slots.append(CSlot(id: spec.id.value, owner: -1, kind: .spec(spec), timing: timing(of: spec, inState: false),
                               repeatEvery: spec.repeatEvery?.value))
        }
        runWideSlots = runWide

        var states: [CState] = []
        for (s, state) in playbook.states.enumerated() {
            var taskIDs: [Int] = []
            for task in state.tasks {
                taskIDs.append(tasks.count)
                tasks.append(CTask(id: task.id.value, state: s, role: roleIndex[task.role.value] ?? -1,
                                   roleName: task.role.value, evidenceRequired: task.evidenceRequired))
            }
            var timerSlots: [Int] = []
            for spec in state.timers {
                timerSlots.append(slots.count)
                slots.append(CSlot(id: spec.id.value, owner: s, kind: .spec(spec), timing: timing(of: spec, inState: true),
                                   repeatEvery: spec.repeatEvery?.value))
            }
            var decisionIndex: Int?
            if let decision = state.decision {
                decisionIndex = decisions.count
                var slot: Int?
                if let deadline = decision.deadline {
                    slot = slots.count
                    timerSlots.append(slots.count)
                    slots.append(CSlot(id: TimerKey.deadline(of: decision.id.value), owner: s, kind: .deadline(decision: decisions.count),
                                       timing: .afterEntry(deadline.value), repeatEvery: nil))
                }
                decisions.append(CDecision(
                    id: decision.id.value, state: s, by: roleIndex[decision.by.value] ?? -1, byName: decision.by.value,
                    options: decision.options.map { COption(name: $0.name.value, target: stateIndex[$0.target.value] ?? -1, targetName: $0.target.value) },
                    deadline: decision.deadline?.value, defaultOption: decision.defaultOption?.value, slot: slot
                ))
            }
            states.append(CState(
                id: state.id.value, title: state.displayTitle, phases: state.phases.map(\.rawValue).joined(separator: ", "),
                marks: state.marks, onEnter: state.onEnter, tasks: taskIDs, timerSlots: timerSlots, decision: decisionIndex,
                eventless: [], onEvent: [:], eventNames: [], terminal: state.terminal,
                owner: state.owner.flatMap { roleIndex[$0.value] } ?? -1
            ))
        }
        let taskIndex = indexed(tasks.map(\.id))
        let decisionIndex = indexed(decisions.map(\.id))
        self.taskIndex = taskIndex
        self.decisionIndex = decisionIndex
        // Guards name tasks and decisions, which are only known now.
        for slot in slots {
            if case .spec(let spec) = slot.kind, let when = spec.when {
                slot.guardExpression = CGuard(when.value, roles: roleIndex, tasks: taskIndex, decisions: decisionIndex)
            }
        }
        for (s, state) in playbook.states.enumerated() {
            for transition in state.transitions {
                let compiled = CTransition(
                    on: transition.on?.value,
                    guardExpression: transition.when.map { CGuard($0.value, roles: roleIndex, tasks: taskIndex, decisions: decisionIndex) },
                    guardText: transition.when.map { $0.value.text },
                    target: stateIndex[transition.to.value] ?? -1,
                    targetName: transition.to.value
                )
                if let event = compiled.on {
                    states[s].onEvent[event, default: []].append(compiled)
                } else {
                    states[s].eventless.append(compiled)
                }
            }
            states[s].eventNames = states[s].onEvent.keys.sorted()
        }
        self.tasks = tasks
        self.decisions = decisions
        self.slots = slots
        self.slotIndex = indexed(slots.map(\.id))
        self.states = states
    }

    static func == (a: CompiledPlaybook, b: CompiledPlaybook) -> Bool { a === b || a.playbook == b.playbook }

    func roleName(_ index: Int) -> String { index >= 0 ? roleIDs[index] : "?" }
}

/// A guard with every name resolved to an index (-1 when the playbook does not define it: never holds).
indirect enum CGuard: Sendable {
    case literal(Bool)
    case taskDone(Int)
    case taskSkipped(Int)
    case allTasksDone
    case roleAssigned(Int)
    case decisionMade(Int)
    case decisionIs(Int, String, equal: Bool)
    case severityIs(String, equal: Bool)
    case modeIs(String, equal: Bool)
    case not(CGuard)
    case and(CGuard, CGuard)
    case or(CGuard, CGuard)

    init(_ g: GuardExpression, roles: [String: Int], tasks: [String: Int], decisions: [String: Int]) {
        func c(_ g: GuardExpression) -> CGuard {
            switch g {
            case .literal(let b): .literal(b)
            case .taskDone(let t): .taskDone(tasks[t.value] ?? -1)
            case .taskSkipped(let t): .taskSkipped(tasks[t.value] ?? -1)
            case .allTasksDone: .allTasksDone
            case .roleAssigned(let r): .roleAssigned(roles[r.value] ?? -1)
            case .decisionMade(let d): .decisionMade(decisions[d.value] ?? -1)
            case .comparison(let subject, let comparison, let value):
                switch subject {
                case .decision(let d): .decisionIs(decisions[d.value] ?? -1, value.value, equal: comparison == .equal)
                case .severity: .severityIs(value.value, equal: comparison == .equal)
                case .mode: .modeIs(value.value, equal: comparison == .equal)
                }
            case .not(let x): .not(c(x))
            case .and(let x, let y): .and(c(x), c(y))
            case .or(let x, let y): .or(c(x), c(y))
            }
        }
        self = c(g)
    }
}

