import ArgumentParser
import Foundation
import MusterCore
import MusterJournal
import MusterRuntime

/// `muster incident ...`: drive live incidents kept in `$MUSTER_HOME/muster.db`.
struct Incident: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incident",
        abstract: "Declare and work live incidents (journal: $MUSTER_HOME/muster.db, default ./.muster).",
        discussion: """
            Every acting command names the person acting with --as NAME or $MUSTER_USER, and the run with
            --run RUN (an id or a prefix of it; default: the one open run, else the latest run).
            Exit status: 0 done, 1 refused by the playbook's rules (the reason is printed), 2 could not act.
            """,
        subcommands: [
            IncidentDeclare.self, IncidentAssign.self, IncidentRelieve.self, IncidentTask.self, IncidentEvent.self,
            IncidentDecide.self, IncidentNote.self, IncidentLesson.self, IncidentStatus.self, IncidentTimeline.self,
            IncidentList.self, IncidentClose.self, IncidentAck.self, IncidentAnswer.self, IncidentAccounted.self,
        ]
    )
}

struct IncidentDeclare: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "declare", abstract: "Start a live run of a playbook; prints its run id.")

    @Argument(help: "A playbook file, or the id of a playbook in --playbooks DIR ($MUSTER_PLAYBOOKS, else ./playbooks).")
    var playbook: String
    @Option(help: "What happened, in a few words.")
    var title: String
    @Option(help: "P1 to P4 (default: the playbook's).")
    var severity: String?
    @Option(name: .customLong("disruption-started"), help: "When the disruption began: how long ago (20m) or a UTC instant.")
    var disruptionStarted: String?
    @Option(help: ArgumentHelp("Where playbook ids are looked up (default: $MUSTER_PLAYBOOKS, else ./playbooks).", valueName: "DIR"))
    var playbooks: String?
    @OptionGroup var person: PersonOption

    func run() throws {
        let actor = try IncidentCLI.person(person.name)
        let request = DeclareRequest(
            playbookPath: try IncidentCLI.playbookPath(playbook, folder: playbooks), title: title, actor: actor, mode: .live,
            severity: try IncidentCLI.severity(severity), disruption: try IncidentCLI.disruption(disruptionStarted))
        let runtime = try IncidentCLI.runtime(create: true)
        let result: CommandResult
        do { result = try runtime.declare(request) } catch { throw IncidentCLI.fail(error) }
        if let rejection = result.rejection { throw IncidentCLI.reject(rejection) }
        let run = result.run
        IncidentCLI.out(result.runID)
        IncidentCLI.out("declared '\(run.title)' (\(run.severity.rawValue)) from playbook \(run.playbook.id.value) v\(run.playbook.version): state \(run.currentState ?? "?"), incident commander \(run.commander ?? "?")")
        for warning in DeliveryCLI.unsetVariableWarnings(playbook: run.playbook, mode: run.mode) {
            FileHandle.standardError.write(Data("muster: warning: \(warning)\n".utf8))
        }
    }
}

struct IncidentAssign: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "assign", abstract: "Give a role to a person (incident commander only).")
    @Argument var role: String
    @Argument var personName: String
    @OptionGroup var person: PersonOption
    @OptionGroup var target: RunOption

    func run() throws { try IncidentCLI.act(.assign(role: role, person: personName), as: person.name, run: target.run) }
}

struct IncidentRelieve: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "relieve", abstract: "Relieve the holder of a role (incident commander only).")
    @Argument var role: String
    @Option(help: "What the holder hands over.") var handover: String?
    @OptionGroup var person: PersonOption
    @OptionGroup var target: RunOption

    func run() throws { try IncidentCLI.act(.relieve(role: role, handover: handover), as: person.name, run: target.run) }
}

struct IncidentTask: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "task", abstract: "Complete or skip a task of the current state.",
                                                    subcommands: [IncidentTaskDone.self, IncidentTaskSkip.self])
}

struct IncidentTaskDone: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "done", abstract: "Complete a task (evidence tasks need --note).")
    @Argument var task: String
    @Option(help: "What was done, or what shows it.") var note: String?
    @OptionGroup var person: PersonOption
    @OptionGroup var target: RunOption

    func run() throws { try IncidentCLI.act(.completeTask(task, note: note), as: person.name, run: target.run) }
}

struct IncidentTaskSkip: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "skip", abstract: "Skip a task.")
    @Argument var task: String
    @Option(help: "Why it is skipped.") var note: String?
    @OptionGroup var person: PersonOption
    @OptionGroup var target: RunOption

    func run() throws { try IncidentCLI.act(.skipTask(task, reason: note), as: person.name, run: target.run) }
}

struct IncidentEvent: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "event", abstract: "Raise an event the current state listens to.")
    @Argument var name: String
    @OptionGroup var person: PersonOption
    @OptionGroup var target: RunOption

    func run() throws { try IncidentCLI.act(.raise(name), as: person.name, run: target.run) }
}

struct IncidentDecide: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decide", abstract: "Make the current state's decision.")
    @Argument var decision: String
    @Argument var option: String
    @Option(help: "Why: the rationale is recorded.") var why: String
    @OptionGroup var person: PersonOption
    @OptionGroup var target: RunOption

    func run() throws { try IncidentCLI.act(.decide(decision: decision, option: option, rationale: why), as: person.name, run: target.run) }
}

struct IncidentNote: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "note", abstract: "Add a note to the timeline.")
    @Argument var text: String
    @OptionGroup var person: PersonOption
    @OptionGroup var target: RunOption

    func run() throws { try IncidentCLI.act(.note(text), as: person.name, run: target.run) }
}

struct IncidentLesson: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lesson", abstract: "Record a lesson learned.")
    @Argument var text: String
    @Option(help: "strength or improvement.") var kind: String = "improvement"
    @Option(name: .customLong("root-cause"), help: "Root cause category.") var rootCause: String?
    @OptionGroup var person: PersonOption
    @OptionGroup var target: RunOption

    func run() throws {
        guard let kind = LessonKind(rawValue: kind) else {
            throw IncidentCLI.fail("--kind '\(kind)' is not one of strength, improvement")
        }
        try IncidentCLI.act(.lesson(Lesson(text: text, kind: kind, rootCause: rootCause)), as: person.name, run: target.run)
    }
}

struct IncidentClose: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "close", abstract: "Close the run (incident commander; a reason is needed outside a terminal state).")
    @Option(help: "Why the run is closed now.") var reason: String?
    @OptionGroup var person: PersonOption
    @OptionGroup var target: RunOption

    func run() throws { try IncidentCLI.act(.close(reason: reason), as: person.name, run: target.run) }
}

struct IncidentStatus: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show a run now (reads only; due timers fire on the next command or in watch).")
    @Argument(help: "The run (default: the one open run, else the latest).") var runName: String?
    @OptionGroup var target: RunOption

    func run() throws {
        let runtime = try IncidentCLI.readingRuntime()
        let record = try IncidentCLI.resolve(runtime, try target.or(runName))
        let snapshot: RunSnapshot
        do { snapshot = try runtime.snapshot(runID: record.id) } catch { throw IncidentCLI.fail(error) }
        let now = max(runtime.clock.now, snapshot.lastEventAt)
        for line in RunText.status(snapshot, now: now, maxTimers: 20) { IncidentCLI.out(line) }
        for line in CatalogueAccess.statusLines(snapshot.run, runID: record.id, now: now) { IncidentCLI.out(line) }
        let reach: HearingBackReach?
        do { reach = try RunText.reach(runtime.journal, runID: record.id, run: snapshot.run) } catch { throw IncidentCLI.fail(.journal(error)) }
        for line in RunText.hearingBack(snapshot.run, now: now, reach: reach) { IncidentCLI.out(line) }
    }
}

struct IncidentList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List runs, oldest first.")
    @OptionGroup var output: ListFormatOption

    func run() throws {
        let runtime = try IncidentCLI.readingRuntime()
        do {
            let closed = try runtime.journal.closedRunIDs()
            let runs = try runtime.journal.runs()
            if output.format == .json {
                IncidentCLI.out(JSONValue.array(runs.map { run in
                    .object([
                        ("id", .string(run.id)), ("status", .string(closed.contains(run.id) ? "closed" : "open")),
                        ("created_at", .string(run.createdAt.iso8601)), ("mode", .string(run.mode.rawValue)),
                        ("playbook", .string(run.playbookID)), ("playbook_version", .int(run.playbookVersion)),
                        ("events", .int(run.lastSequence)), ("title", .string(run.title)),
                    ])
                }).rendered())
                return
            }
            if runs.isEmpty { IncidentCLI.out("no runs yet") }
            for run in runs {
                let status = closed.contains(run.id) ? "closed" : "open"
                IncidentCLI.out("\(run.id)  \(status.padding(toLength: 6, withPad: " ", startingAt: 0))  \(run.createdAt.iso8601)  \(run.mode.rawValue)  \(run.playbookID) v\(run.playbookVersion)  \(run.lastSequence) events  '\(run.title)'")
            }
        } catch {
            throw IncidentCLI.fail(.journal(error))
        }
    }
}

struct IncidentTimeline: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "timeline", abstract: "Print a run's timeline.")

    @Argument(help: "The run (default: the one open run, else the latest).") var runName: String?
    @OptionGroup var target: RunOption
    @Option(help: "text, json or csv.") var format: TimelineFormat = .text

    func run() throws {
        let runtime = try IncidentCLI.readingRuntime()
        let record = try IncidentCLI.resolve(runtime, try target.or(runName))
        let events: [StoredEvent]
        do { events = try runtime.journal.storedEvents(runID: record.id) } catch { throw IncidentCLI.fail(.journal(error)) }
        // The library renders it, so `GET /api/runs/{id}/timeline` gives the same bytes.
        IncidentCLI.out(TimelineFormats.render(events, as: format), terminator: "")
    }
}

extension IncidentCLI {
    static func out(_ text: String, terminator: String) {
        print(text, terminator: terminator)
    }
}

extension TimelineFormat: ExpressibleByArgument {}
