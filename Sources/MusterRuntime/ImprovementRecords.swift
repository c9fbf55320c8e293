import Foundation
import MusterCore
import MusterJournal
import MusterReports
import MusterYAML

/// The improvement log as `muster lessons|actions|programme` and the server's `/api/actions…` and
/// `/api/programme` read it: lessons from every run, actions from the hash-chained log, one loader for both.
public struct ImprovementRecords: Sendable {
    public var lessons: [LessonEntry]
    public var log: ImprovementLog
    /// The log's last seq (the expected sequence of the next append).
    public var logHead: Int
    public var runs: [RunRecord]
    /// Per run id, the run's report (only when loaded `withReports`, which the programme needs).
    public var reports: [String: RunReport]
    public var now: Instant
    public var today: Day { Day(now) }

    public static func load(_ journal: Journal, now: Instant, withReports: Bool = false) throws(ImprovementLoadError) -> ImprovementRecords {
        do {
            var lessons: [LessonEntry] = []
            var reports: [String: RunReport] = [:]
            let runs = try journal.runs()
            for run in runs {
                let events = try journal.events(runID: run.id)
                guard withReports || events.contains(where: { if case .lessonRecorded = $0.body { true } else { false } }) else { continue }
                let playbook = try pinnedPlaybook(of: run)
                let report = RunReport(
                    run: ReportRun(id: run.id, title: run.title, playbookID: run.playbookID, playbookVersion: run.playbookVersion,
                                   playbookSHA256: run.playbookSHA256, mode: run.mode, createdAt: run.createdAt),
                    playbook: playbook, events: events.enumerated().map { ReportEvent(seq: $0.offset + 1, event: $0.element) },
                    integrity: ReportIntegrity(headHash: "", eventCount: events.count, intact: true, checkedAt: now), generatedAt: now)
                if withReports { reports[run.id] = report }
                for lesson in report.lessons {
                    lessons.append(LessonEntry(runID: run.id, runTitle: run.title, playbookID: run.playbookID, playbookTitle: playbook.title,
                                               mode: run.mode, lesson: lesson, phases: lesson.state.flatMap { playbook.state($0)?.phases } ?? []))
                }
            }
            let (log, head) = try actionLog(journal)
            return ImprovementRecords(lessons: lessons, log: log, logHead: head, runs: runs, reports: reports, now: now)
        } catch let error as JournalError {
            throw .journal(error)
        } catch let error as ImprovementLoadError {
            throw error
        } catch {
            throw .journal(.database(path: journal.path, detail: "\(error)"))
        }
    }

    /// Only the actions (no lessons): the log decoded from the journal, and its head seq.
    public static func actionLog(_ journal: Journal) throws(ImprovementLoadError) -> (ImprovementLog, Int) {
        let records: [ImprovementRecord]
        do { records = try journal.improvementEvents() } catch { throw .journal(error) }
        let decoder = JSONDecoder()
        var events: [ActionEvent] = []
        for r in records {
            do {
                let change = try decoder.decode(ActionChange.self, from: Data(r.payload.utf8))
                events.append(ActionEvent(seq: r.seq, at: r.at, actor: r.actor, actionID: r.actionID, change: change))
            } catch {
                throw .unreadableLogEvent(seq: r.seq, detail: "\(error)")
            }
        }
        return (ImprovementLog(events: events), records.last?.seq ?? 0)
    }

    static func pinnedPlaybook(of run: RunRecord) throws(ImprovementLoadError) -> Playbook {
        let loaded = PlaybookLoader.load(text: run.playbookText, file: "\(run.id):playbook.yaml", semanticChecks: false)
        guard let playbook = loaded.playbook else { throw .unreadablePlaybook(runID: run.id, diagnostics: loaded.diagnostics) }
        return playbook
    }

    /// The exercise programme: for each playbook in `playbooksFolder` (valid ones, first file wins per id), then
    /// each playbook only runs know, the last exercise and live run with their outcome and RTO attainment, and
    /// the open and overdue actions answering its lessons. Needs records loaded `withReports`.
    public func programme(playbooksFolder: String?) -> [ProgrammeEntry] {
        var playbookByID: [String: Playbook] = [:]
        var order: [String] = []
        if let playbooksFolder, FileManager.default.fileExists(atPath: playbooksFolder) {
            for loaded in PlaybookLoader.loadAll(paths: [playbooksFolder]) {
                guard let p = loaded.playbook, playbookByID[p.id.value] == nil else { continue }
                playbookByID[p.id.value] = p
                order.append(p.id.value)
            }
        }
        for run in runs where playbookByID[run.playbookID] == nil {
            if let report = reports[run.id] {
                playbookByID[run.playbookID] = report.playbook
                order.append(run.playbookID)
            }
        }
        var entries: [ProgrammeEntry] = []
        for id in order {
            let playbook = playbookByID[id]!
            var lastExercise: ProgrammeEntry.RunSummary?
            var lastLive: ProgrammeEntry.RunSummary?
            for run in runs where run.playbookID == id {
                guard let report = reports[run.id] else { continue }
                var rto: [String: Attainment] = [:]
                for s in report.metrics.services { rto[s.service] = s.rtoStatus }
                let summary = ProgrammeEntry.RunSummary(runID: run.id, mode: run.mode, startedAt: report.metrics.runStart,
                                                        outcome: report.outcome.replacingOccurrences(of: "`", with: ""), rto: rto)
                if run.mode == .exercise {
                    if lastExercise.map({ $0.startedAt <= summary.startedAt }) ?? true { lastExercise = summary }
                } else if lastLive.map({ $0.startedAt <= summary.startedAt }) ?? true {
                    lastLive = summary
                }
            }
            let lessonIDs = Set(lessons.filter { $0.playbookID == id }.map(\.id))
            let actions = log.actions.filter { !lessonIDs.isDisjoint(with: $0.draft.lessons) && $0.isOpen }
            entries.append(ProgrammeEntry(
                playbookID: id, title: playbook.title, version: playbook.version, reviewEvery: playbook.reviewEvery,
                services: playbook.services.map { ($0.id.value, $0.title ?? $0.id.value) },
                lastExercise: lastExercise, lastLive: lastLive, openActions: actions.count,
                overdueActions: actions.filter { $0.isOverdue(today: today) }.count))
        }
        return entries
    }
}

public enum ImprovementLoadError: Error, Sendable, CustomStringConvertible {
    case journal(JournalError)
    case unreadablePlaybook(runID: String, diagnostics: [Diagnostic])
    case unreadableLogEvent(seq: Int, detail: String)

    public var description: String {
        switch self {
        case .journal(let error): error.description
        case .unreadablePlaybook(let runID, _): "run \(runID): its pinned playbook copy does not load"
        case .unreadableLogEvent(let seq, let detail): "improvement log event \(seq) cannot be read: \(detail)"
        }
    }

    public var diagnostics: [Diagnostic] {
        if case .unreadablePlaybook(_, let diagnostics) = self { diagnostics } else { [] }
    }
}

extension VerificationReport {
    /// The improvement log's verification in one line, as `muster actions verify` prints it and
    /// `GET /api/actions/verify` describes it.
    public var improvementLogDescription: String {
        if let broken = firstBroken { return "improvement log: chain broken at event \(broken.seq): \(broken.problem)" }
        return "improvement log: \(eventCount) events, chain intact (head \(headHash))"
    }
}
