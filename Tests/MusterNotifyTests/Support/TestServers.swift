import Foundation
import MusterCore
import MusterNotify
// Exported so that every file of this target (new ones too) sees the receivers, `closedPort()` and
// `selfSignedCertificate(in:)` as it did when they were defined here.
@_exported import MusterTestSupport
import Testing

/// The tests that start real servers run one at a time: on two cores, dozens of Python receivers at once
/// would make the timing checks (timeouts, concurrency) measure the machine instead of the transport.
@Suite("MusterNotify against real servers on 127.0.0.1", .serialized)
struct RealServers {}

/// Why a test could not go on (a receiver that got nothing, a request of the wrong kind).
struct TestServerError: Error, CustomStringConvertible {
    var description: String
}

/// The receivers are `MusterTestSupport`'s (shared with the delivery and server tests); these names are the
/// ones this target's tests use.
typealias HTTPReceiver = HTTPTestReceiver
typealias SMTPSink = SMTPTestSink

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("muster-notify-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

// MARK: - Playbook fixtures

let here = SourceLocation(file: "playbooks/test.yaml", line: 1, column: 1)

func channel(_ id: String, _ type: ChannelType, _ settings: [String: ChannelValue] = [:], exercise: String? = nil, liveOnly: Bool = false) -> Channel {
    Channel(
        id: Located(id, at: here), type: Located(type, at: here),
        settings: settings.mapValues { Located($0, at: here) },
        exerciseOverride: exercise.map { Located($0, at: here) }, liveOnly: liveOnly)
}

func context(mode: RunMode = .live, severity: Severity = .p1, link: String? = "https://muster.example/runs/run-7", action: AlertAction = .trigger) -> NotificationContext {
    NotificationContext(
        runID: "run-7", runTitle: "Ransomware on the finance shares", playbookID: "ransomware-file-servers",
        playbookTitle: "Ransomware on file servers", state: "contain", stateTitle: "Contain the spread", mode: mode,
        severity: severity, event: "confirmed", time: Instant(iso8601: "2026-03-06T17:40:00Z")!, link: link, alertAction: action)
}

let sampleNotification = Notification(id: "n3", channel: "ops", message: "Containment started: isolate the file servers", trigger: "enter:contain")
