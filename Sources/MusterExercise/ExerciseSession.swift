import Foundation
import MusterCore
import MusterJournal
import MusterRuntime
import MusterYAML

/// Problems the exercise shell reports, each in one line a person can act on.
public struct ExerciseError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var diagnostics: [Diagnostic]
    public init(_ message: String, diagnostics: [Diagnostic] = []) {
        self.message = message
        self.diagnostics = diagnostics
    }
    public var description: String { message }
}

/// An exercise run kept in the journal: for each input, the pure `ExerciseRun` decides (on a copy), the events
/// and their outbox rows are appended in ONE transaction with the expected sequence number, and only then does
/// the session keep the new state. Events are journaled with the wall-clock time of writing (`at_ms`) and the
/// scenario time (`scenario_ms`); the machine works in scenario time.
public final class ExerciseSession {
    public let journal: Journal
    public let runID: String
    public private(set) var exercise: ExerciseRun
    public private(set) var sequence: Int
    let clock: any Clock

    init(journal: Journal, runID: String, exercise: ExerciseRun, sequence: Int, clock: any Clock) {
        self.journal = journal
        self.runID = runID
        self.exercise = exercise
        self.sequence = sequence
        self.clock = clock
    }

    /// A run id that says what it is and repeats from one fresh journal to another (so that timelines compare
    /// byte for byte): `x-` and the exercise id, then the number of that exercise's runs in this journal.
    public static func makeRunID(for exercise: Exercise, in journal: Journal) throws(JournalError) -> String {
        var slug = String(exercise.id.value.prefix(48).map { ($0.isASCII && ($0.isLetter || $0.isNumber)) ? Character($0.lowercased()) : "-" })
        while slug.hasSuffix("-") { slug.removeLast() }
        let base = "x-" + slug
        let taken = Set(try journal.runs().map(\.id))
        var n = 1
        while taken.contains("\(base)-\(n)") { n += 1 }
        return "\(base)-\(n)"
    }

    /// Records a new exercise run: the run header (pinning the playbook's text), then the start (engine start,
    /// the exercise's own record with the exercise file's text, role assignments, the clock, the injects due at
    /// the start), in one transaction. `facilitator` and `driver` are recorded with the start when a server
    /// starts the exercise for a person (see `ExerciseRun.start`).
    public static func start(
        journal: Journal, loaded: LoadedExercise, playersFile: String?, pace: ScenarioPace? = nil, runID: String? = nil,
        clock: any Clock = SystemClock(), facilitator: String? = nil, driver: String? = nil, restricted: Bool = false
    ) throws -> (ExerciseSession, ExerciseStep) {
        guard var exercise = loaded.exercise, let playbook = loaded.playbook?.playbook, let playbookText = loaded.playbook?.text,
              !loaded.hasErrors else {
            let errors = loaded.diagnostics.filter { $0.severity == .error }.count
            throw ExerciseError("\(loaded.path) is not a valid exercise (\(errors) \(errors == 1 ? "error" : "errors"))", diagnostics: loaded.diagnostics)
        }
        if let pace { exercise.clock.pace = pace }
        // Two servers starting the same exercise at once pick the same next number: the one whose run exists by
        // the time it writes takes the number after (a given `runID` is not retried).
        for attempt in 0..<(runID == nil ? 16 : 1) {
            let id = try runID ?? makeRunID(for: exercise, in: journal)
            var run = ExerciseRun(exercise: exercise, playbook: playbook)
            if exercise.roster == nil { run.usePeople(try directoryPeople(journal)) }
            let wall = clock.now
            let step = run.start(runID: id, file: loaded.path, text: loaded.text, players: playersFile, wall: wall,
                                 facilitator: facilitator, driver: driver)
            if let refusal = step.refusal { throw ExerciseError(refusal) }
            let header = RunHeader(id: id, playbookID: playbook.id.value, playbookVersion: playbook.version, playbookText: playbookText,
                                   mode: .exercise, title: exercise.title, createdAt: wall, restricted: restricted)
            do {
                let appended = try journal.createRun(header, entries: entries(step.events, wall: wall),
                                                    outbox: outbox(step, playbook: playbook, simulated: run.people.simulated))
                return (ExerciseSession(journal: journal, runID: id, exercise: run, sequence: appended.head.sequence, clock: clock), step)
            } catch JournalError.runExists where runID == nil && attempt < 15 {
                continue
            }
        }
        throw JournalError.runExists(runID ?? exercise.id.value)
    }

    /// Takes up an open exercise run again from the journal alone (a server restarted): the exercise as
    /// recorded at its start, its state rebuilt from the events, the clock as `ExerciseRun.reattach` leaves it
    /// (a running clock comes back suspended at the scenario time last recorded, which is journaled).
    public static func reattach(journal: Journal, record: RunRecord, reason: String,
                                clock: any Clock = SystemClock()) throws -> (ExerciseSession, ExerciseStep) {
        let replay = try ExerciseReplay.load(record, from: journal)
        guard replay.exercise.run.status != .closed else { throw ExerciseError("exercise run \(record.id) is closed") }
        var next = replay.exercise
        if next.exercise.roster == nil { next.usePeople(try directoryPeople(journal)) }
        // One wall instant for the clock's new anchor and the suspension's record.
        let wall = clock.now
        let step = next.reattach(wall: wall, reason: reason)
        if let refusal = step.refusal { throw ExerciseError("exercise run \(record.id) cannot be taken up again: \(refusal)") }
        let session = ExerciseSession(journal: journal, runID: record.id, exercise: replay.exercise, sequence: replay.lastSequence, clock: clock)
        if !step.events.isEmpty {
            session.sequence = try session.appendPastDeliveryOutcomes(entries(step.events, wall: wall), outbox: [])
        }
        session.exercise = next
        return (session, step)
    }

    /// Takes up an open exercise run from the journal while another server drives it (`ExerciseRun.follow`):
    /// nothing is journaled; the clock goes on from the anchor its last clock event recorded.
    public static func follow(journal: Journal, record: RunRecord, clock: any Clock = SystemClock()) throws -> ExerciseSession {
        let replay = try ExerciseReplay.load(record, from: journal)
        guard replay.exercise.run.status != .closed else { throw ExerciseError("exercise run \(record.id) is closed") }
        var exercise = replay.exercise
        if exercise.exercise.roster == nil { exercise.usePeople(try directoryPeople(journal)) }
        var anchor: (wall: Instant, scenario: Instant)?
        for stored in try journal.storedEvents(runID: record.id, after: 0) {
            guard case .exerciseClock(let change) = stored.event.body, let scenario = stored.scenarioTime else { continue }
            switch change {
            case .started, .resumed, .speedChanged: anchor = (stored.event.at, scenario)
            case .skipped(let span): anchor = (stored.event.at, scenario + span)
            case .paused, .suspended, .ended: anchor = nil
            }
        }
        exercise.follow(wall: clock.now, anchor: anchor)
        return ExerciseSession(journal: journal, runID: record.id, exercise: exercise, sequence: replay.lastSequence, clock: clock)
    }

    /// The people directory as an exercise without a roster calls it: names, groups and deputies (no contact
    /// details), read when the session starts or takes a run up again.
    static func directoryPeople(_ journal: Journal) throws(JournalError) -> ExercisePeople {
        ExercisePeople(try journal.people().map { ExercisePeople.Entry(name: $0.name, groups: $0.groups, deputy: $0.deputy) }, simulated: false)
    }

    /// Whether the journal holds events of this run, written by another process since this copy's last write,
    /// that change the exercise (delivery outcomes do not): the copy is then stale.
    public func isBehindJournal() throws(JournalError) -> Bool {
        guard try journal.head(runID: runID).sequence > sequence else { return false }
        return try journal.storedEvents(runID: runID, after: sequence).contains { !Self.isDeliveryOutcome($0.event.body) }
    }

    /// Decides the input on a copy, journals what it produced, then keeps the new state.
    /// With `key`, the key is stored with the step's events in their transaction (see `Journal.append`'s `keys`).
    @discardableResult
    public func handle(_ input: ExerciseInput, by actor: String, key: CommandKey? = nil) throws -> ExerciseStep {
        let wall = clock.now
        var next = exercise
        let step = next.handle(input, by: actor, wall: wall)
        if !step.events.isEmpty {
            let entries = Self.entries(step.events, wall: wall)
            let outbox = try Self.outbox(step, playbook: next.run.playbook, simulated: next.people.simulated)
            let keys = key.map { [KeyedEntries(key: $0, entries: 0..<entries.count, rejection: step.rejection.map { ($0.code.rawValue, $0.reason) })] } ?? []
            // An outbox worker (the server's, `muster watch`) appends delivery outcomes to this run; they change
            // nothing the exercise decides on, so the session moves past them and appends again. Anything else
            // appended meanwhile is a real conflict and is thrown.
            sequence = try appendPastDeliveryOutcomes(entries, outbox: outbox, keys: keys)
        }
        exercise = next
        return step
    }

    /// Appends after `sequence`, moving past delivery outcomes appended meanwhile; returns the new head.
    func appendPastDeliveryOutcomes(_ entries: [JournalEntry], outbox: [OutboxRequest], keys: [KeyedEntries] = []) throws(JournalError) -> Int {
        var expected = sequence
        for _ in 0..<10 {
            let result = Result { () throws(JournalError) in
                try journal.append(runID: runID, expectedSequence: expected, entries: entries, outbox: outbox, keys: keys).head.sequence
            }
            switch result {
            case .success(let head): return head
            case .failure(.sequenceConflict(let was, let actual)):
                let foreign = try journal.storedEvents(runID: runID, after: was)
                guard foreign.allSatisfy({ Self.isDeliveryOutcome($0.event.body) }) else {
                    throw .sequenceConflict(expected: was, actual: actual)
                }
                expected = foreign.last?.seq ?? actual
            case .failure(let error): throw error
            }
        }
        return try journal.append(runID: runID, expectedSequence: expected, entries: entries, outbox: outbox, keys: keys).head.sequence
    }

    /// Channel types whose personal messages go to the person's own contact point (see `PersonalAddress`).
    static func addressesPeople(_ type: ChannelType) -> Bool {
        switch type {
        case .sms, .email, .slack, .mattermost: true
        case .webhook, .teams, .pagerduty: false
        }
    }

    /// Events the delivery side journals on a run (one per attempt, or a person's requeue).
    static func isDeliveryOutcome(_ body: RunEvent.Body) -> Bool {
        switch body {
        case .notificationSent, .notificationFailed, .notificationDeadLettered, .notificationSkipped, .notificationRequeued: true
        default: false
        }
    }

    static func entries(_ events: [RunEvent], wall: Instant) -> [JournalEntry] {
        events.map { JournalEntry(RunEvent(at: wall, actor: $0.actor, role: $0.role, $0.body), scenarioTime: $0.at) }
    }

    /// Outbox rows for the notifications queued (engine notifications and injects sent through a channel),
    /// decided as the delivery worker routes exercise messages (`ChannelRouting`): a channel's `exercise:` override
    /// when it has one, else a `live_only` channel is skipped, with the reason. Personal messages (pages, roll
    /// calls) follow the same rule; and a roster's people are simulated, so a personal message to one of them
    /// through a channel that would look up a contact point (sms, email, slack, mattermost) is skipped rather than
    /// sent to whoever of that name the people directory holds.
    static func outbox(_ step: ExerciseStep, playbook: Playbook, simulated: Bool = false) throws -> [OutboxRequest] {
        var out: [OutboxRequest] = []
        for effect in step.effects {
            guard case .sendNotification(let notification) = effect else { continue }
            var skip: String?
            if let channel = playbook.channel(notification.channel) {
                let target = channel.exerciseOverride.flatMap { playbook.channel($0.value) } ?? channel
                if target.liveOnly {
                    skip = target.id.value == channel.id.value
                        ? "channel \(notification.channel) is live_only: not sent in an exercise"
                        : "channel \(notification.channel) goes to '\(target.id.value)' in exercises, which is live_only: not sent in an exercise"
                } else if simulated, let person = notification.person, Self.addressesPeople(target.type.value) {
                    skip = "not sent: \(person) is a simulated participant of the exercise's roster, with no contact point for \(target.type.value.rawValue) channel '\(target.id.value)'"
                }
            }
            var request = try OutboxRequest(notification, status: skip == nil ? .pending : .skipped, note: skip)
            if notification.id.hasPrefix("inject-") {
                let inject = String(notification.id.dropFirst("inject-".count))
                request.causeIndex = step.events.firstIndex {
                    if case .injectDelivered(let d) = $0.body { d.inject == inject } else { false }
                }
            }
            out.append(request)
        }
        return out
    }
}

/// An exercise run read back from the journal: the exercise (decoded from the text recorded at its start), the
/// playbook (from the run's pinned text), the state rebuilt from the events, and the stored rows.
public struct ExerciseReplay: Sendable {
    public var record: RunRecord
    public var exercise: ExerciseRun
    /// The events with SCENARIO time in `at`, in seq order.
    public var events: [RunEvent]
    public var started: ExerciseStarted
    /// The seq of the last event read.
    public var lastSequence: Int

    /// The most recent exercise run in the journal, or the one `name` (an id or id prefix) means.
    public static func resolve(_ name: String?, in journal: Journal) throws -> RunRecord {
        if let name {
            let record = try journal.resolveRun(prefix: name)
            guard record.mode == .exercise else { throw ExerciseError("run \(record.id) is a live incident, not an exercise") }
            return record
        }
        guard let latest = try journal.runs().last(where: { $0.mode == .exercise }) else {
            throw ExerciseError("no exercise run in \(journal.path) (start one with: muster exercise run FILE)")
        }
        return latest
    }

    public static func load(_ record: RunRecord, from journal: Journal) throws -> ExerciseReplay {
        let stored = try journal.storedEvents(runID: record.id)
        // Delivery outcomes are journaled by the outbox worker without a scenario time: they happened at the
        // scenario time reached so far, not at their wall time (which would move scenario time by days).
        var reached: Instant?
        let events = stored.map { row in
            let at = row.scenarioTime ?? reached ?? row.event.at
            reached = at
            return RunEvent(at: at, actor: row.event.actor, role: row.event.role, row.event.body)
        }
        guard let started = events.lazy.compactMap({ event -> ExerciseStarted? in
            if case .exerciseStarted(let s) = event.body { s } else { nil }
        }).first else {
            throw ExerciseError("run \(record.id) has no exercise record")
        }
        let loadedPlaybook = PlaybookLoader.load(text: record.playbookText, file: "\(record.id):playbook \(record.playbookID) v\(record.playbookVersion)")
        guard let playbook = loadedPlaybook.playbook else {
            throw ExerciseError("the playbook pinned by run \(record.id) no longer decodes", diagnostics: loadedPlaybook.diagnostics)
        }
        let (node, yamlDiagnostics) = YAMLSource.parse(started.text, file: started.file)
        guard let node, case (let decoded?, _) = ExerciseDecoder.decode(node) else {
            throw ExerciseError("the exercise recorded by run \(record.id) (\(started.file)) no longer decodes", diagnostics: yamlDiagnostics)
        }
        var exercise = ExerciseRun(exercise: decoded, playbook: playbook)
        for event in events { exercise.apply(event) }
        return ExerciseReplay(record: record, exercise: exercise, events: events, started: started, lastSequence: stored.last?.seq ?? 0)
    }

    /// Appends an evaluator's overrule to the run.
    public static func overrule(_ record: RunRecord, objective: String, rating: Rating, note: String, by actor: String,
                                in journal: Journal, clock: any Clock = SystemClock()) throws -> RunEvent {
        let replay = try load(record, from: journal)
        guard replay.exercise.exercise.objective(objective) != nil else {
            let ids = replay.exercise.exercise.objectives.map(\.id.value)
            throw ExerciseError("no objective '\(objective)' in exercise \(replay.started.exercise)\(Suggestion.hint(for: objective, in: ids)) (objectives: \(ids.joined(separator: ", ")))")
        }
        guard !note.isEmpty else { throw ExerciseError("an overrule needs a note saying why (--why)") }
        let event = RunEvent(at: replay.exercise.endedAt ?? replay.exercise.now, actor: actor, role: nil,
                             .ratingOverruled(objective: objective, rating: rating.rawValue, note: note))
        try journal.append(runID: record.id, expectedSequence: record.lastSequence,
                           entries: ExerciseSession.entries([event], wall: clock.now))
        return event
    }

    /// Appends hot-wash lessons to the run (the engine accepts lessons after the run is closed).
    public static func recordLessons(_ lessons: [(actor: String, lesson: Lesson)], on record: RunRecord, in journal: Journal,
                                     clock: any Clock = SystemClock()) throws -> [RunEvent] {
        guard !lessons.isEmpty else { return [] }
        var replay = try load(record, from: journal)
        var events: [RunEvent] = []
        for (actor, lesson) in lessons {
            let step = replay.exercise.handle(.player(Command(actor: actor, .lesson(lesson))), by: actor, wall: clock.now)
            events += step.events
        }
        try journal.append(runID: record.id, expectedSequence: record.lastSequence, entries: ExerciseSession.entries(events, wall: clock.now))
        return events
    }
}
