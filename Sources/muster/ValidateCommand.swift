import ArgumentParser
import Foundation
import MusterCore
import MusterYAML

enum DiagnosticFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check playbooks and print findings like a compiler.",
        discussion: "Exits 0 when no file has an error (warnings allowed unless --strict), 1 otherwise."
    )

    @Argument(help: "Playbook files or folders (default: playbooks/).")
    var paths: [String] = []

    @Option(help: "Output format: text or json.")
    var format: DiagnosticFormat = .text

    @Flag(help: "Treat warnings as errors.")
    var strict = false

    func run() throws {
        let paths = self.paths.isEmpty ? [PlaybookLookup.defaultFolder] : self.paths
        for path in paths where !FileManager.default.fileExists(atPath: path) {
            throw Console.fail("no such file or folder: \(path)")
        }
        let loaded = PlaybookLoader.loadAll(paths: paths)
        let diagnostics = (loaded.flatMap(\.diagnostics) + PlaybookLoader.crossFileDiagnostics(loaded)).sortedByLocation()
        let errors = diagnostics.filter { $0.severity == .error }.count
        let warnings = diagnostics.count - errors

        switch format {
        case .text:
            var text = diagnostics.map { $0.description + "\n" }.joined()
            text += "\("file".counted(loaded.count)), \("error".counted(errors)), \("warning".counted(warnings))\n"
            Console.out(text)
        case .json:
            let array = JSONValue.array(diagnostics.map { diagnostic in
                .object([
                    ("file", .string(diagnostic.location.file)),
                    ("line", .int(diagnostic.location.line)),
                    ("column", .int(diagnostic.location.column)),
                    ("severity", .string(diagnostic.severity.rawValue)),
                    ("code", .string(diagnostic.code)),
                    ("message", .string(diagnostic.message)),
                ])
            })
            Console.out(array.rendered() + "\n")
        }
        if errors > 0 || (strict && warnings > 0) { throw ExitCode.failure }
    }
}
