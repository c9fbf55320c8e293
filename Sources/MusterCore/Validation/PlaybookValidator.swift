/// Semantic checks of a decoded playbook: references between its parts, the shape of the state machine,
/// continuity objectives, durations, guards and templates.
///
/// The decoder has already checked the structure (keys, types, syntax of guards and templates, duplicates inside
/// one list). This pass looks at the playbook as a whole and reports every finding at once, in file order.
///
/// It indexes the playbook once (dictionaries by id) and then visits each element a constant number of times,
/// so the cost grows linearly with the size of the playbook. "Did you mean" suggestions are only computed for
/// names that are actually wrong.
public enum PlaybookValidator {
    public static func validate(_ playbook: Playbook) -> [Diagnostic] {
        var validation = Validation(playbook)
        validation.run()
        return validation.diagnostics.sortedByLocation()
    }

    /// The validator's findings about a playbook the decoder could only decode in part
    /// (`PlaybookDecoder.Decoded.partial`) that do not depend on what is missing: so that one run reports the
    /// decoder's errors and every independent error of the rest of the file, and none that fixing the first
    /// ones would make go away. Kept: findings about one element and its references, except references to a
    /// kind of element some of which are missing, and findings about placeholders; left out: findings about
    /// the whole state machine (reachability, cycles, terminal states, idle roles), which a missing piece changes.
    public static func independentFindings(_ partial: Playbook, missingKinds: Set<String>) -> [Diagnostic] {
        // The kinds of element whose absence can cause each finding.
        let dependsOn: [String: Set<String>] = [
            "unknown-state": ["state"], "unknown-role": ["role"], "unknown-channel": ["channel"], "unknown-task": ["task"],
            "foreign-task": ["task", "state"], "unknown-decision": ["decision"], "unknown-option": ["decision", "option"],
            "unknown-service": ["service"], "missing-objective": ["service"],
            "unknown-template-variable": ["role", "decision", "service", "task"],
            "unknown-mode": [], "unknown-severity": [], "non-positive-duration": [], "negative-duration": [],
            "rto-exceeds-mtpd": [], "unsafe-address": [], "timer-variable-outside-timer": [], "variable-not-allowed": [],
            "live-channel-in-exercises": [], "terminal-has-exit": [], "timer-not-after-start": ["service"],
            "unknown-roll-call": ["roll call"], "unknown-ack": ["timer"], "percentage-out-of-range": [], "invalid-value": [],
        ]
        return validate(partial).filter { finding in
            guard finding.location.line != PlaybookDecoder.placeholderLine, let kinds = dependsOn[finding.code] else { return false }
            return kinds.isDisjoint(with: missingKinds)
        }
    }

    /// The template variables that need no playbook-specific name (see `docs/playbook-format.md`).
    public static let fixedTemplateVariables: [String] = [
        "run.id", "run.title", "run.mode", "run.severity", "run.elapsed",
        "playbook.id", "playbook.title", "playbook.version",
        "state.id", "state.title", "state.phase", "now",
    ]

    /// Available only inside a timer's `message`.
    public static let timerTemplateVariables: [String] = ["timer.id", "timer.elapsed"]

    /// The service fields a template can show: `services.ID.title|rto|rpo|mtpd`.
    public static let serviceTemplateFields: [String] = ["title", "rto", "rpo", "mtpd"]
}

/// One validation pass. Pass 1 builds the indexes, pass 2 checks every element, pass 3 checks the graph.
private struct Validation {
    let playbook: Playbook
    var diagnostics: [Diagnostic] = []

    // Indexes, built once. Name arrays keep file order so that suggestions are deterministic.
    var stateIndex: [String: Int] = [:]
    var stateNames: [String] = []
    var roleIDs: Set<String> = []
    var roleNames: [String] = []
    var channelIDs: Set<String> = []
    var channelNames: [String] = []
    var servicesByID: [String: Service] = [:]
    var serviceNames: [String] = []
    /// Task id -> the index of the state that first declares it, and where.
    var taskOwner: [String: (state: Int, location: SourceLocation)] = [:]
    var taskNames: [String] = []
    /// Decision id -> its first declaration.
    var decisionsByID: [String: Decision] = [:]
    var decisionNames: [String] = []
    /// Events some transition listens to (`on:`), with their names in file order for suggestions.
    var listenedEvents: Set<String> = []
    var listenedEventNames: [String] = []
    /// Roles that own a state, a task or a decision.
    var owningRoles: Set<String> = []
    /// Roll calls by id (first of each), and acknowledgement ids guards can name, in file order.
    var rollCallsByID: [String: RollCallSpec] = [:]
    var rollCallNames: [String] = []
    var ackIDs: Set<String> = []
    var ackNames: [String] = []

    init(_ playbook: Playbook) {
        self.playbook = playbook
    }

    mutating func run() {
        buildIndexes()
        checkRoles()
        checkServices()
        checkChannels()
        for timer in playbook.timers { checkTimer(timer, state: nil) }
        for index in playbook.states.indices { checkState(index) }
        checkRequiredRolesOwnSomething()
        checkGraph()
    }

    // MARK: - Pass 1: indexes

    mutating func buildIndexes() {
        for (index, state) in playbook.states.enumerated() where stateIndex[state.id.value] == nil {
            stateIndex[state.id.value] = index
            stateNames.append(state.id.value)
        }
        for role in playbook.roles where roleIDs.insert(role.id.value).inserted {
            roleNames.append(role.id.value)
        }
        for channel in playbook.channels where channelIDs.insert(channel.id.value).inserted {
            channelNames.append(channel.id.value)
        }
        for rollCall in playbook.allRollCalls where rollCallsByID[rollCall.id.value] == nil {
            rollCallsByID[rollCall.id.value] = rollCall
            rollCallNames.append(rollCall.id.value)
        }
        for ack in playbook.namedAcks where ackIDs.insert(ack.value).inserted {
            ackNames.append(ack.value)
        }
        for service in playbook.services where servicesByID[service.id.value] == nil {
            servicesByID[service.id.value] = service
            serviceNames.append(service.id.value)
        }

        // Timer ids are unique across the playbook; duplicates inside one list are the decoder's to report.
        var timerFirst: [String: (list: Int, location: SourceLocation)] = [:]
        func noteTimer(_ timer: TimerSpec, list: Int, into diagnostics: inout [Diagnostic]) {
            if let first = timerFirst[timer.id.value] {
                if first.list != list {
                    diagnostics.append(.error(
                        "duplicate-id",
                        "duplicate timer id '\(timer.id.value)' (first defined at \(first.location.line):\(first.location.column))",
                        at: timer.id.location))
                }
            } else {
                timerFirst[timer.id.value] = (list, timer.id.location)
            }
        }
        for timer in playbook.timers { noteTimer(timer, list: -1, into: &diagnostics) }

        for (index, state) in playbook.states.enumerated() {
            for timer in state.timers { noteTimer(timer, list: index, into: &diagnostics) }
            for task in state.tasks {
                if let first = taskOwner[task.id.value] {
                    if first.state != index {
                        diagnostics.append(.error(
                            "duplicate-id",
                            "duplicate task id '\(task.id.value)' (first defined at \(first.location.line):\(first.location.column))",
                            at: task.id.location))
                    }
                } else {
                    taskOwner[task.id.value] = (index, task.id.location)
                    taskNames.append(task.id.value)
                }
                owningRoles.insert(task.role.value)
            }
            if let owner = state.owner { owningRoles.insert(owner.value) }
            if let decision = state.decision {
                owningRoles.insert(decision.by.value)
                if let first = decisionsByID[decision.id.value] {
                    diagnostics.append(.error(
                        "duplicate-id",
                        "duplicate decision id '\(decision.id.value)' (first defined at \(first.id.location.line):\(first.id.location.column))",
                        at: decision.id.location))
                } else {
                    decisionsByID[decision.id.value] = decision
                    decisionNames.append(decision.id.value)
                }
            }
            for transition in state.transitions {
                if let event = transition.on, listenedEvents.insert(event.value).inserted {
                    listenedEventNames.append(event.value)
                }
            }
        }

        // A decision and a task share the `decisions.X` / `tasks.X` namespaces of people's heads: keep them apart.
        for state in playbook.states {
            guard let decision = state.decision, let task = taskOwner[decision.id.value] else { continue }
            diagnostics.append(.error(
                "id-clash",
                "decision id '\(decision.id.value)' is also a task id (task written at \(task.location.line):\(task.location.column))",
                at: decision.id.location))
        }
    }

    // MARK: - Pass 2: elements

    mutating func checkRoles() {
        let commander = playbook.commanderRole
        guard !roleIDs.contains(commander) else { return }
        if let named = playbook.commander {
            diagnostics.append(.error(
                "unknown-role",
                "commander role '\(named.value)' is not a role\(Suggestion.hint(for: named.value, in: roleNames))",
                at: named.location))
            return
        }
        if let near = Suggestion.closest(to: commander, in: roleNames),
           let role = playbook.roles.first(where: { $0.id.value == near }) {
            diagnostics.append(.error(
                "missing-incident-commander",
                "the '\(commander)' role is missing (is '\(near)' a misspelling of it?)",
                at: role.id.location))
        } else {
            // A block mapping begins at its first key: that is where the roles mapping is.
            let location = playbook.roles.first?.id.location ?? playbook.location
            diagnostics.append(.error(
                "missing-incident-commander",
                "the '\(commander)' role is missing (every run needs an incident commander: add it under 'roles')",
                at: location))
        }
    }

    mutating func checkServices() {
        for service in playbook.services {
            let name = service.id.value
            if let rto = service.rto, rto.value <= .zero {
                diagnostics.append(.error("non-positive-duration", "rto of service '\(name)' must be positive, found \(rto.value)", at: rto.location))
            }
            if let mtpd = service.mtpd, mtpd.value <= .zero {
                diagnostics.append(.error("non-positive-duration", "mtpd of service '\(name)' must be positive, found \(mtpd.value)", at: mtpd.location))
            }
            if let rpo = service.rpo, rpo.value < .zero {
                diagnostics.append(.error("negative-duration", "rpo of service '\(name)' must not be negative, found \(rpo.value)", at: rpo.location))
            }
            if let rto = service.rto, let mtpd = service.mtpd, rto.value > mtpd.value {
                diagnostics.append(.error(
                    "rto-exceeds-mtpd",
                    "rto of service '\(name)' (\(rto.value)) is longer than its mtpd (\(mtpd.value)): recovery must come before the disruption becomes intolerable",
                    at: rto.location))
            }
        }
    }

    mutating func checkChannels() {
        // A channel that stands in for another in exercises is where exercise traffic belongs; any other channel
        // reaches its live audience in an exercise unless it is rerouted or live_only (a tabletop must never
        // email the real crisis team).
        let exerciseTargets = Set(playbook.channels.compactMap { $0.exerciseOverride?.value })
        for channel in playbook.channels
        where channel.exerciseOverride == nil && !channel.liveOnly && !exerciseTargets.contains(channel.id.value) {
            diagnostics.append(.warning(
                "live-channel-in-exercises",
                "channel '\(channel.id.value)' would reach its live audience in exercise runs: add 'exercise: CHANNEL' (where exercise messages go) or 'live_only: true'",
                at: channel.id.location))
        }
        for channel in playbook.channels {
            checkChannelSettings(channel)
            guard let other = channel.exerciseOverride else { continue }
            if !channelIDs.contains(other.value) {
                diagnostics.append(.error(
                    "unknown-channel",
                    "exercise channel '\(other.value)' is not a channel\(Suggestion.hint(for: other.value, in: channelNames))",
                    at: other.location))
            }
        }
    }

    /// `${NAME}`s outside the standard prefix (a warning: where the playbook runs, `MUSTER_SECRET_PREFIXES` may
    /// allow them; the resolver refuses them otherwise), and email addresses that could add SMTP commands.
    mutating func checkChannelSettings(_ channel: Channel) {
        let name = channel.id.value
        for key in channel.settings.keys.sorted() {
            guard let located = channel.settings[key] else { continue }
            let texts: [String] = switch located.value {
            case .text(let t): [t]
            case .list(let l): l
            case .map(let m): m.keys.sorted().compactMap { m[$0] }
            case .flag: []
            }
            for text in texts {
                for variable in VariablePolicy.references(in: text) where VariablePolicy.isValidName(variable) && !VariablePolicy.standard.allows(variable) {
                    diagnostics.append(.warning(
                        "variable-not-allowed",
                        "channel '\(name)': \(key) refers to ${\(variable)}, outside the variables channels may read (names starting with \(VariablePolicy.standard.prefixList), or those \(VariablePolicy.setting) lists where the playbook runs); it will not be resolved",
                        at: located.location))
                }
            }
            if channel.type.value == .sms, key == "to" || key == "from" {
                for number in texts where !number.contains("${") && !Self.isSMSAddress(number, sender: key == "from") {
                    diagnostics.append(.error(
                        "invalid-value",
                        "channel '\(name)': \(key) must be a phone number in E.164 form (+ then up to 15 digits)\(key == "from" ? " or a sender name of 1 to 11 letters and digits" : ""), found '\(number)'",
                        at: located.location))
                }
                continue
            }
            guard channel.type.value == .email, key == "to" || key == "from" else { continue }
            var mailboxes = texts
            if key == "to", case .text(let t) = located.value { mailboxes = t.split(separator: ",").map(String.init) }
            for mailbox in mailboxes {
                // A reference stands for a value resolved later (and checked then): judge the literal text around it.
                if let problem = MailboxRule.problem(VariablePolicy.replacingReferences(in: mailbox, with: "x")) {
                    diagnostics.append(.error("unsafe-address", "channel '\(name)': \(key) has an address that \(problem)", at: located.location))
                }
            }
        }
    }

    /// `+` then 1 to 15 digits; for a sender, also an alphanumeric sender name (1 to 11 ASCII letters and digits, not all digits).
    static func isSMSAddress(_ text: String, sender: Bool) -> Bool {
        let scalars = Array(text.unicodeScalars)
        if scalars.first == "+" {
            let digits = scalars.dropFirst()
            return (1...15).contains(digits.count) && digits.allSatisfy { ("0"..."9").contains($0) }
        }
        guard sender, (1...11).contains(scalars.count) else { return false }
        return scalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) }
            && scalars.contains { $0.properties.isAlphabetic }
    }

    /// `state` is nil for a run-wide timer.
    mutating func checkTimer(_ timer: TimerSpec, state: Int?) {
        let name = timer.id.value
        // A run-wide timer's condition may name any task; a state's timer is read like that state's transitions.
        if let when = timer.when { checkGuard(when.value, state: state ?? -1) }
        switch timer.anchor {
        case .after(let span):
            if span.value <= .zero {
                diagnostics.append(.error("non-positive-duration", "'after' of timer '\(name)' must be positive, found \(span.value)", at: span.location))
            }
        case .at(let expression):
            checkTimeExpression(expression, timer: name)
        }
        if let every = timer.repeatEvery, every.value <= .zero {
            diagnostics.append(.error("non-positive-duration", "'repeat' of timer '\(name)' must be positive, found \(every.value)", at: every.location))
        }
        if let channel = timer.notify { checkChannel(channel) }
        if let to = timer.to { checkRole(to, as: "paged role") }
        if let ack = timer.ack { checkAck(ack) }
        if let rollCall = timer.rollCall { checkRollCall(rollCall) }
        if let message = timer.message { checkTemplate(message, inTimer: true) }
        if let event = timer.raise { checkRaisedEvent(event, by: "timer '\(name)'") }
    }

    mutating func checkTimeExpression(_ expression: Located<TimeExpression>, timer: String) {
        let offset = expression.value.offset
        let resolved: TimeSpan
        switch expression.value.base {
        case .runStart:
            resolved = offset
        case .objective(let serviceID, let kind):
            guard let service = servicesByID[serviceID.value] else {
                diagnostics.append(.error(
                    "unknown-service",
                    "service '\(serviceID.value)' in time expression is not a service\(Suggestion.hint(for: serviceID.value, in: serviceNames))",
                    at: serviceID.location))
                return
            }
            guard let objective = service.objective(kind) else {
                diagnostics.append(.error(
                    "missing-objective",
                    "service '\(serviceID.value)' has no \(kind.rawValue) (add it under services.\(serviceID.value))",
                    at: serviceID.location))
                return
            }
            resolved = objective.value + offset
        }
        if resolved <= .zero {
            diagnostics.append(.error(
                "timer-not-after-start",
                "timer '\(timer)' resolves to \(resolved) from the run start; it must fire after the start",
                at: expression.location))
        }
    }

    mutating func checkChannel(_ channel: Located<String>) {
        guard !channelIDs.contains(channel.value) else { return }
        diagnostics.append(.error(
            "unknown-channel",
            "notify channel '\(channel.value)' is not a channel\(Suggestion.hint(for: channel.value, in: channelNames))",
            at: channel.location))
    }

    mutating func checkRole(_ role: Located<String>, as kind: String) {
        guard !roleIDs.contains(role.value) else { return }
        diagnostics.append(.error(
            "unknown-role",
            "\(kind) '\(role.value)' is not a role\(Suggestion.hint(for: role.value, in: roleNames))",
            at: role.location))
    }

    mutating func checkStateReference(_ target: Located<String>, as kind: String) {
        guard stateIndex[target.value] == nil else { return }
        diagnostics.append(.error(
            "unknown-state",
            "\(kind) '\(target.value)' is not a state\(Suggestion.hint(for: target.value, in: stateNames))",
            at: target.location))
    }

    mutating func checkRaisedEvent(_ event: Located<String>, by raiser: @autoclosure () -> String) {
        guard !listenedEvents.contains(event.value) else { return }
        let hint = Suggestion.hint(for: event.value, in: listenedEventNames)
        diagnostics.append(.warning(
            "unheard-event",
            "\(raiser()) raises '\(event.value)', but no transition listens to it with 'on: \(event.value)'\(hint)",
            at: event.location))
    }

    mutating func checkState(_ index: Int) {
        let state = playbook.states[index]
        let name = state.id.value

        if let owner = state.owner {
            checkRole(owner, as: "state owner")
        } else if !state.terminal {
            diagnostics.append(.warning("no-owner", "state '\(name)' has no owner (add 'owner: ROLE')", at: state.id.location))
        }
        if state.phases.isEmpty {
            diagnostics.append(.warning("no-phase", "state '\(name)' has an empty phase list (tag it with at least one phase)", at: state.id.location))
        }

        for action in state.onEnter {
            switch action {
            case .notify(let notify):
                checkChannel(notify.channel)
                checkTemplate(notify.message, inTimer: false)
                if let to = notify.to { checkRole(to, as: "paged role") }
                if let ack = notify.ack { checkAck(ack) }
            case .raise(let event):
                checkRaisedEvent(event, by: "entering state '\(name)'")
            case .rollCall(let rollCall):
                checkRollCall(rollCall)
            }
        }
        for task in state.tasks { checkRole(task.role, as: "task role") }
        for timer in state.timers { checkTimer(timer, state: index) }

        for transition in state.transitions {
            checkStateReference(transition.to, as: "transition target")
            if let guardExpression = transition.when {
                checkGuard(guardExpression.value, state: index)
            } else if transition.on == nil, !state.tasks.isEmpty {
                diagnostics.append(.warning(
                    "skips-tasks",
                    "transition to '\(transition.to.value)' has neither 'on' nor 'when', so it is taken at once and skips the tasks of state '\(name)' (add 'when: all_tasks_done'?)",
                    at: transition.location))
            }
        }

        if let decision = state.decision { checkDecision(decision) }

        if state.terminal {
            if let first = state.transitions.first {
                diagnostics.append(.error(
                    "terminal-has-exit",
                    "terminal state '\(name)' has transitions (a run ends here: remove them or drop 'terminal: true')",
                    at: first.location))
            }
            if let decision = state.decision {
                diagnostics.append(.error(
                    "terminal-has-exit",
                    "terminal state '\(name)' has a decision (a run ends here: remove it or drop 'terminal: true')",
                    at: decision.location))
            }
        } else if state.transitions.isEmpty, state.decision?.options.isEmpty ?? true {
            diagnostics.append(.error(
                "no-way-out",
                "state '\(name)' is not terminal and has no way out (add a transition or a decision, or mark it terminal: true)",
                at: state.id.location))
        }
    }

    mutating func checkDecision(_ decision: Decision) {
        let name = decision.id.value
        checkRole(decision.by, as: "decision role")
        for option in decision.options {
            checkStateReference(option.target, as: "decision option target")
        }
        if let chosen = decision.defaultOption, decision.option(chosen.value) == nil {
            diagnostics.append(.error(
                "unknown-option",
                "default '\(chosen.value)' is not an option of decision '\(name)'\(optionsHint(chosen.value, of: decision))",
                at: chosen.location))
        }
        if let deadline = decision.deadline {
            if deadline.value <= .zero {
                diagnostics.append(.error(
                    "non-positive-duration",
                    "deadline of decision '\(name)' must be positive, found \(deadline.value)",
                    at: deadline.location))
            }
        } else {
            diagnostics.append(.warning(
                "no-deadline",
                "decision '\(name)' has no deadline, so the run may wait for it for ever (add 'deadline' and 'default')",
                at: decision.id.location))
        }
    }

    mutating func checkAck(_ ack: AckSpec) {
        if ack.within.value <= .zero {
            diagnostics.append(.error("non-positive-duration", "'ack_within' must be positive, found \(ack.within.value)", at: ack.within.location))
        }
        for step in ack.escalate where step.value != AckSpec.deputy && !roleIDs.contains(step.value) {
            let hint = Suggestion.hint(for: step.value, in: roleNames + [AckSpec.deputy])
            diagnostics.append(.error(
                "unknown-role",
                "escalation step '\(step.value)' is not a role or 'deputy'\(hint)",
                at: step.location))
        }
    }

    mutating func checkRollCall(_ rollCall: RollCallSpec) {
        let name = rollCall.id.value
        for audience in rollCall.who {
            if case .role(let role) = audience { checkRole(role, as: "roll call role") }
        }
        for channel in rollCall.via { checkChannel(channel) }
        checkTemplate(rollCall.ask, inTimer: false)
        if let every = rollCall.resendEvery, every.value <= .zero {
            diagnostics.append(.error("non-positive-duration", "'every' of roll call '\(name)' must be positive, found \(every.value)", at: every.location))
        }
        if let max = rollCall.resendMax, max.value < 1 {
            diagnostics.append(.error("invalid-value", "'max' of roll call '\(name)' must be at least 1, found \(max.value) (leave 'resend' out for no resends)", at: max.location))
        }
        if let within = rollCall.within, within.value <= .zero {
            diagnostics.append(.error("non-positive-duration", "'within' of roll call '\(name)' must be positive, found \(within.value)", at: within.location))
        }
    }

    /// ` (did you mean 'x'?)` when an option is close, else the list of options.
    func optionsHint(_ word: String, of decision: Decision) -> String {
        let names = decision.options.map(\.name.value)
        let hint = Suggestion.hint(for: word, in: names)
        return hint.isEmpty ? " (options: \(names.joined(separator: ", ")))" : hint
    }

    mutating func checkRequiredRolesOwnSomething() {
        for role in playbook.roles where role.required && role.id.value != playbook.commanderRole {
            // The incident commander may act for every role, so it needs nothing of its own.
            guard !owningRoles.contains(role.id.value) else { continue }
            diagnostics.append(.warning(
                "idle-role",
                "required role '\(role.id.value)' owns no state, task or decision",
                at: role.id.location))
        }
    }

    // MARK: Guards

    mutating func checkGuard(_ expression: GuardExpression, state: Int) {
        switch expression {
        case .literal, .allTasksDone:
            break
        case .taskDone(let task), .taskSkipped(let task):
            guard let owner = taskOwner[task.value] else {
                diagnostics.append(.error(
                    "unknown-task",
                    "guard task '\(task.value)' is not a task\(Suggestion.hint(for: task.value, in: taskNames))",
                    at: task.location))
                return
            }
            if state >= 0, owner.state != state {
                let here = playbook.states[state].id.value
                let there = playbook.states[owner.state].id.value
                diagnostics.append(.warning(
                    "foreign-task",
                    "guard task '\(task.value)' belongs to state '\(there)', not to '\(here)' where this transition is",
                    at: task.location))
            }
        case .roleAssigned(let role):
            checkRole(role, as: "guard role")
        case .decisionMade(let decision):
            checkDecisionReference(decision)
        case .comparison(let subject, _, let value):
            switch subject {
            case .decision(let id):
                guard let decision = checkDecisionReference(id) else { return }
                if decision.option(value.value) == nil {
                    diagnostics.append(.error(
                        "unknown-option",
                        "'\(value.value)' is not an option of decision '\(id.value)'\(optionsHint(value.value, of: decision))",
                        at: value.location))
                }
            case .severity:
                if Severity(rawValue: value.value) == nil {
                    // No "did you mean": every wrong severity is one letter away from P1.
                    let names = Severity.allCases.map(\.rawValue)
                    diagnostics.append(.error(
                        "unknown-severity",
                        "'\(value.value)' is not a severity (severities: \(names.joined(separator: ", ")))",
                        at: value.location))
                }
            case .mode:
                if RunMode(rawValue: value.value) == nil {
                    let names = RunMode.allCases.map(\.rawValue)
                    let hint = Suggestion.hint(for: value.value, in: names)
                    diagnostics.append(.error(
                        "unknown-mode",
                        "'\(value.value)' is not a run mode\(hint.isEmpty ? " (modes: \(names.joined(separator: ", ")))" : hint)",
                        at: value.location))
                }
            }
        case .rollCallMeasure(let id, let measure, _, let quantity):
            if let rollCall = checkRollCallReference(id), case .count(let option) = measure, rollCall.option(option.value) == nil {
                let names = rollCall.options.map(\.id.value)
                let hint = Suggestion.hint(for: option.value, in: names)
                diagnostics.append(.error(
                    "unknown-option",
                    "'\(option.value)' is not an option of roll call '\(id.value)'\(hint.isEmpty ? " (options: \(names.joined(separator: ", ")))" : hint)",
                    at: option.location))
            }
            if case .percent(let percent) = quantity.value, !(0...100).contains(percent) {
                diagnostics.append(.error(
                    "percentage-out-of-range",
                    "\(percent)% is not a share of a roll call's people (write 0% to 100%)",
                    at: quantity.location))
            }
            if case .people(let count) = quantity.value, count < 0 {
                diagnostics.append(.error("invalid-value", "a number of people cannot be negative, found \(count)", at: quantity.location))
            }
        case .rollCallOverdue(let id):
            checkRollCallReference(id)
        case .ack(let id, _):
            if !ackIDs.contains(id.value) {
                var hint = Suggestion.hint(for: id.value, in: ackNames)
                if hint.isEmpty {
                    hint = ackNames.isEmpty
                        ? " (no page asks for one: add 'ack_within' and 'id' to a notify with 'to')"
                        : " (acknowledgements: \(ackNames.joined(separator: ", ")))"
                }
                diagnostics.append(.error("unknown-ack", "guard acknowledgement '\(id.value)' is not asked for by any page\(hint)", at: id.location))
            }
        case .not(let inner):
            checkGuard(inner, state: state)
        case .and(let a, let b), .or(let a, let b):
            checkGuard(a, state: state)
            checkGuard(b, state: state)
        }
    }

    @discardableResult
    mutating func checkRollCallReference(_ id: Located<String>) -> RollCallSpec? {
        if let rollCall = rollCallsByID[id.value] { return rollCall }
        var hint = Suggestion.hint(for: id.value, in: rollCallNames)
        if hint.isEmpty, !rollCallNames.isEmpty { hint = " (roll calls: \(rollCallNames.joined(separator: ", ")))" }
        diagnostics.append(.error("unknown-roll-call", "guard roll call '\(id.value)' is not a roll call\(hint)", at: id.location))
        return nil
    }

    @discardableResult
    mutating func checkDecisionReference(_ id: Located<String>) -> Decision? {
        if let decision = decisionsByID[id.value] { return decision }
        diagnostics.append(.error(
            "unknown-decision",
            "guard decision '\(id.value)' is not a decision\(Suggestion.hint(for: id.value, in: decisionNames))",
            at: id.location))
        return nil
    }

    // MARK: Templates

    mutating func checkTemplate(_ template: Located<Template>, inTimer: Bool) {
        for variable in template.value.variables {
            // Variables of block scalars (`|`, `>`) are located at the scalar itself: no column inside them.
            let inline = variable.location != template.location
            checkTemplateVariable(variable, inTimer: inTimer, inline: inline)
        }
    }

    /// `inline`: the variable's location is its first character, so a name inside it can be pointed at.
    mutating func checkTemplateVariable(_ variable: Located<String>, inTimer: Bool, inline: Bool) {
        func at(_ offset: Int) -> SourceLocation { inline ? variable.location.advanced(byColumns: offset) : variable.location }
        let path = variable.value
        let parts = path.split(separator: ".", omittingEmptySubsequences: false)
        let head = parts.first.map(String.init) ?? ""
        switch head {
        case "run", "playbook", "state", "now":
            if PlaybookValidator.fixedTemplateVariables.contains(path) { return }
        case "timer":
            if PlaybookValidator.timerTemplateVariables.contains(path) {
                if !inTimer {
                    diagnostics.append(.error(
                        "timer-variable-outside-timer",
                        "template variable '\(path)' is only available in a timer's message",
                        at: variable.location))
                }
                return
            }
        case "roles" where parts.count == 2 && !parts[1].isEmpty:
            let role = String(parts[1])
            if !roleIDs.contains(role) {
                diagnostics.append(.error(
                    "unknown-role",
                    "role '\(role)' in template variable '\(path)' is not a role\(Suggestion.hint(for: role, in: roleNames))",
                    at: at(6)))
            }
            return
        case "decisions" where parts.count == 2 && !parts[1].isEmpty:
            let decision = String(parts[1])
            if decisionsByID[decision] == nil {
                diagnostics.append(.error(
                    "unknown-decision",
                    "decision '\(decision)' in template variable '\(path)' is not a decision\(Suggestion.hint(for: decision, in: decisionNames))",
                    at: at(10)))
            }
            return
        case "services" where parts.count == 3 && !parts[1].isEmpty
            && PlaybookValidator.serviceTemplateFields.contains(String(parts[2])):
            let service = String(parts[1])
            if servicesByID[service] == nil {
                diagnostics.append(.error(
                    "unknown-service",
                    "service '\(service)' in template variable '\(path)' is not a service\(Suggestion.hint(for: service, in: serviceNames))",
                    at: at(9)))
            }
            return
        default:
            break
        }
        diagnostics.append(.error(
            "unknown-template-variable",
            "unknown template variable '\(path)'\(Suggestion.hint(for: path, in: templateVariableNames(inTimer: inTimer)))",
            at: variable.location))
    }

    /// Every variable a template may use here, for suggestions (only computed when one is wrong).
    func templateVariableNames(inTimer: Bool) -> [String] {
        var names = PlaybookValidator.fixedTemplateVariables
        if inTimer { names += PlaybookValidator.timerTemplateVariables }
        names += roleNames.map { "roles.\($0)" }
        for service in serviceNames {
            names += PlaybookValidator.serviceTemplateFields.map { "services.\(service).\($0)" }
        }
        names += decisionNames.map { "decisions.\($0)" }
        return names
    }

    // MARK: - Pass 3: the state machine as a graph

    mutating func checkGraph() {
        let states = playbook.states
        let count = states.count
        // Edges between state indexes (unknown targets were reported already and add no edge).
        var forward = Array(repeating: [Int](), count: count)
        var backward = Array(repeating: [Int](), count: count)
        for (index, state) in states.enumerated() {
            var targets = state.transitions.map(\.to.value)
            if let decision = state.decision { targets += decision.options.map(\.target.value) }
            for target in targets {
                guard let to = stateIndex[target] else { continue }
                forward[index].append(to)
                backward[to].append(index)
            }
        }

        // Reachable from the start.
        if let start = stateIndex[playbook.start.value] {
            let reached = Self.search(from: [start], edges: forward, count: count)
            for (index, state) in states.enumerated() where !reached[index] {
                diagnostics.append(.error(
                    "unreachable-state",
                    "state '\(state.id.value)' cannot be reached from the start state '\(playbook.start.value)'",
                    at: state.id.location))
            }
        } else {
            checkStateReference(playbook.start, as: "start state")
        }

        // A terminal state reachable from every state (that has a way out: the others were reported above).
        let terminals = states.indices.filter { states[$0].terminal }
        if terminals.isEmpty {
            if !states.isEmpty {
                diagnostics.append(.error(
                    "no-terminal-state",
                    "no state is terminal, so no run can end (mark the final state with 'terminal: true')",
                    at: states[0].id.location))
            }
        } else {
            let ending = Self.search(from: terminals, edges: backward, count: count)
            for (index, state) in states.enumerated() where !ending[index] && !forward[index].isEmpty {
                diagnostics.append(.error(
                    "no-terminal-reachable",
                    "no terminal state can be reached from state '\(state.id.value)' (the run would never end)",
                    at: state.id.location))
            }
        }

        checkEventlessCycles()
    }

    /// Breadth-first search: which nodes can be reached from `sources` along `edges`.
    static func search(from sources: [Int], edges: [[Int]], count: Int) -> [Bool] {
        var seen = Array(repeating: false, count: count)
        var queue = sources
        for source in sources { seen[source] = true }
        var head = 0
        while head < queue.count {
            let node = queue[head]
            head += 1
            for next in edges[node] where !seen[next] {
                seen[next] = true
                queue.append(next)
            }
        }
        return seen
    }

    /// Eventless transitions (no `on:`) are taken in the same step as soon as their guards hold; a cycle of them
    /// can loop for ever. Each strongly connected group of eventless edges is reported once, at its first
    /// transition in file order, naming one cycle through it.
    mutating func checkEventlessCycles() {
        let states = playbook.states
        let count = states.count
        // (target, transition index) per state, in file order.
        var edges = Array(repeating: [(to: Int, transition: Int)](), count: count)
        var any = false
        for (index, state) in states.enumerated() {
            for (t, transition) in state.transitions.enumerated() where transition.on == nil {
                if let to = stateIndex[transition.to.value] {
                    edges[index].append((to, t))
                    any = true
                }
            }
        }
        guard any else { return }

        let component = Self.stronglyConnectedComponents(edges.map { $0.map(\.to) })
        var reported = Set<Int>()
        for (from, stateEdges) in edges.enumerated() {
            for edge in stateEdges where component[edge.to] == component[from] && !reported.contains(component[from]) {
                reported.insert(component[from])
                let cycle = Self.path(from: edge.to, to: from, edges: edges, within: component[from], component: component)
                let names = ([from] + cycle).map { states[$0].id.value }.joined(separator: " -> ")
                diagnostics.append(.error(
                    "eventless-cycle",
                    "eventless transitions form a cycle \(names), which could loop for ever (give one of them an 'on:' event)",
                    at: states[from].transitions[edge.transition].location))
            }
        }
    }

    /// The nodes of a shortest path from `start` to `goal` inside one component: `[start, ..., goal]`.
    static func path(from start: Int, to goal: Int, edges: [[(to: Int, transition: Int)]], within c: Int, component: [Int]) -> [Int] {
        var previous = [Int: Int]()
        var queue = [start]
        var seen: Set<Int> = [start]
        var head = 0
        while head < queue.count {
            let node = queue[head]
            head += 1
            if node == goal { break }
            for edge in edges[node] where component[edge.to] == c && !seen.contains(edge.to) {
                seen.insert(edge.to)
                previous[edge.to] = node
                queue.append(edge.to)
            }
        }
        var path = [goal]
        var node = goal
        while node != start, let before = previous[node] {
            path.append(before)
            node = before
        }
        return path.reversed()
    }

    /// Tarjan's algorithm, iterative. Returns the component number of each node.
    static func stronglyConnectedComponents(_ edges: [[Int]]) -> [Int] {
        let count = edges.count
        var index = Array(repeating: -1, count: count)
        var low = Array(repeating: 0, count: count)
        var onStack = Array(repeating: false, count: count)
        var component = Array(repeating: -1, count: count)
        var stack: [Int] = []
        var nextIndex = 0
        var nextComponent = 0
        for root in 0..<count where index[root] == -1 {
            var work: [(node: Int, edge: Int)] = [(root, 0)]
            index[root] = nextIndex
            low[root] = nextIndex
            nextIndex += 1
            stack.append(root)
            onStack[root] = true
            while let (node, edge) = work.last {
                if edge < edges[node].count {
                    work[work.count - 1].edge += 1
                    let next = edges[node][edge]
                    if index[next] == -1 {
                        index[next] = nextIndex
                        low[next] = nextIndex
                        nextIndex += 1
                        stack.append(next)
                        onStack[next] = true
                        work.append((next, 0))
                    } else if onStack[next] {
                        low[node] = min(low[node], index[next])
                    }
                } else {
                    work.removeLast()
                    if let parent = work.last?.node { low[parent] = min(low[parent], low[node]) }
                    if low[node] == index[node] {
                        while let member = stack.popLast() {
                            onStack[member] = false
                            component[member] = nextComponent
                            if member == node { break }
                        }
                        nextComponent += 1
                    }
                }
            }
        }
        return component
    }
}
