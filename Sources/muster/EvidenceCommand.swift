import ArgumentParser
import Crypto
import Foundation
import MusterCore
import MusterExercise
import MusterJournal
import MusterReports
import MusterRuntime
import MusterYAML

// MARK: - muster evidence

struct EvidenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evidence",
        abstract: "Write an audit evidence pack for a period: artefacts, an index mapping controls to them, a SHA-256 manifest.",
        discussion: """
            Writes into a new (or empty) folder: the service catalogue and the playbooks in force, the playbook copies \
            pinned to the period's runs, each run's report (HTML and JSON) and chain verification, the improvement plan \
            and the actions closed with their effectiveness reviews, the readiness scorecard, then index.html and \
            index.json (ISO/IEC 27001:2022 A.5.24–A.5.30, ISO 22301 8.4, 8.5 and 10, ISO/IEC 27031 criteria, each with \
            what satisfies it or GAP) and MANIFEST.sha256 (check with sha256sum -c). The mapping is evidence-map.yaml \
            beside the catalogue when there is one (--map FILE otherwise), else the built-in one. A run belongs to the \
            period when it was started in it (dates inclusive, UTC).
            """)

    @Option(help: "First day of the period (YYYY-MM-DD, UTC).") var from: String
    @Option(help: "Last day of the period (YYYY-MM-DD, UTC), inclusive.") var to: String
    @Option(name: .shortAndLong, help: "The folder to write (new or empty).") var output: String
    @Option(help: "The evidence map (default: evidence-map.yaml beside the catalogue, else the built-in map).") var map: String?
    @OptionGroup var options: CatalogueOptions

    func run() throws {
        guard let fromDay = Day(from) else { throw Console.cannotAct("--from '\(from)' is not a date (YYYY-MM-DD)") }
        guard let toDay = Day(to) else { throw Console.cannotAct("--to '\(to)' is not a date (YYYY-MM-DD)") }
        guard fromDay <= toDay else { throw Console.cannotAct("--from \(fromDay) is after --to \(toDay)") }
        let (cataloguePath, loadedCatalogue, catalogue) = try CatalogueAccess.load(options.services, playbooks: options.playbooksFolder)
        let evidenceMap = try loadMap(beside: cataloguePath)

        let fm = FileManager.default
        if fm.fileExists(atPath: output) {
            let contents = (try? fm.contentsOfDirectory(atPath: output)) ?? ["?"]
            guard contents.isEmpty else { throw Console.cannotAct("\(output) exists and is not empty: an evidence pack is written into a new folder") }
        }
        let now = ImprovementState.clock()
        var pack = PackWriter(root: output)
        var absent: [ArtefactKind: String] = [:]
        let period = "between \(fromDay) and \(toDay)"

        // The catalogue and the playbooks in force.
        try pack.write("catalogue/\((cataloguePath as NSString).lastPathComponent)", loadedCatalogue.text, kind: .catalogue,
                       title: "Service catalogue (\(catalogue.services.count) services)", detail: "read from \(cataloguePath)")
        let playbooks = CatalogueAccess.playbooks(options.playbooksFolder)
        for loaded in playbooks {
            let p = loaded.playbook!
            try pack.write("playbooks/\((loaded.path as NSString).lastPathComponent)", loaded.text, kind: .playbooks,
                           title: "\(p.title) (\(p.id.value) v\(p.version))", detail: "in force; services: \(p.services.map(\.id.value).joined(separator: ", "))")
        }

        // Runs of the period: reports, verification, pinned playbooks.
        let journal: Journal? = JournalChoice.exists ? try JournalAccess.openForReading() : nil
        defer { try? journal?.close() }
        let start = Instant(millisecondsSinceEpoch: fromDay.ordinal * 86_400_000)
        let end = Instant(millisecondsSinceEpoch: (toDay.ordinal + 1) * 86_400_000)
        var runs: [RunRecord] = []
        var actions: [ImprovementAction] = []
        if let journal {
            do {
                runs = try journal.runs().filter { $0.createdAt >= start && $0.createdAt < end }.sorted { $0.createdAt < $1.createdAt }
                actions = try ImprovementRecords.actionLog(journal).0.actions
            } catch {
                throw Console.fail("\(error)")
            }
        }
        var pinnedWritten: Set<String> = []
        for run in runs {
            let playbook = try JournalAccess.playbook(of: run)
            if pinnedWritten.insert(run.playbookSHA256).inserted {
                try pack.write("playbooks/pinned/\(run.playbookID)-v\(run.playbookVersion)-\(run.playbookSHA256.prefix(12)).yaml", run.playbookText,
                               kind: .playbooks, title: "\(playbook.title) (\(run.playbookID) v\(run.playbookVersion)) as pinned to run \(run.id)",
                               detail: "SHA-256 of the text when the run started: \(run.playbookSHA256)")
            }
            var report = try JournalAccess.report(journal!, run, now: now)
            for action in actions {
                for lesson in action.draft.lessons where lesson.hasPrefix(run.id + "/") {
                    report.lessonActions[lesson, default: []].append("\(action.id) \(action.status.rawValue)")
                }
            }
            let kind: ArtefactKind = run.mode == .exercise ? .exerciseReports : .incidentReports
            let what = run.mode == .exercise ? "After-action report" : "Post-incident report"
            var detail = "\(Day(run.createdAt)), playbook \(run.playbookID) v\(run.playbookVersion); \(report.outcome.replacingOccurrences(of: "`", with: ""))"
            if let e = report.exercise {
                detail += "; ratings " + e.objectives.map { "\($0.id) \($0.rating?.rawValue ?? "–")" }.joined(separator: ", ")
            }
            try pack.write("runs/\(run.id)/report.html", bytes: ReportHTML.bytes(report), kind: kind, title: "\(what): \(run.title) (\(run.id))", detail: detail)
            try pack.write("runs/\(run.id)/report.json", bytes: ReportJSON.bytes(report), kind: kind, title: "\(what) as JSON (\(run.id))")
            let verification = "\(report.integrity.intact ? "INTACT" : "BROKEN"): run \(run.id), \(report.integrity.eventCount) events\n"
                + "head hash: \(report.integrity.headHash)\nchecked at: \(now.iso8601)\n"
                + (report.integrity.problem.map { "problem: \($0)\n" } ?? "")
                + report.integrity.warnings.map { "warning: \($0)\n" }.joined()
            try pack.write("runs/\(run.id)/verification.txt", verification, kind: .chainVerifications,
                           title: "Chain verification of \(run.id): \(report.integrity.intact ? "intact" : "BROKEN")",
                           detail: "\(report.integrity.eventCount) events, head \(report.integrity.headHash)")
        }
        if !runs.contains(where: { $0.mode == .exercise }) { absent[.exerciseReports] = "no exercise was run \(period)" }
        if !runs.contains(where: { $0.mode == .live }) { absent[.incidentReports] = "no live incident was run \(period)" }
        if runs.isEmpty { absent[.chainVerifications] = "no run \(period)" }

        // The improvement plan: actions answering the period's lessons, or still open; and the actions closed.
        let runIDs = Set(runs.map(\.id))
        let today = Day(now)
        let planned = actions.filter { a in
            a.draft.lessons.contains { runIDs.contains(String($0.split(separator: "/").first ?? "")) }
                || (a.isOpen && Day(a.createdAt) <= toDay)
        }
        if planned.isEmpty {
            absent[.improvementPlans] = "no corrective action answers a lesson of the period, and none is open"
        } else {
            try pack.write("improvement/improvement-plan.html", ImprovementPlan.html(planned, today: today), kind: .improvementPlans,
                           title: "Improvement plan (\(planned.count) actions)", detail: "HSEEP columns, effectiveness reviews")
            try pack.write("improvement/improvement-plan.csv", ImprovementPlan.csv(planned, today: today), kind: .improvementPlans,
                           title: "Improvement plan as CSV")
        }
        let closed = actions.filter { a in a.closedAt.map { $0 >= start && $0 < end } ?? false }
        if closed.isEmpty {
            absent[.actionsClosed] = "no corrective action was closed \(period)"
        } else {
            try pack.write("improvement/actions-closed.html", ImprovementPlan.html(closed, today: today, title: "Actions closed \(fromDay) to \(toDay)"),
                           kind: .actionsClosed, title: "\(closed.count) actions closed with their effectiveness reviews",
                           detail: closed.map(\.id).joined(separator: ", "))
        }

        // The readiness scorecard as of now.
        let records = try CatalogueAccess.records(catalogue, playbooks: options.playbooksFolder, now: now)
        let card = records.scorecard
        try pack.write("readiness/readiness.html", ReadinessReport.html(card), kind: .readinessScorecard,
                       title: "Readiness scorecard as of \(Day(now))", detail: ReadinessReport.summary(card))
        try pack.write("readiness/readiness.json", ReadinessReport.json(card), kind: .readinessScorecard, title: "Readiness scorecard as JSON")

        let index = EvidenceIndex(organisation: catalogue.organisation, from: fromDay, to: toDay, generatedAt: now, map: evidenceMap,
                                  artefacts: pack.artefacts, absent: absent)
        try pack.write("index.json", index.json(), kind: nil, title: "")
        try pack.write("index.html", index.html(), kind: nil, title: "")
        let manifest = pack.manifest.sorted { $0.path < $1.path }.map { "\($0.sha256)  \($0.path)\n" }.joined()
        try pack.raw("MANIFEST.sha256", Array(manifest.utf8))
        let gaps = index.gaps
        Console.err("wrote \(output): \(pack.manifest.count + 1) files, \(runs.count) runs \(period); "
            + "\(evidenceMap.controls.count) controls, \(gaps.count) with nothing behind them\(gaps.isEmpty ? "" : " (" + gaps.map { "\($0.standard) \($0.id)" }.joined(separator: ", ") + ")")\n")
    }

    func loadMap(beside cataloguePath: String) throws -> EvidenceMap {
        let beside = ((cataloguePath as NSString).deletingLastPathComponent as NSString).appendingPathComponent("evidence-map.yaml")
        let path = map ?? (FileManager.default.fileExists(atPath: beside) ? beside : nil)
        let text: String
        let file: String
        if let path {
            guard let data = FileManager.default.contents(atPath: path), let t = String(data: data, encoding: .utf8) else {
                throw Console.cannotAct("cannot read the evidence map \(path)")
            }
            (text, file) = (t, path)
        } else {
            (text, file) = (EvidenceMap.builtInText, "(built-in evidence map)")
        }
        let (loaded, diagnostics) = EvidenceMapLoader.load(text: text, file: file)
        for d in diagnostics { Console.err(d.description + "\n") }
        guard let loaded, !diagnostics.hasErrors else { throw Console.cannotAct("\(file) is not a valid evidence map") }
        return loaded
    }
}

/// Writes the pack's files, remembering each one's SHA-256 for the manifest and the index.
struct PackWriter {
    var root: String
    var artefacts: [EvidenceArtefact] = []
    var manifest: [(path: String, sha256: String)] = []

    mutating func write(_ path: String, _ text: String, kind: ArtefactKind?, title: String, detail: String? = nil) throws {
        try write(path, bytes: Array(text.utf8), kind: kind, title: title, detail: detail)
    }

    mutating func write(_ path: String, bytes: [UInt8], kind: ArtefactKind?, title: String, detail: String? = nil) throws {
        try raw(path, bytes)
        let digest = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        manifest.append((path, digest))
        if let kind { artefacts.append(EvidenceArtefact(kind: kind, path: path, sha256: digest, title: title, detail: detail)) }
    }

    func raw(_ path: String, _ bytes: [UInt8]) throws {
        let full = (root as NSString).appendingPathComponent(path)
        let folder = (full as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: full, contents: Data(bytes)) else { throw CocoaError(.fileWriteUnknown) }
        } catch {
            throw Console.fail("cannot write \(full): \(error.localizedDescription)")
        }
    }
}
