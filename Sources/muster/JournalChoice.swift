import Foundation
import MusterJournal

/// Where every command's journal is: `--database URL` (taken by any command, before or after its name),
/// else `MUSTER_DATABASE_URL`, else `$MUSTER_HOME/muster.db` (default `./.muster`). The one place the CLI decides it.
enum JournalChoice {
    /// `--database` as given on the command line (removed from the arguments before they are parsed).
    nonisolated(unsafe) static var databaseOption: String?

    static var location: JournalLocation { JournalLocation.resolve(database: databaseOption) }

    /// Whether there is a journal to read: the SQLite file exists, or (PostgreSQL) always: a database named by a
    /// URL is meant to be there, and opening it says so when it is not.
    static var exists: Bool {
        switch location {
        case .sqlite(let path): FileManager.default.fileExists(atPath: path)
        case .postgres: true
        }
    }

    /// `arguments` without `--database VALUE` / `--database=VALUE`, remembering the value; nil and a message
    /// when `--database` has no value. (Arguments after `--` are left alone.)
    static func extractDatabaseOption(_ arguments: [String]) -> (arguments: [String], error: String?) {
        var kept: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" { kept += arguments[index...]; break }
            if argument == "--database" {
                guard index + 1 < arguments.count, !arguments[index + 1].hasPrefix("-") else {
                    return (arguments, "--database needs a value: a postgres:// URL or the path of an SQLite journal")
                }
                databaseOption = arguments[index + 1]
                index += 2
                continue
            }
            if argument.hasPrefix("--database=") {
                databaseOption = String(argument.dropFirst("--database=".count))
                index += 1
                continue
            }
            kept.append(argument)
            index += 1
        }
        return (kept, nil)
    }
}
