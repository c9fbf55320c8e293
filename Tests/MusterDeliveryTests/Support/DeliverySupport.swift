import Foundation
import MusterCore
import MusterDelivery
import MusterJournal
import MusterNotify
// Exported so that every file of this target (new ones too) sees the receivers, `MusterBinary`,
// `closedPort()` and `selfSignedCertificate(in:)` as it did when they were defined here.
@_exported import MusterTestSupport
import MusterYAML
import Testing

/// Tests that start receivers or the `muster` binary run one at a time (two cores: timing would measure
/// the machine otherwise).
@Suite("Outbox delivery against real receivers on 127.0.0.1", .serialized)
struct RealReceivers {}

struct SupportError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Receivers (MusterTestSupport's, under the names these tests use)

typealias Receiver = ReceiverProcess
typealias HTTPReceiver = HTTPTestReceiver
typealias SMTPSink = SMTPTestSink
typealias Hit = RecordedRequest
typealias Mail = RecordedMail

extension HTTPTestReceiver {
    func hits() throws -> [Hit] { try requests() }
    func hits(_ path: String) throws -> [Hit] { try requests(to: path) }
    /// Waits (bounded) until the receiver has recorded `count` requests.
    func waitForHits(_ count: Int, within seconds: Double = 15) async throws -> [Hit] {
        try await waitForRequests(count, within: seconds)
    }
}

extension SMTPTestSink {
    func mails() throws -> [Mail] { try messages() }
}

// MARK: - Clock

typealias TestClock = ManualClock

extension ManualClock {
    /// The clock as the worker takes it.
    var function: @Sendable () -> Instant { { [self] in now } }
    func advance(_ span: TimeSpan) { advance(by: span) }
    func set(_ instant: Instant) { set(to: instant) }
}

// MARK: - Runs in a journal of their own

/// A journal in a temporary folder, with runs driven through the engine the way the runtime does it: the
/// events of each command and the outbox rows of the notifications they queue, in one append.
final class TestJournal: @unchecked Sendable {
    let home: URL
    let journal: Journal

    init() throws {
        home = FileManager.default.temporaryDirectory.appendingPathComponent("muster-delivery-home-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        journal = try TestDatabase.open(home: home.path, durability: .normal)
    }

    deinit { try? FileManager.default.removeItem(at: home) }

    struct TestRun {
        var id: String
        var run: Run
    }

    func start(_ text: String, id: String = "r-test01", mode: RunMode = .live, title: String = "Portal down", at: Instant) throws -> TestRun {
        let loaded = PlaybookLoader.load(text: text, file: "test.yaml")
        guard let playbook = loaded.playbook, !loaded.hasErrors else {
            throw SupportError("test playbook does not load: \(loaded.diagnostics.map(\.description).joined(separator: "\n"))")
        }
        var run = Run(playbook: playbook)
        guard case .accepted(let events, let effects) = run.execute(Command(actor: "Dana", .start(StartRun(runID: id, mode: mode, title: title))), at: at) else {
            throw SupportError("start refused")
        }
        let header = RunHeader(id: id, playbookID: playbook.id.value, playbookVersion: playbook.version, playbookText: text,
                               mode: mode, title: title, createdAt: at)
        try journal.createRun(header, events: events, outbox: try outbox(effects))
        return TestRun(id: id, run: run)
    }

    func command(_ run: inout TestRun, _ action: Command.Action, as actor: String = "Dana", at: Instant) throws {
        let head = try journal.head(runID: run.id)
        guard case .accepted(let events, let effects) = run.run.execute(Command(actor: actor, action), at: at) else {
            throw SupportError("command refused")
        }
        try journal.append(runID: run.id, expectedSequence: head.sequence, events: events, outbox: try outbox(effects))
    }

    func outbox(_ effects: [Effect]) throws -> [OutboxRequest] {
        try effects.compactMap { effect in
            guard case .sendNotification(let n) = effect else { return nil }
            return try OutboxRequest(n)
        }
    }

    func events(_ runID: String = "r-test01") throws -> [RunEvent] { try journal.events(runID: runID) }
    func items(_ runID: String = "r-test01") throws -> [OutboxItem] { try journal.outbox(runID: runID) }

    /// The delivery events of a run, in order.
    func deliveryEvents(_ runID: String = "r-test01") throws -> [RunEvent.Body] {
        try events(runID).map(\.body).filter {
            switch $0 {
            case .notificationSent, .notificationFailed, .notificationDeadLettered, .notificationSkipped, .notificationRequeued: true
            default: false
            }
        }
    }
}

let t0 = Instant(iso8601: "2026-03-06T17:40:00Z")!

/// A playbook with one channel of each type (settings from the environment) and two notifying states.
/// The variables `sixChannelPlaybook` reads, pointed at the test receivers.
func sixChannelEnvironment(_ http: HTTPReceiver, _ sink: SMTPSink) -> [String: String] {
    [
        "MUSTER_HOOK_URL": http.url("/hook"), "MUSTER_HOOK_SECRET": "hook-signing-secret", "MUSTER_DRILL_URL": http.url("/drill"),
        "MUSTER_SLACK_URL": http.url("/slack"), "MUSTER_TEAMS_URL": http.url("/teams"), "MUSTER_MM_URL": http.url("/mm"),
        "MUSTER_PD_URL": http.url("/pd"), "MUSTER_PD_KEY": "R0UTINGKEY0123456789", "MUSTER_SMTP_URL": sink.url,
    ]
}

let sixChannelPlaybook = """
    muster: 1
    id: delivery-test
    version: 1
    title: Delivery test
    severity: P1
    roles:
      incident_commander: { title: Incident commander }
    channels:
      hook: { type: webhook, url: "${MUSTER_HOOK_URL}", secret: "${MUSTER_HOOK_SECRET}", exercise: drill }
      drill: { type: webhook, url: "${MUSTER_DRILL_URL}" }
      chat: { type: slack, url: "${MUSTER_SLACK_URL}" }
      teams: { type: teams, url: "${MUSTER_TEAMS_URL}" }
      mm: { type: mattermost, url: "${MUSTER_MM_URL}" }
      pager: { type: pagerduty, url: "${MUSTER_PD_URL}", routing_key: "${MUSTER_PD_KEY}", live_only: true }
      mail: { type: email, smtp: "${MUSTER_SMTP_URL}", to: [ops@example.org], from: "Muster <muster@example.org>" }
    start: detect
    states:
      detect:
        title: Detect the outage
        phase: detect
        owner: incident_commander
        on_enter:
          - { notify: hook, message: "Detected: {{run.title}}" }
          - { notify: chat, message: "Chat: {{run.title}} in {{state.title}}" }
          - { notify: teams, message: "Teams: {{run.title}}" }
          - { notify: mm, message: "Mattermost: {{run.title}}" }
          - { notify: pager, message: "Page: {{run.title}}" }
          - { notify: mail, message: "Mail: {{run.title}}" }
        transitions:
          - { on: resolved, to: closed }
      closed:
        title: Closed
        phase: learn
        owner: incident_commander
        terminal: true
        on_enter:
          - { notify: pager, message: "Resolved: {{run.title}}" }
    """

/// A playbook with one webhook channel; `extra` is added to the channel's settings.
func webhookPlaybook(extra: String = "") -> String {
    """
    muster: 1
    id: hook-test
    version: 1
    title: Hook test
    severity: P2
    roles:
      incident_commander: { title: Incident commander }
    channels:
      hook: { type: webhook, url: "${MUSTER_HOOK_URL}"\(extra) }
    start: detect
    states:
      detect:
        phase: detect
        owner: incident_commander
        on_enter:
          - { notify: hook, message: "Detected: {{run.title}}" }
        transitions:
          - { on: resolved, to: closed }
      closed:
        phase: learn
        owner: incident_commander
        terminal: true
    """
}

func worker(_ journal: TestJournal, environment: [String: String], clock: TestClock, policy: RetryPolicy = .standard) -> OutboxWorker {
    OutboxWorker(journal: journal.journal, transport: CurlTransport(), environment: environment, policy: policy, clock: clock.function)
}
