import Foundation
import MusterCore
import MusterJournal
import MusterYAML

/// The shell around the pure engine for runs kept in a journal: declares runs, and for each command on a run
/// opens it (replaying its events over the playbook text stored with it), fires the timers that fell due
/// (catch-up), decides, appends the events and their outbox rows in one transaction with the expected
/// sequence number, and only then applies them. A concurrent writer that got there first makes the append
/// fail with a sequence conflict: the command is decided again against the new state (bounded retries).
///
/// A runtime keeps each run it has opened in memory and reads only the events appended since (by any
/// process), so a long-running watcher does not replay the whole run on every tick. Thread-safe.
public final class IncidentRuntime: @unchecked Sendable {
    public let journal: Journal
    public let clock: any Clock
    /// How many fresh run ids a declaration tries when another process takes the same one first. (Commands lose no
    /// races: they are decided under the run's lock.)
    public let maximumAttempts: Int

    /// At most this many runs are kept in memory (least recently used leave first).
    public let cacheLimit: Int
    /// Of which at most this many closed runs: a closed run only takes notes and lessons and is read now and
    /// then, so it leaves the cache soon after; memory does not grow with the runs a process has ever touched.
    public let closedCacheLimit: Int

    private let lock = NSLock()
    private var cache: [String: Cached] = [:]
    private var uses: UInt64 = 0
    private var playbooks: [String: Playbook] = [:]

    private struct Cached {
        var open: OpenRun
        var used: UInt64
    }

    public init(journal: Journal, clock: any Clock = SystemClock(), maximumAttempts: Int = 10, cacheLimit: Int = 256, closedCacheLimit: Int = 8) {
        self.journal = journal
        self.clock = clock
        self.maximumAttempts = max(1, maximumAttempts)
        self.cacheLimit = max(1, cacheLimit)
        self.closedCacheLimit = max(0, closedCacheLimit)
    }

    /// Opens the journal in `home` (`create: false` refuses a missing one).
    public static func open(home: String, clock: any Clock = SystemClock(), durability: Journal.Durability = .full, create: Bool) throws(RuntimeError) -> IncidentRuntime {
        try open(.resolve(home: home, environment: [:]), clock: clock, durability: durability, create: create)
    }

    /// Opens the journal at `location` (`create: false` refuses a missing one).
    public static func open(_ location: JournalLocation, clock: any Clock = SystemClock(), durability: Journal.Durability = .full, create: Bool) throws(RuntimeError) -> IncidentRuntime {
        do {
            return IncidentRuntime(journal: try Journal.open(location, durability: durability, create: create), clock: clock)
        } catch {
            throw .journal(error)
        }
    }

    // MARK: - Declaring

    /// Loads and validates the playbook file, then records a new run: its header (with a copy of the
    /// playbook text), its start events and the outbox rows of the notifications they queue, in one
    /// transaction. A playbook with errors is refused with its diagnostics; a start the engine refuses comes
    /// back as a rejection and records nothing.
    public func declare(_ request: DeclareRequest, key: CommandKey? = nil) throws(RuntimeError) -> CommandResult {
        if let key, let stored = try storedKeys([key])[0] { return try replayed(stored) }
        let loaded = PlaybookLoader.load(file: request.playbookPath)
        guard loaded.playbook != nil, !loaded.hasErrors else {
            throw .invalidPlaybook(path: request.playbookPath, diagnostics: loaded.diagnostics)
        }
        return try declare(request, text: loaded.text, key: key)
    }

    /// `declare` for playbook text already validated (`request.playbookPath` only names it). The run is started
    /// on the playbook decoded exactly as a replay will decode the stored copy, so live and replayed runs are equal.
    ///
    /// With `key`, a declaration is made at most once: a retry gets the run the first one created (`replayed`).
    public func declare(_ request: DeclareRequest, text: String, key: CommandKey? = nil) throws(RuntimeError) -> CommandResult {
        if let key, let stored = try storedKeys([key])[0] { return try replayed(stored) }
        let now = clock.now
        for attempt in 1...maximumAttempts {
            let runID: String
            do { runID = try journal.makeRunID() } catch { throw .journal(error) }
            var disruption: Instant?
            switch request.disruption {
            case .none: disruption = nil
            case .at(let instant): disruption = instant
            case .before(let span): disruption = now - span
            }
            let start = StartRun(runID: runID, mode: request.mode, title: request.title, severity: request.severity,
                                 disruptionStart: disruption, commander: request.commander)
            let playbook = try storedPlaybook(text: text, runID: runID)
            var run = Run(playbook: playbook)
            switch run.execute(Command(actor: request.actor, .start(start)), at: now) {
            case .rejected(let rejection):
                return CommandResult(runID: runID, timerEvents: [], events: [], effects: [], rejection: rejection,
                                     sequences: nil, run: run, attempts: attempt, timerRejection: nil)
            case .accepted(let events, let effects):
                let header = RunHeader(id: runID, playbookID: playbook.id.value, playbookVersion: playbook.version,
                                       playbookText: text, mode: request.mode, title: request.title, createdAt: now,
                                       restricted: request.restricted)
                let outbox = try outboxRequests(for: effects, run: run)
                let appended: AppendResult
                do {
                    appended = try journal.createRun(header, events: events, outbox: outbox,
                                                     keys: key.map { [KeyedEntries(key: $0, entries: 0..<events.count)] } ?? [])
                } catch .runExists {
                    continue  // another process took the same id a moment ago
                } catch .idempotencyKeyUsed where key != nil {
                    // The same declaration, retried elsewhere, committed first: answer with its run.
                    guard let stored = try storedKeys([key])[0] else { throw .journal(.idempotencyKeyUsed(user: key!.user, key: key!.key)) }
                    return try replayed(stored)
                } catch {
                    throw .journal(error)
                }
                remember(OpenRun(sha: header.playbookSHA256, timed: TimedRun(run: run), sequence: appended.head.sequence,
                                 lastEventAt: now), runID: runID, playbook: playbook)
                var result = CommandResult(runID: runID, timerEvents: [], events: events, effects: effects, rejection: nil,
                                           sequences: appended.sequences, run: run, attempts: attempt, timerRejection: nil)
                followUp(&result)
                return result
            }
        }
        throw .journal(.database(path: journal.path, detail: "could not find a free run id"))
    }

    // MARK: - Commands

    /// Runs one command on a run: catch up the timers due by now (each fires once, at now, marked late), decide,
    /// append timer and command events with their outbox rows in one transaction, then apply. A rejected command
    /// still records the timers that fired before it. Decided under the run's lock (see `perform`).
    ///
    /// With `key`, the command is applied at most once: when the journal already holds the key, nothing is
    /// decided or written and the result says what the first one recorded (`replayed`).
    public func execute(_ command: Command, on runID: String, key: CommandKey? = nil) throws(RuntimeError) -> CommandResult {
        try executeBatch([command], keys: [key], on: runID) { _, _ in true }[0]!
    }

    /// `handle`, or for a command naming an unknown person, the timers caught up and the refusal.
    private static func step(_ timed: inout TimedRun, _ command: Command, _ unknown: Rejection?, _ now: Instant) -> StepResult {
        guard let unknown else { return timed.handle(command, at: now, fireAtDueTimes: false) }
        let fired = timed.advance(to: now, fireAtDueTimes: false)
        return StepResult(timerEvents: fired, events: [], effects: Run.effects(of: fired), rejection: unknown)
    }

    /// Where people are known (the journal has users), a role goes to one of them: a name is matched without
    /// regard to case and stored as the known spelling (`lee` → `Lee`); an unknown one is refused with the closest
    /// known name, instead of a role held by a name nobody signs in with. Without users, any name is taken.
    func knownPeople(_ command: Command) throws(RuntimeError) -> (Command, Rejection?) {
        guard case .assign(let role, let person) = command.action else { return (command, nil) }
        let users: [UserRecord]
        do { users = try journal.users().filter { $0.revokedAt == nil } } catch { throw .journal(error) }
        guard !users.isEmpty, !users.contains(where: { $0.name == person }) else { return (command, nil) }
        let folded = person.lowercased()
        let matches = users.filter { $0.name.lowercased() == folded }
        if matches.count == 1 {
            var known = command
            known.action = .assign(role: role, person: matches[0].name)
            return (known, nil)
        }
        let hint = Suggestion.hint(for: person, in: users.map(\.name))
        return (command, Rejection(.unknownPerson, "no person named '\(person)'\(hint): roles go to people Muster knows (muster users list; muster users add NAME)"))
    }

    /// Fires the timers that are due on a run, and nothing else (what `muster watch` calls). Writes nothing when
    /// no timer is due.
    @discardableResult
    public func tick(runID: String) throws(RuntimeError) -> CommandResult {
        // Nothing due: no write transaction (callers ask often).
        let open = try refreshed(runID: runID)
        if open.timed.run.nextDue.map({ $0 > max(clock.now, open.lastEventAt) }) ?? true {
            var result = CommandResult(runID: runID, timerEvents: [], events: [], effects: [], rejection: nil, sequences: nil,
                                       run: open.timed.run, attempts: 1, timerRejection: open.timed.timerRejection)
            if CommandResult.owesFollowUp(open.timed.run) { followUp(&result) }  // a roll call left unstarted
            return result
        }
        var result = try perform(runID: runID) { timed, now, _ in
            let fired = timed.advance(to: now, fireAtDueTimes: false)
            return [StepResult(timerEvents: fired, events: [], effects: Run.effects(of: fired), rejection: nil)]
        }.results[0]!
        if result.sequences != nil { followUp(&result) }
        return result
    }

    /// Group commit: several commands on one run, decided one after another against the state the previous ones
    /// left (timers due by now are caught up before the first), and all their events appended in ONE transaction
    /// with the expected sequence, then applied. One fsync for the batch instead of one per command; a lost race
    /// decides the whole batch again (bounded retries), exactly as `execute` does for one command.
    ///
    /// `admit(i, run)` is asked before command `i` is decided, with the run as the commands before it left it
    /// (permissions follow an `assign` earlier in the batch); a command it refuses is skipped and its result is
    /// nil. It may be called again for the same `i` after a lost race. Each result's `run` is the run after the
    /// whole batch; its `sequences` are the seqs of that command's own timer and command events.
    ///
    /// `keys[i]` (when given) is command `i`'s idempotency key: it is looked up before each decision, and a command
    /// whose key the journal holds is not decided again (its result carries `replayed`); the others' keys are stored
    /// in the append's transaction. Keys within one batch must differ.
    ///
    /// Each accepted result's directory follow-ups (a roll call started, a deputy named) are run next, in their own
    /// transaction, and recorded in its `followUps` (IncidentRuntime+Directory.swift).
    public func executeBatch(_ commands: [Command], keys: [CommandKey?] = [], on runID: String,
                             admit: (Int, Run) -> Bool) throws(RuntimeError) -> [CommandResult?] {
        var results = try executeBatchOnly(commands, keys: keys, on: runID, admit: admit)
        for index in results.indices where results[index]?.sequences != nil && results[index]?.replayed == nil {
            followUp(&results[index]!)
        }
        return results
    }

    /// `executeBatch` without the directory's follow-ups.
    func executeBatchOnly(_ commands: [Command], keys: [CommandKey?], on runID: String,
                          admit: (Int, Run) -> Bool) throws(RuntimeError) -> [CommandResult?] {
        var resolved: [(Command, Rejection?)] = []
        for command in commands { resolved.append(try knownPeople(command)) }
        let (results, replays) = try perform(runID: runID, keys: keys) { timed, now, replays in
            var steps: [StepResult?] = []
            for (index, (command, unknown)) in resolved.enumerated() {
                steps.append(replays[index] == nil && admit(index, timed.run) ? Self.step(&timed, command, unknown, now) : nil)
            }
            return steps
        }
        guard !replays.isEmpty else { return results }
        var out = results
        for (index, stored) in replays {
            out[index] = try replayed(stored)
        }
        return out
    }

    /// The stored keys among `keys`, by the index of their command.
    private func storedKeys(_ keys: [CommandKey?]) throws(RuntimeError) -> [Int: StoredCommandKey] {
        let given = keys.enumerated().compactMap { index, key in key.map { (index, $0) } }
        guard !given.isEmpty else { return [:] }
        var found: [Int: StoredCommandKey] = [:]
        for (user, items) in Dictionary(grouping: given, by: { $0.1.user }) {
            let stored: [String: StoredCommandKey]
            do { stored = try journal.commandKeys(user: user, items.map { $0.1.key }) } catch { throw .journal(error) }
            for (index, key) in items { if let hit = stored[key.key] { found[index] = hit } }
        }
        return found
    }

    /// The result of a command answered from its stored key: nothing decided, nothing written.
    private func replayed(_ stored: StoredCommandKey) throws(RuntimeError) -> CommandResult {
        let open = try refreshed(runID: stored.runID)
        var result = CommandResult(runID: stored.runID, timerEvents: [], events: [], effects: [], rejection: nil, sequences: nil,
                                   run: open.timed.run, attempts: 0, timerRejection: nil)
        result.replayed = stored
        return result
    }

    /// Decides steps against the run as the journal has it and appends all their events with their outbox rows,
    /// in ONE transaction under the run's lock (`Journal.appendDeciding`): the events other processes appended
    /// since this runtime's copy are applied first, and the stored idempotency keys among `keys` are read there
    /// too, so a writer never loses a race (it waits its turn for the run) and a key stored by a retry elsewhere is
    /// seen. `decide` gets the run, now (never before its last event: another process's clock, or a pinned test
    /// clock, may lag behind) and the stored keys by command index; a nil step is a command left out. The new
    /// state is kept only once the journal has it.
    private func perform(runID: String, keys: [CommandKey?] = [],
                         _ decide: (inout TimedRun, Instant, [Int: StoredCommandKey]) -> [StepResult?])
        throws(RuntimeError) -> (results: [CommandResult?], replays: [Int: StoredCommandKey]) {
        do {
            return try performOnce(runID: runID, keys: keys, decide)
        } catch .journal(.sequenceConflict(let known, let actual)) where actual < known {
            // The journal is behind what this runtime saw committed: acknowledged commits are gone (a failover to a
            // standby that lacked them, a restore). Replay the run from the journal and decide on that.
            forget(runID: runID, beyond: actual)
            return try performOnce(runID: runID, keys: keys, decide)
        }
    }

    private func performOnce(runID: String, keys: [CommandKey?],
                             _ decide: (inout TimedRun, Instant, [Int: StoredCommandKey]) -> [StepResult?])
        throws(RuntimeError) -> (results: [CommandResult?], replays: [Int: StoredCommandKey]) {
        let cached = try cachedOrLoaded(runID: runID)
        let given = keys.compactMap { $0 }
        var outcome: (open: OpenRun, timed: TimedRun, steps: [StepResult?], offsets: [Int?], toAppend: [RunEvent],
                      replays: [Int: StoredCommandKey])?
        var failure: RuntimeError?
        let appended: AppendResult?
        do {
            appended = try journal.appendDeciding(runID: runID, after: cached.sequence, keys: given) { newer, stored in
                var open = cached
                if !newer.isEmpty {
                    for event in newer { open.timed.run.apply(event) }
                    open.sequence += newer.count
                    open.lastEventAt = max(open.lastEventAt, newer.last!.at)
                }
                var replays: [Int: StoredCommandKey] = [:]
                for (index, key) in keys.enumerated() {
                    if let key, let hit = stored[key.user + "\n" + key.key] { replays[index] = hit }
                }
                let now = max(clock.now, open.lastEventAt)
                var timed = open.timed
                let steps = decide(&timed, now, replays)
                var offsets: [Int?] = []
                var toAppend: [RunEvent] = []
                var effects: [Effect] = []
                for step in steps {
                    offsets.append(step.map { _ in toAppend.count })
                    if let step {
                        toAppend += step.timerEvents + step.events
                        effects += step.effects
                    }
                }
                outcome = (open, timed, steps, offsets, toAppend, replays)
                guard !toAppend.isEmpty else { return nil }
                let outbox: [OutboxRequest]
                do { outbox = try outboxRequests(for: effects, run: timed.run) } catch let error as RuntimeError {
                    failure = error
                    throw error
                }
                var keyed: [KeyedEntries] = []
                for (index, step) in steps.enumerated() {
                    guard index < keys.count, let key = keys[index], let step, let offset = offsets[index] else { continue }
                    let count = step.timerEvents.count + step.events.count
                    guard count > 0 else { continue }  // wrote nothing: a retry is judged afresh and changes nothing twice
                    keyed.append(KeyedEntries(key: key, entries: offset..<(offset + count),
                                              rejection: step.rejection.map { ($0.code.rawValue, $0.reason) }))
                }
                return PendingAppend(entries: toAppend.map { JournalEntry($0) }, outbox: outbox, keys: keyed)
            }
        } catch {
            // The journal wraps what `decide` threw; the runtime's own error is the one to report.
            if let failure { throw failure }
            throw .journal(error)
        }
        guard let outcome else { throw .journal(.database(path: journal.path, detail: "run \(runID): nothing was decided")) }
        var base = outcome.open.sequence
        var written: [WrittenEvent] = []
        if let appended {
            base = appended.head.sequence - outcome.toAppend.count
            written = appended.written
            // Kept only now that the journal has it: state never gets ahead of the journal.
            store(OpenRun(sha: outcome.open.sha, timed: outcome.timed, sequence: appended.head.sequence,
                          lastEventAt: outcome.toAppend.last!.at), runID: runID)
        } else if outcome.open.sequence != cached.sequence {
            store(outcome.open, runID: runID)  // what others appended meanwhile
        }
        let toAppend = outcome.toAppend, timed = outcome.timed
        let results = zip(outcome.steps, outcome.offsets).map { step, offset -> CommandResult? in
            guard let step, let offset else { return nil }
            let count = step.timerEvents.count + step.events.count
            return CommandResult(runID: runID, timerEvents: step.timerEvents, events: step.events, effects: step.effects,
                                 rejection: step.rejection, sequences: count == 0 ? nil : (base + offset + 1)...(base + offset + count),
                                 run: timed.run, attempts: 1, timerRejection: timed.timerRejection,
                                 written: written.count == toAppend.count ? Array(written[offset..<(offset + count)]) : [])
        }
        return (results, outcome.replays)
    }

    /// The run as remembered (not brought up to date: `appendDeciding` reads what others appended, under the lock),
    /// or loaded from the journal.
    private func cachedOrLoaded(runID: String) throws(RuntimeError) -> OpenRun {
        lock.lock()
        uses += 1
        cache[runID]?.used = uses
        let cached = cache[runID]?.open
        lock.unlock()
        if let cached { return cached }
        let open = try load(runID: runID)
        store(open, runID: runID)
        return open
    }

    // MARK: - Reading

    /// The run as its journal has it now (replayed; nothing is fired or written).
    public func snapshot(runID: String) throws(RuntimeError) -> RunSnapshot {
        let open = try refreshed(runID: runID)
        let record: RunRecord
        do { record = try journal.run(runID) } catch { throw .journal(error) }
        return RunSnapshot(record: record, run: open.timed.run, sequence: open.sequence, lastEventAt: open.lastEventAt)
    }

    /// The run as this runtime remembers it, without asking the journal what was appended since (loaded when it
    /// remembers nothing). For what may be a moment old: a page's options and title before a command the engine
    /// then decides on the run as the journal has it.
    public func remembered(runID: String) throws(RuntimeError) -> Run {
        lock.lock()
        let cached = cache[runID]?.open
        lock.unlock()
        if let cached { return cached.timed.run }
        return try cachedOrLoaded(runID: runID).timed.run
    }

    /// The run as remembered, brought up to date with what was appended since; reads no run header (the chat
    /// routes ask this of every open run for the one a chat channel is bound to).
    public func currentRun(runID: String) throws(RuntimeError) -> Run {
        try refreshed(runID: runID).timed.run
    }

    /// When the run's next timer is due (nil: none armed), from the run as remembered and brought up to date;
    /// reads no run header (the timer pump asks this of every open run twice a second).
    public func nextDue(runID: String) throws(RuntimeError) -> Instant? {
        try refreshed(runID: runID).timed.run.nextDue
    }

    /// How many runs this runtime keeps in memory now (bounded by `cacheLimit`).
    public var cachedRunCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return cache.count
    }

    /// Replays a run from scratch, bypassing what this runtime remembers (tests compare it with the live state).
    public func replay(runID: String) throws(RuntimeError) -> Run {
        try load(runID: runID).timed.run
    }

    /// The run a person means: `name` as an id or id prefix; without a name, the one open run, or the latest
    /// run when none is open. Several open runs and no name is refused, listing them.
    /// `mode`, when given, narrows the default to runs of that mode (incident commands and `watch` default to
    /// live runs, so an exercise left open is never picked up and driven on the wall clock by accident); when
    /// there is no run of that mode at all, every run is considered. A name given explicitly is always honoured.
    public func resolve(_ name: String?) throws(RuntimeError) -> RunRecord {
        try Self.resolve(name, in: journal)
    }

    /// The run a command means: `name` (an id or a unique prefix of it), else the default run, one rule for every
    /// command (`incident ...`, `watch`, `verify`, `report`): the one open run; among several open runs the one
    /// open live incident (an exercise running beside it is not what `muster incident note` means); with no run
    /// open, the latest. Several open live runs are ambiguous: refused, listing them.
    public static func resolve(_ name: String?, in journal: Journal) throws(RuntimeError) -> RunRecord {
        do {
            if let name { return try journal.resolveRun(prefix: name) }
            let runs = try journal.runs()
            guard let latest = runs.last else { throw RuntimeError.noRuns(path: journal.path) }
            let closed = try journal.closedRunIDs()
            let open = runs.filter { !closed.contains($0.id) }
            if open.count == 1 { return open[0] }
            if open.isEmpty { return latest }
            let openLive = open.filter { $0.mode == .live }
            if openLive.count == 1 { return openLive[0] }
            throw RuntimeError.ambiguousDefaultRun(open: openLive.isEmpty ? open : openLive)
        } catch let error as RuntimeError {
            throw error
        } catch let error as JournalError {
            throw .journal(error)
        } catch {
            throw .invalidArgument("\(error)")
        }
    }

    // MARK: - Cache

    struct OpenRun {
        var sha: String
        var timed: TimedRun
        var sequence: Int
        var lastEventAt: Instant
    }

    /// The run as remembered, brought up to date with the events appended since (by any process).
    private func refreshed(runID: String) throws(RuntimeError) -> OpenRun {
        lock.lock()
        uses += 1
        cache[runID]?.used = uses
        let cached = cache[runID]?.open
        lock.unlock()
        guard var open = cached else {
            let open = try load(runID: runID)
            store(open, runID: runID)
            return open
        }
        let newer: [RunEvent]
        do { newer = try journal.events(runID: runID, after: open.sequence) } catch { throw .journal(error) }
        guard !newer.isEmpty else { return open }
        for event in newer { open.timed.run.apply(event) }
        open.sequence += newer.count
        open.lastEventAt = max(open.lastEventAt, newer.last!.at)
        store(open, runID: runID)
        return open
    }

    /// Opens a run from the journal: the playbook decoded from the text stored with the run (not the current
    /// file), then every event applied in order.
    private func load(runID: String) throws(RuntimeError) -> OpenRun {
        let record: RunRecord
        let events: [RunEvent]
        do {
            record = try journal.run(runID)
            events = try journal.events(runID: runID)
        } catch {
            throw .journal(error)
        }
        let playbook = try storedPlaybook(record)
        var run = Run(playbook: playbook)
        for event in events { run.apply(event) }
        return OpenRun(sha: record.playbookSHA256, timed: TimedRun(run: run), sequence: events.count,
                       lastEventAt: events.last?.at ?? record.createdAt)
    }

    private func storedPlaybook(_ record: RunRecord) throws(RuntimeError) -> Playbook {
        lock.lock()
        let known = playbooks[record.playbookSHA256]
        lock.unlock()
        if let known { return known }
        let playbook = try storedPlaybook(text: record.playbookText, runID: record.id)
        lock.lock()
        if playbooks.count >= 64 { playbooks.removeAll() }  // bounded: playbooks are few; a miss re-parses one
        playbooks[record.playbookSHA256] = playbook
        lock.unlock()
        return playbook
    }

    /// The stored text was validated when the run was declared: only its structure is needed to replay it
    /// (a newer validator's opinion must not make an old run unreadable). Diagnostics name it `stored-playbook.yaml`.
    private func storedPlaybook(text: String, runID: String) throws(RuntimeError) -> Playbook {
        let loaded = PlaybookLoader.load(text: text, file: "stored-playbook.yaml", semanticChecks: false)
        guard let playbook = loaded.playbook else {
            throw .unreadableStoredPlaybook(runID: runID, diagnostics: loaded.diagnostics)
        }
        return playbook
    }

    private func remember(_ open: OpenRun, runID: String, playbook: Playbook) {
        lock.lock()
        if playbooks.count >= 64 { playbooks.removeAll() }
        playbooks[open.sha] = playbook
        lock.unlock()
        store(open, runID: runID)
    }

    /// Keeps `open` unless another thread already stored a run further along; then keeps the cache within its
    /// bounds (closed runs beyond `closedCacheLimit`, then any run beyond `cacheLimit`, least recently used first).
    private func store(_ open: OpenRun, runID: String) {
        lock.lock()
        defer { lock.unlock() }
        if let current = cache[runID], current.open.sequence > open.sequence { return }
        uses += 1
        cache[runID] = Cached(open: open, used: uses)
        if open.timed.run.status == .closed {
            var closed = cache.filter { $0.value.open.timed.run.status == .closed }
            while closed.count > closedCacheLimit, let oldest = closed.min(by: { $0.value.used < $1.value.used }) {
                closed[oldest.key] = nil
                cache[oldest.key] = nil
            }
        }
        while cache.count > cacheLimit, let oldest = cache.min(by: { $0.value.used < $1.value.used }) {
            cache[oldest.key] = nil
        }
    }

    /// Forgets the run if what this runtime remembers of it is further along than the journal's `sequence`.
    private func forget(runID: String, beyond sequence: Int) {
        lock.lock()
        if let cached = cache[runID], cached.open.sequence > sequence { cache[runID] = nil }
        lock.unlock()
    }

    /// Forgets what this runtime remembers about runs (the next command replays from the journal).
    public func forgetCachedRuns() {
        lock.lock()
        cache.removeAll()
        lock.unlock()
    }

    // MARK: - Outbox

    /// One outbox row per queued notification, pending. Routing (an exercise's `exercise:` override, a
    /// `live_only` channel skipped in an exercise) is the delivery worker's, from the same stored playbook:
    /// it records a skip on the timeline as a `notification-skipped` event.
    private func outboxRequests(for effects: [Effect], run: Run) throws(RuntimeError) -> [OutboxRequest] {
        var requests: [OutboxRequest] = []
        for effect in effects {
            guard case .sendNotification(let notification) = effect else { continue }
            do {
                requests.append(try OutboxRequest(notification))
            } catch {
                throw .invalidArgument("notification \(notification.id) cannot be encoded: \(error)")
            }
        }
        return requests
    }
}

/// What `declare` needs besides the playbook.
public struct DeclareRequest: Sendable, Hashable {
    public enum Disruption: Sendable, Hashable {
        /// The disruption began when the run starts.
        case none
        case at(Instant)
        /// The disruption began this long before the run starts.
        case before(TimeSpan)
    }

    public var playbookPath: String
    public var title: String
    /// Who declares (incident commander unless `commander` says otherwise).
    public var actor: String
    public var mode: RunMode
    /// The playbook's when nil.
    public var severity: Severity?
    public var disruption: Disruption
    public var commander: String?
    /// Only the people on the run see it in the server; recorded with the run, in the same transaction.
    public var restricted: Bool

    public init(playbookPath: String, title: String, actor: String, mode: RunMode = .live, severity: Severity? = nil,
                disruption: Disruption = .none, commander: String? = nil, restricted: Bool = false) {
        self.playbookPath = playbookPath
        self.title = title
        self.actor = actor
        self.mode = mode
        self.severity = severity
        self.disruption = disruption
        self.commander = commander
        self.restricted = restricted
    }
}

/// What one command (or tick) did: the timers caught up first, then the command's own events; or a rejection
/// (with the caught-up timers still recorded).
public struct CommandResult: Sendable {
    public var runID: String
    /// Timer firings (and what they caused) recorded before the command.
    public var timerEvents: [RunEvent]
    /// The command's events (empty when rejected).
    public var events: [RunEvent]
    /// Effects of both, in order.
    public var effects: [Effect]
    public var rejection: Rejection?
    /// The seqs written (nil when nothing was).
    public var sequences: ClosedRange<Int>?
    /// The run after the command.
    public var run: Run
    /// 1 when the first try went through; more after lost races.
    public var attempts: Int
    /// Why the catch-up stopped at a timer the engine refused to fire (the timer stays armed).
    public var timerRejection: Rejection?
    /// Payload and hash of each event in `sequences` as stored.
    public var written: [WrittenEvent] = []
    /// Set when the command's idempotency key was stored already: the command was NOT applied again, and this is
    /// what the first one recorded (its run, seqs and rejection). Its request hash may differ: the caller decides.
    public var replayed: StoredCommandKey?
    /// What the people directory did right after, as `muster`, in its own transactions: roll calls started with
    /// their people, deputies named (IncidentRuntime+Directory.swift). Empty for most commands.
    public var followUps: [CommandResult] = []
    /// Why the directory's follow-ups stopped (the command itself was recorded); the next command or tick retries.
    public var followUpFailure: String?

    public var isAccepted: Bool { rejection == nil }
}

/// A run as replayed from the journal, with its stored record.
public struct RunSnapshot: Sendable {
    public var record: RunRecord
    public var run: Run
    /// The seq of its last event.
    public var sequence: Int
    /// When its last event happened (a clock that lags behind it is read as this).
    public var lastEventAt: Instant
}
