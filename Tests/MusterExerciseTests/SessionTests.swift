import Foundation
import MusterCore
import MusterExercise
import MusterJournal
import MusterTestSupport
import MusterYAML
import Testing

@Suite("Exercises on the journal")
struct SessionTests {
    /// Runs a bundled exercise unattended at speed max in a fresh journal; returns the journal, the run id, the
    /// printed output and the evaluation.
    static func runUnattended(_ name: String, wallStart: Instant = Fixture.wall0) throws -> (Journal, String, String, ExerciseEvaluation) {
        let folder = try Fixture.temporaryFolder()
        let journal = try TestDatabase.open(home: folder.path, durability: .normal)
        let path = Fixture.exercisePath(name)
        let loaded = ExerciseLoader.load(file: path)
        let playersPath = ExerciseLoader.playersPath(for: path)
        let players = ExerciseLoader.loadPlayers(file: playersPath, for: loaded.exercise).script
        let clock = ManualClock(wallStart)
        let output = OutputBox()
        let console = ExerciseConsole(
            journal: journal, loaded: loaded,
            options: .init(pace: .max, players: players, playersFile: "exercises/\(name).players.yaml", hotWash: false),
            input: LineSource(read: { nil }), clock: clock, out: { output.append($0) }, err: { _ in })
        let evaluation = try console.run()
        return (journal, console.session!.runID, output.text, evaluation)
    }

    static func timeline(_ journal: Journal, _ runID: String) throws -> String {
        let replay = try ExerciseReplay.load(try journal.run(runID), from: journal)
        return replay.events.flatMap { ExerciseText.lines($0, origin: replay.exercise.origin, exercise: replay.exercise.exercise) }
            .joined(separator: "\n")
    }

    @Test("each example exercise runs unattended to its documented evaluation",
          arguments: [
              ("ransomware-tabletop", ["O1": Rating.performed, "O2": .major, "O3": .some], [String]()),
              ("datacentre-failover-drill", ["O1": .performed, "O2": .some, "O3": .unable], ["I3"]),
              ("personal-data-breach-tabletop", ["O1": .performed, "O2": .unable, "O3": .performed], ["I3"]),
          ])
    func examples(_ name: String, _ ratings: [String: Rating], _ contingencies: [String]) throws {
        let (journal, runID, _, evaluation) = try Self.runUnattended(name)
        #expect(evaluation.ended)
        #expect(Dictionary(uniqueKeysWithValues: evaluation.objectives.map { ($0.id, $0.rating!) }) == ratings)
        #expect(evaluation.contingencyUsed == contingencies)
        // The journal alone gives the same evaluation, and its chain is intact.
        let replay = try ExerciseReplay.load(try journal.run(runID), from: journal)
        #expect(replay.exercise.evaluation() == evaluation)
        #expect(try journal.verify(runID: runID).isIntact)
        #expect(try journal.run(runID).mode == .exercise)
    }

    @Test("an outbox worker's delivery outcomes appended meanwhile do not stop the session; any other event does")
    func deliveryOutcomesAppendedMeanwhile() throws {
        let folder = try Fixture.temporaryFolder()
        let journal = try TestDatabase.open(home: folder.path, durability: .normal)
        let loaded = ExerciseLoader.load(file: Fixture.exercisePath("ransomware-tabletop"))
        let clock = ManualClock(Fixture.wall0)
        let (session, _) = try ExerciseSession.start(journal: journal, loaded: loaded, playersFile: nil, pace: .manual, clock: clock)
        // What the worker journals after a failed attempt.
        let head = try journal.head(runID: session.runID).sequence
        _ = try journal.append(runID: session.runID, expectedSequence: head, events: [RunEvent(
            at: Fixture.wall0, actor: Command.system, role: nil,
            .notificationDeadLettered(id: "n1", channel: "bridge", reason: "not sent", attempts: 1))])
        let step = try session.handle(.skip(.minutes(30)), by: "Alex")
        #expect(step.refusal == nil && !step.events.isEmpty)
        #expect(session.sequence == (try journal.head(runID: session.runID).sequence))
        #expect(try journal.verify(runID: session.runID).isIntact)
        // A note written by someone else is a real conflict.
        _ = try journal.append(runID: session.runID, expectedSequence: session.sequence, events: [RunEvent(
            at: Fixture.wall0, actor: "Sam", role: nil, .noteAdded(text: "meanwhile"))])
        #expect(throws: JournalError.self) { try session.handle(.skip(.minutes(30)), by: "Alex") }
    }

    @Test("two processes starting the same exercise at once: both start, with different run ids")
    func concurrentStarts() throws {
        let folder = try Fixture.temporaryFolder()
        let loaded = ExerciseLoader.load(file: Fixture.exercisePath("ransomware-tabletop"))
        let journals = try (0..<4).map { _ in try TestDatabase.open(home: folder.path, durability: .normal) }
        let ids = Locked<[String]>([]), failures = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: journals.count) { index in
            do {
                let (session, _) = try ExerciseSession.start(journal: journals[index], loaded: loaded, playersFile: nil, pace: .manual,
                                                             clock: ManualClock(Fixture.wall0))
                ids.mutate { $0.append(session.runID) }
            } catch {
                failures.mutate { $0.append("\(error)") }
            }
        }
        #expect(failures.value.isEmpty, "\(failures.value)")
        #expect(Set(ids.value).count == journals.count, "\(ids.value)")
        for id in ids.value { #expect(try journals[0].verify(runID: id).isIntact) }
    }

    @Test("the same exercise and player script give the same timeline, byte for byte, wall-clock fields aside")
    func determinism() throws {
        let a = try Self.runUnattended("ransomware-tabletop", wallStart: Fixture.wall0)
        let b = try Self.runUnattended("ransomware-tabletop", wallStart: Fixture.wall0 + .days(3))
        #expect(a.1 == b.1)
        #expect(a.2 == b.2, "printed output")
        #expect(try Self.timeline(a.0, a.1) == Self.timeline(b.0, b.1))
        let rowsA = try a.0.storedEvents(runID: a.1), rowsB = try b.0.storedEvents(runID: b.1)
        #expect(rowsA.count == rowsB.count)
        for (x, y) in zip(rowsA, rowsB) {
            #expect(x.payload == y.payload && x.type == y.type && x.event.actor == y.event.actor && x.event.role == y.event.role
                    && x.scenarioTime == y.scenarioTime)
            #expect(x.event.at != y.event.at, "at_ms is the wall clock")
        }
    }

    @Test("every journaled event carries its scenario time; the wall clock goes in at_ms")
    func scenarioTimes() throws {
        let (journal, runID, _, _) = try Self.runUnattended("ransomware-tabletop")
        let rows = try journal.storedEvents(runID: runID)
        #expect(rows.allSatisfy { $0.scenarioTime != nil })
        #expect(rows.allSatisfy { $0.event.at == Fixture.wall0 })
        #expect(rows.last?.scenarioTime == Instant(iso8601: "2026-11-27T21:40:00Z"))
    }

    @Test("an evaluator's overrule and hot-wash lessons are appended to the run and change the evaluation")
    func overruleAndLessons() throws {
        let (journal, runID, _, _) = try Self.runUnattended("ransomware-tabletop")
        let record = try journal.run(runID)
        _ = try ExerciseReplay.overrule(record, objective: "O2", rating: .some, note: "Restore started before the RTO", by: "Robin", in: journal)
        _ = try ExerciseReplay.recordLessons([("Alex", Lesson(text: "Good comms", kind: .strength))], on: try journal.run(runID), in: journal)
        let replay = try ExerciseReplay.load(try journal.run(runID), from: journal)
        let o2 = replay.exercise.evaluation().objectives[1]
        #expect(o2.computed == .major)
        #expect(o2.rating == .some)
        #expect(replay.exercise.run.lessons.map(\.lesson.text).suffix(1) == ["Good comms"])
        #expect(throws: ExerciseError.self) {
            try ExerciseReplay.overrule(try journal.run(runID), objective: "O7", rating: .some, note: "x", by: "Robin", in: journal)
        }
    }
}

final class OutputBox: @unchecked Sendable {
    private let lock = NSLock()
    private var parts: [String] = []
    func append(_ s: String) {
        lock.lock()
        parts.append(s)
        lock.unlock()
    }
    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return parts.joined()
    }
}

/// A value shared between threads.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.lock(); defer { lock.unlock() }; return stored }
    func mutate(_ change: (inout Value) -> Void) { lock.lock(); change(&stored); lock.unlock() }
}
