import Foundation

/// The `sqlite3` command-line tool, for tests that read or edit a journal's database behind Muster's back.
/// Missing is a failure the tests report (`apt-get install -y sqlite3`), never a skip.
public enum SQLite3 {
    /// The tool, or nil when it is not installed.
    public static let located: URL? = ["/usr/bin/sqlite3", "/usr/local/bin/sqlite3", "/bin/sqlite3"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }.map { URL(fileURLWithPath: $0) }

    /// `located`, checked: a missing tool throws with what to do.
    public static func checked() throws -> URL {
        guard let located else { throw TestSupportError("sqlite3 is not installed: apt-get install -y sqlite3") }
        return located
    }

    /// `sqlite3 DATABASE SQL` to the end (bounded: killed after `timeout` seconds).
    public static func run(_ database: String, _ sql: String, timeout: Double = 30) throws -> ProgramOutput {
        try SpawnedProcess.run(try checked(), [database, sql], timeout: timeout)
    }
}
