import MusterCore
import Testing

@Suite("Expectation matching and ratings")
struct EvaluationTests {
    struct RatingCase: CustomTestStringConvertible, Sendable {
        var onTime: Int, late: Int, unmet: Int
        var thresholds: RatingThresholds
        var rating: Rating?
        var score: Int?
        var testDescription: String { "\(onTime)/\(late)/\(unmet) -> \(rating?.rawValue ?? "none")" }
    }

    static let d = RatingThresholds.defaults
    static let strict = RatingThresholds(performed: 100, some: 60, major: 30, lateCredit: 0)

    @Test("an objective is rated P, S, M or U by the share of its expectations met, late ones counting late_credit",
          arguments: [
              RatingCase(onTime: 2, late: 0, unmet: 0, thresholds: d, rating: .performed, score: 100),
              RatingCase(onTime: 1, late: 1, unmet: 0, thresholds: d, rating: .some, score: 75),
              RatingCase(onTime: 1, late: 0, unmet: 1, thresholds: d, rating: .major, score: 50),
              RatingCase(onTime: 0, late: 2, unmet: 0, thresholds: d, rating: .major, score: 50),
              RatingCase(onTime: 2, late: 0, unmet: 1, thresholds: d, rating: .some, score: 66),
              RatingCase(onTime: 3, late: 0, unmet: 2, thresholds: d, rating: .some, score: 60),
              RatingCase(onTime: 1, late: 0, unmet: 2, thresholds: d, rating: .major, score: 33),
              RatingCase(onTime: 0, late: 1, unmet: 2, thresholds: d, rating: .unable, score: 16),
              RatingCase(onTime: 0, late: 0, unmet: 3, thresholds: d, rating: .unable, score: 0),
              RatingCase(onTime: 1, late: 3, unmet: 0, thresholds: strict, rating: .unable, score: 25),
              RatingCase(onTime: 3, late: 1, unmet: 0, thresholds: strict, rating: .some, score: 75),
              RatingCase(onTime: 0, late: 0, unmet: 0, thresholds: d, rating: nil, score: nil),
          ])
    func ratings(_ c: RatingCase) {
        let (rating, score) = ExerciseEvaluation.rate(onTime: c.onTime, late: c.late, unmet: c.unmet, thresholds: c.thresholds)
        #expect(rating == c.rating)
        #expect(score == c.score)
    }

    @Test("a threshold is reached exactly, without rounding: 3 of 5 on time is 60%, an S")
    func exactThresholds() {
        #expect(ExerciseEvaluation.rate(onTime: 3, late: 0, unmet: 2, thresholds: .defaults).rating == .some)
        let custom = RatingThresholds(performed: 90, some: 67, major: 30, lateCredit: 50)
        // 2 of 3 is 66.67%: below 67.
        #expect(ExerciseEvaluation.rate(onTime: 2, late: 0, unmet: 1, thresholds: custom).rating == .major)
        #expect(ExerciseEvaluation.rate(onTime: 9, late: 0, unmet: 1, thresholds: custom).rating == .performed)
    }

    struct OutcomeCase: CustomTestStringConvertible, Sendable {
        var name: String
        var delivered: Int64?, within: Int64?, fact: Int64?, now: Int64, ended: Bool
        var outcome: ExerciseEvaluation.Outcome
        var latency: Int64?
        var testDescription: String { name }
    }

    @Test("an expectation is on time, late, unmet, pending or not counted, from its delivery, window and first fact",
          arguments: [
              OutcomeCase(name: "met inside the window", delivered: 10, within: 20, fact: 25, now: 100, ended: true, outcome: .onTime, latency: 15),
              OutcomeCase(name: "met exactly at the deadline", delivered: 10, within: 20, fact: 30, now: 100, ended: true, outcome: .onTime, latency: 20),
              OutcomeCase(name: "met a minute late", delivered: 10, within: 20, fact: 31, now: 100, ended: true, outcome: .late(by: .minutes(1)), latency: 21),
              OutcomeCase(name: "met before the inject: ahead of the scenario", delivered: 10, within: 20, fact: 3, now: 100, ended: true, outcome: .onTime, latency: 0),
              OutcomeCase(name: "never met", delivered: 10, within: 20, fact: nil, now: 100, ended: true, outcome: .unmet, latency: nil),
              OutcomeCase(name: "not met yet, window open", delivered: 10, within: 20, fact: nil, now: 20, ended: false, outcome: .pending, latency: nil),
              OutcomeCase(name: "not met, window closed while running", delivered: 10, within: 20, fact: nil, now: 40, ended: false, outcome: .unmet, latency: nil),
              OutcomeCase(name: "inject never delivered", delivered: nil, within: 20, fact: 5, now: 100, ended: true, outcome: .notDelivered, latency: nil),
          ])
    func outcomes(_ c: OutcomeCase) {
        let base = Fixture.origin
        func t(_ m: Int64?) -> Instant? { m.map { base + .minutes($0) } }
        let (outcome, _, latency) = ExerciseEvaluation.outcome(
            delivered: t(c.delivered), within: c.within.map { .minutes($0) }, firstFact: t(c.fact), now: t(c.now)!, ended: c.ended)
        #expect(outcome == c.outcome)
        #expect(latency == c.latency.map { .minutes($0) })
    }

    @Test("facts count tasks done, events raised by people, decisions taken by people, states, roles and notifications")
    func facts() {
        let t0 = Fixture.origin
        var facts = ExerciseFacts()
        facts.record(RunEvent(at: t0 + .m(1), actor: "Lee", role: "ops", .taskSkipped(task: "check", reason: nil)))
        facts.record(RunEvent(at: t0 + .m(2), actor: Command.system, role: nil, .eventRaised(name: "confirmed")))
        facts.record(RunEvent(at: t0 + .m(3), actor: Command.system, role: nil, .decisionMade(decision: "go", option: "go-on", rationale: "default", byDefault: true)))
        facts.record(RunEvent(at: t0 + .m(4), actor: "Dana", role: nil, .roleAssigned(role: "ops", person: "Lee")))
        facts.record(RunEvent(at: t0 + .m(5), actor: "Lee", role: "ops", .taskCompleted(task: "check", note: nil)))
        facts.record(RunEvent(at: t0 + .m(6), actor: "Lee", role: "ops", .eventRaised(name: "confirmed")))
        facts.record(RunEvent(at: t0 + .m(7), actor: "Dana", role: nil, .decisionMade(decision: "go", option: "stop", rationale: "why", byDefault: false)))
        facts.record(RunEvent(at: t0 + .m(8), actor: "Lee", role: "ops", .taskCompleted(task: "check", note: nil)))
        let at = SourceLocation(file: "x", line: 1, column: 1)
        func l(_ s: String) -> Located<String> { Located(s, at: at) }
        #expect(facts.firstTime(of: .task(l("check"))) == t0 + .m(5), "skipping does not count; the first completion does")
        #expect(facts.firstTime(of: .event(l("confirmed"))) == t0 + .m(6), "a timer's raise does not count")
        #expect(facts.firstTime(of: .decision(l("go"), option: nil)) == t0 + .m(7), "a default does not count")
        #expect(facts.firstTime(of: .decision(l("go"), option: l("go-on"))) == nil)
        #expect(facts.firstTime(of: .decision(l("go"), option: l("stop"))) == t0 + .m(7))
        #expect(facts.firstTime(of: .role(l("ops"), person: l("Lee"))) == t0 + .m(4))
        #expect(facts.firstTime(of: .role(l("ops"), person: l("Sam"))) == nil)
    }

    @Test("the evaluation of a run: late, unmet and on-time expectations, the rating, and an evaluator's overrule")
    func evaluationOfARun() {
        var run = Fixture.started()
        _ = run.at(.m(12), "Lee", .completeTask("check", note: nil))                                // 2m late
        _ = run.at(.m(13), "Lee", .raise("confirmed"))
        _ = run.at(.m(14), "Dana", .decide(decision: "go", option: "go-on", rationale: "fix it"))   // on time
        _ = run.handle(.overrule(objective: "O1", rating: .performed, note: "the check waited for a vendor"), by: "Robin", wall: Fixture.wall0)
        _ = run.move(to: .hours(2))
        let e = run.evaluation()
        #expect(e.ended)
        let o1 = e.objectives[0]
        // check late (50), decision on time (100), state fix reached at 14m before I3 (counts at delivery: on time).
        #expect((o1.onTime, o1.late, o1.unmet) == (2, 1, 0))
        #expect(o1.scorePercent == 83)
        #expect(o1.computed == .some)
        #expect(o1.rating == .performed)
        #expect(o1.overrule?.by == "Robin")
        #expect(e.contingencyWithheld == ["I2"])
        #expect(e.injects[2].expectations[0].latency == .zero)
    }
}
