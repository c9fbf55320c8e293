import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import MusterCore
import MusterJournal
import MusterRuntime

/// `Idempotency-Key` on the routes that change a run (`POST /api/runs`, `POST /api/runs/{id}/commands`): a client
/// that retries after a dropped connection or a dead server sends the same key, and gets the first request's
/// answer instead of a second application. The key is stored in the transaction that wrote the command's events
/// (so any server, after any failover, finds it); keys are per user and kept a day.
///
/// A key sent again with another request (another path or body) is refused with 422 `idempotency-key-reused`;
/// one still being handled in this server, with 409 `conflict`. A command that wrote nothing (refused before the
/// engine, or rejected with no timer due) stores no key: it changed nothing, so its retry is judged afresh.
/// Player actions in a server-driven exercise are keyed the same way (their answer lists events without seqs).
enum IdempotencyKeys {
    static let header = HTTPField.Name("Idempotency-Key")!
    /// Set on an answer given from a stored key.
    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")!
    /// How long keys are kept (pruned by the server holding the timer pump's lease).
    static let retention: TimeSpan = .hours(24)

    /// The request's key, or nil when it sends none; a malformed one is a 400 naming the header.
    static func key(_ request: Request, user: UserRecord, body: [UInt8]) throws -> CommandKey? {
        guard let value = request.headers[header] else { return nil }
        guard CommandKey.isValid(value) else {
            throw APIError.badRequest("header 'Idempotency-Key': 1 to 255 visible ASCII characters (a UUID, say)", field: "Idempotency-Key")
        }
        var hash = SHA256()
        hash.update(data: Array("\(request.method.rawValue) \(request.uri.path)\n".utf8))
        // The body as JSON with sorted keys: a client that serializes the same object again (key order is not
        // stable in every JSON library) sends the same request. Bytes that are not JSON are hashed as they are.
        if let object = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]),
           let canonical = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed]) {
            hash.update(data: canonical)
        } else {
            hash.update(data: body)
        }
        return CommandKey(user: user.name, key: value, requestHash: Tokens.hex(Array(hash.finalize())))
    }

    /// Refuses a stored key that came with another request.
    static func checkSameRequest(_ stored: StoredCommandKey, _ key: CommandKey) throws {
        guard stored.requestHash == key.requestHash else {
            throw APIError(422, "Idempotency-Key '\(key.key)' was used for another request (run \(stored.runID)); use a new key for a new request",
                           code: .idempotencyKeyReused)
        }
    }

    /// The answer a command with this stored key got, rebuilt from the events it wrote: the same events at the
    /// same seqs, accepted or with the same rejection.
    static func commandAnswer(_ state: ServerState, _ stored: StoredCommandKey, command: String) throws -> Response {
        try answer(state, stored, command: command) { EventJSON.object(seq: $0.seq, event: $0.event) }
    }

    /// The answer a keyed player action in an exercise got (the exercise route's shape: events without seqs).
    static func exerciseAnswer(_ state: ServerState, _ stored: StoredCommandKey, command: String) throws -> Response {
        try answer(state, stored, command: command) { API.eventSummary($0.event) }
    }

    private static func answer(_ state: ServerState, _ stored: StoredCommandKey, command: String,
                               event: (StoredEvent) -> [String: Any]) throws -> Response {
        let events = try state.journal.storedEvents(runID: stored.runID, after: stored.sequences.lowerBound - 1)
            .filter { stored.sequences.contains($0.seq) }.map(event)
        var response: Response
        if let rejection = stored.rejection {
            response = API.json(["error": rejection.reason, "status": 409, "code": APIError.Code.rejected.rawValue, "accepted": false,
                                 "rejection": rejection.code, "events": events], status: .conflict)
        } else {
            response = API.json(["accepted": true, "command": command, "events": events])
        }
        response.headers[replayedHeader] = "true"
        return response
    }
}
