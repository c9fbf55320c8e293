import Testing
@testable import MusterCore

/// A small, fast, deterministic generator (SplitMix64), so every failure reproduces from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The outcome of one randomized session: every command's events, or its rejection reason.
struct RandomSession: Equatable {
    var transcript: [String] = []
    var events: [RunEvent] = []
}

/// Runs `count` random commands (valid and invalid, timer firings included) against runs of `playbook`,
/// checking the engine's promises after each one. A closed run is followed by a fresh one.
func randomSession(seed: UInt64, count: Int, playbook: Playbook) -> RandomSession {
    var rng = SplitMix64(seed: seed)
    var session = RandomSession()
    var run = Run(playbook: playbook)
    var journal: [RunEvent] = []
    var now = t0
    var runNumber = 1

    let people = ["Dana", "Lee", "Sam", "Kim", "Visitor", ""]
    let roles = playbook.roles.map(\.id.value) + ["scribe", "it_op"]
    let tasks = playbook.allTasks.map(\.task.id.value) + ["make-coffee"]
    let events = Set(playbook.states.flatMap { $0.transitions.compactMap(\.on?.value) }).sorted() + ["bogus"]
    let decisions = playbook.allDecisions.map { ($0.decision.id.value, $0.decision.options.map(\.name.value) + ["bogus"]) } + [("nope", ["x"])]
    func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }
    func chance(_ percent: UInt64) -> Bool { rng.next() % 100 < percent }

    func replayMatches() -> Bool {
        var fresh = Run(playbook: playbook)
        for event in journal { fresh.apply(event) }
        return fresh == run
    }

    for step in 0..<count {
        now = now + .seconds(Int64(rng.next() % 600))
        let commander = run.holder(of: ic)
        var actor = chance(60) ? (commander ?? "Dana") : pick(people)
        let action: Command.Action
        switch rng.next() % 20 {
        case 0:
            action = chance(80) ? startCommand("R\(runNumber)", severity: chance(50) ? nil : pick(Severity.allCases)) : startCommand(title: "")
        case 1, 2:
            action = .assign(role: pick(roles), person: pick(people))
        case 3:
            action = .relieve(role: pick(roles), handover: chance(50) ? "handover" : nil)
        case 4, 5, 6:
            let task = pick(tasks)
            if chance(50), let state = run.currentState, let owned = playbook.state(state)?.tasks.first?.role.value {
                actor = run.holder(of: owned) ?? actor
            }
            action = chance(80) ? .completeTask(task, note: chance(70) ? "evidence" : nil) : .skipTask(task, reason: chance(50) ? "n/a" : nil)
        case 7, 8, 9:
            action = .raise(pick(events))
        case 10, 11:
            let (decision, options) = pick(decisions)
            action = .decide(decision: decision, option: pick(options), rationale: chance(90) ? "because" : "")
        case 12:
            action = .note(chance(90) ? "note \(step)" : "")
        case 13:
            action = .lesson(Lesson(text: chance(90) ? "lesson \(step)" : "", kind: chance(50) ? .strength : .improvement))
        case 14:
            action = .close(reason: chance(30) ? "closing" : nil)
        default:
            // A timer firing: an armed one (at or after its due time, or too early), or a stale key.
            actor = system
            if let timer = run.armedTimers.first, chance(85) {
                if chance(85), timer.due > now { now = timer.due + .seconds(Int64(rng.next() % 120)) }
                action = .fireTimer(timer.key)
            } else {
                action = .fireTimer(TimerKey(id: pick(["triage-overdue", "rto-warning", "deadline:declare-major", "nope"]),
                                             instance: Int(rng.next() % 4)))
            }
        }

        let before = run
        let outcome = run.execute(Command(actor: actor, action), at: now)
        switch outcome {
        case .rejected(let rejection):
            #expect(run == before, "seed \(seed) step \(step): a rejection changed the run")
            #expect(!rejection.reason.isEmpty)
            session.transcript.append("\(step) rejected: \(rejection.reason)")
        case .accepted(let newEvents, let effects):
            var applied = before
            for event in newEvents { applied.apply(event) }
            #expect(applied == run, "seed \(seed) step \(step): applying the events differs from the decided state")
            #expect(effects == Run.effects(of: newEvents))
            #expect(newEvents.allSatisfy { $0.at == now })
            journal += newEvents
            session.events += newEvents
            session.transcript.append("\(step) accepted \(newEvents.count)")
        }

        // Invariants that hold after every step.
        if run.status != .notStarted {
            #expect(run.holder(of: ic) != nil, "seed \(seed) step \(step): no incident commander")
        }
        #expect(zip(run.armedTimers, run.armedTimers.dropFirst()).allSatisfy { $0.sortsBefore($1) })
        if run.status == .closed || run.isInTerminalState { #expect(run.armedTimers.isEmpty) }
        if step % 250 == 0 { #expect(replayMatches(), "seed \(seed) step \(step): replay differs") }

        if run.status == .closed, chance(20) {
            #expect(replayMatches(), "seed \(seed) step \(step): replay differs")
            run = Run(playbook: playbook)
            journal = []
            runNumber += 1
        }
    }
    #expect(replayMatches(), "seed \(seed): replay at the end differs")
    return session
}

/// The ransomware playbook with a loop out of `restore` and one more on-enter raise, so random runs travel.
let travellingPlaybook: Playbook = {
    var playbook = PB.ransomware
    let i = playbook.states.firstIndex { $0.id.value == "restore" }!
    playbook.states[i].transitions.append(PB.on("reinfected", to: "triage"))
    playbook.states[i].onEnter.append(PB.notify("bridge", "Restoring {{services.file-shares.title}} ({{decisions.declare-major}})"))
    return playbook
}()

@Suite("Run engine: randomized command sequences")
struct RunRandomizedTests {
    @Test("random commands never crash, rejections change nothing, replay matches, same seed gives same events",
          arguments: [1, 2, 3, 42, 2026] as [UInt64])
    func randomized(seed: UInt64) {
        let first = randomSession(seed: seed, count: 2_000, playbook: travellingPlaybook)
        let second = randomSession(seed: seed, count: 2_000, playbook: travellingPlaybook)
        #expect(first == second, "seed \(seed): two sessions with the same seed differ")
        // The pool must exercise both sides of the engine.
        #expect(first.transcript.contains { $0.contains("accepted") })
        #expect(first.transcript.contains { $0.contains("rejected") })
        #expect(Set(first.events.map(\.body.typeName)).count >= 12, "seed \(seed): too few kinds of events")
    }
}

@Suite("Run engine: scale")
struct RunScaleTests {
    @Test("100,000 commands on one run keep working without per-command work growing with history")
    func hundredThousand() {
        var run = Run(playbook: PB.ransomware)
        var now = t0
        var accepted = 0
        var journalCount = 0
        func step(_ actor: String, _ action: Command.Action) {
            now = now + .seconds(1)
            if case .accepted(let events, _) = run.execute(Command(actor: actor, action), at: now) {
                accepted += 1
                journalCount += events.count
            }
        }
        step("Dana", startCommand())
        step("Dana", .assign(role: "it_ops", person: "Lee"))
        var commands = 2
        while commands < 100_000 {
            // A loop through triage and declare, with notes, lessons and role changes along the way.
            step("Lee", .completeTask("confirm", note: "seen"))
            step("Lee", .note("note \(commands)"))
            step("Lee", .raise("confirmed"))
            step("Dana", .assign(role: "comms", person: commands % 2 == 0 ? "Sam" : "Kim"))
            step("Dana", .decide(decision: "declare-major", option: "keep-watching", rationale: "watching"))
            step("Dana", .lesson(Lesson(text: "lesson \(commands)")))
            step("Sam", .completeTask("scope", note: nil))  // rejected when Kim holds comms: not Sam's task anyway
            step("Lee", .skipTask("scope", reason: "skip"))
            step(system, .fireTimer(run.armedTimers.first!.key))  // usually not due yet: rejected
            step("Dana", .relieve(role: "comms", handover: nil))
            commands += 10
        }
        #expect(accepted > 70_000)
        #expect(run.noteCount == 10_000 && run.lessonCount == 10_000)
        #expect(run.notes.last?.text == "note 99992")
        #expect(run.currentState == "triage")
        #expect(run.armedTimers.map(\.key.id) == ["triage-overdue"])  // rto-warning fired after 3h
        #expect(journalCount > 140_000)
    }
}
