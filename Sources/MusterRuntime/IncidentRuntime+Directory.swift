import MusterCore
import MusterJournal

/// The shell's part of hearing back: what the people directory owes a run after a command or a tick.
///
/// - A roll call asked for (`Effect.resolveRollCall`) is started with its people: the names the engine gave
///   (people named in the playbook, and the holders of its roles) spelled as the directory spells them, then the
///   members of its groups, each once (without regard to case).
/// - A role assigned (`role-assigned`) to someone whose directory entry names a deputy names that deputy on the
///   run (`nameDeputy`), so that an `escalate: [deputy]` step reaches them. No deputy in the directory: nothing.
///
/// Both are commands of `Command.system` (`muster`), executed right after the append that asked for them: a
/// follow-up transaction in the same call, not the same transaction (the engine stays pure, and the directory is
/// read outside the run's lock). Their results ride along in `CommandResult.followUps`. A follow-up may itself
/// ask for more (a roll call started by a transition); at most `followUpRounds` rounds are run.
///
/// Should the process stop between the two transactions (or the directory be unreadable then), the roll call stays
/// asked-for and not started: the next command or tick on the run, in any process, starts it, from the playbook's
/// `who` and the role holders of that moment. A follow-up that fails does not fail the command (it is recorded):
/// its reason is in `CommandResult.followUpFailure`.
extension IncidentRuntime {
    static let followUpRounds = 4

    /// The directory's commands owed after `events` and `effects` were recorded on `run`.
    func directoryCommands(events: [RunEvent], effects: [Effect], run: Run) throws(RuntimeError) -> [Command] {
        var commands: [Command] = []
        do {
            var named: [String: String] = [:]
            for event in events {
                guard case .roleAssigned(_, let person) = event.body, named[person] == nil else { continue }
                guard let entry = try journal.person(named: person), let deputy = entry.deputy, !deputy.isEmpty,
                      deputy.lowercased() != person.lowercased() else { continue }
                named[person] = deputy
                if run.deputies[person] != deputy {
                    commands.append(Command(actor: Command.system, .nameDeputy(person: person, deputy: deputy)))
                }
            }
            var asked = Set<String>()
            for effect in effects {
                guard case .resolveRollCall(let request) = effect, asked.insert(request.rollCall).inserted else { continue }
                commands.append(try startCommand(request, run: run))
            }
            // Asked for earlier and never started (a process stopped between the two transactions).
            for record in run.rollCalls.values.sorted(by: { $0.id < $1.id })
            where run.status == .active && record.startedAt == nil && !asked.contains(record.id) {
                guard let request = Self.unstartedRequest(record.id, run: run) else { continue }
                commands.append(try startCommand(request, run: run))
            }
        } catch {
            throw .journal(error)
        }
        return commands
    }

    /// `startRollCall` for `request`: the people it asks, and the channels of its `via` that reach each one who is
    /// not reachable on all of them (so the first message goes to the first contact point the person has).
    func startCommand(_ request: RollCallRequest, run: Run) throws(JournalError) -> Command {
        let asked = try rollCallPeople(request)
        let entries = Dictionary(asked.map { ($0.name, $0.person) }, uniquingKeysWith: { first, _ in first })
        let routes = run.playbook.rollCall(request.rollCall)?.routes(for: asked.map(\.name)) { name, channel in
            guard let type = run.playbook.channel(channel)?.type.value else { return false }
            // Someone the directory does not know is reached only by channels that post to one place.
            guard let person = entries[name] ?? nil else { return !type.addressesPeople }
            return person.isReachable(through: type)
        }
        return Command(actor: Command.system, .startRollCall(request.rollCall, people: asked.map(\.name), routes: routes))
    }

    /// The people a roll call asks, with their directory entries: the named ones first (in the directory's
    /// spelling when it knows them, else as named), then each group's members in the directory's order; each
    /// person once.
    func rollCallPeople(_ request: RollCallRequest) throws(JournalError) -> [(name: String, person: Person?)] {
        var seen = Set<String>(), people: [(name: String, person: Person?)] = []
        func add(_ name: String, _ person: Person?) {
            if seen.insert(name.lowercased()).inserted { people.append((name, person)) }
        }
        for name in request.people {
            let person = try journal.person(named: name)
            add(person?.name ?? name, person)
        }
        for group in request.groups {
            for member in try journal.people(inGroup: group) { add(member.name, member) }
        }
        return people
    }

    /// Runs the directory's follow-ups of `result` (see above), recording them in `result.followUps`. A follow-up
    /// the engine refuses (a roll call someone started by hand meanwhile) is kept there with its rejection.
    func followUp(_ result: inout CommandResult) {
        var events = result.timerEvents + result.events
        var effects = result.effects
        var run = result.run
        do {
            for _ in 0..<Self.followUpRounds {
                let commands = try directoryCommands(events: events, effects: effects, run: run)
                guard !commands.isEmpty else { return }
                let done = try executeBatchOnly(commands, keys: [], on: result.runID) { _, _ in true }.compactMap { $0 }
                result.followUps += done
                events = done.flatMap { $0.timerEvents + $0.events }
                effects = done.flatMap(\.effects)
                run = done.last?.run ?? run
                guard done.contains(where: \.isAccepted) else { return }  // refused (a closed run): not again and again
            }
        } catch {
            result.followUpFailure = error.description
        }
    }

    /// What the engine would have asked for a roll call requested earlier: the playbook's groups and people, and the
    /// holders of its roles now.
    static func unstartedRequest(_ id: String, run: Run) -> RollCallRequest? {
        guard let spec = run.playbook.rollCall(id) else { return nil }
        var groups: [String] = [], people: [String] = []
        for audience in spec.who {
            switch audience {
            case .group(let name): if !groups.contains(name.value) { groups.append(name.value) }
            case .person(let name): if !people.contains(name.value) { people.append(name.value) }
            case .role(let role):
                if let holder = run.holder(of: role.value), !people.contains(holder) { people.append(holder) }
            }
        }
        return RollCallRequest(rollCall: id, groups: groups, people: people)
    }
}

extension CommandResult {
    /// Whether the run has a roll call asked for and not started (the directory's follow-up is owed).
    static func owesFollowUp(_ run: Run) -> Bool { run.status == .active && run.rollCalls.values.contains { $0.startedAt == nil } }

    /// The run after the command and its follow-ups.
    public var latestRun: Run { followUps.last?.run ?? run }
    /// The effects of the command and of its follow-ups, in order (what a shell acts on: notifications queued).
    public var allEffects: [Effect] { effects + followUps.flatMap(\.effects) }
    /// The events of the command and of its follow-ups, in order.
    public var allEvents: [RunEvent] { timerEvents + events + followUps.flatMap { $0.timerEvents + $0.events } }
}
