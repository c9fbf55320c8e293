import Foundation
import MusterTestSupport
import Testing

/// Runs the real `muster` binary (built by `swift build --build-tests`) with a temporary `MUSTER_HOME`, from
/// the repository root (so `playbooks/` ids resolve), with bounded waits.
struct IncidentCLIHarness {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
    }

    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The built `muster`: next to the test bundle, else in `.build/debug`. Missing is a failure, not a skip.
    static let binary: String? = MusterBinary.located?.path

    let folder: String
    var home: String { folder + "/home" }
    var database: String { home + "/muster.db" }

    init() throws {
        folder = (NSTemporaryDirectory() as NSString).appendingPathComponent("muster-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: folder) }

    func muster() throws -> String {
        guard let binary = Self.binary else {
            Issue.record("the muster binary was not found: run `swift build --build-tests` first")
            throw CLIHarnessError("muster binary missing")
        }
        return binary
    }

    var baseEnvironment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["MUSTER_HOME"] = home
        env.removeValue(forKey: "MUSTER_DATABASE_URL")
        if TestBackend.selected == .postgresql {
            // The whole suite on PostgreSQL: this home's own schema (created on first use).
            env.merge((try? TestDatabase.environment(home: home, backend: .postgresql)) ?? [:]) { $1 }
        }
        env.removeValue(forKey: "MUSTER_USER")
        env.removeValue(forKey: "MUSTER_NOW")
        return env
    }

    /// Runs `muster ARGS` to completion (at most `timeout` seconds).
    @discardableResult
    func run(_ arguments: [String], user: String? = nil, now: String? = nil, env extra: [String: String] = [:], timeout: TimeInterval = 60) throws -> Result {
        var env = baseEnvironment
        if let user { env["MUSTER_USER"] = user }
        if let now { env["MUSTER_NOW"] = now }
        env.merge(extra) { $1 }
        return try Self.execute(try muster(), arguments, env: env, timeout: timeout)
    }

    /// Starts a process writing to files in the temp folder; the caller waits or kills it.
    func spawn(_ executable: String, _ arguments: [String], env: [String: String], name: String) throws -> Spawned {
        try SpawnedProcess.start(URL(fileURLWithPath: executable), arguments, environment: env, directory: URL(fileURLWithPath: Self.root),
                                 outputIn: URL(fileURLWithPath: folder), name: name)
    }

    /// Runs a program from the repository root to the end, at most `timeout` seconds.
    static func execute(_ executable: String, _ arguments: [String], env: [String: String], timeout: TimeInterval) throws -> Result {
        let output = try SpawnedProcess.run(URL(fileURLWithPath: executable), arguments, environment: env, directory: URL(fileURLWithPath: root),
                                            timeout: timeout)
        return Result(status: output.status, stdout: output.stdout, stderr: output.stderr)
    }

    /// `sqlite3 DB SQL`; the tool must be installed (`apt-get install -y sqlite3`): missing fails the test.
    func sqlite(_ sql: String) throws -> Result {
        let output = try SQLite3.run(database, sql)
        return Result(status: output.status, stdout: output.stdout, stderr: output.stderr)
    }
}

/// The shared spawned process (bounded waits, output in files), under the name these tests use.
typealias Spawned = SpawnedProcess

struct CLIHarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// RFC 4180: fields separated by commas, quoted fields may hold commas, quotes (doubled) and line breaks.
func parseCSV(_ text: String) -> [[String]] {
    var rows: [[String]] = []
    var row: [String] = []
    var field = ""
    var quoted = false
    var chars = Array(text.unicodeScalars)[...]
    while let c = chars.popFirst() {
        if quoted {
            if c == "\"" {
                if chars.first == "\"" { field.unicodeScalars.append("\""); chars.removeFirst() } else { quoted = false }
            } else {
                field.unicodeScalars.append(c)
            }
        } else if c == "\"" {
            quoted = true
        } else if c == "," {
            row.append(field); field = ""
        } else if c == "\r" {
            continue
        } else if c == "\n" {
            row.append(field); field = ""
            rows.append(row); row = []
        } else {
            field.unicodeScalars.append(c)
        }
    }
    if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
    return rows
}
