import ArgumentParser

@main
struct Muster: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "muster",
        abstract: "Incident playbooks, live incidents and tabletop exercises, on one engine.",
        subcommands: [
            ValidateCommand.self, ShowCommand.self, GraphCommand.self, SimulateCommand.self,
            Incident.self, Verify.self, Watch.self, ExerciseCommand.self,
            ReportCommand.self, LessonsCommand.self, ActionsCommand.self, ProgrammeCommand.self,
            OutboxCommand.self, NotifyCommand.self,
            ServeCommand.self, UsersCommand.self,
        ]
    )
}
