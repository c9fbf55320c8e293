import ArgumentParser
import Foundation
import MusterCore
import MusterExercise
import MusterJournal
import MusterReports
import MusterRuntime
import MusterYAML

/// Opening the journal and reading one run's timeline, for the reporting commands.
enum JournalAccess {
    static func open() throws -> Journal {
        do {
            return try Journal.open(JournalChoice.location, create: false)
        } catch {
            throw Console.cannotAct(error.description)
        }
    }

    /// For commands that only read: a journal this process may not write (an auditor's copy) opens read-only.
    static func openForReading() throws -> Journal {
        do {
            return try Journal.openForReading(JournalChoice.location)
        } catch {
            throw Console.cannotAct(error.description)
        }
    }

    /// `argument`, else the default run (`IncidentRuntime.resolve`: the one rule every command follows).
    static func run(_ journal: Journal, _ argument: String?) throws -> RunRecord {
        do {
            return try IncidentRuntime.resolve(argument, in: journal)
        } catch {
            throw Console.cannotAct(error.description)
        }
    }

    static func playbook(of run: RunRecord) throws -> Playbook {
        do {
            return try ImprovementRecords.pinnedPlaybook(of: run)
        } catch {
            if case .unreadablePlaybook(_, let diagnostics) = error {
                for d in diagnostics { Console.err(d.description + "\n") }
            }
            throw Console.cannotAct(error.description)
        }
    }

    static func now() -> Instant {
        Instant(millisecondsSinceEpoch: Int64((Date().timeIntervalSince1970 * 1000).rounded()))
    }

    /// Builds the report model of a run: pinned playbook, events, and a verification made now (`RunReportBuilder`);
    /// what it leaves out is said on standard error.
    static func report(_ journal: Journal, _ run: RunRecord, now: Instant) throws -> RunReport {
        let playbook = try playbook(of: run)
        do {
            let built = try RunReportBuilder.build(journal, run, playbook: playbook, now: now,
                                                   catalogue: CatalogueImpact.Source(playbooksFolder: PlaybookLookup.defaultFolder)) {
                try ExerciseReplay.load($0, from: journal).exercise.evaluation()
            }
            for warning in built.warnings { Console.err("warning: \(warning)\n") }
            return built.report
        } catch {
            throw Console.fail(error.description)
        }
    }

    /// Writes to `-o FILE`, or standard output.
    static func emit(_ text: String, to output: String?) throws {
        try emit(bytes: Array(text.utf8), to: output)
    }

    static func emit(bytes: [UInt8], to output: String?) throws {
        guard let output else {
            try FileHandle.standardOutput.write(contentsOf: bytes)
            return
        }
        // Written beside the target, then moved over it: a reader never sees half a report.
        let temporary = output + ".muster-tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: nil), let handle = FileHandle(forWritingAtPath: temporary) else {
            throw Console.fail("cannot write \(output)")
        }
        do {
            try handle.write(contentsOf: bytes)
            try handle.close()
            _ = try? FileManager.default.removeItem(atPath: output)
            try FileManager.default.moveItem(atPath: temporary, toPath: output)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw Console.fail("cannot write \(output): \(error.localizedDescription)")
        }
    }
}

enum ReportFormatOption: String, ExpressibleByArgument, CaseIterable {
    case html, md, json
}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the post-incident or after-action report of a run.",
        discussion: """
            Everything is computed from the run's pinned playbook and its hash-chained timeline, and the chain is \
            verified first: a report of a tampered run says so at the top (and the command exits 1). \
            Journal: $MUSTER_HOME/muster.db (default ./.muster).
            """)

    @Argument(help: "The run id or a unique prefix of it (default: the most recent run).")
    var runID: String?
    @OptionGroup var target: RunOption

    @Option(help: "html (one self-contained printable file), md (Markdown) or json (docs/report-schema.json). Default: from the -o extension, else md.")
    var format: ReportFormatOption?

    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.")
    var output: String?

    func run() throws {
        let journal = try JournalAccess.openForReading()
        defer { try? journal.close() }
        let record = try JournalAccess.run(journal, try target.or(runID))
        var report = try JournalAccess.report(journal, record, now: ImprovementState.clock())
        // Lessons carry the actions that answer them, overdue ones flagged.
        let log = try ImprovementState.load(journal)
        for action in log.log.actions {
            let text = "\(action.id) \(action.status.rawValue)" + (action.isOverdue(today: log.today) ? ", OVERDUE (due \(action.draft.due))" : "")
            for lesson in action.draft.lessons where lesson.hasPrefix(record.id + "/") { report.lessonActions[lesson, default: []].append(text) }
        }
        let chosen = format ?? output.flatMap { path in
            path.hasSuffix(".html") || path.hasSuffix(".htm") ? .html : path.hasSuffix(".json") ? .json : nil
        } ?? .md
        let bytes: [UInt8]
        switch chosen {
        case .html: bytes = ReportHTML.bytes(report)
        case .md: bytes = ReportMarkdown.bytes(report)
        case .json: bytes = ReportJSON.bytes(report)
        }
        try JournalAccess.emit(bytes: bytes, to: output)
        if let output { Console.err("wrote \(output) (\(chosen.rawValue), run \(record.id), \(report.events.count) events)\n") }
        if !report.integrity.intact {
            Console.err("error: \(report.integrity.problem ?? "run \(record.id): chain broken"); the report says so at the top\n")
            throw ExitCode(ExitStatus.refused)
        }
    }
}
