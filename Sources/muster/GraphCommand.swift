import ArgumentParser
import MusterCore

enum GraphFormat: String, ExpressibleByArgument, CaseIterable {
    case mermaid, dot
}

struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Print a playbook's state machine as a Mermaid or Graphviz DOT diagram.",
        discussion: "Render DOT with Graphviz, for example: muster graph ID --format dot | dot -Tsvg > ID.svg"
    )

    @Argument(help: "A playbook file, or the id of a playbook in playbooks/.")
    var playbook: String

    @Option(help: "Diagram format: mermaid or dot.")
    var format: GraphFormat = .mermaid

    func run() throws {
        let (_, playbook) = try PlaybookLookup.loadValid(self.playbook)
        switch format {
        case .mermaid: Console.out(PlaybookGraph.mermaid(playbook))
        case .dot: Console.out(PlaybookGraph.dot(playbook))
        }
    }
}
