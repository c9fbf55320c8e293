import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MusterCore
import MusterJournal
import MusterRuntime
import MusterServer
import MusterTestSupport
import NIOCore
import Testing

/// The repository's root, from this file's path.
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// A server on a fresh journal with four users: Dana (admin), Lee, Sam, Olga. Tokens by name.
final class ServerFixture: @unchecked Sendable {
    let folder: String
    let state: ServerState
    var tokens: [String: String] = [:]

    /// `playbooks`: a folder for `POST /api/runs` other than the repository's `playbooks/`.
    /// `clock`: a fixed clock, for answers that print the time (compared with the CLI's under `MUSTER_NOW`).
    /// `pumpInterval`: how often the timer pump brings runs up to the clock (the server's default otherwise).
    init(failedLoginLimit: Int = 10, poll: Duration = .milliseconds(200), playbooks: String? = nil, clock: (any MusterRuntime.Clock)? = nil,
         pumpInterval: Duration? = nil, logger: Logger? = nil, backend: TestBackend = .selected, journal given: Journal? = nil,
         configure: (inout ServerConfiguration) -> Void = { _ in }) throws {
        folder = (NSTemporaryDirectory() as NSString).appendingPathComponent("muster-server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let journal = try given ?? TestDatabase.open(home: folder, backend: backend, durability: .normal)
        let runtime = clock.map { IncidentRuntime(journal: journal, clock: $0) } ?? IncidentRuntime(journal: journal)
        var configuration = ServerConfiguration(
            host: "127.0.0.1", port: 0, playbooksFolder: playbooks ?? repositoryRoot + "/playbooks", exercisesFolder: repositoryRoot + "/exercises",
            streamPollInterval: poll, failedLoginLimit: failedLoginLimit)
        if let pumpInterval { configuration.pumpInterval = pumpInterval }
        // A test client's keep-alive connection may sit idle while the whole suite runs on two cores: the server
        // must not close it under the test (the tests of these timeouts set their own).
        configuration.requestHeadTimeout = .seconds(120)
        configuration.idleTimeout = .seconds(120)
        configure(&configuration)
        state = logger.map { ServerState(runtime: runtime, configuration: configuration, logger: $0) } ?? ServerState(runtime: runtime, configuration: configuration)
        for (name, admin) in [("Dana", true), ("Lee", false), ("Sam", false), ("Olga", false)] {
            let token = Tokens.make()
            try runtime.journal.addUser(name: name, tokenSHA256: Tokens.sha256(token), admin: admin, at: runtime.clock.now)
            tokens[name] = token
        }
    }

    var app: some ApplicationProtocol { buildApplication(state: state) }

    func headers(_ name: String?) -> HTTPFields {
        var h = HTTPFields()
        if let name { h[.authorization] = "Bearer \(tokens[name] ?? name)" }
        h[.contentType] = "application/json"
        return h
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }
}

extension TestClientProtocol {
    /// A JSON request as `who`; returns status and the parsed body (an empty object for non-JSON).
    @discardableResult
    func call(_ fixture: ServerFixture, _ who: String?, _ method: HTTPRequest.Method, _ uri: String, _ body: Any? = nil,
              raw: String? = nil) async throws -> (status: Int, json: [String: Any], text: String) {
        var buffer: ByteBuffer?
        if let raw { buffer = ByteBuffer(string: raw) }
        else if let body { buffer = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)) }
        return try await execute(uri: uri, method: method, headers: fixture.headers(who), body: buffer) { response in
            let text = String(buffer: response.body)
            let json = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
            return (Int(response.status.code), json, text)
        }
    }

    /// Declares a ransomware run as Dana and assigns it_ops to Lee and comms to Sam; returns the run id.
    func declareRun(_ fixture: ServerFixture, restricted: Bool = false) async throws -> String {
        let r = try await call(fixture, "Dana", .post, "/api/runs", ["playbook": "ransomware-file-servers", "title": "Finance shares encrypted",
                                                                   "restricted": restricted, "disruption_started": "20m"])
        guard r.status == 201, let id = r.json["id"] as? String else { throw Failure("declare answered \(r.status): \(r.text)") }
        for (role, person) in [("it_ops", "Lee"), ("comms", "Sam")] {
            let a = try await call(fixture, "Dana", .post, "/api/runs/\(id)/commands", ["type": "assign", "role": role, "person": person])
            guard a.status == 200 else { throw Failure("assign answered \(a.status): \(a.text)") }
        }
        return id
    }

    /// Declares a run (`declareRun`), records a lesson on it as Sam, and returns the lesson's id (`RUN/SEQ`).
    func recordLesson(_ fixture: ServerFixture, _ text: String = "The contact list was out of date") async throws -> String {
        let id = try await declareRun(fixture)
        let r = try await call(fixture, "Sam", .post, "/api/runs/\(id)/commands", ["type": "lesson", "text": text])
        guard r.status == 200 else { throw Failure("lesson answered \(r.status): \(r.text)") }
        return "\(id)/\(try fixture.state.journal.head(runID: id).sequence)"
    }
}

/// Polls `condition` every 50 ms until it holds or `seconds` pass; whether it held.
@discardableResult
func waitUntil(within seconds: Double = 10, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline, !_Concurrency.Task.isCancelled {
        if try await condition() { return true }
        try? await _Concurrency.Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}

/// A `hook-test` run on a live server with the outbox worker inside it: Dana declared "Portal down" and raised
/// `confirmed`, whose state notifies the `hook` webhook, and the receiver has had its first request.
struct HookedRun: Sendable {
    /// One webhook channel, `hook` (`MUSTER_HOOK_URL`), notified on entering `contain` with "Containing: {{run.title}}".
    static let playbook = """
        muster: 1
        id: hook-test
        version: 1
        title: Hook test
        severity: P2
        roles:
          incident_commander: { title: Incident commander }
        channels:
          hook: { type: webhook, url: "${MUSTER_HOOK_URL}" }
        start: detect
        states:
          detect:
            phase: detect
            owner: incident_commander
            transitions:
              - { on: confirmed, to: contain }
          contain:
            phase: respond
            owner: incident_commander
            on_enter:
              - { notify: hook, message: "Containing: {{run.title}}" }
            transitions:
              - { on: resolved, to: closed }
          closed:
            phase: learn
            owner: incident_commander
            terminal: true
        """

    let fixture: ServerFixture
    let client: any TestClientProtocol
    let receiver: HTTPTestReceiver
    /// The run's id.
    let id: String
    /// The types of the events the raise of `confirmed` answered.
    let raised: [String]
    /// The receiver's requests once it had the first.
    let firstRequests: [RecordedRequest]

    /// Writes the playbook to a folder of its own, starts a receiver answering as `routes` say and a server whose
    /// outbox worker posts to the receiver's `/hook` + `query` (idle check every `idleCheck`), declares and raises
    /// (a refusal throws), waits (10 s at most) for the first request and runs `body` on that server.
    static func run(routes: [String: [String: Any]] = [:], query: String = "", idleCheck: Duration,
                    _ body: @Sendable (HookedRun) async throws -> Void) async throws {
        let playbooks = (NSTemporaryDirectory() as NSString).appendingPathComponent("muster-server-playbooks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: playbooks, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: playbooks) }
        try playbook.write(toFile: playbooks + "/hook-test.yaml", atomically: true, encoding: .utf8)
        let receiver = try await HTTPTestReceiver(routes: routes)
        defer { receiver.stop() }
        let f = try ServerFixture(playbooks: playbooks)
        let hook = OutboxWorkerHook(environment: ["MUSTER_HOOK_URL": "http://127.0.0.1:\(receiver.port)/hook\(query)"], idleCheck: idleCheck)
        try await buildApplication(state: f.state, extraServices: hook.services(for: f.state)).test(.live) { client async throws in
            let declared = try await client.call(f, "Dana", .post, "/api/runs", ["playbook": "hook-test", "title": "Portal down"])
            guard declared.status == 201, let id = declared.json["id"] as? String else { throw Failure("declare answered \(declared.status): \(declared.text)") }
            let raised = try await client.call(f, "Dana", .post, "/api/runs/\(id)/commands", ["type": "event", "name": "confirmed"])
            guard raised.status == 200 else { throw Failure("raise answered \(raised.status): \(raised.text)") }
            let types = (raised.json["events"] as? [[String: Any]] ?? []).compactMap { $0["type"] as? String }
            let first = try await receiver.waitForRequests(1, within: 10)
            try await body(HookedRun(fixture: f, client: client, receiver: receiver, id: id, raised: types, firstRequests: first))
        }
    }
}

struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension StreamControl {
    /// Waits until a stream of the run is open and has been handed every event through `seq` (any seq when nil):
    /// tests stop streams on the stream's progress, not after a guessed time. Bounded: 60 s, then it fails.
    static func waitForStream(_ state: ServerState, runID: String, through seq: Int? = nil,
                              sourceLocation: Testing.SourceLocation = #_sourceLocation) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let delivered = deliveredThrough(state, runID: runID), delivered >= (seq ?? delivered) { return }
            try await _Concurrency.Task.sleep(for: .milliseconds(20))
        }
        Issue.record("the stream of \(runID) did not reach seq \(seq.map(String.init) ?? "open") in 60 s", sourceLocation: sourceLocation)
    }
}
