import MusterCore
import MusterJournal
import MusterReports

/// The report model of one run, as `muster report` and `GET /api/runs/{id}/report` build it: the chain verified
/// now, the events (exercises on the scenario clock), the exercise evaluation and the integrity block.
public enum RunReportBuilder {
    /// A built report, and what could not go into it (the CLI prints these on standard error).
    public struct Built: Sendable {
        public var report: RunReport
        public var warnings: [String]
    }

    /// `evaluate` loads an exercise run's evaluation (`MusterExercise` replays it); it is asked only for an
    /// exercise run with an exercise record; nil leaves the evaluation out (the reader may not see it yet), and a
    /// failure leaves it out with a warning.
    /// `catalogue`: where to find the service catalogue; the report then names the catalogue services the run
    /// affected (nil: none).
    public static func build(_ journal: Journal, _ run: RunRecord, playbook: Playbook, now: Instant, catalogue: CatalogueImpact.Source? = nil,
                             evaluate: (RunRecord) throws -> ExerciseEvaluation?) throws(JournalError) -> Built {
        let verification = try journal.verify(runID: run.id)
        var events = try events(journal, run, intact: verification.isIntact)
        var warnings: [String] = []
        // Exercises are reported on the scenario clock, as the exercise evaluation counts.
        var evaluation: ExerciseEvaluation?
        if run.mode == .exercise, events.contains(where: { $0.scenarioTime != nil }) {
            for i in events.indices {
                guard let scenario = events[i].scenarioTime else { continue }
                events[i].wallTime = events[i].event.at
                events[i].event.at = scenario
            }
        }
        if run.mode == .exercise, events.contains(where: { if case .exerciseStarted = $0.event.body { true } else { false } }) {
            do {
                evaluation = try evaluate(run)
            } catch {
                warnings.append("run \(run.id): the exercise cannot be evaluated (\(error)); the report leaves the evaluation out")
            }
        }
        let integrity = ReportIntegrity(
            headHash: verification.headHash, eventCount: verification.eventCount, intact: verification.isIntact,
            problem: verification.firstBroken.map { _ in verification.description }, warnings: verification.warnings,
            checkedAt: now)
        var report = RunReport(
            run: ReportRun(id: run.id, title: run.title, playbookID: run.playbookID, playbookVersion: run.playbookVersion,
                           playbookSHA256: run.playbookSHA256, mode: run.mode, createdAt: run.createdAt),
            playbook: playbook, events: events, integrity: integrity, generatedAt: now, exercise: evaluation,
            extraDeliveries: try afterClose(journal, run, events))
        if let catalogue, let disruption = report.started?.disruptionStart {
            let end = report.metrics.marks[.recovered] ?? report.metrics.marks[.closed] ?? now
            let result = CatalogueImpact.affected(services: playbook.services.map(\.id.value), elapsed: end - disruption, from: catalogue)
            if let warning = result.warning { warnings.append(warning) }
            if let found = result.found {
                report.catalogueServices = found.analysis.affected
                report.catalogueSource = found.path
            }
        }
        return Built(report: report, warnings: warnings)
    }

    /// Outcomes of the notifications settled after the run closed: the worker records them on the outbox rows only
    /// (the run's chain ends with its close), so the report reads them there. Dated by the row's last change, or,
    /// for an exercise reported on the scenario clock, at the close.
    static func afterClose(_ journal: Journal, _ run: RunRecord, _ events: [ReportEvent]) throws(JournalError) -> [DeliveryFact] {
        guard let close = events.first(where: { if case .runClosed = $0.event.body { true } else { false } }) else { return [] }
        let closedAt = close.wallTime ?? close.event.at
        var reported = Set<String>()
        for event in events {
            for fact in DeliveryFact.facts(in: event.event) where fact.outcome == .delivered || fact.outcome == .deadLettered {
                reported.insert(fact.notificationID)
            }
        }
        return try journal.outbox(runID: run.id).compactMap { item in
            guard item.updatedAt >= closedAt, !reported.contains(item.notificationID) else { return nil }
            let at = close.wallTime == nil ? item.updatedAt : close.event.at
            switch item.status {
            case .sent: return DeliveryFact(notificationID: item.notificationID, at: at, outcome: .delivered)
            case .dead: return DeliveryFact(notificationID: item.notificationID, at: at, outcome: .deadLettered, detail: item.lastError)
            default: return nil
            }
        }
    }

    /// The run's events with seqs. A run whose chain is intact has seqs 1...n, so the lean reader (no payload
    /// text or hashes kept) serves, with scenario times read alongside; a broken chain (gaps) reads full rows.
    public static func events(_ journal: Journal, _ run: RunRecord, intact: Bool) throws(JournalError) -> [ReportEvent] {
        if intact {
            let events = try journal.events(runID: run.id)
            let scenario = run.mode == .exercise ? try journal.scenarioTimes(runID: run.id) : []
            return events.indices.map { i in
                ReportEvent(seq: i + 1, event: events[i], scenarioTime: scenario.indices.contains(i) ? scenario[i] : nil)
            }
        }
        return try journal.storedEvents(runID: run.id).map { ReportEvent(seq: $0.seq, event: $0.event, scenarioTime: $0.scenarioTime) }
    }
}
