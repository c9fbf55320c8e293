import ArgumentParser
import Foundation
import MusterJournal
import MusterRuntime

/// `muster verify [RUN] [--all] [--export-heads FILE] [--against FILE]`: walk hash chains; exit 1 when one is
/// broken or no longer reaches a head recorded outside the database.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that a run's timeline is intact (hash chain) and the access log agrees with users, people and restricted runs; exit 1 naming the first broken link.",
        discussion: """
            The chains show that no recorded row was altered, reordered or removed from the middle. Removing the last \
            rows of a chain cannot be seen from the database alone: keep the heads elsewhere with --export-heads FILE \
            (every run's head and the access and improvement logs' heads, as JSON) and check later with --against FILE. \
            See docs/journal.md.
            """
    )

    @Argument(help: "The run (default: the one open run, else the latest).") var runName: String?
    @OptionGroup var target: RunOption
    @Flag(help: "Verify every run in the journal.") var all = false
    @Option(name: .customLong("export-heads"), help: ArgumentHelp("Write every chain's head (seq and hash) as JSON to FILE, after verifying them all.", valueName: "FILE"))
    var exportHeads: String?
    @Option(help: ArgumentHelp("Report every run or log that no longer reaches the head recorded in FILE (from --export-heads).", valueName: "FILE"))
    var against: String?

    func validate() throws {
        if (exportHeads != nil || against != nil), runName != nil || target.run != nil {
            throw ValidationError("--export-heads and --against cover every run; leave out the run name")
        }
    }

    func run() throws {
        let runtime = try IncidentCLI.readingRuntime()
        defer { try? runtime.journal.close() }
        let journal = runtime.journal
        let everything = all || exportHeads != nil || against != nil
        let reports: [VerificationReport]
        let accessLog: VerificationReport
        var recorded: ChainHeads?
        if let against {
            guard let bytes = FileManager.default.contents(atPath: against) else { throw IncidentCLI.fail("cannot read \(against)") }
            switch ChainHeads.parse(Array(bytes)) {
            case .success(let heads): recorded = heads
            case .failure(let error): throw IncidentCLI.fail("\(against) is not a heads file written by muster verify --export-heads: \(error)")
            }
        }
        do {
            if everything {
                reports = try journal.verifyAll()
            } else {
                let record = try IncidentCLI.resolve(runtime, try target.or(runName))
                reports = [try journal.verify(runID: record.id)]
            }
            accessLog = try journal.verifyAccessLog()
        } catch let error as JournalError {
            throw IncidentCLI.fail(.journal(error))
        }
        var broken = false
        for report in reports {
            if report.isIntact {
                IncidentCLI.out("intact: \(report.description)")
            } else {
                broken = true
                IncidentCLI.out("BROKEN: \(report.description)")
            }
            for warning in report.warnings { IncidentCLI.out("warning: run \(report.runID): \(warning)") }
        }
        if reports.isEmpty { IncidentCLI.out("no runs to verify") }
        if accessLog.isIntact {
            IncidentCLI.out("intact: access log: \(accessLog.eventCount) entries, chain intact and in agreement with users, people and restricted runs (head \(accessLog.headHash.prefix(12)))")
        } else {
            broken = true
            IncidentCLI.out("BROKEN: access log: broken at entry \(accessLog.firstBroken!.seq): \(accessLog.firstBroken!.problem)")
        }
        for warning in accessLog.warnings { IncidentCLI.out("warning: access log: \(warning)") }
        if let recorded {
            let problems: [String]
            do { problems = try journal.unreachedHeads(recorded) } catch { throw IncidentCLI.fail(.journal(error)) }
            for problem in problems { IncidentCLI.out("BROKEN: \(problem)") }
            if problems.isEmpty {
                IncidentCLI.out("reached: every head recorded in \(against!) (\(recorded.runs.count) run\(recorded.runs.count == 1 ? "" : "s"), the access and improvement logs)")
            }
            broken = broken || !problems.isEmpty
        }
        if let exportHeads {
            guard !broken else {
                IncidentCLI.out("heads not exported: a chain is broken")
                throw ExitCode(ExitStatus.refused)
            }
            do {
                let heads = try journal.heads()
                try Data(heads.json(exportedAt: runtime.clock.now)).write(to: URL(fileURLWithPath: exportHeads), options: .atomic)
                IncidentCLI.out("exported the heads of \(heads.runs.count) run\(heads.runs.count == 1 ? "" : "s") and the access and improvement logs to \(exportHeads)")
            } catch let error as JournalError {
                throw IncidentCLI.fail(.journal(error))
            } catch {
                throw IncidentCLI.fail("cannot write \(exportHeads): \(error.localizedDescription)")
            }
        }
        if broken { throw ExitCode(ExitStatus.refused) }
    }
}
