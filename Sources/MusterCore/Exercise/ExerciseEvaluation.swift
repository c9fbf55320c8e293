/// The first time each kind of fact appears on an exercise's timeline, keyed as `ExpectedAction.factKey` says:
/// `task:ID`, `event:NAME`, `decision:ID`, `decision:ID=OPTION`, `state:ID`, `role:ID`, `role:ID=PERSON`,
/// `notification:CHANNEL`. Expectation matching reads only this, so it costs one lookup per expectation.
///
/// What counts: a task completed (not skipped); an event raised by a person (not by a timer); a decision taken
/// by a person (not the default taken at a deadline); a state entered; a role assigned; a notification queued.
public struct ExerciseFacts: Sendable, Hashable {
    public private(set) var first: [String: Instant] = [:]
    /// Per roll call: how many people it asks, and when each one was first accounted for (answer or mark), in
    /// order. `rollcall ID N%` is met when the count reaches N% of the people (rounded up).
    public private(set) var rollCallSize: [String: Int] = [:]
    public private(set) var accountedTimes: [String: [Instant]] = [:]
    private var accountedPeople: [String: Set<String>] = [:]

    public init() {}

    public mutating func record(_ event: RunEvent) {
        switch event.body {
        case .taskCompleted(let task, _):
            note("task:" + task, event.at)
        case .eventRaised(let name) where event.actor != Command.system:
            note("event:" + name, event.at)
        case .decisionMade(let decision, let option, _, let byDefault) where !byDefault:
            note("decision:" + decision, event.at)
            note("decision:\(decision)=\(option)", event.at)
        case .stateEntered(let state, _, _):
            note("state:" + state, event.at)
        case .roleAssigned(let role, let person):
            note("role:" + role, event.at)
            note("role:\(role)=\(person)", event.at)
        case .notificationQueued(let notification):
            note("notification:" + notification.channel, event.at)
        case .acknowledged(let ack, _, _):
            note("ack:" + ack, event.at)
        case .rollCallStarted(let rollCall, let people, _):
            note("rollcall-started:" + rollCall, event.at)
            rollCallSize[rollCall] = people.count
            accountedTimes[rollCall] = []
            accountedPeople[rollCall] = []
        case .answerReceived(let rollCall, let person, _, _, _), .personAccounted(let rollCall, let person, _):
            if accountedPeople[rollCall, default: []].insert(person).inserted {
                accountedTimes[rollCall, default: []].append(event.at)
            }
        default:
            break
        }
    }

    /// How many people must be accounted for to reach `percent` of a roll call of `size` (rounded up).
    public static func needed(_ percent: Int, of size: Int) -> Int { (percent * size + 99) / 100 }

    /// The roll call's accounted share now, as (accounted, asked); nil when it never started.
    public func progress(of rollCall: String) -> (accounted: Int, of: Int)? {
        guard let size = rollCallSize[rollCall] else { return nil }
        return (accountedTimes[rollCall]?.count ?? 0, size)
    }

    private mutating func note(_ key: String, _ at: Instant) {
        if first[key] == nil { first[key] = at }
    }

    /// When the expected action first happened, if it did.
    public func firstTime(of action: ExpectedAction) -> Instant? {
        guard case .rollCall(let id, let percent) = action else { return first[action.factKey] }
        guard let size = rollCallSize[id.value], let times = accountedTimes[id.value] else { return nil }
        let needed = Self.needed(percent.value, of: size)
        if needed == 0 { return first["rollcall-started:" + id.value] }
        return needed <= times.count ? times[needed - 1] : nil
    }
}

/// An evaluator's rating that replaces the computed one, with the note that says why.
public struct RatingOverrule: Sendable, Hashable {
    public var rating: Rating
    public var note: String
    public var by: String
    public var at: Instant

    public init(rating: Rating, note: String, by: String, at: Instant) {
        self.rating = rating
        self.note = note
        self.by = by
        self.at = at
    }
}

/// The after-action view of an exercise: per inject, which expectations were met and how fast; per objective,
/// the rating; the contingency injects used.
///
/// Rules (documented in docs/exercise-format.md):
/// - An expectation is met at the first time its fact appears on the timeline, or at the inject's delivery when
///   the fact came earlier (the players were ahead of the scenario). It is on time when met at or before
///   delivery + `within`, late when met after that (and before the end), unmet otherwise.
/// - Expectations of injects never delivered (withheld contingencies, an exercise ended early) do not count.
/// - An objective's score is `(on time × 100 + late × late_credit) / expectations` percent; it is rated P at or
///   above `P`, S at or above `S`, M at or above `M`, U below. An evaluator's overrule replaces the rating.
public struct ExerciseEvaluation: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable {
        case onTime
        case late(by: TimeSpan)
        case unmet
        /// Not met yet, and its window is still open (an exercise evaluated while it runs).
        case pending
        /// Its inject was never delivered: it does not count.
        case notDelivered
    }

    public struct ExpectationResult: Sendable, Hashable {
        public var text: String
        public var objective: String?
        public var within: TimeSpan?
        /// When it was met, and how long after the delivery (zero when it was met before).
        public var metAt: Instant?
        public var latency: TimeSpan?
        public var outcome: Outcome
        /// For `rollcall ID N%`: the share reached by the evaluation's time ("34 of 40 accounted for (85%)"), or
        /// that the roll call never started.
        public var detail: String? = nil
    }

    public struct InjectResult: Sendable, Hashable {
        public var id: String
        /// Planned scenario time from the start.
        public var at: TimeSpan
        public var contingency: Bool
        public var delivered: Instant?
        public var withheld: String?
        public var expectations: [ExpectationResult]
        public var notes: String?
    }

    public struct ObjectiveResult: Sendable, Hashable {
        public var id: String
        public var text: String
        public var capability: String?
        public var onTime: Int
        public var late: Int
        public var unmet: Int
        public var pending: Int
        /// Rounded down; nil when the objective had no counted expectation.
        public var scorePercent: Int?
        public var computed: Rating?
        public var overrule: RatingOverrule?
        /// The objective's expectations that were meant to be played: those of every planned inject, and of the
        /// contingency injects that were released (a withheld contingency was never meant to count).
        public var planned: Int
        /// Fewer than half of `planned` came into play (an exercise ended early): no rating is computed, since a
        /// P from 1 of 4 expectations says nothing about the other three. An evaluator can still overrule.
        public var partiallyExercised: Bool

        /// The expectations whose inject was delivered.
        public var inPlay: Int { onTime + late + unmet + pending }

        /// The rating that stands: the evaluator's when overruled.
        public var rating: Rating? { overrule?.rating ?? computed }

        /// "3 of 4 expectations in play".
        public var coverageText: String { "\(inPlay) of \(planned) expectation\(planned == 1 ? "" : "s") in play" }
    }

    public struct AdHocInject: Sendable, Hashable {
        public var id: String
        public var at: Instant
        public var message: String
    }

    public var exerciseID: String
    public var title: String
    public var origin: Instant
    /// Scenario time of the end (or of the evaluation, while the exercise still runs).
    public var end: Instant
    public var ended: Bool
    public var injects: [InjectResult]
    public var objectives: [ObjectiveResult]
    public var contingencyUsed: [String]
    public var contingencyWithheld: [String]
    public var adHoc: [AdHocInject]
    public var thresholds: RatingThresholds

    /// The rating for counts of expectations on time, late and unmet, and the score in whole percent
    /// (nil, nil when there is nothing to count). Exact integer arithmetic: no rounding decides a rating.
    public static func rate(onTime: Int, late: Int, unmet: Int, thresholds: RatingThresholds) -> (rating: Rating?, score: Int?) {
        let total = onTime + late + unmet
        guard total > 0 else { return (nil, nil) }
        let points = onTime * 100 + late * thresholds.lateCredit
        let rating: Rating
        if points >= thresholds.performed * total { rating = .performed }
        else if points >= thresholds.some * total { rating = .some }
        else if points >= thresholds.major * total { rating = .major }
        else { rating = .unable }
        return (rating, points / total)
    }

    /// The outcome of one expectation from its inject's delivery, its window, and when its fact first appeared.
    public static func outcome(delivered: Instant?, within: TimeSpan?, firstFact: Instant?, now: Instant, ended: Bool) -> (Outcome, metAt: Instant?, latency: TimeSpan?) {
        guard let delivered else { return (.notDelivered, nil, nil) }
        let deadline = within.map { delivered + $0 }
        guard let fact = firstFact, fact <= now else {
            if !ended, let deadline, deadline > now { return (.pending, nil, nil) }
            return (.unmet, nil, nil)
        }
        let metAt = max(fact, delivered)
        let latency = metAt - delivered
        if let deadline, metAt > deadline { return (.late(by: metAt - deadline), metAt, latency) }
        return (.onTime, metAt, latency)
    }

    public static func evaluate(
        exercise: Exercise, deliveries: [String: Instant], withheld: [String: String], facts: ExerciseFacts,
        overrules: [String: RatingOverrule], adHoc: [AdHocInject], now: Instant, ended: Bool
    ) -> ExerciseEvaluation {
        var injects: [InjectResult] = []
        var counts: [String: (onTime: Int, late: Int, unmet: Int, pending: Int)] = [:]
        var planned: [String: Int] = [:]
        for inject in exercise.injectsInDeliveryOrder {
            let delivered = deliveries[inject.id.value]
            if !inject.contingency || delivered != nil {
                for case let objective? in inject.expect.map(\.objective?.value) { planned[objective, default: 0] += 1 }
            }
            var results: [ExpectationResult] = []
            for expectation in inject.expect {
                let (outcome, metAt, latency) = outcome(
                    delivered: delivered, within: expectation.within?.value, firstFact: facts.firstTime(of: expectation.what),
                    now: now, ended: ended)
                var detail: String?
                if case .rollCall(let id, _) = expectation.what {
                    if let (accounted, size) = facts.progress(of: id.value) {
                        detail = "\(accounted) of \(size) accounted for (\(size == 0 ? 100 : accounted * 100 / size)%)"
                    } else {
                        detail = "roll call not started"
                    }
                }
                results.append(ExpectationResult(
                    text: expectation.text, objective: expectation.objective?.value, within: expectation.within?.value,
                    metAt: metAt, latency: latency, outcome: outcome, detail: detail))
                guard let objective = expectation.objective?.value else { continue }
                var c = counts[objective] ?? (0, 0, 0, 0)
                switch outcome {
                case .onTime: c.onTime += 1
                case .late: c.late += 1
                case .unmet: c.unmet += 1
                case .pending: c.pending += 1
                case .notDelivered: break
                }
                counts[objective] = c
            }
            injects.append(InjectResult(
                id: inject.id.value, at: inject.at.value, contingency: inject.contingency, delivered: delivered,
                withheld: withheld[inject.id.value], expectations: results, notes: inject.notes))
        }
        let objectives = exercise.objectives.map { objective in
            let c = counts[objective.id.value] ?? (0, 0, 0, 0)
            let (rating, score) = rate(onTime: c.onTime, late: c.late, unmet: c.unmet, thresholds: exercise.ratings)
            let plannedCount = planned[objective.id.value] ?? 0
            let partial = plannedCount > 0 && (c.onTime + c.late + c.unmet + c.pending) * 2 < plannedCount
            return ObjectiveResult(
                id: objective.id.value, text: objective.text, capability: objective.capability, onTime: c.onTime,
                late: c.late, unmet: c.unmet, pending: c.pending, scorePercent: score, computed: partial ? nil : rating,
                overrule: overrules[objective.id.value], planned: plannedCount, partiallyExercised: partial)
        }
        let contingencies = exercise.injectsInDeliveryOrder.filter(\.contingency).map(\.id.value)
        return ExerciseEvaluation(
            exerciseID: exercise.id.value, title: exercise.title, origin: exercise.clock.start, end: now, ended: ended,
            injects: injects, objectives: objectives,
            contingencyUsed: contingencies.filter { deliveries[$0] != nil },
            contingencyWithheld: contingencies.filter { withheld[$0] != nil },
            adHoc: adHoc, thresholds: exercise.ratings)
    }
}
