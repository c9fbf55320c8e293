import ArgumentParser
import MusterCore

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print a readable summary of a playbook: objectives, roles, and its states in order."
    )

    @Argument(help: "A playbook file, or the id of a playbook in playbooks/.")
    var playbook: String

    func run() throws {
        let (_, playbook) = try PlaybookLookup.loadValid(self.playbook)
        Console.out(PlaybookSummary.render(playbook))
    }
}
