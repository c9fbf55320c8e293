import Foundation
import MusterCore
import MusterJournal
import MusterRuntime
import MusterTestSupport

/// A fresh folder under the system's temporary directory.
struct RuntimeTempFolder {
    let path: String

    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("muster-runtime-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    func write(_ name: String, _ text: String) throws -> String {
        let file = file(name)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// The repository's root, from this file's path.
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

let ransomwarePlaybook = repositoryRoot + "/playbooks/ransomware-file-servers.yaml"

let start = Instant(iso8601: "2026-03-06T17:40:00Z")!

/// A runtime on a journal in `folder`, with its own connection to the file (as another process would have).
func makeRuntime(_ folder: RuntimeTempFolder, clock: ManualClock, attempts: Int = 10) throws -> IncidentRuntime {
    IncidentRuntime(journal: try TestDatabase.open(home: folder.path), clock: clock, maximumAttempts: attempts)
}

extension IncidentRuntime {
    /// Runs a command that must be accepted, and returns what it recorded.
    @discardableResult
    func must(_ actor: String, _ action: Command.Action, on runID: String) throws -> CommandResult {
        let result = try execute(Command(actor: actor, action), on: runID)
        if let rejection = result.rejection { throw rejection }
        return result
    }
}

struct Unexpected: Error, CustomStringConvertible {
    var description: String
}
