import Foundation
import MusterCore
import Testing
@testable import MusterJournal

/// A fresh folder under the system's temporary directory, removed by `remove()`.
struct TempFolder {
    let path: String

    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("muster-journal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    var database: String { (path as NSString).appendingPathComponent("muster.db") }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

let playbookText = """
    muster: 1
    id: ransomware-file-servers
    version: 3
    title: Ransomware on the file servers
    start: detect
    states:
      detect: { phase: detect, transitions: [{ on: confirmed, to: closed }] }
      closed: { phase: learn, terminal: true }

    """

let t0 = Instant(iso8601: "2026-03-06T17:40:00Z")!

func header(_ id: String = "r-7f3a2c", mode: RunMode = .live, at: Instant = t0) -> RunHeader {
    RunHeader(id: id, playbookID: "ransomware-file-servers", playbookVersion: 3, playbookText: playbookText,
              mode: mode, title: "Ransomware on the finance shares", createdAt: at)
}

func startEvents(_ runID: String = "r-7f3a2c", at: Instant = t0) -> [RunEvent] {
    [
        RunEvent(at: at, actor: "Dana", role: nil, .runStarted(RunStarted(
            runID: runID, playbookID: "ransomware-file-servers", playbookVersion: 3, mode: .live,
            title: "Ransomware on the finance shares", severity: .p1, disruptionStart: at - .minutes(20)))),
        RunEvent(at: at, actor: "Dana", role: nil, .roleAssigned(role: "incident_commander", person: "Dana")),
        RunEvent(at: at, actor: "Dana", role: "incident_commander", .stateEntered(state: "detect", from: nil, cause: .start)),
    ]
}

/// One event of every kind, with optionals both set and unset and text that needs escaping.
func everyKindOfEvent(at base: Instant = t0 + .minutes(1)) -> [RunEvent] {
    var t = base
    func next() -> Instant { t = t + .seconds(7); return t }
    return [
        RunEvent(at: next(), actor: "Dana", role: "incident_commander", .markSet(.detected)),
        RunEvent(at: next(), actor: "Dana", role: "incident_commander", .roleAssigned(role: "it_ops", person: "Lee")),
        RunEvent(at: next(), actor: "Dana", role: "incident_commander", .roleRelieved(role: "comms", person: "Sam", handover: "Sam takes over tomorrow")),
        RunEvent(at: next(), actor: "Dana", role: "incident_commander", .roleRelieved(role: "comms", person: "Kim", handover: nil)),
        RunEvent(at: next(), actor: "Lee", role: "it_ops", .taskCompleted(task: "confirm", note: "EDR shows mass renames: \"*.locked\" / C:\\shares\n\ttab é 🚨")),
        RunEvent(at: next(), actor: "Lee", role: "it_ops", .taskCompleted(task: "scope", note: nil)),
        RunEvent(at: next(), actor: "Lee", role: "it_ops", .taskSkipped(task: "scope", reason: "covered by EDR report")),
        RunEvent(at: next(), actor: "Lee", role: nil, .taskSkipped(task: "x", reason: nil)),
        RunEvent(at: next(), actor: "Lee", role: "it_ops", .eventRaised(name: "confirmed")),
        RunEvent(at: next(), actor: "muster", role: nil, .stateEntered(state: "contain", from: "detect", cause: .event("confirmed"))),
        RunEvent(at: next(), actor: "muster", role: nil, .stateEntered(state: "assess", from: "contain", cause: .guardHeld)),
        RunEvent(at: next(), actor: "Dana", role: "incident_commander", .decisionMade(decision: "declare-major", option: "declare", rationale: "finance share encrypted", byDefault: false)),
        RunEvent(at: next(), actor: "muster", role: nil, .stateEntered(state: "recover", from: "assess", cause: .decision(id: "declare-major", option: "declare"))),
        RunEvent(at: next(), actor: "Sam", role: nil, .noteAdded(text: "Staff told by email\u{0}\u{1f}")),
        RunEvent(at: next(), actor: "Dana", role: nil, .lessonRecorded(Lesson(text: "Backups took too long to find", kind: .improvement, rootCause: "documentation"))),
        RunEvent(at: next(), actor: "Dana", role: nil, .lessonRecorded(Lesson(text: "EDR caught it", kind: .strength))),
        RunEvent(at: next(), actor: "muster", role: nil, .timerArmed(key: TimerKey(id: "rto-warning", instance: 1), due: t0 + .hours(4), repeatEvery: .minutes(30))),
        RunEvent(at: next(), actor: "muster", role: nil, .timerArmed(key: TimerKey(id: "deadline:declare-major", instance: 1), due: t0 + .hours(1), repeatEvery: nil)),
        RunEvent(at: next(), actor: "muster", role: nil, .timerFired(key: TimerKey(id: "rto-warning", instance: 1), due: t0 + .hours(4), lateBy: TimeSpan(milliseconds: 1234))),
        RunEvent(at: next(), actor: "muster", role: nil, .timerCancelled(key: TimerKey(id: "deadline:declare-major", instance: 1))),
        RunEvent(at: next(), actor: "muster", role: nil, .notificationQueued(Notification(id: "n1", channel: "ops-slack", message: "Run r-7f3a2c entered recover", trigger: "enter:recover"))),
        RunEvent(at: next(), actor: "Dana", role: "incident_commander", .markSet(.closed)),
        RunEvent(at: next(), actor: "Dana", role: "incident_commander", .runClosed(reason: "Restored and verified")),
        RunEvent(at: next(), actor: "Dana", role: "incident_commander", .runClosed(reason: nil)),
    ]
}

func note(_ text: String, by actor: String = "Sam", at: Instant = t0 + .minutes(5)) -> RunEvent {
    RunEvent(at: at, actor: actor, role: nil, .noteAdded(text: text))
}

func queued(_ id: String, at: Instant = t0 + .minutes(2)) -> RunEvent {
    RunEvent(at: at, actor: "muster", role: nil, .notificationQueued(Notification(id: id, channel: "ops", message: "message \(id)", trigger: "enter:detect")))
}

/// The `sqlite3` command-line tool. Tests that need it FAIL when it is missing (install: `apt-get install -y sqlite3`).
enum SQLiteCLI {
    static var executable: String? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") + ["/usr/bin", "/usr/local/bin"]
        for dir in paths {
            let candidate = "\(dir)/sqlite3"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `sql` against the database with the sqlite3 tool and returns its standard output.
    @discardableResult
    static func run(_ database: String, _ sql: String) throws -> String {
        guard let executable else {
            throw Failure(description: "the sqlite3 command-line tool is missing: apt-get install -y sqlite3")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-batch", "-bail", database, sql]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "sqlite3 failed (\(process.terminationStatus)): \(String(decoding: errors, as: UTF8.self))")
        }
        return String(decoding: output, as: UTF8.self)
    }
}
