/// An exercise in progress, as a pure machine around the playbook's `TimedRun`: it keeps the scenario clock,
/// delivers injects at their scenario times (contingency injects only when an expectation of an earlier inject
/// is still unmet and their `unless` guard does not hold), fires the playbook's timers at their due scenario
/// times, turns refused player actions into `playerActionRejected` facts, and records the facilitator's actions.
///
/// Every event it returns carries SCENARIO time in `at` (the engine runs on scenario time; its timers count in
/// it). The shell journals each event with the wall-clock time of writing and the scenario time beside it.
/// The shell passes wall instants in; the machine reads no clock.
///
/// Order at one scenario instant: the playbook's timers fire first, then injects are delivered (in file order),
/// then the exercise ends if its time is up; a command comes after everything due at its instant.
public struct ExerciseRun: Sendable {
    public let exercise: Exercise
    public private(set) var timed: TimedRun
    public private(set) var clock: ScenarioClock
    /// Replayed and not yet taken up (`reattach`): whether the journal last recorded the clock paused. The
    /// replayed `clock` itself stays paused, because its wall anchor is unknown: a running clock anchored
    /// anywhere would turn the wall time since then into scenario time at the first command (every inject due
    /// in it delivered at once, on a timeline that never saw them).
    private var recordedPaused: Bool?
    /// Scenario time reached so far.
    public private(set) var now: Instant
    public private(set) var started = false
    public private(set) var endedAt: Instant?
    /// Scenario time each inject was delivered at, and the order of deliveries.
    public private(set) var deliveries: [String: Instant] = [:]
    public private(set) var deliveryOrder: [String] = []
    public private(set) var withheld: [String: String] = [:]
    public private(set) var facts = ExerciseFacts()
    public private(set) var overrules: [String: RatingOverrule] = [:]
    public private(set) var adHoc: [ExerciseEvaluation.AdHocInject] = []
    /// Who facilitates: the person who started the exercise through a server, else the file's first controller.
    public private(set) var facilitator: String
    /// `server` when a server drives the run (recorded at the start), nil for the console.
    public private(set) var driver: String?
    /// Who the run's roll calls ask and who deputises for whom: the exercise's roster, else the directory snapshot
    /// the shell gives (`usePeople`). Read only when deciding: replay takes the people from the journaled events.
    public private(set) var people: ExercisePeople

    private let schedule: [Inject]
    private let injectByID: [String: Inject]
    private var nextInject = 0

    public init(exercise: Exercise, playbook: Playbook) {
        self.exercise = exercise
        timed = TimedRun(playbook: playbook)
        clock = ScenarioClock(scenario: exercise.clock.start, wall: Instant(millisecondsSinceEpoch: 0), pace: exercise.clock.pace, paused: true)
        now = exercise.clock.start
        facilitator = exercise.facilitator
        people = exercise.roster.map { ExercisePeople(roster: $0) } ?? .none
        schedule = exercise.injectsInDeliveryOrder
        var byID: [String: Inject] = [:]
        for inject in exercise.injects where byID[inject.id.value] == nil { byID[inject.id.value] = inject }
        injectByID = byID
    }

    public var run: Run { timed.run }

    /// The people directory's snapshot for an exercise without a roster (a roster always wins).
    public mutating func usePeople(_ directory: ExercisePeople) {
        guard exercise.roster == nil else { return }
        people = directory
    }
    /// Whether the scenario clock is paused: as last recorded for a replayed exercise not taken up again.
    public var clockIsPaused: Bool { recordedPaused ?? clock.isPaused }
    public var origin: Instant { exercise.clock.start }
    /// When the scenario's time is up.
    public var end: Instant { origin + exercise.length }
    public var hasEnded: Bool { endedAt != nil }

    /// Injects not yet delivered or withheld, in delivery order.
    public var comingInjects: [Inject] { schedule[nextInject...].filter { !isHandled($0.id.value) } }

    /// The next scenario instant at which something is due: a timer, an inject, or the end.
    public var nextDue: Instant? {
        guard started, !hasEnded else { return nil }
        var next = end
        if let due = timed.nextDue, timed.timerRejection == nil { next = min(next, due) }
        if let inject = comingInjects.first { next = min(next, origin + inject.at.value) }
        return next
    }

    private func isHandled(_ id: String) -> Bool { deliveries[id] != nil || withheld[id] != nil }

    // MARK: Starting

    /// Starts the playbook run in exercise mode with the incident commander's participant, assigns the other
    /// participants their roles, starts the scenario clock at `wall`, and delivers what is due at the start.
    /// A start the engine refuses comes back as `refusal` and nothing is recorded. `facilitator` (the person
    /// starting it through a server) replaces the file's first controller and is recorded with the start.
    public mutating func start(runID: String, file: String, text: String, players: String?, wall: Instant,
                               facilitator: String? = nil, driver: String? = nil) -> ExerciseStep {
        guard !started else { return ExerciseStep(refusal: "the exercise has already started") }
        self.facilitator = facilitator ?? exercise.facilitator
        self.driver = driver
        let commander = exercise.commander(in: run.playbook) ?? exercise.facilitator
        let start = StartRun(
            runID: runID, mode: .exercise, title: exercise.title, severity: nil,
            disruptionStart: exercise.clock.disruptionStarted.map { origin - $0 }, commander: commander)
        var step = ExerciseStep()
        let result = timed.handle(Command(actor: commander, .start(start)), at: origin, fireAtDueTimes: true)
        if let rejection = result.rejection { return ExerciseStep(refusal: "the run did not start: \(rejection.reason)") }
        started = true
        clock = ScenarioClock(scenario: origin, wall: wall, pace: exercise.clock.pace)
        absorbEngine(result.events, into: &step)
        emit(.exerciseStarted(ExerciseStarted(
            exercise: exercise.id.value, title: exercise.title, type: exercise.type.rawValue, file: file, text: text,
            players: players, speed: exercise.clock.pace.description, facilitator: facilitator, driver: driver)), by: self.facilitator, into: &step)
        for participant in exercise.participants where participant.role.value != run.commanderRole {
            player(Command(actor: commander, .assign(role: participant.role.value, person: participant.person.value)), into: &step)
        }
        emit(.exerciseClock(.started(speed: exercise.clock.pace.description)), by: self.facilitator, into: &step)
        advance(to: origin, into: &step)
        return step
    }

    // MARK: Inputs

    /// Brings the scenario up to the clock's time at `wall` (timers, injects, the end), then handles `input`.
    public mutating func handle(_ input: ExerciseInput, by actor: String, wall: Instant) -> ExerciseStep {
        guard started else { return ExerciseStep(refusal: "the exercise has not started") }
        var step = ExerciseStep()
        if case .answers(_, _, _, let at?) = input {
            advance(to: max(now, at), into: &step)
        } else if case .scripted(_, let at) = input {
            // A scripted player acts at exactly its time, however late the wall clock woke the shell.
            advance(to: max(now, at), into: &step)
        } else if case .tickUntil(let limit) = input {
            advance(to: max(now, min(clock.scenarioTime(at: wall), limit)), into: &step)
        } else {
            advance(to: clock.scenarioTime(at: wall), into: &step)
        }
        let ended = hasEnded
        func refuse(_ text: String) -> ExerciseStep {
            step.refusal = text
            return step
        }
        switch input {
        case .tick, .tickUntil:
            break
        case .moveTo(let scenario):
            clock.move(to: scenario, at: wall)
            advance(to: clock.scenarioTime(at: wall), into: &step)
        case .player(let command), .scripted(let command, _):
            player(command, into: &step)
        case .answers(let rollCall, let option, let crowd, _):
            answer(rollCall, option: option, crowd: crowd, by: actor, into: &step)
        case .pause:
            if ended { return refuse("the exercise has ended") }
            guard clock.pause(at: wall) else { return refuse("the clock is already paused") }
            emit(.exerciseClock(.paused), by: actor, into: &step)
        case .resume:
            if ended { return refuse("the exercise has ended") }
            guard clock.resume(at: wall) else { return refuse("the clock is not paused") }
            emit(.exerciseClock(.resumed), by: actor, into: &step)
        case .speed(let pace):
            if ended { return refuse("the exercise has ended") }
            clock.setPace(pace, at: wall)
            emit(.exerciseClock(.speedChanged(speed: pace.description)), by: actor, into: &step)
        case .skip(let span):
            if ended { return refuse("the exercise has ended") }
            guard span > .zero else { return refuse("skip needs a positive duration such as 10m") }
            skip(span, by: actor, wall: wall, into: &step)
        case .skipToNextInject:
            guard let inject = comingInjects.first else { return refuse("no inject is coming in this exercise") }
            if ended { return refuse("the exercise has ended") }
            let target = origin + inject.at.value
            if target > now { skip(target - now, by: actor, wall: wall, into: &step) }
        case .injectNow(let message, let to):
            if ended { return refuse("the exercise has ended") }
            guard !message.isEmpty else { return refuse("an ad-hoc inject needs a message") }
            let id = "adhoc-\(adHoc.count + 1)"
            emit(.injectDelivered(InjectDelivery(inject: id, from: nil, to: to, method: InjectMethod.inPerson.description,
                                                 message: message, contingency: false, adHoc: true)), by: actor, into: &step)
        case .deliver(let id):
            if ended { return refuse("the exercise has ended") }
            guard let inject = exercise.inject(id) else {
                return refuse("no inject '\(id)' in this exercise\(Suggestion.hint(for: id, in: exercise.injects.map(\.id.value)))")
            }
            if deliveries[id] != nil { return refuse("inject \(id) was already delivered") }
            deliver(inject, by: actor, into: &step)
        case .suspend(let reason):
            if ended { return refuse("the exercise has ended") }
            guard clock.followsWallClock else { return refuse("the scenario clock is not running") }
            clock.pause(at: wall)
            emit(.exerciseClock(.suspended(reason: reason)), by: actor, into: &step)
        case .end(let reason):
            if ended { return refuse("the exercise has already ended") }
            finish(reason: reason, by: actor, into: &step)
        case .overrule(let objective, let rating, let note):
            guard exercise.objective(objective) != nil else {
                return refuse("no objective '\(objective)' in this exercise\(Suggestion.hint(for: objective, in: exercise.objectives.map(\.id.value)))")
            }
            guard !note.isEmpty else { return refuse("an overrule needs a note saying why") }
            emit(.ratingOverruled(objective: objective, rating: rating.rawValue, note: note), by: actor, into: &step)
        }
        return step
    }

    /// Who acts when the facilitator records an action without naming the player: the holder of the role the
    /// action needs (the task's role, the decision's role, the state's owner), else the incident commander;
    /// notes and lessons are the facilitator's.
    public func defaultActor(for action: Command.Action) -> String {
        let playbook = run.playbook
        let commander = run.commander ?? exercise.commander(in: playbook) ?? facilitator
        func holder(_ role: String?) -> String { role.flatMap { run.holder(of: $0) } ?? commander }
        switch action {
        case .completeTask(let task, _), .skipTask(let task, _): return holder(playbook.task(task)?.task.role.value)
        case .decide(let decision, _, _): return holder(playbook.decision(decision)?.decision.by.value)
        case .raise: return holder(run.currentState.flatMap { playbook.state($0)?.owner?.value })
        case .note, .lesson: return facilitator
        default: return commander
        }
    }

    /// The evaluation as of now (final once the exercise has ended).
    public func evaluation() -> ExerciseEvaluation {
        ExerciseEvaluation.evaluate(
            exercise: exercise, deliveries: deliveries, withheld: withheld, facts: facts, overrules: overrules,
            adHoc: adHoc, now: endedAt ?? now, ended: hasEnded)
    }

    // MARK: Replay

    /// Rebuilds the exercise from its journaled events (scenario time in `at`). Never fails.
    /// The clock comes back with the recorded speed, paused at the scenario time last recorded (its wall anchor
    /// is unknown here); `clockIsPaused` tells the recorded state, and `reattach(wall:reason:)` takes the clock
    /// up again from it.
    public mutating func apply(_ event: RunEvent) {
        timed.run.apply(event)
        observe(event)
        if case .runStarted = event.body { started = true }
        guard case .exerciseClock(let change) = event.body else { return }
        var pace = clock.pace
        var paused = clockIsPaused
        switch change {
        case .started(let speed):
            pace = ScenarioPace(parsing: speed) ?? pace
            paused = false
        case .speedChanged(let speed): pace = ScenarioPace(parsing: speed) ?? pace
        case .paused, .suspended: paused = true
        case .resumed: paused = false
        case .skipped(let span):
            // The skip is recorded at the scenario time before it; what it skipped over may have produced no
            // event, so the jump itself moves scenario time.
            if !hasEnded { now = max(now, min(event.at + span, end)) }
        case .ended: break
        }
        recordedPaused = paused
        clock = ScenarioClock(scenario: now, wall: Instant(millisecondsSinceEpoch: 0), pace: pace, paused: true)
    }

    /// Takes a replayed exercise up again at wall instant `wall` (a server restarted). Scenario time stays
    /// where the journal last recorded it: a clock that was running comes back suspended, recorded with
    /// `reason`, because the wall time that passed meanwhile must not fire every inject due in it at once;
    /// the facilitator resumes it. A paused, manual or max clock comes back as it was, with nothing recorded.
    public mutating func reattach(wall: Instant, reason: String) -> ExerciseStep {
        guard started else { return ExerciseStep(refusal: "the exercise has not started") }
        guard !hasEnded else { return ExerciseStep(refusal: "the exercise has ended") }
        let paused = clockIsPaused
        let running: Bool
        if !paused, case .rate = clock.pace { running = true } else { running = false }
        clock = ScenarioClock(scenario: now, wall: wall, pace: clock.pace, paused: paused || running)
        recordedPaused = nil
        var step = ExerciseStep()
        if running { emit(.exerciseClock(.suspended(reason: reason)), by: Command.system, into: &step) }
        return step
    }

    /// Takes a replayed exercise up while the server driving it is alive, for one control through another server:
    /// nothing is journaled and scenario time is the driving server's. A running clock goes on from `anchor`, the
    /// wall and scenario instants at which the journal last set it going (started, resumed, new speed, skip): the
    /// same line the driving server's clock follows. A paused, manual or max clock comes back as it was.
    public mutating func follow(wall: Instant, anchor: (wall: Instant, scenario: Instant)?) {
        guard started, !hasEnded else { return }
        let paused = clockIsPaused
        if !paused, case .rate = clock.pace, let anchor {
            clock = ScenarioClock(scenario: min(max(anchor.scenario, now), end), wall: anchor.wall, pace: clock.pace)
            if clock.scenarioTime(at: wall) < now { clock = ScenarioClock(scenario: now, wall: wall, pace: clock.pace) }
        } else {
            clock = ScenarioClock(scenario: now, wall: wall, pace: clock.pace, paused: paused)
        }
        recordedPaused = nil
    }

    // MARK: Moving scenario time

    /// Journals a skip of `span` and moves scenario time ahead by it.
    private mutating func skip(_ span: TimeSpan, by actor: String, wall: Instant, into step: inout ExerciseStep) {
        emit(.exerciseClock(.skipped(by: span)), by: actor, into: &step)
        clock.skip(span, at: wall)
        advance(to: clock.scenarioTime(at: wall), into: &step)
    }

    mutating func advance(to target: Instant, into step: inout ExerciseStep) {
        guard started else { return }
        while !hasEnded {
            skipHandled()
            let inject = nextInject < schedule.count ? schedule[nextInject] : nil
            let injectAt = inject.map { origin + $0.at.value }
            var timerDue = timed.nextDue
            if timed.timerRejection != nil { timerDue = nil }
            let candidates = [timerDue, injectAt, end].compactMap { $0 }
            guard let next = candidates.min(), next <= target else { break }
            now = max(now, next)
            if let timerDue, timerDue == next {
                let fired = timed.advance(to: next, fireAtDueTimes: true)
                absorbEngine(fired, into: &step)
                if !fired.isEmpty || timed.timerRejection == nil { continue }
            }
            if let inject, injectAt == next {
                consider(inject, into: &step)
                continue
            }
            if next == end {
                finish(reason: "scenario time is up (\(exercise.length))", by: Command.system, into: &step)
            }
        }
        if !hasEnded { now = max(now, min(target, end)) }
    }

    private mutating func skipHandled() {
        while nextInject < schedule.count, isHandled(schedule[nextInject].id.value) { nextInject += 1 }
    }

    /// Delivers or withholds a scheduled inject at its time.
    mutating func consider(_ inject: Inject, into step: inout ExerciseStep) {
        let actor = inject.controller ?? facilitator
        if inject.contingency, firstUnmetEarlierExpectation() == nil {
            emit(.injectWithheld(inject: inject.id.value, reason: "contingency not needed: every expectation of the earlier injects was met"),
                 by: actor, into: &step)
            return
        }
        if let unless = inject.unless, run.evaluate(unless.value) {
            emit(.injectWithheld(inject: inject.id.value, reason: "'unless \(unless.value.text)' holds"), by: actor, into: &step)
            return
        }
        deliver(inject, by: actor, into: &step)
    }

    /// The first expectation, in delivery order, of an inject delivered so far that has not been met.
    public func firstUnmetEarlierExpectation() -> (inject: String, expectation: InjectExpectation)? {
        for id in deliveryOrder {
            guard let inject = injectByID[id] else { continue }
            for expectation in inject.expect where facts.firstTime(of: expectation.what) == nil {
                return (id, expectation)
            }
        }
        return nil
    }

    mutating func deliver(_ inject: Inject, by actor: String, into step: inout ExerciseStep) {
        emit(.injectDelivered(InjectDelivery(
            inject: inject.id.value, from: inject.from, to: inject.to.map(\.value), method: inject.method.description,
            message: inject.message, contingency: inject.contingency, adHoc: false)), by: actor, into: &step)
        if case .channel(let channel) = inject.method {
            step.effects.append(.sendNotification(Notification(
                id: "inject-\(inject.id.value)", channel: channel.value, message: inject.message, trigger: "inject:\(inject.id.value)")))
        }
    }

    mutating func finish(reason: String, by actor: String, into step: inout ExerciseStep) {
        emit(.exerciseClock(.ended(reason: reason)), by: actor, into: &step)
        if run.status == .active, let commander = run.commander {
            let result = timed.handle(Command(actor: commander, .close(reason: "exercise ended: \(reason)")), at: now, fireAtDueTimes: true)
            absorbEngine(result.timerEvents + result.events, into: &step)
        }
    }

    /// A player's command at the current scenario time; a refusal becomes a `playerActionRejected` fact.
    mutating func player(_ command: Command, into step: inout ExerciseStep) {
        let result = timed.handle(command, at: now, fireAtDueTimes: true)
        absorbEngine(result.timerEvents + result.events, into: &step)
        if let rejection = result.rejection {
            emit(.playerActionRejected(action: command.action.consoleText, reason: rejection.reason), by: command.actor, into: &step)
            step.rejection = rejection
        }
    }

    // MARK: Recording

    /// Engine events (already applied to the run), then what the exercise's people owe them (see `peopleCommands`).
    private mutating func absorbEngine(_ events: [RunEvent], into step: inout ExerciseStep) {
        var events = events
        for _ in 0..<4 {
            for event in events { observe(event) }
            step.events.append(contentsOf: events)
            step.effects.append(contentsOf: Run.effects(of: events))
            let commands = peopleCommands(after: events)
            guard !commands.isEmpty else { return }
            events = []
            for command in commands {
                let result = timed.handle(command, at: now, fireAtDueTimes: true)
                events += result.timerEvents + result.events
            }
        }
    }

    /// What the directory's follow-ups do in a live run (`IncidentRuntime+Directory`), from the exercise's people:
    /// a roll call asked for starts with the people it names and the holders of its roles (in the roster's
    /// spelling when listed), then its groups' members in roster order, each once; a role assigned to someone with
    /// a deputy names that deputy. Commands of `muster`, decided at once.
    func peopleCommands(after events: [RunEvent]) -> [Command] {
        var commands: [Command] = []
        var named = Set<String>()
        for event in events {
            switch event.body {
            case .roleAssigned(_, let person):
                guard named.insert(person).inserted, let deputy = people.entry(person)?.deputy,
                      deputy.lowercased() != person.lowercased(), run.deputies[person] != deputy else { continue }
                commands.append(Command(actor: Command.system, .nameDeputy(person: person, deputy: deputy)))
            case .rollCallRequested(let request):
                var seen = Set<String>(), list: [String] = []
                func add(_ name: String) { if seen.insert(name.lowercased()).inserted { list.append(name) } }
                for name in request.people { add(people.entry(name)?.name ?? name) }
                for group in request.groups { for member in people.members(of: group) { add(member.name) } }
                // As the live directory does: each person's messages go to the channels of `via` that reach them.
                let routes = run.playbook.rollCall(request.rollCall)?.routes(for: list) { people.reaches($0, through: $1) }
                commands.append(Command(actor: Command.system, .startRollCall(request.rollCall, people: list, routes: routes)))
            default:
                break
            }
        }
        return commands
    }

    /// The playbook channel through which a roll call's messages have reached `person` so far, first sent first:
    /// each person's messages go through the channels of `via` that reach them (the first message on the first,
    /// each reminder on the next), so this is the first of those. nil when no channel of `via` reaches them.
    public func answerChannel(_ rollCall: String, for person: String) -> String? {
        guard let spec = run.playbook.rollCall(rollCall), let record = run.rollCalls[rollCall], record.startedAt != nil,
              !spec.via.isEmpty else { return nil }
        let first = record.channel(for: person, message: 0, via: spec.via.map(\.value))
        return people.reaches(person, through: first) ? first : nil
    }

    /// Scripted answers: each person answers for themselves through the channel that reached them.
    mutating func answer(_ rollCall: String, option: String, crowd: AnswerCrowd, by actor: String, into step: inout ExerciseStep) {
        let action = "answer \(rollCall) \(option) (\(crowd))"
        guard let record = run.rollCalls[rollCall], record.startedAt != nil else {
            let reason = run.playbook.rollCall(rollCall) == nil
                ? "roll call '\(rollCall)' is not defined in playbook '\(run.playbook.id.value)'"
                : "roll call '\(rollCall)' has not started in this run"
            emit(.playerActionRejected(action: action, reason: reason), by: actor.isEmpty ? facilitator : actor, into: &step)
            step.rejection = Rejection(.notRequested, reason)
            return
        }
        switch crowd {
        case .named(let names):
            for name in names {
                let person = record.people.first { $0.lowercased() == name.lowercased() } ?? name
                guard let channel = answerChannel(rollCall, for: person) else {
                    let reason = record.asks(person)
                        ? "no message of roll call '\(rollCall)' has reached \(person) yet on a channel they are reachable on"
                        : "roll call '\(rollCall)' does not ask \(person)"
                    emit(.playerActionRejected(action: "answer \(rollCall) \(option)", reason: reason), by: person, into: &step)
                    step.rejection = Rejection(record.asks(person) ? .invalidArgument : .unknownPerson, reason)
                    continue
                }
                player(Command(actor: person, .answer(rollCall: rollCall, person: person, option: option, channel: channel)), into: &step)
            }
        case .share(let percent):
            let target = ExerciseFacts.needed(percent, of: record.people.count)
            for person in record.people {
                guard let current = run.rollCalls[rollCall], current.accounted < target else { break }
                guard !current.isAccounted(person), let channel = answerChannel(rollCall, for: person) else { continue }
                player(Command(actor: person, .answer(rollCall: rollCall, person: person, option: option, channel: channel)), into: &step)
                if step.rejection != nil { return }
            }
        }
    }

    /// An exercise-layer event at the current scenario time.
    private mutating func emit(_ body: RunEvent.Body, by actor: String, into step: inout ExerciseStep) {
        let event = RunEvent(at: now, actor: actor, role: nil, body)
        observe(event)
        step.events.append(event)
    }

    private mutating func observe(_ event: RunEvent) {
        now = max(now, event.at)
        facts.record(event)
        switch event.body {
        case .exerciseStarted(let record):
            started = true
            facilitator = record.facilitator ?? exercise.facilitator
            driver = record.driver
        case .injectDelivered(let delivery):
            if delivery.adHoc {
                adHoc.append(.init(id: delivery.inject, at: event.at, message: delivery.message))
            } else if deliveries[delivery.inject] == nil {
                deliveries[delivery.inject] = event.at
                deliveryOrder.append(delivery.inject)
            }
        case .injectWithheld(let inject, let reason):
            withheld[inject] = reason
        case .exerciseClock(.ended):
            endedAt = event.at
        case .ratingOverruled(let objective, let rating, let note):
            if let rating = Rating(rawValue: rating) {
                overrules[objective] = RatingOverrule(rating: rating, note: note, by: event.actor, at: event.at)
            }
        default:
            break
        }
    }
}

/// What the facilitator, a player or the clock asks of an exercise.
public enum ExerciseInput: Sendable, Hashable {
    /// Only bring the scenario up to the clock's time.
    case tick
    /// Bring the scenario up to the clock's time, but no further than `limit`: a shell with a scripted action
    /// due at `limit` ticks this way, so that a late wake-up cannot carry the scenario past the action's time.
    case tickUntil(Instant)
    /// Move scenario time to this instant (manual and max clocks; nothing is journaled for the move itself).
    case moveTo(Instant)
    case player(Command)
    /// Answers to a roll call (see `AnswerCrowd`), each given by the person through the channel whose message
    /// reached them: scripted, due at this scenario instant; or typed at the console (`at` nil: the clock's time).
    case answers(rollCall: String, option: String, crowd: AnswerCrowd, at: Instant?)
    /// A scripted player's action due at this scenario instant: it happens at exactly that time (or now, if
    /// the scenario is already past it), whatever the wall clock says.
    case scripted(Command, at: Instant)
    case pause
    case resume
    case speed(ScenarioPace)
    case skip(TimeSpan)
    /// Skip to the next inject on the list (delivered then, or withheld when a contingency is not needed),
    /// journaled as a skip like any other; refused when none is coming.
    case skipToNextInject
    /// An ad-hoc inject delivered now (not on the master scenario events list).
    case injectNow(message: String, to: [String])
    /// Deliver a listed inject now, whatever its time or contingency (the controller's call).
    case deliver(inject: String)
    /// Stop a running clock because whoever drives the exercise goes away (a server shutting down); the
    /// facilitator resumes it. Refused when the clock is not running.
    case suspend(reason: String)
    case end(reason: String)
    case overrule(objective: String, rating: Rating, note: String)
}

/// What one input did: the events to journal (scenario time in `at`), the effects for the shell, the engine's
/// rejection of a player action (journaled as `playerActionRejected` too), or a refusal of a facilitator
/// command (nothing journaled).
public struct ExerciseStep: Sendable, Hashable {
    public var events: [RunEvent] = []
    public var effects: [Effect] = []
    public var rejection: Rejection?
    public var refusal: String?

    public init(events: [RunEvent] = [], effects: [Effect] = [], rejection: Rejection? = nil, refusal: String? = nil) {
        self.events = events
        self.effects = effects
        self.rejection = rejection
        self.refusal = refusal
    }
}

extension Command.Action {
    /// The action as the facilitator console writes it: `done isolate`, `decide declare-major declare`.
    public var consoleText: String {
        switch self {
        case .start(let start): "start \"\(start.title)\""
        case .assign(let role, let person): "assign \(role) \(person)"
        case .relieve(let role, _): "relieve \(role)"
        case .completeTask(let task, _): "done \(task)"
        case .skipTask(let task, _): "skip \(task)"
        case .raise(let event): "event \(event)"
        case .decide(let decision, let option, _): "decide \(decision) \(option)"
        case .note: "note"
        case .lesson: "lesson"
        case .fireTimer(let key): "fire \(key)"
        case .close: "close"
        case .acknowledge(let ack): "ack \(ack)"
        case .nameDeputy(let person, let deputy): "deputy \(person) \(deputy ?? "-")"
        case .startRollCall(let id, let people, _): "rollcall \(id) (\(people.count) people)"
        case .answer(let rollCall, let person, let option, _): "answer \(rollCall) \(person) \(option)"
        case .markAccounted(let rollCall, let person, _): "accounted \(rollCall) \(person)"
        }
    }
}
