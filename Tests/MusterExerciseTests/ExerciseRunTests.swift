import MusterCore
import MusterRuntime
import MusterTestSupport
import Testing

@Suite("Exercise run: injects, contingencies, the clock")
struct ExerciseRunTests {
    @Test("the start records the engine start, the exercise, the participants' roles, the clock and the first inject")
    func start() {
        var run = ExerciseRun(exercise: Fixture.exercise(), playbook: Fixture.playbook)
        let step = run.start(runID: "x-1", file: "x.yaml", text: Fixture.exerciseText, players: nil, wall: Fixture.wall0)
        let types = step.events.map(\.body.typeName)
        #expect(types == ["run-started", "role-assigned", "state-entered", "exercise-started", "role-assigned", "exercise-clock", "inject-delivered"])
        #expect(step.events.allSatisfy { $0.at == Fixture.origin })
        #expect(run.run.mode == .exercise)
        #expect(run.run.holder(of: "ops") == "Lee")
        #expect(run.run.holder(of: "incident_commander") == "Dana")
        // Run.apply ignores the exercise layer's facts: a replay of everything rebuilds the same run.
        var replayed = Run(playbook: Fixture.playbook)
        for event in step.events { replayed.apply(event) }
        #expect(replayed == run.run)
    }

    @Test("a replayed exercise whose clock was running moves no scenario time until it is taken up again: a lesson recorded days later delivers nothing")
    func replayedRunningClockStaysPut() {
        let text = Fixture.exerciseText.replacingOccurrences(of: "speed: manual", with: "speed: 60")
        var live = ExerciseRun(exercise: Fixture.exercise(text), playbook: Fixture.playbook)
        let started = live.start(runID: "x-1", file: "x.yaml", text: text, players: nil, wall: Fixture.wall0)
        var replayed = ExerciseRun(exercise: Fixture.exercise(text), playbook: Fixture.playbook)
        for event in started.events { replayed.apply(event) }
        #expect(!replayed.clockIsPaused)  // as recorded: running at 60x
        let later = Fixture.wall0 + .hours(72)
        let step = replayed.handle(.player(Command(actor: "Dana", .note("hot wash"))), by: "Dana", wall: later)
        #expect(step.refusal == nil)
        #expect(step.events.map(\.body.typeName) == ["note-added"])
        #expect(replayed.now == Fixture.origin && !replayed.hasEnded)
        // Taken up again: the running clock is suspended where the journal left it.
        let taken = replayed.reattach(wall: later, reason: "restart")
        #expect(taken.events.map(\.body.typeName) == ["exercise-clock"])
        #expect(replayed.clockIsPaused && replayed.clock.scenarioTime(at: later + .hours(1)) == Fixture.origin)
    }

    @Test("skip to the next inject: a journaled skip to its time, then it is delivered; refused once none is coming")
    func skipToNextInject() {
        var run = Fixture.started()
        let first = run.handle(.skipToNextInject, by: "Alex", wall: Fixture.wall0)
        #expect(first.events.first?.body == .exerciseClock(.skipped(by: .m(15))))
        #expect(first.events.deliveries().map(\.0) == ["I2"])  // the contingency: nothing was done
        let second = run.handle(.skipToNextInject, by: "Alex", wall: Fixture.wall0)
        #expect(second.events.deliveries().map(\.0) == ["I3"] && run.now == Fixture.origin + .hours(1))
        #expect(run.handle(.skipToNextInject, by: "Alex", wall: Fixture.wall0).refusal == "no inject is coming in this exercise")
    }

    @Test("a contingency inject is delivered at its time when an earlier expectation is unmet and its guard does not hold")
    func contingencyDelivered() {
        var run = Fixture.started()
        _ = run.at(.m(5), "Lee", .completeTask("check", note: nil))
        let step = run.move(to: .m(15))
        #expect(step.events.deliveries().map(\.0) == ["I2"])
        #expect(step.events.deliveries().first?.1 == Fixture.origin + .m(15))
        #expect(run.evaluation().contingencyUsed == ["I2"])
    }

    @Test("a contingency inject is withheld when every earlier expectation was met")
    func contingencyNotNeeded() {
        var run = Fixture.started()
        _ = run.at(.m(5), "Lee", .completeTask("check", note: nil))
        _ = run.at(.m(6), "Lee", .raise("confirmed"))
        _ = run.at(.m(10), "Dana", .decide(decision: "go", option: "go-on", rationale: "repair it"))
        let step = run.move(to: .m(15))
        #expect(step.events.deliveries().isEmpty)
        #expect(step.events.withheld().map(\.0) == ["I2"])
        #expect(step.events.first { $0.body.typeName == "inject-withheld" }?.at == Fixture.origin + .m(15))
    }

    @Test("a contingency inject is withheld when its unless guard holds, even with an expectation unmet")
    func contingencyUnlessHolds() {
        let text = Fixture.exerciseText.replacingOccurrences(of: "unless: decisions.go == \"go-on\"", with: "unless: tasks.check.done")
        var run = Fixture.started(text)
        _ = run.at(.m(5), "Lee", .completeTask("check", note: nil))
        let step = run.move(to: .m(15))
        #expect(step.events.withheld().map(\.1) == ["'unless tasks.check.done' holds"])
    }

    @Test("a default taken at the deadline does not meet an expectation, so the contingency still comes")
    func defaultDoesNotCount() {
        let text = Fixture.exerciseText.replacingOccurrences(of: "at: 15m", with: "at: 45m")
            .replacingOccurrences(of: "unless: decisions.go == \"go-on\"", with: "unless: severity == \"P1\"")
        var run = Fixture.started(text)
        _ = run.at(.m(5), "Lee", .completeTask("check", note: nil))
        _ = run.at(.m(6), "Lee", .raise("confirmed"))
        let step = run.move(to: .m(45))
        // The deadline (30m after entering 'decide' at 6m) takes go-on at 36m, by default.
        #expect(step.events.contains { if case .decisionMade(_, "go-on", _, true) = $0.body { $0.at == Fixture.origin + .m(36) } else { false } })
        #expect(step.events.deliveries().map(\.0) == ["I2"])
        #expect(run.evaluation().injects[0].expectations[1].outcome == .unmet)
    }

    @Test("timers fire before injects at the same instant, and the exercise ends and closes the run at its duration")
    func endAtDuration() {
        var run = Fixture.started()
        _ = run.at(.m(5), "Lee", .completeTask("check", note: nil))
        _ = run.at(.m(30), "Lee", .raise("confirmed"))                 // the decision's deadline falls at 1h, with I3
        let step = run.move(to: .hours(3))
        let types = step.events.map(\.body.typeName)
        let atOneHour = step.events.filter { $0.at == Fixture.origin + .hours(1) }.map(\.body.typeName)
        #expect(atOneHour.first == "timer-fired")
        #expect(atOneHour.last == "inject-delivered")
        #expect(run.hasEnded)
        #expect(run.endedAt == Fixture.origin + .hours(2))
        #expect(run.run.status == .closed)
        #expect(types.suffix(2) == ["mark-set", "run-closed"] || types.suffix(1) == ["run-closed"])
    }

    @Test("a player action the engine refuses is a playerActionRejected fact with the actor and the reason")
    func rejectedPlayerAction() {
        var run = Fixture.started()
        let step = run.at(.m(3), "Sam", .completeTask("check", note: nil))
        #expect(step.rejection != nil)
        let last = step.events.last!
        #expect(last.actor == "Sam")
        #expect(last.at == Fixture.origin + .m(3))
        #expect(last.body == .playerActionRejected(action: "done check", reason: "only the holder of ops (Lee) or the incident commander can complete 'check'"))
    }

    @Test("a refused facilitator command records nothing")
    func refusedControl() {
        var run = Fixture.started()
        let resumed = run.handle(.resume, by: "Alex", wall: Fixture.wall0)
        #expect(resumed.refusal == "the clock is not paused")
        #expect(resumed.events.isEmpty)
        let unknown = run.handle(.deliver(inject: "I9"), by: "Alex", wall: Fixture.wall0)
        #expect(unknown.refusal?.hasPrefix("no inject 'I9'") == true)
        let forced = run.handle(.deliver(inject: "I3"), by: "Alex", wall: Fixture.wall0)
        #expect(forced.events.deliveries().map(\.0) == ["I3"])
        // Delivered early by the controller: not delivered again at 1h.
        let later = run.move(to: .hours(1))
        #expect(!later.events.deliveries().map(\.0).contains("I3"))
    }

    @Test("the facilitator's default actor is the holder of the role the action needs")
    func defaultActor() {
        let run = Fixture.started()
        #expect(run.defaultActor(for: .completeTask("check", note: nil)) == "Lee")
        #expect(run.defaultActor(for: .decide(decision: "go", option: "go-on", rationale: "x")) == "Dana")
        #expect(run.defaultActor(for: .raise("confirmed")) == "Lee")
        #expect(run.defaultActor(for: .assign(role: "ops", person: "Kim")) == "Dana")
        #expect(run.defaultActor(for: .note("x")) == "Alex")
    }

    @Test("pause, resume and speed changes keep scenario time exact (wall time from a manual clock)")
    func pauseResumeSpeed() {
        let wall = ManualClock(Fixture.wall0)
        let text = Fixture.exerciseText.replacingOccurrences(of: "speed: manual", with: "speed: 60")
        var run = ExerciseRun(exercise: Fixture.exercise(text), playbook: Fixture.playbook)
        _ = run.start(runID: "x-1", file: "x.yaml", text: text, players: nil, wall: wall.now)
        wall.advance(by: .seconds(5))                                  // 5 min of scenario
        let paused = run.handle(.pause, by: "Alex", wall: wall.now)
        #expect(paused.events.last?.at == Fixture.origin + .m(5))
        wall.advance(by: .hours(1))                                    // paused: nothing moves
        _ = run.handle(.resume, by: "Alex", wall: wall.now)
        #expect(run.now == Fixture.origin + .m(5))
        wall.advance(by: .seconds(2))                                  // +2 min
        _ = run.handle(.speed(ScenarioPace(parsing: "0.5")!), by: "Alex", wall: wall.now)
        wall.advance(by: TimeSpan(milliseconds: 3001))                 // +1500 ms (rounded down once)
        let act = run.handle(.player(Command(actor: "Lee", .completeTask("check", note: nil))), by: "Lee", wall: wall.now)
        #expect(act.events.first?.at == Fixture.origin + .m(7) + TimeSpan(milliseconds: 1500))
        _ = run.handle(.skip(.m(10)), by: "Alex", wall: wall.now)
        #expect(run.now == Fixture.origin + .m(17) + TimeSpan(milliseconds: 1500))
        // The contingency at 15m was due during the skip: delivered at exactly 15m, not at the skip's end.
        #expect(run.deliveries["I2"] == Fixture.origin + .m(15))
    }

    @Test("a tick until a scripted action's time stops there however late the wall clock is; the action then happens at exactly its time")
    func tickUntil() {
        let wall = ManualClock(Fixture.wall0)
        let text = Fixture.exerciseText.replacingOccurrences(of: "speed: manual", with: "speed: 14400")
        var run = ExerciseRun(exercise: Fixture.exercise(text), playbook: Fixture.playbook)
        _ = run.start(runID: "x-1", file: "x.yaml", text: text, players: nil, wall: wall.now)
        let scripted = Fixture.origin + .m(9)
        wall.advance(by: TimeSpan(milliseconds: 2_500))              // 2.5 s at 14400x: the clock reads 10h
        let tick = run.handle(.tickUntil(scripted), by: Command.system, wall: wall.now)
        #expect(run.now == scripted)
        #expect(tick.events.deliveries().map(\.0) == [])             // I2 (15m) and I3 (1h) are still ahead
        let act = run.handle(.scripted(Command(actor: "Lee", .completeTask("check", note: nil)), at: scripted), by: "Lee", wall: wall.now)
        #expect(act.events.first?.at == scripted)
        // A plain tick afterwards catches up with the clock.
        let caughtUp = run.handle(.tick, by: Command.system, wall: wall.now)
        #expect(caughtUp.events.deliveries().map(\.0) == ["I2", "I3"])  // I2: no decision was made
    }
}

@Suite("Scenario clock")
struct ScenarioClockTests {
    let w0 = Fixture.wall0
    let s0 = Fixture.origin

    @Test("running at 30x, scenario time is 30 times the wall time since the start")
    func rate() {
        let clock = ScenarioClock(scenario: s0, wall: w0, pace: .speed(30))
        #expect(clock.scenarioTime(at: w0 + .seconds(10)) == s0 + .minutes(5))
        #expect(clock.scenarioTime(at: w0 - .seconds(10)) == s0, "a wall clock stepping back does not move the scenario back")
    }

    @Test("many pauses and speed changes add up exactly to the running stretches times their speeds")
    func noDrift() {
        var clock = ScenarioClock(scenario: s0, wall: w0, pace: .speed(7))
        var wall = w0
        var expected: Int64 = 0
        for i in 1...500 {
            let run = Int64(997 + i % 13)
            wall = wall + TimeSpan(milliseconds: run)
            expected += run * 7
            clock.pause(at: wall)
            wall = wall + TimeSpan(milliseconds: Int64(i))
            clock.resume(at: wall)
            clock.setPace(.speed(7), at: wall)
        }
        #expect(clock.scenarioTime(at: wall) == s0 + TimeSpan(milliseconds: expected))
    }

    @Test("the wall time when the scenario reaches an instant is the first one that does", arguments: ["30", "0.5", "7", "2.333", "1"])
    func inverse(_ speed: String) {
        let clock = ScenarioClock(scenario: s0, wall: w0, pace: ScenarioPace(parsing: speed)!)
        for ms: Int64 in [1, 999, 1000, 60_000, 3_600_001, 86_400_000] {
            let target = s0 + TimeSpan(milliseconds: ms)
            let wall = clock.wallTime(whenScenarioReaches: target, from: w0)!
            #expect(clock.scenarioTime(at: wall) >= target)
            #expect(clock.scenarioTime(at: wall - TimeSpan(milliseconds: 1)) < target)
        }
    }

    @Test("manual and paused clocks do not follow the wall clock; skip moves them")
    func manual() {
        var clock = ScenarioClock(scenario: s0, wall: w0, pace: .manual)
        #expect(clock.scenarioTime(at: w0 + .hours(1)) == s0)
        #expect(clock.wallTime(whenScenarioReaches: s0 + .minutes(1), from: w0) == nil)
        clock.skip(.minutes(10), at: w0 + .hours(1))
        #expect(clock.scenarioTime(at: w0 + .hours(2)) == s0 + .minutes(10))
    }

    @Test("speeds parse and print as written", arguments: [("30", "30"), ("0.5", "0.5"), ("2.250", "2.25"), ("manual", "manual"), ("max", "max")])
    func speeds(_ pair: (String, String)) {
        #expect(ScenarioPace(parsing: pair.0)?.description == pair.1)
    }

    @Test("nonsense speeds are refused", arguments: ["0", "-1", "fast", "1.2345", "", ".5", "1e3"])
    func badSpeeds(_ text: String) {
        #expect(ScenarioPace(parsing: text) == nil)
    }
}
