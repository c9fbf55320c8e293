import ArgumentParser
import Foundation
import MusterCore
import MusterJournal
import MusterReports
import MusterRuntime
import MusterYAML

/// The improvement log as the commands see it: lessons from every run, actions from the hash-chained log.
struct ImprovementState {
    var journal: Journal
    var lessons: [LessonEntry]
    var log: ImprovementLog
    var logHead: Int
    var now: Instant
    var today: Day { Day(now) }

    /// The shared loader (`ImprovementRecords`, also behind the server's `/api/actions…` and `/api/programme`).
    static func load(_ journal: Journal) throws -> ImprovementState {
        let records = try loadRecords(journal, withReports: false)
        return ImprovementState(journal: journal, lessons: records.lessons, log: records.log, logHead: records.logHead, now: records.now)
    }

    static func loadRecords(_ journal: Journal, withReports: Bool) throws -> ImprovementRecords {
        do {
            return try ImprovementRecords.load(journal, now: ImprovementState.clock(), withReports: withReports)
        } catch {
            for d in error.diagnostics { Console.err(d.description + "\n") }
            throw Console.fail(error.description)
        }
    }

    /// Now, or `MUSTER_NOW` (RFC 3339 UTC) when set: a fixed clock for tests and demonstrations.
    static func clock() -> Instant {
        if let text = ProcessInfo.processInfo.environment["MUSTER_NOW"], let fixed = Instant(iso8601: text) { return fixed }
        return JournalAccess.now()
    }

    /// Decides and journals one change (`ImprovementRecords.apply`, as the server's `/api/actions…` do).
    mutating func execute(_ command: ActionCommand, actor: String) throws -> ImprovementAction {
        do {
            let applied = try ImprovementRecords.apply(command, actor: actor, at: now, in: journal, log: log, head: logHead)
            log = applied.log
            logHead = applied.head
            return applied.action
        } catch {
            for d in error.diagnostics { Console.err(d.description + "\n") }
            switch error {
            case .rejected(let rejection, _): throw Console.refuse(rejection)
            case .journal(let journal): throw Console.exit(journal.description, status: ExitStatus.of(journal.code))
            default: throw Console.fail(error.description)
            }
        }
    }

    var recurring: [String: Set<String>] { LessonEntry.recurringRootCauses(lessons) }
}

func defaultActor() -> String {
    let env = ProcessInfo.processInfo.environment
    return env["MUSTER_USER"] ?? env["USER"] ?? "unknown"
}

// MARK: - muster lessons

struct LessonsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lessons", abstract: "Lessons recorded in runs (during a run or at the hot wash).",
        subcommands: [List.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List lessons across runs; recurring root causes are flagged.")
        @Option(name: .customLong("run"), help: "Only this run (id or unique prefix).") var runFilter: String?
        @Option(help: "strength or improvement.") var kind: LessonKind?
        @OptionGroup var output: ListFormatOption

        func run() throws {
            let journal = try JournalAccess.openForReading()
            defer { try? journal.close() }
            let state = try ImprovementState.load(journal)
            let runID = try runFilter.map { try JournalAccess.run(journal, $0).id }
            let recurring = state.recurring
            let entries = state.lessons.filter { entry in
                (runID == nil || entry.runID == runID) && (kind == nil || entry.lesson.kind == kind)
            }
            if output.format == .json {
                Console.out(JSONValue.array(entries.map { entry in
                    let actions = state.log.actions.filter { $0.draft.lessons.contains(entry.id) }
                    return .object([
                        ("id", .string(entry.id)), ("run", .string(entry.runID)), ("playbook", .string(entry.playbookID)),
                        ("mode", .string(entry.mode.rawValue)), ("kind", .string(entry.lesson.kind.rawValue)),
                        ("text", .string(entry.lesson.text)), ("root_cause", .optional(entry.lesson.rootCause)),
                        ("recurring", .bool(entry.lesson.rootCause.map { recurring[$0.lowercased()] != nil } ?? false)),
                        ("actions", .array(actions.map { .string($0.id) })),
                    ])
                }).rendered() + "\n")
                return
            }
            var lines: [String] = []
            for entry in entries {
                var line = "\(entry.id)  \(entry.lesson.kind.rawValue.padding(11))  \(entry.lesson.text)"
                if let cause = entry.lesson.rootCause {
                    line += "  [root cause: \(cause)"
                    if let runs = recurring[cause.lowercased()] { line += ", RECURRING in \(runs.count) runs" }
                    line += "]"
                }
                let actions = state.log.actions.filter { $0.draft.lessons.contains(entry.id) }
                if actions.isEmpty, entry.lesson.kind == .improvement { line += "  (no action yet)" }
                for a in actions { line += "  → \(a.id) \(a.status.rawValue)\(a.isOverdue(today: state.today) ? " OVERDUE" : "")" }
                lines.append(line + "  (\(entry.playbookID), \(entry.mode.rawValue))")
            }
            if lines.isEmpty { Console.err("no lessons\(runID.map { " in run \($0)" } ?? "")\n") }
            Console.out(lines.map { $0 + "\n" }.joined())
            for (cause, runs) in recurring.sorted(by: { $0.key < $1.key }) {
                Console.out("recurring root cause: \(cause) in \(runs.count) runs (\(runs.sorted().joined(separator: ", ")))\n")
            }
        }
    }
}

extension LessonKind: ExpressibleByArgument {}
extension CapabilityElement: ExpressibleByArgument {}
extension ReviewResult: ExpressibleByArgument {}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}

// MARK: - muster actions

struct ActionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "actions",
        abstract: "Improvement actions: open → in-progress → done → verified (effective review) → closed.",
        subcommands: [Add.self, List.self, Start.self, Done.self, Review.self, Close.self, Report.self, Verify.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Verify the improvement log's hash chain; prints its head hash (exit 1 when broken).")
        func run() throws {
            let journal = try JournalAccess.open()
            defer { try? journal.close() }
            do {
                let report = try journal.verifyImprovementLog()
                for warning in report.warnings { Console.err("warning: \(warning)\n") }
                guard report.isIntact else { throw Console.fail(report.improvementLogDescription) }
                Console.out(report.improvementLogDescription + "\n")
            } catch let error as JournalError {
                throw Console.fail(error.description)
            }
        }
    }

    struct Actor: ParsableArguments {
        @Option(name: .customLong("as"), help: "Who makes the change (default: $MUSTER_USER, else $USER).")
        var actor: String?
        var name: String { actor ?? defaultActor() }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a corrective action for one or more lessons.")
        @Option(help: "Lesson id RUN/SEQ (see muster lessons list); repeat for several.") var lesson: [String] = []
        @Option(help: "The corrective action.") var title: String
        @Option(help: "Point of contact.") var owner: String
        @Option(help: "Responsible organisation.") var org: String
        @Option(help: "Due date, YYYY-MM-DD.") var due: String
        @Option(help: "planning, organization, equipment, training or exercise.") var element: CapabilityElement
        @Option(help: "Capability or objective (default: the playbook's title and the lesson's phase).") var capability: String?
        @Option(help: "The issue (default: the lesson's text).") var issue: String?
        @OptionGroup var actor: Actor

        func run() throws {
            let journal = try JournalAccess.open()
            defer { try? journal.close() }
            var state = try ImprovementState.load(journal)
            guard let dueDay = Day(due) else { throw Console.fail("--due '\(due)' is not a date (YYYY-MM-DD)") }
            guard !lesson.isEmpty else { throw Console.fail("name the lesson the action answers with --lesson RUN/SEQ (see muster lessons list)") }
            let draft: ActionDraft
            do {
                draft = try ActionDraft.answering(lesson, among: state.lessons, title: title, owner: owner, organization: org,
                                                  element: element, due: dueDay, capability: capability, issue: issue)
            } catch {
                throw Console.fail("no lesson '\(error.id)'; lesson ids are RUN/SEQ as muster lessons list prints them")
            }
            let action = try state.execute(.add(draft), actor: actor.name)
            Console.out("\(action.id) open: \(action.draft.title) (owner \(action.draft.owner), due \(action.draft.due))\n")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List improvement actions; overdue ones are flagged.")
        @Flag(help: "Only actions not closed.") var open = false
        @Flag(help: "Only overdue actions.") var overdue = false
        @Option(help: "Only this owner.") var owner: String?
        @OptionGroup var output: ListFormatOption

        func run() throws {
            let journal = try JournalAccess.openForReading()
            defer { try? journal.close() }
            let state = try ImprovementState.load(journal)
            let recurring = state.recurring
            let actions = state.log.actions.filter { a in
                (!open || a.isOpen) && (!overdue || a.isOverdue(today: state.today)) && (owner == nil || a.draft.owner == owner)
            }
            if output.format == .json {
                Console.out(JSONValue.array(actions.map { a in
                    .object([
                        ("id", .string(a.id)), ("title", .string(a.draft.title)), ("status", .string(a.status.rawValue)),
                        ("owner", .string(a.draft.owner)), ("organization", .string(a.draft.organization)),
                        ("due", .string("\(a.draft.due)")), ("overdue", .bool(a.isOverdue(today: state.today))),
                        ("element", .string(a.draft.element.rawValue)), ("lessons", .array(a.draft.lessons.map { .string($0) })),
                        ("last_review", a.reviews.last.map { .object([("result", .string($0.result.rawValue)), ("reviewer", .string($0.reviewer))]) } ?? .null),
                    ])
                }).rendered() + "\n")
                return
            }
            var shown = 0
            for a in actions {
                shown += 1
                var line = "\(a.id.padding(5)) \(a.status.rawValue.padding(11)) due \(a.draft.due)"
                if a.isOverdue(today: state.today) { line += " OVERDUE" }
                line += "  \(a.draft.title)  (owner \(a.draft.owner), \(a.draft.organization); \(a.draft.element.rawValue); lessons \(a.draft.lessons.joined(separator: ", "))"
                let causes = Set(state.lessons.filter { a.draft.lessons.contains($0.id) }.compactMap { $0.lesson.rootCause?.lowercased() })
                for cause in causes.sorted() where recurring[cause] != nil { line += "; RECURRING root cause \(cause)" }
                if let review = a.reviews.last { line += "; last review \(review.result.rawValue) by \(review.reviewer)" }
                Console.out(line + ")\n")
            }
            if shown == 0 { Console.err("no improvement actions match\n") }
        }
    }

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mark an open action in progress.")
        @Argument(help: "Action id (A-1).") var id: String
        @OptionGroup var actor: Actor
        func run() throws { try change(.start(id), actor.name) }
    }

    struct Done: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mark an action in progress done (it still needs an effectiveness review).")
        @Argument(help: "Action id (A-1).") var id: String
        @Option(help: "What was done.") var note: String?
        @OptionGroup var actor: Actor
        func run() throws { try change(.done(id, note: note), actor.name) }
    }

    struct Review: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record an effectiveness review: effective verifies the action, not-effective reopens it.")
        @Argument(help: "Action id (A-1).") var id: String
        @Option(help: "How effectiveness was checked (exercise, audit, test, ...).") var method: String
        @Option(help: "effective or not-effective.") var result: ReviewResult
        @Option(help: "Who reviewed (default: who records it, --as or $MUSTER_USER); never who marked the action done.") var reviewer: String?
        @Option(help: "Findings.") var note: String?
        @Option(help: ArgumentHelp("The day the review took place, when it is recorded later (default: today); who recorded it and when are kept too.", valueName: "YYYY-MM-DD"))
        var date: String?
        @OptionGroup var actor: Actor
        func run() throws {
            var day: Day?
            if let date {
                guard let parsed = Day(date) else { throw Console.fail("--date '\(date)' is not a date like 2027-01-31") }
                day = parsed
            }
            try change(.review(id, method: method, result: result, reviewer: reviewer ?? actor.name, note: note, on: day), actor.name)
        }
    }

    struct Close: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close a verified action (refused without an effective review).")
        @Argument(help: "Action id (A-1).") var id: String
        @Option(help: "Closing note.") var note: String?
        @OptionGroup var actor: Actor
        func run() throws { try change(.close(id, note: note), actor.name) }
    }

    static func change(_ command: ActionCommand, _ actor: String) throws {
        let journal = try JournalAccess.open()
        defer { try? journal.close() }
        var state = try ImprovementState.load(journal)
        let action = try state.execute(command, actor: actor)
        Console.out("\(action.id) \(action.status.rawValue): \(action.draft.title)\(action.isOverdue(today: state.today) ? " (OVERDUE: due \(action.draft.due))" : "")\n")
    }

    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The improvement plan with the HSEEP columns.")
        @Option(help: "html, md or csv.") var format: PlanFormat = .md
        @Option(name: .shortAndLong, help: "Write to this file instead of standard output.") var output: String?

        enum PlanFormat: String, ExpressibleByArgument { case html, md, csv }

        func run() throws {
            let journal = try JournalAccess.openForReading()
            defer { try? journal.close() }
            let state = try ImprovementState.load(journal)
            let text: String
            switch format {
            case .csv: text = ImprovementPlan.csv(state.log.actions, today: state.today)
            case .md: text = ImprovementPlan.markdown(state.log.actions, today: state.today)
            case .html: text = ImprovementPlan.html(state.log.actions, today: state.today)
            }
            try JournalAccess.emit(text, to: output)
        }
    }
}

// MARK: - muster programme

struct ProgrammeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "programme",
        abstract: "For each playbook and service: last exercised or used live, outcome, open actions, review due.")

    @Option(help: "html or md.") var format: Format = .md
    @Option(help: "Folder of playbooks to include even if never run (default: $MUSTER_PLAYBOOKS, else playbooks).") var playbooks: String?
    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.") var output: String?

    enum Format: String, ExpressibleByArgument { case html, md }

    func run() throws {
        let journal = try JournalAccess.openForReading()
        defer { try? journal.close() }
        let state = try ImprovementState.loadRecords(journal, withReports: true)
        let entries = state.programme(playbooksFolder: try PlaybookLookup.existingFolder(playbooks ?? PlaybookLookup.defaultFolder))
        let text = format == .html ? ProgrammeReport.html(entries, now: state.now) : ProgrammeReport.markdown(entries, now: state.now)
        try JournalAccess.emit(text, to: output)
    }
}
