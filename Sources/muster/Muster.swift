import ArgumentParser

import Foundation

@main
struct Muster: ParsableCommand {
    /// Printed by `muster --version`.
    static let version = "0.1.0-dev"

    static let configuration = CommandConfiguration(
        commandName: "muster",
        abstract: "Incident playbooks, live incidents and tabletop exercises, on one engine.",
        discussion: """
            The journal is $MUSTER_HOME/muster.db (default ./.muster), or the PostgreSQL database of \
            MUSTER_DATABASE_URL=postgres://USER:PASSWORD@HOST:PORT/DB. Any command takes --database URL (or the path of an \
            SQLite journal) to choose another.
            """,
        version: version,
        subcommands: [
            ValidateCommand.self, ShowCommand.self, GraphCommand.self, SimulateCommand.self,
            Incident.self, Verify.self, Watch.self, ExerciseCommand.self,
            ReportCommand.self, LessonsCommand.self, ActionsCommand.self, ProgrammeCommand.self,
            ImpactCommand.self, ReadinessCommand.self, EvidenceCommand.self,
            OutboxCommand.self, NotifyCommand.self,
            ServeCommand.self, UsersCommand.self, PeopleCommand.self, DatabaseCommand.self,
        ]
    )

    static func main() {
        let (arguments, problem) = JournalChoice.extractDatabaseOption(Array(CommandLine.arguments.dropFirst()))
        if let problem {
            FileHandle.standardError.write(Data("muster: error: \(problem)\n".utf8))
            Muster.exit(withError: ExitCode(ExitStatus.cannotAct))
        }
        if let typo = CommandTypos.check(arguments, root: Muster.self) {
            FileHandle.standardError.write(Data("muster: error: \(typo)\n".utf8))
            Muster.exit(withError: ExitCode(ExitStatus.cannotAct))
        }
        main(arguments)
    }
}
