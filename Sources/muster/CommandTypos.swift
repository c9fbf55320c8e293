import ArgumentParser
import Foundation
import MusterCore

/// Catches a mistyped subcommand before swift-argument-parser does, which would say "2 unexpected arguments"
/// (`muster incidnet status`), blame an option of the real command (`incident decalre --title`), or print the
/// top-level help and exit 0 (`muster help incidnet`). Names the closest subcommand instead, exit 2.
enum CommandTypos {
    static func check(_ arguments: [String], root: any ParsableCommand.Type) -> String? {
        var words = arguments[...]
        if words.first == "help" { words = words.dropFirst() }
        var command = root
        var path = [name(of: root)]
        while let word = words.first, !word.hasPrefix("-") {
            let children = command.configuration.subcommands
            // A command without subcommands takes the rest as its own arguments; one with a default subcommand
            // passes unknown words on to it.
            guard !children.isEmpty, command.configuration.defaultSubcommand == nil else { return nil }
            guard let child = children.first(where: { names(of: $0).contains(word) }) else {
                let known = children.map(name(of:)) + (ObjectIdentifier(command) == ObjectIdentifier(root) ? ["help"] : [])
                let hint = Suggestion.closest(to: word, in: known).map { " (did you mean '\($0)'?)" } ?? ""
                return "unknown command '\(word)' for '\(path.joined(separator: " "))'\(hint); "
                    + "see '\(path.joined(separator: " ")) --help'"
            }
            command = child
            path.append(name(of: child))
            words = words.dropFirst()
        }
        return nil
    }

    private static func name(of command: any ParsableCommand.Type) -> String {
        command.configuration.commandName ?? command._commandName
    }

    private static func names(of command: any ParsableCommand.Type) -> [String] {
        [name(of: command)] + command.configuration.aliases
    }
}
