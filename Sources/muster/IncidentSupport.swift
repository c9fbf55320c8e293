import ArgumentParser
import Foundation
import MusterCore
import MusterJournal
import MusterRuntime
import MusterYAML

/// What the incident, verify and watch commands share: where the journal is, who acts, what time it is,
/// which run is meant, and how failures are printed (one line on stderr, then a non-zero exit).
///
/// Exit statuses come from `ExitStatus`, the one table.
enum IncidentCLI {

    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// `$MUSTER_HOME`, default `./.muster`.
    static var home: String { Journal.defaultHome(environment: environment) }

    /// The wall clock, or the instant in `MUSTER_NOW` (a testing aid: it pins "now" so tests can exercise
    /// timer catch-up deterministically; never set it for a real incident).
    static func clock() throws -> any MusterRuntime.Clock {
        guard let text = environment["MUSTER_NOW"], !text.isEmpty else { return SystemClock() }
        guard let instant = Instant(iso8601: text) else {
            throw fail("MUSTER_NOW '\(text)' is not an ISO-8601 UTC instant like 2026-03-06T17:40:00Z")
        }
        return FixedClock(instant)
    }

    /// Opens the runtime over `$MUSTER_HOME/muster.db`; only `declare` creates a missing journal.
    static func runtime(create: Bool = false) throws -> IncidentRuntime {
        let clock = try clock()
        do {
            return try IncidentRuntime.open(JournalChoice.location, clock: clock, create: create)
        } catch {
            throw fail(error)
        }
    }

    /// For commands that only read (`verify`, `incident timeline|status|list`): a journal this process may not
    /// write (an auditor's copy) opens read-only.
    static func readingRuntime() throws -> IncidentRuntime {
        let clock = try clock()
        do {
            return IncidentRuntime(journal: try Journal.openForReading(JournalChoice.location), clock: clock)
        } catch {
            throw fail(.journal(error))
        }
    }

    /// `--as NAME`, else `$MUSTER_USER`.
    static func person(_ option: String?) throws -> String {
        if let option, !option.trimmingCharacters(in: .whitespaces).isEmpty { return option }
        if let user = environment["MUSTER_USER"], !user.trimmingCharacters(in: .whitespaces).isEmpty { return user }
        throw fail("say who is acting: pass --as NAME or set MUSTER_USER")
    }

    /// The run named, or by default the one open live run (see `IncidentRuntime.resolve`).
    static func resolve(_ runtime: IncidentRuntime, _ name: String?) throws -> RunRecord {
        do { return try runtime.resolve(name) } catch { throw fail(error) }
    }

    // MARK: Failing

    static func printError(_ message: String) {
        FileHandle.standardError.write(Data("muster: error: \(message)\n".utf8))
    }

    /// Prints one line (and, for an invalid playbook, its diagnostics) and gives the exit to throw.
    static func fail(_ error: RuntimeError) -> ExitCode {
        printError(error.description)
        for diagnostic in error.diagnostics {
            FileHandle.standardError.write(Data("\(diagnostic)\n".utf8))
        }
        return ExitCode(ExitStatus.of(error))
    }

    static func fail(_ message: String) -> ExitCode {
        printError(message)
        return ExitCode(ExitStatus.cannotAct)
    }

    /// `muster: rejected: REASON [CODE]`: the reason for people, the rule's stable code for scripts.
    static func reject(_ rejection: Rejection) -> ExitCode {
        FileHandle.standardError.write(Data("muster: rejected: \(rejection.reason) [\(rejection.code)]\n".utf8))
        return ExitCode(ExitStatus.of(rejection.code))
    }

    static func out(_ line: String) {
        print(line)
    }

    // MARK: Acting

    /// Runs one command on the run named by `--run` (or the default run), prints what it recorded, and exits
    /// 1 with the engine's reason when it was refused.
    static func act(_ action: Command.Action, as personOption: String?, run runName: String?) throws {
        let person = try person(personOption)
        let runtime = try runtime()
        let record = try resolve(runtime, runName)
        // One idempotency key per invocation: a retry after a lost connection (the database restarting or failing
        // over mid-commit) cannot apply the command twice.
        let key = CommandKey(user: person, key: "cli-" + UUID().uuidString, requestHash: "cli \(record.id)")
        let result = try withRetries { () throws(RuntimeError) in try runtime.execute(Command(actor: person, action), on: record.id, key: key) }
        if let stored = result.replayed {
            out("already recorded by this command: #\(stored.sequences.lowerBound)-#\(stored.sequences.upperBound) \(stored.runID)")
            if let rejection = stored.rejection { throw reject(Rejection(Rejection.Code(rejection.code), rejection.reason)) }
            return
        }
        report(result)
        if let rejection = result.rejection { throw reject(rejection) }
    }

    /// Runs `body`, again (up to 3 more times, 2 s apart) while the database cannot be reached; other errors fail.
    static func withRetries<T>(_ body: () throws(RuntimeError) -> T) throws -> T {
        for attempt in 0... {
            do { return try body() } catch {
                guard attempt < 3, case .journal(.unavailable) = error else { throw fail(error) }
                printError("\(error.description); retrying in 2 s")
                Thread.sleep(forTimeInterval: 2)
            }
        }
        fatalError("unreachable")
    }

    /// One line per recorded event, numbered by seq; timers caught up first.
    static func report(_ result: CommandResult) {
        guard let sequences = result.sequences else { return }
        let events = result.timerEvents + result.events
        for (offset, event) in events.enumerated() {
            let seq = sequences.lowerBound + offset
            let who = event.actor == Command.system ? "clock" : event.actor
            out("#\(seq) \(result.runID) \(who): \(RunText.describe(event.body))")
        }
        if let timerRejection = result.timerRejection {
            printError("a due timer could not fire: \(timerRejection.reason)")
        }
        if let failure = result.followUpFailure {
            printError("recorded, but the people directory's part did not finish (the next command or watch retries): \(failure)")
        }
        // What the people directory did right after (a roll call started, a deputy named), as `muster`.
        for followUp in result.followUps {
            guard let sequences = followUp.sequences else { continue }
            for (offset, event) in (followUp.timerEvents + followUp.events).enumerated() {
                out("#\(sequences.lowerBound + offset) \(followUp.runID) \(event.actor): \(RunText.describe(event.body))")
            }
        }
    }

    // MARK: Parsing values

    /// `20m` (that long before now) or an ISO-8601 instant.
    static func disruption(_ text: String?) throws -> DeclareRequest.Disruption {
        guard let text else { return .none }
        if let disruption = DeclareRequest.Disruption(parsing: text) { return disruption }
        throw fail("--disruption-started '\(text)' is neither a duration like 20m or 1h30m nor a UTC instant like 2026-03-06T17:20:00Z")
    }

    static func severity(_ text: String?) throws -> Severity? {
        guard let text else { return nil }
        if let severity = Severity(parsing: text) { return severity }
        throw fail("--severity '\(text)' is not one of P1, P2, P3, P4")
    }

    /// A playbook file path, or the id of a playbook in `./playbooks` (file `ID.yaml`, else any file declaring it).
    static func playbookPath(_ name: String, folder: String? = nil) throws -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: name, isDirectory: &isDirectory), !isDirectory.boolValue { return name }
        let folder = folder ?? PlaybookLookup.defaultFolder
        switch PlaybookLoader.locate(id: name, in: folder) {
        case .found(let path): return path
        case .notFound(let known):
            throw fail(RuntimeError.playbookNotFound(name, searched: "\(FileManager.default.currentDirectoryPath)/\(folder)", known: known))
        }
    }
}

/// `--as NAME` for commands that act as a person.
struct PersonOption: ParsableArguments {
    @Option(name: .customLong("as"), help: ArgumentHelp("Who is acting (default: $MUSTER_USER).", valueName: "NAME"))
    var name: String?
}

/// `--run RUN` for commands that act on a run.
struct RunOption: ParsableArguments {
    @Option(name: .customLong("run"), help: ArgumentHelp("The run: its id or a prefix of it (default: the one open run, else the latest).", valueName: "RUN"))
    var run: String?

    /// For commands that also take the run as an argument: `--run RUN` and `RUN` mean the same; both, naming
    /// different runs, is a mistake.
    func or(_ positional: String?) throws -> String? {
        if let run, let positional, run != positional {
            throw ValidationError("the run is given twice, as '\(positional)' and --run \(run): give one")
        }
        return run ?? positional
    }
}
