import ArgumentParser

import Foundation

@main
struct Muster: ParsableCommand {
    /// Printed by `muster --version`.
    static let version = "0.1.0-dev"

    static let configuration = CommandConfiguration(
        commandName: "muster",
        abstract: "Incident playbooks, live incidents and tabletop exercises, on one engine.",
        version: version,
        subcommands: [
            ValidateCommand.self, ShowCommand.self, GraphCommand.self, SimulateCommand.self,
            Incident.self, Verify.self, Watch.self, ExerciseCommand.self,
            ReportCommand.self, LessonsCommand.self, ActionsCommand.self, ProgrammeCommand.self,
            ImpactCommand.self, ReadinessCommand.self, EvidenceCommand.self,
            OutboxCommand.self, NotifyCommand.self,
            ServeCommand.self, UsersCommand.self,
        ]
    )

    static func main() {
        if let typo = CommandTypos.check(Array(CommandLine.arguments.dropFirst()), root: Muster.self) {
            FileHandle.standardError.write(Data("muster: error: \(typo)\n".utf8))
            Muster.exit(withError: ExitCode(2))
        }
        main(nil)
    }
}
