import Foundation
import MusterCore
import MusterExercise
import MusterJournal
import MusterTestSupport
import MusterYAML
import Testing

/// A server driving an exercise goes away (killed, or stopped) and another takes the run up from the journal.
@Suite("Exercises taken up again from the journal")
struct ResumeTests {
    let origin = Instant(iso8601: "2026-11-27T17:40:00Z")!

    static func startServerDriven(pace: ScenarioPace, facilitator: String? = "Dana", driver: String? = "server")
        throws -> (Journal, ManualClock, ExerciseSession) {
        let folder = try Fixture.temporaryFolder()
        let journal = try TestDatabase.open(home: folder.path, durability: .normal)
        let clock = ManualClock(Fixture.wall0)
        let loaded = ExerciseLoader.load(file: Fixture.exercisePath("ransomware-tabletop"))
        let (session, _) = try ExerciseSession.start(journal: journal, loaded: loaded, playersFile: nil, pace: pace, clock: clock,
                                                     facilitator: facilitator, driver: driver)
        return (journal, clock, session)
    }

    /// Inject ids in the order the journal delivered them.
    static func delivered(_ journal: Journal, _ runID: String) throws -> [String] {
        try journal.events(runID: runID).compactMap { if case .injectDelivered(let d) = $0.body { d.inject } else { nil } }
    }

    static func withheld(_ journal: Journal, _ runID: String) throws -> [String] {
        try journal.events(runID: runID).compactMap { if case .injectWithheld(let id, _) = $0.body { id } else { nil } }
    }

    @Test("killed mid-exercise: the run is taken up paused at the scenario time last recorded; nothing is delivered twice or lost")
    func reattachAfterKill() throws {
        let (journal, clock, first) = try Self.startServerDriven(pace: .speed(30))
        let runID = first.runID
        clock.advance(by: .seconds(30))  // scenario +15m
        #expect(try first.handle(.player(Command(actor: "Lee", .completeTask("confirm", note: nil))), by: "Lee").rejection == nil)
        clock.advance(by: .seconds(60))  // scenario +45m: the contingency I2 (25m) and I3 (45m) fall due
        _ = try first.handle(.tick, by: Command.system)
        let before = try Self.delivered(journal, runID)
        #expect(before == ["I1", "I2", "I3"])
        let lastRecorded = try #require(try journal.storedEvents(runID: runID).last?.scenarioTime)

        // The process dies: nothing but the journal survives. The restart comes three hours later, which at speed
        // 30 is far past the scenario's end: a clock that kept running would fire every inject at once.
        clock.advance(by: .hours(3))
        let (second, step) = try ExerciseSession.reattach(journal: journal, record: try journal.run(runID), reason: "restarted", clock: clock)
        #expect(step.events.count == 1)
        let suspended = try #require(step.events.first)
        #expect(suspended.body == .exerciseClock(.suspended(reason: "restarted")) && suspended.actor == Command.system)
        #expect(suspended.at == lastRecorded)
        #expect(second.exercise.now == lastRecorded && second.exercise.clock.isPaused && second.exercise.clock.pace == .speed(30))
        #expect(second.exercise.facilitator == "Dana" && second.exercise.driver == "server")
        #expect(second.sequence == (try journal.head(runID: runID).sequence))
        #expect(try second.handle(.tick, by: Command.system).events.isEmpty)
        #expect(try second.handle(.pause, by: "Dana").refusal == "the clock is already paused")

        // The facilitator resumes; the scenario goes on from where it was.
        #expect(try second.handle(.resume, by: "Dana").refusal == nil)
        clock.advance(by: .seconds(90))  // 45m + 45m = 1h30m: I4
        _ = try second.handle(.tick, by: Command.system)
        #expect(try Self.delivered(journal, runID) == ["I1", "I2", "I3", "I4"])
        _ = try second.handle(.skip(.hours(3)), by: "Dana")
        #expect(second.exercise.hasEnded)

        let delivered = try Self.delivered(journal, runID), withheld = try Self.withheld(journal, runID)
        #expect(Set(delivered).count == delivered.count, "an inject delivered twice: \(delivered)")
        #expect(Set(delivered + withheld) == ["I1", "I2", "I3", "I4", "I5", "I6"])
        #expect(try journal.verify(runID: runID).isIntact)
        let suspensions = try journal.events(runID: runID).filter { if case .exerciseClock(.suspended) = $0.body { true } else { false } }
        #expect(suspensions.count == 1)
        // The person who started it is its facilitator on the timeline, not the file's first controller.
        let start = try #require(try journal.events(runID: runID).first { if case .exerciseStarted = $0.body { true } else { false } })
        #expect(start.actor == "Dana")
        // The journal alone gives the state the session reached.
        let replay = try ExerciseReplay.load(try journal.run(runID), from: journal)
        #expect(replay.exercise.evaluation() == second.exercise.evaluation())
        #expect(replay.exercise.deliveries == second.exercise.deliveries)
    }

    @Test("stopped gracefully: the suspension records the scenario time reached, and the restart takes it up there without another event")
    func reattachAfterSuspend() throws {
        let (journal, clock, first) = try Self.startServerDriven(pace: .speed(30))
        let runID = first.runID
        _ = try first.handle(.speed(.speed(60)), by: "Dana")
        clock.advance(by: .seconds(30))  // +30m at speed 60; I2 (25m) delivered on the way
        let step = try first.handle(.suspend(reason: "server stopped"), by: Command.system)
        #expect(step.refusal == nil)
        #expect(step.events.last?.body == .exerciseClock(.suspended(reason: "server stopped")))
        #expect(step.events.last?.at == origin + .minutes(30))
        #expect(try first.handle(.suspend(reason: "again"), by: Command.system).refusal == "the scenario clock is not running")

        clock.advance(by: .hours(1))
        let (second, again) = try ExerciseSession.reattach(journal: journal, record: try journal.run(runID), reason: "restarted", clock: clock)
        #expect(again.events.isEmpty)
        #expect(second.exercise.now == origin + .minutes(30))
        #expect(second.exercise.clock.isPaused && second.exercise.clock.pace == .speed(60))
        #expect(try second.handle(.resume, by: "Dana").refusal == nil)
        clock.advance(by: .seconds(15))  // +15m at speed 60: I3 at 45m
        _ = try second.handle(.tick, by: Command.system)
        #expect(try Self.delivered(journal, runID) == ["I1", "I2", "I3"])
        #expect(try journal.verify(runID: runID).isIntact)
    }

    @Test("a manual clock comes back as it was, at the scenario time a skip reached even when the skip produced no other event")
    func reattachManualAfterSkip() throws {
        let (journal, clock, first) = try Self.startServerDriven(pace: .manual)
        let head = try journal.head(runID: first.runID).sequence
        let step = try first.handle(.skip(.minutes(2)), by: "Dana")
        #expect(step.events.map(\.body.typeName) == ["exercise-clock"], "nothing else falls due in the first 2 minutes")
        #expect(try journal.head(runID: first.runID).sequence == head + 1)
        let (second, again) = try ExerciseSession.reattach(journal: journal, record: try journal.run(first.runID), reason: "restarted", clock: clock)
        #expect(again.events.isEmpty)
        #expect(second.exercise.now == origin + .minutes(2))
        #expect(second.exercise.clock.pace == .manual && !second.exercise.clock.isPaused)
    }

    @Test("the terminal console's start records neither facilitator nor driver (its payload bytes are unchanged); the file's controller facilitates")
    func consoleStartUnchanged() throws {
        let (journal, _, session) = try Self.startServerDriven(pace: .manual, facilitator: nil, driver: nil)
        let row = try #require(try journal.storedEvents(runID: session.runID).first { $0.type == "exercise-started" })
        #expect(!row.payload.contains("\"facilitator\"") && !row.payload.contains("\"driver\""))
        #expect(row.event.actor == "Alex" && session.exercise.facilitator == "Alex" && session.exercise.driver == nil)
        let (journal2, _, server) = try Self.startServerDriven(pace: .manual)
        let started = try #require(try journal2.storedEvents(runID: server.runID).first { $0.type == "exercise-started" })
        #expect(started.payload.contains("\"driver\":\"server\"") && started.payload.contains("\"facilitator\":\"Dana\""))
    }

    @Test("an ended exercise is not taken up again")
    func endedNotReattached() throws {
        let (journal, clock, first) = try Self.startServerDriven(pace: .manual)
        _ = try first.handle(.end(reason: "done"), by: "Dana")
        #expect(throws: ExerciseError.self) {
            try ExerciseSession.reattach(journal: journal, record: try journal.run(first.runID), reason: "restarted", clock: clock)
        }
    }
}
