import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MusterCore
import MusterJournal
import MusterRuntime
import MusterServer
import NIOCore

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
         pumpInterval: Duration? = nil) throws {
        folder = (NSTemporaryDirectory() as NSString).appendingPathComponent("muster-server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let journal = try Journal.open(home: folder, durability: .normal)
        let runtime = clock.map { IncidentRuntime(journal: journal, clock: $0) } ?? IncidentRuntime(journal: journal)
        var configuration = ServerConfiguration(
            host: "127.0.0.1", port: 0, playbooksFolder: playbooks ?? repositoryRoot + "/playbooks", exercisesFolder: repositoryRoot + "/exercises",
            streamPollInterval: poll, failedLoginLimit: failedLoginLimit)
        if let pumpInterval { configuration.pumpInterval = pumpInterval }
        state = ServerState(runtime: runtime, configuration: configuration)
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
}

struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
