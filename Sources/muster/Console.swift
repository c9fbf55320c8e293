import ArgumentParser
import Foundation
import MusterCore
import MusterYAML

/// Output for the subcommands: results on standard output, problems on standard error, one line each.
enum Console {
    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    static func err(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// Prints `error: MESSAGE` to standard error and returns the failure exit code to throw.
    static func fail(_ message: String) -> ExitCode {
        err("error: \(message)\n")
        return ExitCode(ExitStatus.refused)
    }

    /// The exit status of a command that cannot act at all (no journal, an unknown run, an unreadable playbook),
    /// as the README promises for every command: 2. A refusal or a failed check is 1 (`fail`).
    static let cannotActStatus: Int32 = ExitStatus.cannotAct

    /// Prints `error: REASON [CODE]` and returns the status `ExitStatus` gives the rule's code.
    static func refuse(_ rejection: Rejection) -> ExitCode {
        err("error: \(rejection.reason) [\(rejection.code)]\n")
        return ExitCode(ExitStatus.of(rejection.code))
    }

    /// Prints `error: MESSAGE` and returns `status` (from `ExitStatus`).
    static func exit(_ message: String, status: Int32) -> ExitCode {
        err("error: \(message)\n")
        return ExitCode(status)
    }

    /// Prints `error: MESSAGE` and returns exit status 2: the command could not act.
    static func cannotAct(_ message: String) -> ExitCode {
        err("error: \(message)\n")
        return ExitCode(cannotActStatus)
    }
}

/// Finding and loading one playbook named on the command line, by path or by id in `playbooks/`.
enum PlaybookLookup {
    /// Where playbook ids are looked up: `$MUSTER_PLAYBOOKS`, else `./playbooks` (`--playbooks DIR` overrides it
    /// on the commands that take it).
    static var defaultFolder: String {
        if let folder = ProcessInfo.processInfo.environment["MUSTER_PLAYBOOKS"], !folder.isEmpty { return folder }
        return "playbooks"
    }

    /// A `--playbooks DIR` that must exist: a mistyped folder is an error, not an empty programme.
    static func existingFolder(_ folder: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw Console.fail("no playbooks folder at \(folder)")
        }
        return folder
    }

    /// Loads the playbook; prints its diagnostics and throws when it does not load or fails validation.
    static func loadValid(_ argument: String) throws -> (loaded: LoadedPlaybook, playbook: Playbook) {
        let loaded = try load(argument)
        let diagnostics = loaded.diagnostics.sortedByLocation()
        guard let playbook = loaded.playbook, !diagnostics.hasErrors else {
            for diagnostic in diagnostics { Console.err(diagnostic.description + "\n") }
            let errors = diagnostics.filter { $0.severity == .error }.count
            throw Console.fail("\(loaded.path) is not a valid playbook (\(errors) \(errors == 1 ? "error" : "errors"))")
        }
        return (loaded, playbook)
    }

    static func load(_ argument: String) throws -> LoadedPlaybook {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: argument, isDirectory: &isFolder) {
            if isFolder.boolValue {
                throw Console.fail("\(argument) is a folder; name one playbook file or a playbook id")
            }
            return PlaybookLoader.load(file: argument)
        }
        let looksLikePath = argument.contains("/") || argument.hasSuffix(".yaml") || argument.hasSuffix(".yml")
        if looksLikePath {
            throw Console.fail("no such file: \(argument)")
        }
        // An id: the file named after it, else any playbook in the folder that declares it.
        for ext in ["yaml", "yml"] {
            let path = "\(defaultFolder)/\(argument).\(ext)"
            if FileManager.default.fileExists(atPath: path) {
                let loaded = PlaybookLoader.load(file: path)
                if loaded.playbook == nil || loaded.playbook?.id.value == argument { return loaded }
            }
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: defaultFolder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw Console.fail("no playbook file or id '\(argument)' (there is no \(defaultFolder)/ folder here)")
        }
        let all = PlaybookLoader.loadAll(paths: [defaultFolder])
        if let found = all.first(where: { $0.playbook?.id.value == argument }) { return found }
        let ids = all.compactMap { $0.playbook?.id.value }
        throw Console.fail("no playbook file or id '\(argument)' in \(defaultFolder)/" + Suggestion.hint(for: argument, in: ids))
    }
}

extension String {
    /// `1 file`, `2 errors`.
    func counted(_ count: Int) -> String { "\(count) \(self)\(count == 1 ? "" : "s")" }
}
