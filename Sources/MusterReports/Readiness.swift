import MusterCore

/// A cell's verdict on the readiness scorecard.
public enum ReadinessLevel: String, Sendable, Hashable, CaseIterable, Comparable {
    case good, attention, failing
    /// The criterion does not apply (no exercise yet to rate, no dependency).
    case notApplicable = "n/a"

    var rank: Int {
        switch self {
        case .notApplicable: 0
        case .good: 1
        case .attention: 2
        case .failing: 3
        }
    }

    public static func < (a: ReadinessLevel, b: ReadinessLevel) -> Bool { a.rank < b.rank }

    /// A glyph for people who cannot tell the colours apart.
    public var glyph: String {
        switch self {
        case .good: "✓"
        case .attention: "!"
        case .failing: "✗"
        case .notApplicable: "–"
        }
    }
}

/// The scorecard's columns, in order.
public enum ReadinessCriterion: String, Sendable, Hashable, CaseIterable {
    case plan, exercised, ratings, rto, rpo, actions, review, dependencies

    public var title: String {
        switch self {
        case .plan: "Playbook"
        case .exercised: "Exercised"
        case .ratings: "Ratings"
        case .rto: "RTO met"
        case .rpo: "RPO met"
        case .actions: "Actions"
        case .review: "Review"
        case .dependencies: "Dependencies"
        }
    }

    /// What good means, for the legend and docs/readiness.md.
    public var rule: String {
        switch self {
        case .plan: "good: at least one playbook covers the service; failing: none does"
        case .exercised: "good: exercised within its review cadence; attention: exercised, but longer ago; failing: never exercised"
        case .ratings: "good: every objective of the last exercise rated P or S; attention: an M, or no rating; failing: a U; n/a: never exercised"
        case .rto: "the last exercise or incident: good: RTO met; failing: missed; attention: not measured (open, not set, or the run's playbook lacks the service); n/a: never run"
        case .rpo: "the last exercise or incident: good: RPO met; failing: missed; attention: no data-loss window recorded; n/a: never run"
        case .actions: "corrective actions answering lessons of runs of its playbooks: good: none open; attention: open; failing: one overdue"
        case .review: "good: last exercised or used live within its review cadence; failing: overdue or never"
        case .dependencies: "the weakest service it depends on, directly or through resources, with that service's overall verdict (which counts at most as attention here: it is fixed on that service's row); n/a: no service dependency"
        }
    }
}

/// A run as the scorecard sees it: cheap facts for every run, and the measured ones for the runs it reports.
public struct ReadinessRun: Sendable, Hashable {
    public var id: String
    public var title: String
    public var playbookID: String
    public var playbookVersion: Int
    public var mode: RunMode
    /// When it was run (the run's creation in the journal; an exercise's scenario clock may be elsewhere).
    public var at: Instant

    public init(id: String, title: String, playbookID: String, playbookVersion: Int, mode: RunMode, at: Instant) {
        self.id = id
        self.title = title
        self.playbookID = playbookID
        self.playbookVersion = playbookVersion
        self.mode = mode
        self.at = at
    }
}

/// What a reported run measured: per service RTO/RPO attainment and, for an exercise, the objectives' ratings.
public struct ReadinessRunFacts: Sendable, Hashable {
    public var services: [ServiceAttainment]
    /// Objective id and its standing rating (nil: not rated); nil when the run has no evaluation.
    public var ratings: [RatedObjective]?

    public struct RatedObjective: Sendable, Hashable {
        public var objective: String
        public var rating: Rating?
        public init(objective: String, rating: Rating?) {
            self.objective = objective
            self.rating = rating
        }
    }

    public init(services: [ServiceAttainment], ratings: [RatedObjective]?) {
        self.services = services
        self.ratings = ratings
    }
}

/// One service's row.
public struct ServiceReadiness: Sendable, Hashable {
    public struct Cell: Sendable, Hashable {
        public var criterion: ReadinessCriterion
        public var level: ReadinessLevel
        public var text: String
    }

    public var service: String
    public var name: String
    public var owner: String?
    public var tier: Int?
    public var rto: TimeSpan?
    public var rpo: TimeSpan?
    public var mtpd: TimeSpan?
    public var mtpdDerived: Bool
    public var playbooks: [String]
    public var lastExercise: ReadinessRun?
    public var ratings: [ReadinessRunFacts.RatedObjective]?
    public var lastLive: ReadinessRun?
    /// The latest of the two: the run whose RTO and RPO results count.
    public var lastTest: ReadinessRun?
    public var attainment: ServiceAttainment?
    public var openActions: [String]
    public var overdueActions: [String]
    public var reviewEvery: TimeSpan
    /// `review_every` after the last run of either kind; nil: never run (due now).
    public var nextReview: Instant?
    public var weakestDependency: String?
    public var cells: [Cell]
    public var overall: ReadinessLevel

    public func cell(_ c: ReadinessCriterion) -> Cell { cells.first { $0.criterion == c }! }
    public var failing: Int { cells.filter { $0.level == .failing }.count }
    public var attention: Int { cells.filter { $0.level == .attention }.count }
}

/// The readiness scorecard: per catalogue service, whether a playbook covers it, when it was last exercised and
/// how it was rated, when last used live, whether the last test met its RTO and RPO, the corrective actions still
/// open against it, whether its review is overdue, and its weakest dependency. Services sorted worst first.
/// Pure: runs, facts, actions and now are parameters.
public struct ReadinessScorecard: Sendable, Hashable {
    public var organisation: String?
    public var now: Instant
    public var services: [ServiceReadiness]

    public func count(_ level: ReadinessLevel) -> Int { services.filter { $0.overall == level }.count }

    /// The runs whose facts `compute` needs: per playbook, its latest exercise and its latest live run.
    public static func runsToMeasure(_ runs: [ReadinessRun]) -> Set<String> {
        var latest: [String: ReadinessRun] = [:]
        for run in runs {
            let key = "\(run.mode.rawValue) \(run.playbookID)"
            if latest[key].map({ $0.at <= run.at }) ?? true { latest[key] = run }
        }
        return Set(latest.values.map(\.id))
    }

    /// - Parameters:
    ///   - playbooks: the playbooks in force (coverage and `review_every`).
    ///   - runs: every run; `facts` for at least `runsToMeasure(runs)`.
    ///   - actions: the improvement log's actions (lessons `RUN/SEQ` tie them to runs, so to playbooks).
    public static func compute(catalogue: ServiceCatalogue, playbooks: [Playbook], runs: [ReadinessRun],
                               facts: [String: ReadinessRunFacts], actions: [ImprovementAction], now: Instant) -> ReadinessScorecard {
        let coverage = ImpactAnalysis.coverage(playbooks)
        var reviewOf: [String: TimeSpan] = [:]
        for p in playbooks where reviewOf[p.id.value] == nil { reviewOf[p.id.value] = p.reviewEvery ?? CatalogueDefaults.reviewEvery }
        var latestExercise: [String: ReadinessRun] = [:]
        var latestLive: [String: ReadinessRun] = [:]
        var playbookOfRun: [String: String] = [:]
        for run in runs {
            playbookOfRun[run.id] = run.playbookID
            if run.mode == .exercise {
                if latestExercise[run.playbookID].map({ $0.at <= run.at }) ?? true { latestExercise[run.playbookID] = run }
            } else if latestLive[run.playbookID].map({ $0.at <= run.at }) ?? true {
                latestLive[run.playbookID] = run
            }
        }
        // Open actions per playbook, through the runs whose lessons they answer.
        var openByPlaybook: [String: [ImprovementAction]] = [:]
        for action in actions where action.status == .open || action.status == .inProgress || action.status == .done {
            var seen: Set<String> = []
            for lesson in action.draft.lessons {
                let runID = String(lesson.split(separator: "/").first ?? "")
                guard let playbook = playbookOfRun[runID], seen.insert(playbook).inserted else { continue }
                openByPlaybook[playbook, default: []].append(action)
            }
        }
        let today = Day(now)

        var rows: [ServiceReadiness] = []
        var index: [String: Int] = [:]
        for service in catalogue.services {
            let id = service.id.value
            let covering = coverage[id] ?? []
            func latest(_ table: [String: ReadinessRun]) -> ReadinessRun? {
                covering.compactMap { table[$0] }.max { $0.at < $1.at }
            }
            let lastExercise = latest(latestExercise)
            let lastLive = latest(latestLive)
            let lastTest = [lastExercise, lastLive].compactMap { $0 }.max { $0.at < $1.at }
            let attainment = lastTest.flatMap { facts[$0.id]?.services.first { $0.service == id } }
            let ratings = lastExercise.flatMap { facts[$0.id]?.ratings }
            var reviewEvery = service.reviewEvery?.value
            if reviewEvery == nil {
                let candidates = covering.compactMap { reviewOf[$0] } + [catalogue.reviewEvery].compactMap { $0 }
                reviewEvery = candidates.min() ?? CatalogueDefaults.reviewEvery
            }
            let cadence = reviewEvery!
            let nextReview = lastTest.map { $0.at + cadence }
            var open: [String] = []
            var overdue: [String] = []
            for playbook in covering {
                for action in openByPlaybook[playbook] ?? [] where !open.contains(action.id) {
                    open.append(action.id)
                    if action.isOverdue(today: today) { overdue.append(action.id) }
                }
            }
            let mtpd = catalogue.mtpd(of: service)

            var cells: [ServiceReadiness.Cell] = []
            func add(_ c: ReadinessCriterion, _ level: ReadinessLevel, _ text: String) {
                cells.append(.init(criterion: c, level: level, text: text))
            }
            add(.plan, covering.isEmpty ? .failing : .good, covering.isEmpty ? "no playbook" : covering.joined(separator: ", "))
            if let e = lastExercise {
                let stale = e.at + cadence < now
                add(.exercised, stale ? .attention : .good, "\(Day(e.at)) (\(e.id))" + (stale ? ", over \(cadence) ago" : ""))
            } else {
                add(.exercised, .failing, "never")
            }
            if lastExercise == nil {
                add(.ratings, .notApplicable, "not exercised")
            } else if let ratings, !ratings.isEmpty {
                let text = ratings.map { "\($0.objective) \($0.rating?.rawValue ?? "–")" }.joined(separator: ", ")
                let worst = ratings.compactMap(\.rating).max()
                let level: ReadinessLevel = worst == .unable ? .failing : (worst == .major || ratings.contains { $0.rating == nil }) ? .attention : .good
                add(.ratings, level, text)
            } else {
                add(.ratings, .attention, "no evaluation")
            }
            for (criterion, status, actual) in [
                (ReadinessCriterion.rto, attainment?.rtoStatus, attainment?.recoveryTime),
                (ReadinessCriterion.rpo, attainment?.rpoStatus, attainment?.dataLoss),
            ] {
                guard let lastTest else { add(criterion, .notApplicable, "never run"); continue }
                guard let status else { add(criterion, .attention, "not in \(lastTest.id)'s playbook"); continue }
                let measured = actual.map { " in \($0.forPeople())" } ?? ""
                switch status {
                case .met: add(criterion, .good, "met\(measured) (\(lastTest.id))")
                case .missed: add(criterion, .failing, "missed" + (actual.map { " in \($0.forPeople())" } ?? (criterion == .rto ? ": not recovered" : "")) + " (\(lastTest.id))")
                case .open: add(criterion, .attention, "open (\(lastTest.id))")
                case .notSet: add(criterion, .attention, "not set (\(lastTest.id))")
                case .notRecorded: add(criterion, .attention, "not recorded (\(lastTest.id))")
                }
            }
            if !overdue.isEmpty {
                add(.actions, .failing, "\(open.count) open, \(overdue.count) overdue: \(open.joined(separator: ", "))")
            } else if !open.isEmpty {
                add(.actions, .attention, "\(open.count) open: \(open.joined(separator: ", "))")
            } else {
                add(.actions, .good, "none open")
            }
            if let nextReview {
                add(.review, nextReview < now ? .failing : .good, (nextReview < now ? "overdue since " : "due ") + Day(nextReview).description)
            } else {
                add(.review, .failing, "never run: due now")
            }
            index[id] = rows.count
            rows.append(ServiceReadiness(
                service: id, name: service.name, owner: service.owner, tier: service.tier, rto: service.rto?.value,
                rpo: service.rpo?.value, mtpd: mtpd?.span, mtpdDerived: mtpd?.derived ?? false, playbooks: covering,
                lastExercise: lastExercise, ratings: ratings, lastLive: lastLive, lastTest: lastTest, attainment: attainment,
                openActions: open, overdueActions: overdue, reviewEvery: cadence, nextReview: nextReview,
                weakestDependency: nil, cells: cells, overall: cells.map(\.level).max() ?? .good))
        }

        // The weakest service each depends on, through services and resources alike (a DAG once validated; a
        // cycle is cut where it closes).
        var edges: [NodeRef: [NodeRef]] = [:]
        for node in catalogue.nodes { edges[node.ref, default: []] += node.dependsOn.map(\.ref) }
        var memo: [NodeRef: (level: ReadinessLevel, service: String)?] = [:]
        func worse(_ a: (level: ReadinessLevel, service: String)?, _ b: (level: ReadinessLevel, service: String)?) -> (level: ReadinessLevel, service: String)? {
            guard let a else { return b }
            guard let b else { return a }
            if a.level != b.level { return a.level > b.level ? a : b }
            // Among equals, the one with more failing (then more attention) criteria, then by id.
            let (fa, fb) = (rows[index[a.service]!].failing, rows[index[b.service]!].failing)
            if fa != fb { return fa > fb ? a : b }
            let (wa, wb) = (rows[index[a.service]!].attention, rows[index[b.service]!].attention)
            if wa != wb { return wa > wb ? a : b }
            return a.service <= b.service ? a : b
        }
        for root in catalogue.services.map({ NodeRef(.service, $0.id.value) }) where memo[root] == nil {
            var stack: [(ref: NodeRef, next: Int)] = [(root, 0)]
            var visiting: Set<NodeRef> = [root]
            while let top = stack.last {
                let deps = edges[top.ref] ?? []
                if top.next == deps.count {
                    var result: (level: ReadinessLevel, service: String)?
                    for d in deps {
                        if d.kind == .service, let i = index[d.id] { result = worse(result, (rows[i].overall, d.id)) }
                        if let inner = memo[d] { result = worse(result, inner) }
                    }
                    memo[top.ref] = .some(result)
                    visiting.remove(top.ref)
                    stack.removeLast()
                    continue
                }
                stack[stack.count - 1].next += 1
                let d = deps[top.next]
                if memo[d] == nil, !visiting.contains(d) {
                    visiting.insert(d)
                    stack.append((d, 0))
                }
            }
        }
        for i in rows.indices {
            let weakest = memo[NodeRef(.service, rows[i].service)] ?? nil
            if let weakest {
                rows[i].weakestDependency = weakest.service
                let level: ReadinessLevel = weakest.level == .notApplicable ? .good : weakest.level
                rows[i].cells.append(.init(criterion: .dependencies, level: level, text: "\(weakest.service): \(weakest.level.rawValue)"))
            } else {
                rows[i].cells.append(.init(criterion: .dependencies, level: .notApplicable, text: "no service dependency"))
            }
            // A weak dependency is that dependency's own row to fix: it makes this service need attention, no more.
            rows[i].overall = rows[i].cells.map { $0.criterion == .dependencies ? min($0.level, .attention) : $0.level }.max() ?? .good
        }
        rows.sort { a, b in
            if a.overall != b.overall { return a.overall > b.overall }
            if a.failing != b.failing { return a.failing > b.failing }
            if a.attention != b.attention { return a.attention > b.attention }
            if (a.tier ?? Int.max) != (b.tier ?? Int.max) { return (a.tier ?? Int.max) < (b.tier ?? Int.max) }
            return a.service < b.service
        }
        return ReadinessScorecard(organisation: catalogue.organisation, now: now, services: rows)
    }
}
