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

    /// The copy of its playbook a run was declared with (not re-validated: it was valid then).
    public static func pinnedPlaybook(of run: RunRecord) throws(ImprovementLoadError) -> Playbook {
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

/// One change to the improvement log, journaled: what `muster actions add|start|done|review|close` and the server's
/// `POST /api/actions…` both do.
extension ImprovementRecords {
    /// The action as the change left it, and the log and head with the change applied.
    public struct Applied: Sendable {
        public var action: ImprovementAction
        public var log: ImprovementLog
        public var head: Int
    }

    /// Decides `command` against `log` (whose last seq is `head`), encodes the change and appends it. When another
    /// writer appended first (a sequence conflict) the log is read again and the command decided again, up to
    /// `attempts` times in all.
    public static func apply(_ command: ActionCommand, actor: String, at now: Instant, in journal: Journal,
                             log: ImprovementLog, head: Int, attempts: Int = 10) throws(ImprovementApplyError) -> Applied {
        var log = log
        var head = head
        for attempt in 0..<max(attempts, 1) {
            if attempt > 0 {
                do { (log, head) = try actionLog(journal) } catch { throw .load(error) }
            }
            switch log.decide(command, today: Day(now)) {
            case .failure(let rejection):
                let unknown = command.actionID.map { log.action(ImprovementLog.normalizedActionID($0)) == nil } ?? false
                throw .rejected(rejection, unknownAction: unknown)
            case .success(let (actionID, change)):
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                let payload: String
                do { payload = String(decoding: try encoder.encode(change), as: UTF8.self) } catch {
                    throw .unencodable(actionID: actionID, detail: "\(error)")
                }
                let record: ImprovementRecord
                do {
                    record = try journal.appendImprovement(
                        expectedSequence: head, at: now, actor: actor, actionID: actionID, type: change.typeName, payload: payload)
                } catch {
                    if case .sequenceConflict = error { continue }  // someone else appended first: decide again
                    throw .journal(error)
                }
                log.apply(ActionEvent(seq: record.seq, at: now, actor: actor, actionID: actionID, change: change))
                return Applied(action: log.action(actionID)!, log: log, head: record.seq)
            }
        }
        throw .busy
    }
}

/// Why a change to the improvement log was not journaled.
public enum ImprovementApplyError: Error, Sendable, CustomStringConvertible {
    /// The log's rules refuse the command; `unknownAction` when it names an action the log does not have.
    case rejected(Rejection, unknownAction: Bool)
    /// Every attempt met a sequence conflict.
    case busy
    case load(ImprovementLoadError)
    case journal(JournalError)
    case unencodable(actionID: String, detail: String)

    public var description: String {
        switch self {
        case .rejected(let rejection, _): rejection.reason
        case .busy: "the improvement log is busy; try again"
        case .load(let error): error.description
        case .journal(let error): error.description
        case .unencodable(let actionID, let detail): "the change to \(actionID) cannot be encoded: \(detail)"
        }
    }

    public var diagnostics: [Diagnostic] {
        if case .load(let error) = self { error.diagnostics } else { [] }
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
