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
        abstract: "Check playbooks, exercises and player scripts, and print findings like a compiler.",
        discussion: "Exits 0 when no file has an error (warnings allowed unless --strict), 1 otherwise."
    )

    @Argument(help: "Playbook, exercise or player script files, or folders (default: playbooks/ and exercises/).")
    var paths: [String] = []

    @Option(help: "Output format: text or json.")
    var format: DiagnosticFormat = .text

    @Flag(help: "Treat warnings as errors.")
    var strict = false

    func run() throws {
        var paths = self.paths
        if paths.isEmpty {
            paths = [PlaybookLookup.defaultFolder]
            if FileManager.default.fileExists(atPath: "exercises") { paths.append("exercises") }
        }
        for path in paths where !FileManager.default.fileExists(atPath: path) {
            throw Console.fail("no such file or folder: \(path)")
        }
        let files = ValidateCommand.classify(paths)
        let loaded = PlaybookLoader.loadAll(paths: files.playbooks)
        var exerciseDiagnostics: [Diagnostic] = []
        var exercises: [String: Exercise] = [:]
        for file in files.exercises {
            let result = ExerciseLoader.load(file: file)
            exerciseDiagnostics += result.diagnostics
            if let exercise = result.exercise { exercises[file] = exercise }
        }
        for file in files.players {
            let exerciseFile = ExerciseLoader.exercisePath(forPlayers: file)
            let exercise = exercises[exerciseFile] ?? ExerciseLoader.load(file: exerciseFile).exercise
            exerciseDiagnostics += ExerciseLoader.loadPlayers(file: file, for: exercise).diagnostics
        }
        let fileCount = loaded.count + files.exercises.count + files.players.count
        let diagnostics = (loaded.flatMap(\.diagnostics) + PlaybookLoader.crossFileDiagnostics(loaded) + exerciseDiagnostics).sortedByLocation()
        let errors = diagnostics.filter { $0.severity == .error }.count
        let warnings = diagnostics.count - errors

        switch format {
        case .text:
            var text = diagnostics.map { $0.description + "\n" }.joined()
            text += "\("file".counted(fileCount)), \("error".counted(errors)), \("warning".counted(warnings))\n"
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
        if errors > 0 || (strict && warnings > 0) { throw ExitCode(ExitStatus.refused) }
    }

    /// Files named on the command line or found in folders (`*.yaml`, `*.yml`, sorted), sorted into playbooks,
    /// exercises (a top-level `exercise:` key) and player scripts (`X.players.yaml`).
    static func classify(_ paths: [String]) -> (playbooks: [String], exercises: [String], players: [String]) {
        var files: [String] = []
        for path in paths {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
                let base = path.hasSuffix("/") ? path : path + "/"
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                for name in names.sorted() where !name.hasPrefix(".") && (name.hasSuffix(".yaml") || name.hasSuffix(".yml")) {
                    var isSub: ObjCBool = false
                    if FileManager.default.fileExists(atPath: base + name, isDirectory: &isSub), isSub.boolValue { continue }
                    files.append(base + name)
                }
            } else {
                files.append(path)
            }
        }
        var result: (playbooks: [String], exercises: [String], players: [String]) = ([], [], [])
        for file in files {
            if ExerciseLoader.isPlayerScriptName(file) {
                result.players.append(file)
            } else if let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8),
                      ExerciseLoader.isExercise(text: text, file: file) {
                result.exercises.append(file)
            } else {
                result.playbooks.append(file)
            }
        }
        return result
    }
}
