/// Checks an exercise against the playbook it tests: every name an inject or expectation uses must exist in
/// the playbook (tasks, states, decisions and their options, roles, events, channels), expectations need a
/// `within`, objectives must exist, injects must fall inside the scenario, participants must play real roles.
public enum ExerciseValidator {
    /// `playbook` is the playbook found for `exercise.playbook` (the loader finds it; nil when there is none,
    /// which the loader reports).
    public static func validate(_ exercise: Exercise, against playbook: Playbook) -> [Diagnostic] {
        var v = Validation(exercise: exercise, playbook: playbook)
        v.run()
        return v.diagnostics.sortedByLocation()
    }

    struct Validation {
        let exercise: Exercise
        let playbook: Playbook
        var diagnostics: [Diagnostic] = []
        let roles: [String]
        let tasks: [String]
        let states: [String]
        let decisions: [String]
        let events: [String]
        let channels: [String]

        init(exercise: Exercise, playbook: Playbook) {
            self.exercise = exercise
            self.playbook = playbook
            roles = playbook.roles.map(\.id.value)
            tasks = playbook.allTasks.map(\.task.id.value)
            states = playbook.states.map(\.id.value)
            decisions = playbook.allDecisions.map(\.decision.id.value)
            var events: [String] = []
            for state in playbook.states {
                for transition in state.transitions {
                    if let on = transition.on?.value, !events.contains(on) { events.append(on) }
                }
            }
            self.events = events
            channels = playbook.channels.map(\.id.value)
        }

        mutating func error(_ code: String, _ message: String, at location: SourceLocation) {
            diagnostics.append(.error(code, message, at: location))
        }

        mutating func warning(_ code: String, _ message: String, at location: SourceLocation) {
            diagnostics.append(.warning(code, message, at: location))
        }

        var playbookName: String { "playbook '\(playbook.id.value)'" }

        mutating func run() {
            if exercise.playbook.value != playbook.id.value {
                error("wrong-playbook", "exercise tests playbook '\(exercise.playbook.value)', but the playbook found is '\(playbook.id.value)'", at: exercise.playbook.location)
            }
            if let version = exercise.playbookVersion, version.value != playbook.version {
                error("playbook-version",
                      "exercise was written for version \(version.value) of \(playbookName), but the playbook is version \(playbook.version) (update the exercise, or test the version it names)",
                      at: version.location)
            }
            for participant in exercise.participants {
                reference(participant.role, kind: "role", in: roles, what: "participant role")
            }
            if exercise.commander(in: playbook) == nil {
                error("missing-commander",
                      "participants must name who plays \(playbook.commanderRole) (the run starts with them as incident commander)",
                      at: exercise.location)
            }
            var used: Set<String> = []
            let end = exercise.length
            var earliestExpecting: TimeSpan?
            for inject in exercise.injectsInDeliveryOrder {
                let name = "inject '\(inject.id.value)'"
                if let duration = exercise.duration, inject.at.value > duration.value {
                    error("inject-after-end", "\(name) at \(inject.at.value) is after the end of the scenario (duration \(duration.value))", at: inject.at.location)
                }
                for role in inject.to { reference(role, kind: "role", in: roles, what: "role") }
                if case .channel(let channel) = inject.method {
                    reference(channel, kind: "channel", in: channels, what: "channel")
                }
                if let unless = inject.unless { checkGuard(unless.value) }
                if inject.contingency, earliestExpecting.map({ $0 > inject.at.value }) ?? true {
                    warning("idle-contingency",
                            "contingency \(name) has no earlier inject with expectations: it can never be delivered",
                            at: inject.id.location)
                }
                for expectation in inject.expect {
                    check(expectation.what)
                    if let within = expectation.within {
                        if exercise.duration != nil, inject.at.value + within.value > end {
                            warning("window-after-end",
                                    "'\(expectation.text)' of \(name) may be met until \(inject.at.value + within.value), after the end of the scenario (\(end))",
                                    at: within.location)
                        }
                    } else {
                        error("missing-within",
                              "expectation '\(expectation.text)' of \(name) needs 'within' (how long after the inject the players have, such as 20m)",
                              at: expectation.location)
                    }
                    if let objective = expectation.objective {
                        used.insert(objective.value)
                        reference(objective, kind: "objective", in: exercise.objectives.map(\.id.value), what: "objective", owner: "the exercise")
                    }
                }
                if !inject.expect.isEmpty, earliestExpecting == nil || inject.at.value < earliestExpecting! {
                    earliestExpecting = inject.at.value
                }
            }
            if let roster = exercise.roster { checkRoster(roster) }
            for objective in exercise.objectives where !used.contains(objective.id.value) {
                warning("unrated-objective", "objective '\(objective.id.value)' has no expectation: it cannot be rated", at: objective.id.location)
            }
        }

        mutating func check(_ what: ExpectedAction) {
            switch what {
            case .task(let task): reference(task, kind: "task", in: tasks, what: "task")
            case .event(let event): reference(event, kind: "event", in: events, what: "event", verb: "takes")
            case .state(let state): reference(state, kind: "state", in: states, what: "state")
            case .role(let role, _): reference(role, kind: "role", in: roles, what: "role")
            case .notification(let channel): reference(channel, kind: "channel", in: channels, what: "channel")
            case .rollCall(let id, _):
                reference(id, kind: "roll call", in: playbook.allRollCalls.map(\.id.value), what: "roll call")
            case .ack(let id):
                reference(id, kind: "ack", in: playbook.namedAcks.map(\.value), what: "acknowledgement")
            case .decision(let id, let option):
                guard reference(id, kind: "decision", in: decisions, what: "decision"), let option,
                      let decision = playbook.decision(id.value)?.decision else { return }
                let options = decision.options.map(\.name.value)
                if !options.contains(option.value) {
                    error("unknown-option",
                          "'\(option.value)' is not an option of decision '\(id.value)'\(Suggestion.hint(for: option.value, in: options)) (options: \(options.joined(separator: ", ")))",
                          at: option.location)
                }
            }
        }

        /// A roster's deputies must be on it, its channels must be the playbook's; a group a roll call asks that
        /// has nobody on the roster would ask nobody (a warning, as `muster validate` gives for the directory).
        mutating func checkRoster(_ roster: [RosterPerson]) {
            let names = roster.map(\.name.value)
            let lowered = Set(names.map { $0.lowercased() })
            for person in roster {
                if let deputy = person.deputy, !lowered.contains(deputy.value.lowercased()) {
                    error("unknown-person", "deputy '\(deputy.value)' of \(person.name.value) is not on the roster\(Suggestion.hint(for: deputy.value, in: names))", at: deputy.location)
                }
                for channel in person.reachable ?? [] {
                    reference(channel, kind: "channel", in: channels, what: "channel")
                }
            }
            let groups = Set(roster.flatMap { $0.groups.map(\.value) })
            for rollCall in playbook.allRollCalls {
                for case .group(let group) in rollCall.who where !groups.contains(group.value) {
                    warning("empty-group",
                            "roll call '\(rollCall.id.value)' of \(playbookName) asks group '\(group.value)', which has nobody on the roster\(Suggestion.hint(for: group.value, in: groups.sorted()))",
                            at: exercise.location)
                }
            }
        }

        /// Reports a name that is not among `names`, with a suggestion; returns whether it was found.
        @discardableResult
        mutating func reference(_ name: Located<String>, kind: String, in names: [String], what: String, owner: String? = nil, verb: String = "has") -> Bool {
            if names.contains(name.value) { return true }
            let hint = Suggestion.hint(for: name.value, in: names)
            let list = hint.isEmpty && !names.isEmpty && names.count <= 12 ? " (\(kind)s: \(names.joined(separator: ", ")))" : ""
            let code = "unknown-\(kind)"
            if kind == "event" {
                error(code, "\(what) '\(name.value)' is not taken by any transition of \(playbookName)\(hint)\(list)", at: name.location)
            } else {
                let article = kind.first.map { "aeiou".contains($0) } == true ? "an" : "a"
                error(code, "\(what) '\(name.value)' is not \(article) \(kind) of \(owner ?? playbookName)\(hint)\(list)", at: name.location)
            }
            return false
        }

        mutating func checkGuard(_ expression: GuardExpression) {
            switch expression {
            case .literal, .allTasksDone: break
            case .taskDone(let task), .taskSkipped(let task): reference(task, kind: "task", in: tasks, what: "guard task")
            case .roleAssigned(let role): reference(role, kind: "role", in: roles, what: "guard role")
            case .decisionMade(let decision): reference(decision, kind: "decision", in: decisions, what: "guard decision")
            case .comparison(let subject, _, let value):
                switch subject {
                case .decision(let id):
                    guard reference(id, kind: "decision", in: decisions, what: "guard decision"),
                          let decision = playbook.decision(id.value)?.decision else { return }
                    let options = decision.options.map(\.name.value)
                    if !options.contains(value.value) {
                        error("unknown-option",
                              "'\(value.value)' is not an option of decision '\(id.value)'\(Suggestion.hint(for: value.value, in: options)) (options: \(options.joined(separator: ", ")))",
                              at: value.location)
                    }
                case .severity:
                    if Severity(rawValue: value.value) == nil {
                        error("unknown-severity", "'\(value.value)' is not a severity (severities: P1, P2, P3, P4)", at: value.location)
                    }
                case .mode:
                    if RunMode(rawValue: value.value) == nil {
                        error("unknown-mode", "'\(value.value)' is not a run mode (modes: live, exercise)", at: value.location)
                    }
                }
            case .rollCallMeasure(let id, let measure, _, let quantity):
                let rollCalls = playbook.allRollCalls.map(\.id.value)
                if reference(id, kind: "roll call", in: rollCalls, what: "guard roll call"), case .count(let option) = measure,
                   let rollCall = playbook.rollCall(id.value) {
                    reference(option, kind: "option", in: rollCall.options.map(\.id.value), what: "option", owner: "roll call '\(id.value)'")
                }
                if case .percent(let percent) = quantity.value, !(0...100).contains(percent) {
                    error("percentage-out-of-range", "\(percent)% is not a share of a roll call's people (write 0% to 100%)", at: quantity.location)
                }
            case .rollCallOverdue(let id):
                reference(id, kind: "roll call", in: playbook.allRollCalls.map(\.id.value), what: "guard roll call")
            case .ack(let id, _):
                reference(id, kind: "ack", in: playbook.namedAcks.map(\.value), what: "guard acknowledgement")
            case .not(let x): checkGuard(x)
            case .and(let x, let y), .or(let x, let y):
                checkGuard(x)
                checkGuard(y)
            }
        }
    }
}
