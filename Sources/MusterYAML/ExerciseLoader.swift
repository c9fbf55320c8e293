import Foundation
import MusterCore

/// One exercise file as read: its text, the exercise when it decoded, the playbook it tests (when found), and
/// every finding about the exercise (the playbook's own findings stay with the playbook).
public struct LoadedExercise: Sendable {
    public var path: String
    public var text: String
    public var exercise: Exercise?
    public var playbook: LoadedPlaybook?
    public var diagnostics: [Diagnostic]

    public var hasErrors: Bool { diagnostics.hasErrors }
}

/// A player script as read, checked against its exercise.
public struct LoadedPlayerScript: Sendable {
    public var path: String
    public var text: String
    public var script: PlayerScript?
    public var diagnostics: [Diagnostic]

    public var hasErrors: Bool { diagnostics.hasErrors }
}

/// Exercise files (`exercises/X.yaml`) and their player scripts (`exercises/X.players.yaml`): YAML, then
/// structure (`ExerciseDecoder`), then the playbook under test is found by id, then meaning
/// (`ExerciseValidator`). `muster validate` and `muster exercise run` both load through here.
public enum ExerciseLoader {
    /// Where the playbook of an exercise file is looked for: `playbooks/` beside the exercise's folder
    /// (`exercises/../playbooks`), then `playbooks/` in the current folder.
    public static func playbookFolders(for exerciseFile: String) -> [String] {
        let folder = URL(fileURLWithPath: exerciseFile).deletingLastPathComponent()
        let sibling = folder.deletingLastPathComponent().appendingPathComponent("playbooks").standardizedFileURL.path
        let local = URL(fileURLWithPath: "playbooks").standardizedFileURL.path
        return sibling == local ? [local] : [sibling, local]
    }

    /// Whether a file name is a player script's (`X.players.yaml`).
    public static func isPlayerScriptName(_ path: String) -> Bool {
        path.hasSuffix(".players.yaml") || path.hasSuffix(".players.yml")
    }

    /// `exercises/X.yaml` -> `exercises/X.players.yaml`.
    public static func playersPath(for exerciseFile: String) -> String {
        for ext in [".yaml", ".yml"] where exerciseFile.hasSuffix(ext) {
            return String(exerciseFile.dropLast(ext.count)) + ".players" + ext
        }
        return exerciseFile + ".players.yaml"
    }

    /// `exercises/X.players.yaml` -> `exercises/X.yaml` (or `.yml`, whichever exists).
    public static func exercisePath(forPlayers path: String) -> String {
        for ext in [".players.yaml", ".players.yml"] where path.hasSuffix(ext) {
            let base = String(path.dropLast(ext.count))
            for candidate in [base + ".yaml", base + ".yml"] where FileManager.default.fileExists(atPath: candidate) { return candidate }
            return base + ".yaml"
        }
        return path
    }

    /// Whether the YAML text is an exercise (a mapping with an `exercise` key), not a playbook.
    public static func isExercise(text: String, file: String) -> Bool {
        guard let node = YAMLSource.parse(text, file: file).node else { return false }
        return ExerciseDecoder.isExercise(node)
    }

    /// With a `cache`, the playbook under test is read through it.
    public static func load(file path: String, playbookFolders: [String]? = nil, cache: PlaybookCache? = nil) -> LoadedExercise {
        switch PlaybookLoader.readFile(path) {
        case .success(let text):
            return load(text: text, file: path, playbookFolders: playbookFolders ?? self.playbookFolders(for: path), cache: cache)
        case .failure(let reason):
            return LoadedExercise(path: path, text: "", exercise: nil, playbook: nil, diagnostics: [
                .error("unreadable-file", "cannot read '\(path)': \(reason.message)", at: SourceLocation(file: path, line: 1, column: 1)),
            ])
        }
    }

    public static func load(text: String, file: String, playbookFolders: [String], cache: PlaybookCache? = nil) -> LoadedExercise {
        let (node, yamlDiagnostics) = YAMLSource.parse(text, file: file)
        guard let node else {
            return LoadedExercise(path: file, text: text, exercise: nil, playbook: nil, diagnostics: yamlDiagnostics.sortedByLocation())
        }
        let (decoded, decodeDiagnostics) = ExerciseDecoder.decode(node)
        let exercise = yamlDiagnostics.hasErrors ? nil : decoded
        var diagnostics = yamlDiagnostics + decodeDiagnostics
        var loadedPlaybook: LoadedPlaybook?
        // An id that is not one (`../secrets`) was reported by the decoder; no file is looked for.
        if let exercise, Playbook.isValidID(exercise.playbook.value) {
            let (found, problem) = findPlaybook(exercise.playbook, in: playbookFolders, cache: cache)
            loadedPlaybook = found
            if let problem { diagnostics.append(problem) }
            if let found, let playbook = found.playbook, !found.hasErrors {
                diagnostics += ExerciseValidator.validate(exercise, against: playbook)
            } else if let found {
                let errors = found.diagnostics.filter { $0.severity == .error }.count
                diagnostics.append(.error(
                    "invalid-playbook",
                    "playbook '\(exercise.playbook.value)' (\(found.path)) has \(errors) \(errors == 1 ? "error" : "errors"): fix it first (muster validate \(found.path))",
                    at: exercise.playbook.location))
            }
        }
        return LoadedExercise(path: file, text: text, exercise: exercise, playbook: loadedPlaybook, diagnostics: diagnostics.sortedByLocation())
    }

    /// The playbook with this id: the file named after it in the first folder that has one, else any file in
    /// the folders that declares the id. A missing playbook is a diagnostic at the exercise's `playbook:`.
    public static func findPlaybook(_ id: Located<String>, in folders: [String], cache: PlaybookCache? = nil) -> (LoadedPlaybook?, Diagnostic?) {
        guard Playbook.isValidID(id.value) else {
            return (nil, .error("invalid-id", "'\(id.value)' is not a playbook id (use lowercase letters, digits, '-' and '_', starting with a letter or digit)", at: id.location))
        }
        var seenIDs: [String] = []
        var searched: [String] = []
        for folder in folders {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            searched.append(folder)
            for ext in ["yaml", "yml"] {
                let path = folder + "/" + id.value + "." + ext
                if FileManager.default.fileExists(atPath: path) {
                    let loaded = cache?.load(file: path) ?? PlaybookLoader.load(file: path)
                    if loaded.playbook == nil || loaded.playbook?.id.value == id.value { return (loaded, nil) }
                }
            }
            for loaded in PlaybookLoader.loadAll(paths: [folder], cache: cache) {
                if loaded.playbook?.id.value == id.value { return (loaded, nil) }
                if let other = loaded.playbook?.id.value { seenIDs.append(other) }
            }
        }
        let where_ = searched.isEmpty ? "no playbooks folder found (looked for \(folders.joined(separator: ", ")))" : "in \(searched.joined(separator: ", "))"
        return (nil, .error("unknown-playbook", "no playbook '\(id.value)' \(where_)\(Suggestion.hint(for: id.value, in: seenIDs))", at: id.location))
    }

    /// Reads and checks a player script against its exercise (when the exercise decoded).
    public static func loadPlayers(file path: String, for exercise: Exercise?) -> LoadedPlayerScript {
        let text: String
        switch PlaybookLoader.readFile(path) {
        case .success(let t): text = t
        case .failure(let reason):
            return LoadedPlayerScript(path: path, text: "", script: nil, diagnostics: [
                .error("unreadable-file", "cannot read '\(path)': \(reason.message)", at: SourceLocation(file: path, line: 1, column: 1)),
            ])
        }
        return loadPlayers(text: text, file: path, for: exercise)
    }

    /// The same as `loadPlayers(file:for:)` for text already in memory; `file` names it in diagnostics.
    public static func loadPlayers(text: String, file path: String, for exercise: Exercise?) -> LoadedPlayerScript {
        let (node, yamlDiagnostics) = YAMLSource.parse(text, file: path)
        guard let node, !yamlDiagnostics.hasErrors else {
            return LoadedPlayerScript(path: path, text: text, script: nil, diagnostics: yamlDiagnostics.sortedByLocation())
        }
        let (script, scriptDiagnostics) = PlayerScript.decode(node)
        var diagnostics = yamlDiagnostics + scriptDiagnostics
        if let script, let exercise { diagnostics += script.check(against: exercise) }
        return LoadedPlayerScript(path: path, text: text, script: diagnostics.hasErrors ? nil : script, diagnostics: diagnostics.sortedByLocation())
    }
}
