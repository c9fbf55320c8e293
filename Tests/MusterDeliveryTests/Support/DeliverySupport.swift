import Foundation
import MusterCore
import MusterDelivery
import MusterJournal
import MusterNotify
import MusterTestSupport
import MusterYAML
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Tests that start receivers or the `muster` binary run one at a time (two cores: timing would measure
/// the machine otherwise).
@Suite("Outbox delivery against real receivers on 127.0.0.1", .serialized)
struct RealReceivers {}

struct SupportError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Receivers (the scripts of MusterNotifyTests)

final class Receiver: @unchecked Sendable {
    let process: Process
    let port: Int
    let directory: URL
    let recordFile: URL
    private let stderrFile: URL

    static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("MusterNotifyTests/Receivers")

    init(script: String, config: [String: Any]) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("muster-delivery-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let portFile = directory.appendingPathComponent("port")
        recordFile = directory.appendingPathComponent("records.jsonl")
        stderrFile = directory.appendingPathComponent("stderr.txt")
        _ = FileManager.default.createFile(atPath: stderrFile.path, contents: nil)
        let configText = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.scripts.appendingPathComponent(script).path, configText, portFile.path, recordFile.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: stderrFile)
        try process.run()
        let deadline = Date().addingTimeInterval(15)
        var port: Int?
        while Date() < deadline {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let value = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                port = value
                break
            }
            if !process.isRunning { break }
            try await _Concurrency.Task.sleep(for: .milliseconds(20))
        }
        guard let port else {
            let errors = (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? ""
            Self.stop(process)
            throw SupportError("\(script) did not start within 15 s (python3 and aiosmtpd come from .ci/run): \(errors)")
        }
        self.port = port
    }

    deinit { stop() }

    func stop() {
        Self.stop(process)
    }

    static func stop(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        let hard = Date().addingTimeInterval(2)
        while process.isRunning, Date() < hard { usleep(10_000) }
    }

    func records<T: Decodable>(as type: T.Type) throws -> [T] {
        let text = (try? String(contentsOf: recordFile, encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map { try JSONDecoder().decode(T.self, from: Data($0.utf8)) }
    }
}

struct Hit: Decodable, Sendable {
    var seq: Int
    var method: String
    var path: String
    var headers: [String: String]
    var body: String
    var attempt: Int
    var client_port: Int

    func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
            throw SupportError("body is not a JSON object: \(body)")
        }
        return object
    }
}

struct Mail: Decodable, Sendable {
    var mail_from: String
    var rcpt_tos: [String]
    var headers: [String: String]
    var body: String
}

final class HTTPReceiver: @unchecked Sendable {
    let receiver: Receiver
    var port: Int { receiver.port }

    init(routes: [String: [String: Any]] = [:], port: Int = 0) async throws {
        receiver = try await Receiver(script: "http_receiver.py", config: ["routes": routes, "lifetime": 180, "port": port])
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }
    func hits() throws -> [Hit] { try receiver.records(as: Hit.self).sorted { $0.seq < $1.seq } }
    func hits(_ path: String) throws -> [Hit] { try hits().filter { $0.path == path } }
    func stop() { receiver.stop() }

    /// Waits (bounded) until the receiver has recorded `count` requests.
    func waitForHits(_ count: Int, within seconds: Double = 15) async throws -> [Hit] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let all = try hits()
            if all.count >= count { return all }
            try await _Concurrency.Task.sleep(for: .milliseconds(25))
        }
        throw SupportError("the receiver got \(try hits().count) requests in \(seconds) s, expected \(count)")
    }
}

final class SMTPSink: @unchecked Sendable {
    let receiver: Receiver
    init(config: [String: Any] = [:]) async throws {
        receiver = try await Receiver(script: "smtp_sink.py", config: config.merging(["lifetime": 180]) { a, _ in a })
    }
    var url: String { "smtp://127.0.0.1:\(receiver.port)" }
    func mails() throws -> [Mail] { try receiver.records(as: Mail.self) }
}

/// A port on 127.0.0.1 where nothing listens now.
func closedPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw SupportError("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    guard bound == 0 else { throw SupportError("bind() failed") }
    let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    guard named == 0 else { throw SupportError("getsockname() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
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
        journal = try Journal.open(home: home.path, durability: .normal)
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
let sixChannelPlaybook = """
    muster: 1
    id: delivery-test
    version: 1
    title: Delivery test
    severity: P1
    roles:
      incident_commander: { title: Incident commander }
    channels:
      hook: { type: webhook, url: "${HOOK_URL}", secret: "${HOOK_SECRET}", exercise: drill }
      drill: { type: webhook, url: "${DRILL_URL}" }
      chat: { type: slack, url: "${SLACK_URL}" }
      teams: { type: teams, url: "${TEAMS_URL}" }
      mm: { type: mattermost, url: "${MM_URL}" }
      pager: { type: pagerduty, url: "${PD_URL}", routing_key: "${PD_KEY}", live_only: true }
      mail: { type: email, smtp: "${SMTP_URL}", to: [ops@example.org], from: "Muster <muster@example.org>" }
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
      hook: { type: webhook, url: "${HOOK_URL}"\(extra) }
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

// MARK: - The muster binary

enum MusterBinary {
    static var url: URL {
        Bundle.main.bundleURL.appendingPathComponent("muster")
    }

    /// Starts `muster ARGS` with the given environment added; output to files in `scratch`.
    static func start(_ arguments: [String], environment: [String: String], scratch: URL) throws -> (Process, URL, URL) {
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw SupportError("the muster binary is not at \(url.path); run `swift build --build-tests` first")
        }
        let outURL = scratch.appendingPathComponent("stdout-\(UUID().uuidString)")
        let errURL = scratch.appendingPathComponent("stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        process.currentDirectoryURL = scratch
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return (process, outURL, errURL)
    }

    /// Runs `muster ARGS` to the end (bounded: killed after `timeout` seconds).
    static func run(_ arguments: [String], environment: [String: String], scratch: URL, timeout: Double = 60) throws -> (status: Int32, stdout: String, stderr: String) {
        let (process, outURL, errURL) = try start(arguments, environment: environment, scratch: scratch)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw SupportError("muster \(arguments.joined(separator: " ")) did not finish within \(timeout) s")
        }
        process.waitUntilExit()
        return (process.terminationStatus,
                String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
                String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }
}
