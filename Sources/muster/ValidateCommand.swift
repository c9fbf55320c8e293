import ArgumentParser
import Foundation
import MusterCore
import MusterJournal
import MusterYAML

enum DiagnosticFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check playbooks, exercises and player scripts, and print findings like a compiler.",
        discussion: """
            Exits 0 when no file has an error (warnings allowed unless --strict), 1 otherwise. A service catalogue \
            (a file with 'muster_services:', by default services.yaml beside playbooks/) is checked too, and the \
            playbooks against it: a playbook may tighten a catalogue service's objectives, never loosen them.
            """
    )

    @Argument(help: "Playbook, exercise, player script, service catalogue or evidence map files, or folders (default: playbooks/, exercises/, and services.yaml and evidence-map.yaml when present).")
    var paths: [String] = []

    @Option(help: "The service catalogue to check the playbooks against (default: $MUSTER_SERVICES, else services.yaml beside playbooks/ when no path is given).")
    var services: String?

    @Option(help: "Output format: text or json.")
    var format: DiagnosticFormat = .text

    @Flag(help: "Treat warnings as errors.")
    var strict = false

    /// Roll calls against the people directory, when the journal has one (a journal that cannot be read, or holds
    /// nobody, checks nothing: validating a playbook never needs a database).
    static func directoryDiagnostics(_ playbooks: [Playbook]) -> [Diagnostic] {
        guard playbooks.contains(where: { !$0.allRollCalls.isEmpty }), JournalChoice.exists,
              let journal = try? Journal.openForReading(JournalChoice.location) else { return [] }
        defer { try? journal.close() }
        guard let people = try? journal.people(), !people.isEmpty else { return [] }
        var groups: [String: Set<String>] = [:]
        for person in people { for group in person.groups { groups[group, default: []].insert(person.name) } }
        return playbooks.flatMap { DirectoryCheck.check($0, people: Set(people.map(\.name)), groups: groups) }
    }

    func run() throws {
        var paths = self.paths
        let located = CatalogueLoader.locate(explicit: services, environment: ProcessInfo.processInfo.environment,
                                             playbooksFolder: PlaybookLookup.defaultFolder)
        if paths.isEmpty {
            paths = [PlaybookLookup.defaultFolder]
            if FileManager.default.fileExists(atPath: "exercises") { paths.append("exercises") }
            if located.required || FileManager.default.fileExists(atPath: located.path) {
                paths.append(located.path)
                let map = ((located.path as NSString).deletingLastPathComponent as NSString).appendingPathComponent("evidence-map.yaml")
                if FileManager.default.fileExists(atPath: map) { paths.append(map) }
            }
        } else if located.required, !paths.contains(located.path) {
            paths.append(located.path)
        }
        for path in paths where !FileManager.default.fileExists(atPath: path) {
            throw Console.fail("no such file or folder: \(path)")
        }
        let files = ValidateCommand.classify(paths)
        let loaded = PlaybookLoader.loadAll(paths: files.playbooks)
        var catalogueDiagnostics: [Diagnostic] = []
        for file in files.catalogues {
            let result = CatalogueLoader.load(file: file)
            catalogueDiagnostics += result.diagnostics
            if let catalogue = result.catalogue {
                catalogueDiagnostics += CatalogueValidator.check(loaded.compactMap(\.playbook), against: catalogue)
            }
        }
        for file in files.evidenceMaps {
            let text = (FileManager.default.contents(atPath: file)).flatMap { String(data: $0, encoding: .utf8) } ?? ""
            catalogueDiagnostics += EvidenceMapLoader.load(text: text, file: file).diagnostics
        }
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
        let fileCount = loaded.count + files.exercises.count + files.players.count + files.catalogues.count + files.evidenceMaps.count
        let diagnostics = (loaded.flatMap(\.diagnostics) + PlaybookLoader.crossFileDiagnostics(loaded) + exerciseDiagnostics
            + catalogueDiagnostics + Self.directoryDiagnostics(loaded.compactMap(\.playbook))).sortedByLocation()
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
    /// exercises (a top-level `exercise:` key), player scripts (`X.players.yaml`), service catalogues (a top-level
    /// `muster_services:` key) and evidence maps (`muster_evidence_map:`).
    static func classify(_ paths: [String]) -> Classified {
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
        var result = Classified()
        for file in files where !result.catalogues.contains(file) && !result.evidenceMaps.contains(file) {
            let text = FileManager.default.contents(atPath: file).flatMap { String(data: $0, encoding: .utf8) }
            if ExerciseLoader.isPlayerScriptName(file) {
                result.players.append(file)
            } else if let text, ExerciseLoader.isExercise(text: text, file: file) {
                result.exercises.append(file)
            } else if let text, CatalogueLoader.isCatalogue(text: text) {
                result.catalogues.append(file)
            } else if let text, text.split(separator: "\n").contains(where: { $0.hasPrefix("muster_evidence_map:") }) {
                result.evidenceMaps.append(file)
            } else {
                result.playbooks.append(file)
            }
        }
        return result
    }
}

struct Classified {
    var playbooks: [String] = []
    var exercises: [String] = []
    var players: [String] = []
    var catalogues: [String] = []
    var evidenceMaps: [String] = []
}
