import Foundation
import MusterCore
import MusterReports
import MusterYAML

/// A small playbook with every phase the metrics need, two services and one channel.
let loopPlaybookText = """
    muster: 1
    id: loop-test
    version: 2
    title: Loop test
    services:
      shares: { title: File shares, rto: 4h, rpo: 1h, mtpd: 24h }
      identity: { rto: 2h, mtpd: 8h }
    roles:
      incident_commander: Incident commander
      comms: Communications lead
    channels:
      bridge: { type: webhook, url: "https://example.com/hook" }
    start: triage
    timers:
      - { id: rto-warning, at: services.shares.rto - 2h40m, notify: bridge, message: "RTO soon" }
    states:
      triage:
        phase: [detect, assess]
        marks: [detected]
        transitions: [{ on: confirmed, to: contain }]
      contain:
        phase: respond
        marks: [declared, contained]
        on_enter: [{ notify: bridge, message: "Contain" }]
        decision: { id: go, question: Recover now?, by: incident_commander, options: { yes: recover, no: triage }, deadline: 1h, default: yes }
        transitions: [{ on: lost, to: triage }]
      recover:
        phase: recover
        marks: [recovered]
        transitions: [{ on: done, to: closed }]
      closed: { phase: learn, marks: [closed], terminal: true }

    """

func loadPlaybook(_ text: String = loopPlaybookText) -> Playbook {
    let loaded = PlaybookLoader.load(text: text, file: "test.yaml")
    guard let playbook = loaded.playbook, !loaded.hasErrors else {
        fatalError("test playbook does not load: \(loaded.diagnostics.map(\.description))")
    }
    return playbook
}

let t0 = Instant(iso8601: "2026-03-06T17:40:00Z")!

func at(_ offset: String) -> Instant {
    offset.hasPrefix("-") ? t0 - TimeSpan(parsing: String(offset.dropFirst()))! : t0 + (offset == "0" ? .zero : TimeSpan(parsing: offset)!)
}

func ev(_ offset: String, _ actor: String, role: String?, _ body: RunEvent.Body) -> RunEvent {
    RunEvent(at: at(offset), actor: actor, role: role, body)
}

func ev(_ offset: String, role: String?, _ body: RunEvent.Body) -> RunEvent {
    RunEvent(at: at(offset), actor: "Dana", role: role, body)
}

func ev(_ offset: String, _ body: RunEvent.Body) -> RunEvent {
    RunEvent(at: at(offset), actor: "Dana", role: "incident_commander", body)
}

func started(disruption: String) -> RunEvent.Body {
    .runStarted(RunStarted(runID: "r-100001", playbookID: "loop-test", playbookVersion: 2, mode: .live,
                           title: "Shares encrypted", severity: .p1, disruptionStart: at(disruption)))
}

/// Loops back from respond to detect, recovers, closes, then records a hot-wash lesson.
let loopTimeline: [RunEvent] = [
    ev("0", role: nil, started(disruption: "-20m")),
    ev("0", role: nil, .roleAssigned(role: "incident_commander", person: "Dana")),
    ev("0", .stateEntered(state: "triage", from: nil, cause: .start)),
    ev("0", .markSet(.detected)),
    ev("5m", .roleAssigned(role: "comms", person: "Sam")),
    ev("10m", .eventRaised(name: "confirmed")),
    ev("10m", .stateEntered(state: "contain", from: "triage", cause: .event("confirmed"))),
    ev("10m", .markSet(.declared)),
    ev("10m", .markSet(.contained)),
    ev("10m", "muster", role: nil, .notificationQueued(Notification(id: "n1", channel: "bridge", message: "Contain", trigger: "enter:contain"))),
    ev("40m", .eventRaised(name: "lost")),
    ev("40m", .stateEntered(state: "triage", from: "contain", cause: .event("lost"))),
    ev("1h", .stateEntered(state: "contain", from: "triage", cause: .event("confirmed"))),
    ev("1h", "muster", role: nil, .notificationQueued(Notification(id: "n2", channel: "bridge", message: "Contain", trigger: "enter:contain"))),
    ev("1h30m", "muster", role: nil, .timerFired(key: TimerKey(id: "rto-warning", instance: 1), due: at("1h20m"), lateBy: .minutes(10))),
    ev("1h30m", "muster", role: nil, .notificationQueued(Notification(id: "n3", channel: "bridge", message: "RTO soon", trigger: "timer:rto-warning"))),
    ev("1h45m", .roleRelieved(role: "comms", person: "Sam", handover: "Kim takes the press line")),
    ev("1h45m", .roleAssigned(role: "comms", person: "Kim")),
    ev("2h", "muster", role: nil, .timerFired(key: TimerKey(id: "deadline:go", instance: 2), due: at("2h"), lateBy: .zero)),
    ev("2h", "muster", role: nil, .decisionMade(decision: "go", option: "yes", rationale: "deadline passed: default option", byDefault: true)),
    ev("2h", "muster", role: nil, .stateEntered(state: "recover", from: "contain", cause: .decision(id: "go", option: "yes"))),
    ev("3h", .markSet(.recovered)),
    ev("3h30m", .noteAdded(text: "Restored from the 16:35 snapshot\ndata-loss: shares 45m.")),
    ev("5h", .stateEntered(state: "closed", from: "recover", cause: .event("done"))),
    ev("5h", .markSet(.closed)),
    ev("5h10m", .runClosed(reason: "Restored and verified")),
    ev("6h", .lessonRecorded(Lesson(text: "Backups took too long to find", kind: .improvement, rootCause: "documentation"))),
]

/// Never recovers: still containing at the last event.
let openTimeline: [RunEvent] = [
    ev("0", role: nil, started(disruption: "-1h")),
    ev("0", role: nil, .roleAssigned(role: "incident_commander", person: "Dana")),
    ev("0", .stateEntered(state: "triage", from: nil, cause: .start)),
    ev("0", .markSet(.detected)),
    ev("30m", .stateEntered(state: "contain", from: "triage", cause: .event("confirmed"))),
    ev("30m", .markSet(.declared)),
    ev("30m", .markSet(.contained)),
    ev("2h30m", .noteAdded(text: "Still encrypting")),
]

func numbered(_ events: [RunEvent]) -> [ReportEvent] {
    events.enumerated().map { ReportEvent(seq: $0.offset + 1, event: $0.element) }
}

func makeReport(_ events: [RunEvent], intact: Bool = true, mode: RunMode = .live) -> RunReport {
    RunReport(
        run: ReportRun(id: "r-100001", title: "Shares encrypted", playbookID: "loop-test", playbookVersion: 2,
                       playbookSHA256: String(repeating: "ab", count: 32), mode: mode, createdAt: t0),
        playbook: loadPlaybook(), events: numbered(events),
        integrity: ReportIntegrity(headHash: String(repeating: "cd", count: 32), eventCount: events.count, intact: intact,
                                   problem: intact ? nil : "run r-100001: chain broken at event 7: hash mismatch: the row was altered",
                                   checkedAt: at("7h")),
        generatedAt: at("7h"))
}

/// Runs `python3` with a script on stdin and the given arguments; returns (status, stdout+stderr).
func python(_ script: String, _ arguments: [String] = []) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

func temporaryFile(_ name: String, _ text: String) throws -> String {
    let folder = NSTemporaryDirectory() + "muster-reports-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let path = folder + "/" + name
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}
