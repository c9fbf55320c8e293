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
        /// The `on_enter` notify messages, compiled (nil for a raise), parallel to `onEnter`.
        let onEnterMessages: [CompiledTemplate?]
        let tasks: [Int]
        /// Timer slots armed on entry, in playbook order.
        let timerSlots: [Int]
        let decision: Int?
        let eventless: [CTransition]
        /// Transitions by event name, each list in playbook order.
        let onEvent: EventTable
        /// The event names the state takes, sorted, for messages.
        let eventNames: [String]
        let terminal: Bool
        let owner: Int


        init(id: String, title: String, phases: String, marks: [Mark], onEnter: [EntryAction], onEnterMessages: [CompiledTemplate?], tasks: [Int], timerSlots: [Int], decision: Int?, eventless: [CTransition], onEvent: EventTable, eventNames: [String], terminal: Bool, owner: Int) {
            self.id = id
            self.title = title
            self.phases = phases
            self.marks = marks
            self.onEnter = onEnter
            self.onEnterMessages = onEnterMessages
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
        /// The timer's `when:`, compiled.
        let guardExpression: CGuard?
        /// The timer's `message`, compiled.
        let message: CompiledTemplate?
        /// Cancelled when the run is marked recovered (an RTO or MTPD deadline).
        let endsAtRecovery: Bool

        init(id: String, owner: Int, kind: SlotKind, timing: Timing, repeatEvery: TimeSpan?, guardExpression: CGuard?,
             message: CompiledTemplate?) {
            self.guardExpression = guardExpression
            self.message = message
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
    let stateIndex: NameIndex
    let states: [CState]
    /// For each state, what `stateIndex` gives for its id (itself, unless a hand-built playbook repeats an id).
    let canonicalState: [Int]
    let taskIndex: NameIndex
    let tasks: [CTask]
    let roleIndex: NameIndex
    let roleIDs: [String]
    let commander: Int
    /// The commanding role's id (`Playbook.commanderRole`).
    let commanderRole: String
    let decisionIndex: NameIndex
    let decisions: [CDecision]
    let slotIndex: NameIndex
    let slots: [CSlot]
    let runWideSlots: [Int]
    let serviceIndex: NameIndex
    /// The playbook's roll calls (in `on_enter` and timers), first of each id.
    let rollCallIndex: NameIndex
    let rollCalls: [RollCallSpec]
    let start: Int
    /// True when some command could be refused after the engine has applied events to its working copy (a
    /// target or a timer's objective the playbook lacks; automatic moves, eventless or raised on entry, that
    /// may loop or chain past `Run.maximumTransitionsPerStep`). When false, every rule is checked before the first
    /// event, so `Run.execute` decides in place instead of on a copy (no copy-on-write of the run's tables).
    let mayRefuseAfterEmitting: Bool

    init(_ playbook: Playbook) {
        self.playbook = playbook
        id = playbook.id.value

        func indexed(_ names: [String]) -> NameIndex { NameIndex(names) }

        let stateIndex = indexed(playbook.states.map(\.id.value))
        let roleIDs = playbook.roles.map(\.id.value)
        let roleIndex = indexed(roleIDs)
        let serviceIndex = indexed(playbook.services.map(\.id.value))
        self.stateIndex = stateIndex
        self.roleIDs = roleIDs
        self.roleIndex = roleIndex
        self.serviceIndex = serviceIndex
        rollCalls = playbook.allRollCalls
        rollCallIndex = indexed(rollCalls.map(\.id.value))
        commanderRole = playbook.commanderRole
        commander = roleIndex[commanderRole] ?? -1
        start = stateIndex[playbook.start.value] ?? -1

        // Guards name tasks and decisions: index them first (the same order the loop below gives them).
        let taskIndex = indexed(playbook.states.flatMap { $0.tasks.map(\.id.value) })
        let decisionIndex = indexed(playbook.states.compactMap { $0.decision?.id.value })
        self.taskIndex = taskIndex
        self.decisionIndex = decisionIndex
        func compiledGuard(_ g: GuardExpression) -> CGuard {
            CGuard(g, roles: roleIndex, tasks: taskIndex, decisions: decisionIndex)
        }
        func compiledTemplate(_ t: Template) -> CompiledTemplate {
            CompiledTemplate(t, roles: roleIndex, decisions: decisionIndex)
        }

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
        func slot(_ spec: TimerSpec, owner: Int) -> CSlot {
            CSlot(id: spec.id.value, owner: owner, kind: .spec(spec), timing: timing(of: spec, inState: owner >= 0),
                  repeatEvery: spec.repeatEvery?.value, guardExpression: spec.when.map { compiledGuard($0.value) },
                  message: spec.message.map { compiledTemplate($0.value) })
        }

        var runWide: [Int] = []
        for spec in playbook.timers {
            runWide.append(slots.count)
            slots.append(slot(spec, owner: -1))
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
                slots.append(slot(spec, owner: s))
            }
            var decisionNumber: Int?
            if let decision = state.decision {
                decisionNumber = decisions.count
                var slot: Int?
                if let deadline = decision.deadline {
                    slot = slots.count
                    timerSlots.append(slots.count)
                    slots.append(CSlot(id: TimerKey.deadline(of: decision.id.value), owner: s, kind: .deadline(decision: decisions.count),
                                       timing: .afterEntry(deadline.value), repeatEvery: nil, guardExpression: nil, message: nil))
                }
                decisions.append(CDecision(
                    id: decision.id.value, state: s, by: roleIndex[decision.by.value] ?? -1, byName: decision.by.value,
                    options: decision.options.map { COption(name: $0.name.value, target: stateIndex[$0.target.value] ?? -1, targetName: $0.target.value) },
                    deadline: decision.deadline?.value, defaultOption: decision.defaultOption?.value, slot: slot
                ))
            }
            var eventless: [CTransition] = []
            var onEvent: [String: [CTransition]] = [:]
            for transition in state.transitions {
                let compiled = CTransition(
                    on: transition.on?.value,
                    guardExpression: transition.when.map { compiledGuard($0.value) },
                    guardText: transition.when.map { $0.value.text },
                    target: stateIndex[transition.to.value] ?? -1,
                    targetName: transition.to.value
                )
                if let event = compiled.on {
                    onEvent[event, default: []].append(compiled)
                } else {
                    eventless.append(compiled)
                }
            }
            states.append(CState(
                id: state.id.value, title: state.displayTitle, phases: state.phases.map(\.rawValue).joined(separator: ", "),
                marks: state.marks, onEnter: state.onEnter,
                onEnterMessages: state.onEnter.map { if case .notify(let n) = $0 { compiledTemplate(n.message.value) } else { nil } },
                tasks: taskIDs, timerSlots: timerSlots, decision: decisionNumber,
                eventless: eventless, onEvent: EventTable(onEvent), eventNames: onEvent.keys.sorted(), terminal: state.terminal,
                owner: state.owner.flatMap { roleIndex[$0.value] } ?? -1
            ))
        }
        self.tasks = tasks
        self.decisions = decisions
        self.slots = slots
        self.slotIndex = indexed(slots.map(\.id))
        self.states = states
        canonicalState = states.map { stateIndex[$0.id] ?? -1 }
        mayRefuseAfterEmitting = CompiledPlaybook.mayRefuseAfterEmitting(states: states, decisions: decisions, slots: slots)
    }

    /// See `mayRefuseAfterEmitting`.
    static func mayRefuseAfterEmitting(states: [CState], decisions: [CDecision], slots: [CSlot]) -> Bool {
        for state in states {
            if state.eventless.contains(where: { $0.target < 0 }) { return true }
            if state.onEvent.transitions.contains(where: { $0.contains { $0.target < 0 } }) { return true }
        }
        if decisions.contains(where: { $0.options.contains { $0.target < 0 } }) { return true }
        for slot in slots {
            if case .afterDisruption(nil, _) = slot.timing { return true }
        }
        // The moves a command can cause without anyone asking: eventless transitions, and transitions on the events
        // a state raises when entered. One command takes its own move (a raise, a decision, a start) and then these.
        let next: [[Int]] = states.map { state in
            var targets = state.eventless.map(\.target)
            for action in state.onEnter {
                if case .raise(let name) = action { targets += (state.onEvent[name.value] ?? []).map(\.target) }
            }
            return targets
        }
        // Longest automatic chain from each state (depth-first, a cycle means unbounded).
        var longest = Array(repeating: -1, count: states.count)
        var onPath = Array(repeating: false, count: states.count)
        func depth(_ s: Int) -> Int? {
            if onPath[s] { return nil }
            if longest[s] >= 0 { return longest[s] }
            onPath[s] = true
            var best = 0
            for t in next[s] {
                guard let d = depth(t) else { return nil }
                best = max(best, d + 1)
            }
            onPath[s] = false
            longest[s] = best
            return best
        }
        for s in states.indices {
            guard let d = depth(s), d + 1 <= Run.maximumTransitionsPerStep else { return true }
        }
        return false
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
    /// A roll call's accounted people (option nil) or people choosing an option, compared with a quantity.
    case rollCallMeasure(String, option: String?, GuardExpression.NumericComparison, GuardExpression.Quantity)
    case rollCallOverdue(String)
    case ack(String, GuardExpression.AckProperty)
    case not(CGuard)
    case and(CGuard, CGuard)
    case or(CGuard, CGuard)

    init(_ g: GuardExpression, roles: NameIndex, tasks: NameIndex, decisions: NameIndex) {
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
            case .rollCallMeasure(let id, let measure, let comparison, let quantity):
                if case .count(let option) = measure {
                    .rollCallMeasure(id.value, option: option.value, comparison, quantity.value)
                } else {
                    .rollCallMeasure(id.value, option: nil, comparison, quantity.value)
                }
            case .rollCallOverdue(let id): .rollCallOverdue(id.value)
            case .ack(let id, let property): .ack(id.value, property)
            case .not(let x): .not(c(x))
            case .and(let x, let y): .and(c(x), c(y))
            case .or(let x, let y): .or(c(x), c(y))
            }
        }
        self = c(g)
    }
}


/// Names to their index in a list, the first occurrence winning. A playbook's lists are short: up to
/// `linearLimit` names a scan (short ASCII names compare as two machine words) beats hashing the name.
struct NameIndex: Sendable {
    static let linearLimit = 12
    let names: [String]
    private let map: [String: Int]?

    init(_ names: [String]) {
        self.names = names
        if names.count > NameIndex.linearLimit {
            var map: [String: Int] = [:]
            for (i, name) in names.enumerated() where map[name] == nil { map[name] = i }
            self.map = map
        } else {
            map = nil
        }
    }

    subscript(name: String) -> Int? {
        if let map { return map[name] }
        for i in names.indices where names[i] == name { return i }
        return nil
    }
}

/// A state's transitions by event name, each list in playbook order.
struct EventTable: Sendable {
    let names: NameIndex
    let transitions: [[CompiledPlaybook.CTransition]]

    init(_ byName: [String: [CompiledPlaybook.CTransition]]) {
        let keys = byName.keys.sorted()
        names = NameIndex(keys)
        transitions = keys.map { byName[$0]! }
    }

    subscript(name: String) -> [CompiledPlaybook.CTransition]? { names[name].map { transitions[$0] } }
}
