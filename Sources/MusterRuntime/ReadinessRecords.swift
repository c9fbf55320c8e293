import Foundation
import MusterCore
import MusterJournal
import MusterReports
import MusterYAML

/// What `muster readiness`, `muster evidence` and the server's `GET /api/readiness` read: the catalogue, the
/// playbooks in force, every run (cheaply) and the measured facts of the runs the scorecard reports, and the
/// improvement log's actions. Pinned playbook copies are parsed once per distinct SHA-256.
public struct ReadinessRecords: Sendable {
    public var catalogue: ServiceCatalogue
    public var playbooks: [Playbook]
    public var records: [RunRecord]
    public var runs: [ReadinessRun]
    public var facts: [String: ReadinessRunFacts]
    public var actions: [ImprovementAction]
    public var now: Instant

    public var scorecard: ReadinessScorecard {
        ReadinessScorecard.compute(catalogue: catalogue, playbooks: playbooks, runs: runs, facts: facts, actions: actions, now: now)
    }

    /// `include` leaves runs out (those a server's caller may not read); `cache` is the server's parsed playbooks.
    /// `evaluate` replays an exercise run's evaluation (`MusterExercise`), as for `RunReportBuilder`.
    public static func load(catalogue: ServiceCatalogue, playbooksFolder: String?, journal: Journal?, now: Instant,
                            include: (RunRecord) -> Bool = { _ in true }, cache: PlaybookCache? = nil,
                            evaluate: (RunRecord) throws -> ExerciseEvaluation?) throws(ImprovementLoadError) -> ReadinessRecords {
        var playbooks: [Playbook] = []
        if let playbooksFolder, FileManager.default.fileExists(atPath: playbooksFolder) {
            var seen: Set<String> = []
            for loaded in PlaybookLoader.loadAll(paths: [playbooksFolder], cache: cache) {
                guard let p = loaded.playbook, !loaded.hasErrors, seen.insert(p.id.value).inserted else { continue }
                playbooks.append(p)
            }
        }
        guard let journal else {
            return ReadinessRecords(catalogue: catalogue, playbooks: playbooks, records: [], runs: [], facts: [:], actions: [], now: now)
        }
        do {
            let records = try journal.runs().filter(include)
            let runs = records.map {
                ReadinessRun(id: $0.id, title: $0.title, playbookID: $0.playbookID, playbookVersion: $0.playbookVersion, mode: $0.mode, at: $0.createdAt)
            }
            let wanted = ReadinessScorecard.runsToMeasure(runs)
            var pinned: [String: Playbook] = [:]
            var facts: [String: ReadinessRunFacts] = [:]
            for record in records where wanted.contains(record.id) {
                let playbook: Playbook
                if let p = pinned[record.playbookSHA256] { playbook = p } else {
                    playbook = try ImprovementRecords.pinnedPlaybook(of: record)
                    pinned[record.playbookSHA256] = playbook
                }
                let built = try RunReportBuilder.build(journal, record, playbook: playbook, now: now, evaluate: evaluate)
                facts[record.id] = ReadinessRunFacts(
                    services: built.report.metrics.services,
                    ratings: built.report.exercise.map { $0.objectives.map { .init(objective: $0.id, rating: $0.rating) } })
            }
            let (log, _) = try ImprovementRecords.actionLog(journal)
            return ReadinessRecords(catalogue: catalogue, playbooks: playbooks, records: records, runs: runs, facts: facts,
                                    actions: log.actions, now: now)
        } catch let error as JournalError {
            throw .journal(error)
        } catch let error as ImprovementLoadError {
            throw error
        } catch {
            throw .journal(.database(path: journal.path, detail: "\(error)"))
        }
    }
}
