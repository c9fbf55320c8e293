import ArgumentParser
import Foundation
import MusterJournal
import MusterRuntime

/// `muster verify [RUN] [--all]`: walk hash chains; exit 1 when one is broken.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that a run's timeline is intact (hash chain); exit 1 naming the first broken link."
    )

    @Argument(help: "The run (default: the one open run, else the latest).") var runName: String?
    @Flag(help: "Verify every run in the journal.") var all = false

    func run() throws {
        let runtime = try IncidentCLI.readingRuntime()
        let reports: [VerificationReport]
        do {
            if all {
                reports = try runtime.journal.verifyAll()
            } else {
                let record = try IncidentCLI.resolve(runtime, runName, mode: nil)
                reports = [try runtime.journal.verify(runID: record.id)]
            }
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
        if broken { throw ExitCode(IncidentCLI.rejectedExit) }
    }
}
