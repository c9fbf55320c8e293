import Foundation
import MusterCore
import MusterJournal

/// Any JSON value, with booleans, numbers and strings kept apart.
enum JSONAny {
    case null, bool(Bool), int(Int), number(Double), string(String), array([JSONAny]), object([String: JSONAny])

    /// From the journal's strict reader (`CanonicalJSON.parse`, one reader for the whole project). Nil for a
    /// number no `Double` holds. As `JSONDecoder` did: a number with an exact integer value is an integer (1.0, 1e2).
    init?(_ value: CanonicalJSON.Value) {
        switch value {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .string(let bytes): self = .string(String(decoding: bytes, as: UTF8.self))  // validated UTF-8
        case .number(let digits):
            let text = String(decoding: digits, as: UTF8.self)
            let integral = !digits.contains { $0 == 46 || $0 == 101 || $0 == 69 }  // no . e E
            if integral, let v = Int(text) { self = .int(v); return }
            guard let d = Double(text), d.isFinite else { return nil }
            self = d == d.rounded() && abs(d) < 9.0e15 ? .int(Int(d)) : .number(d)
        case .array(let items):
            var out: [JSONAny] = []
            for item in items {
                guard let v = JSONAny(item) else { return nil }
                out.append(v)
            }
            self = .array(out)
        case .object(let members):
            var out: [String: JSONAny] = [:]
            for (key, member) in members {
                guard let v = JSONAny(member) else { return nil }
                out[String(decoding: key, as: UTF8.self)] = v
            }
            self = .object(out)
        }
    }
}

/// A strictly read JSON object: every key must be one the route knows (an unknown key is a 400 naming it, with a
/// "did you mean"), every value of the expected type.
struct JSONBody {
    let fields: [String: JSONAny]

    init(_ bytes: [UInt8], allowed: Set<String>) throws(APIError) {
        let parsed: CanonicalJSON.Value
        do { parsed = try CanonicalJSON.parse(bytes) } catch { throw .badRequest("the request body is not JSON (\(error))") }
        guard let value = JSONAny(parsed) else { throw .badRequest("the request body is not JSON (a number out of range)") }
        guard case .object(let fields) = value else { throw .badRequest("the request body must be a JSON object") }
        try self.init(fields: fields, allowed: allowed)
    }

    /// Fields already decoded, checked against `allowed` (a body read once, then held to the keys of its kind).
    init(fields: [String: JSONAny], allowed: Set<String>) throws(APIError) {
        for key in fields.keys.sorted() where !allowed.contains(key) {
            var message = "unknown field '\(key)'" + Suggestion.hint(for: key, in: Array(allowed))
            message += "; expected one of: \(allowed.sorted().joined(separator: ", "))"
            throw .badRequest(message, field: key)
        }
        self.fields = fields
    }

    func string(_ key: String) throws(APIError) -> String {
        guard let value = try optionalString(key) else { throw .badRequest("missing field '\(key)'", field: key) }
        return value
    }

    /// A lesson from `kind` (strength or improvement; improvement when absent), `text` and `root_cause`.
    func lesson() throws(APIError) -> Lesson {
        let kindText = try optionalString("kind") ?? "improvement"
        guard let kind = LessonKind(rawValue: kindText) else {
            throw .badRequest("field 'kind': '\(kindText)' is not one of strength, improvement", field: "kind")
        }
        return Lesson(text: try string("text"), kind: kind, rootCause: try optionalString("root_cause"))
    }

    func optionalString(_ key: String) throws(APIError) -> String? {
        switch fields[key] {
        case nil, .null?: return nil
        case .string(let value)?:
            // Not `trimmingCharacters`: it goes through NSString, a measurable cost on every command.
            guard !JSONBody.isBlank(value) else {
                throw .badRequest("field '\(key)' must not be empty", field: key)
            }
            return value
        default: throw .badRequest("field '\(key)' must be a string", field: key)
        }
    }

    /// Empty, or only white space: every scalar has Unicode's `White_Space` property (the set openapi.json spells
    /// out as the `Text` schema's pattern, so a client can check it before sending).
    static func isBlank(_ value: String) -> Bool {
        value.unicodeScalars.allSatisfy { $0.properties.isWhitespace }
    }

    func bool(_ key: String, default value: Bool) throws(APIError) -> Bool {
        switch fields[key] {
        case nil, .null?: return value
        case .bool(let b)?: return b
        default: throw .badRequest("field '\(key)' must be true or false", field: key)
        }
    }

    func optionalInt(_ key: String) throws(APIError) -> Int? {
        switch fields[key] {
        case nil, .null?: return nil
        case .int(let i)?: return i
        default: throw .badRequest("field '\(key)' must be an integer", field: key)
        }
    }
}

/// One command of `POST /api/runs/{id}/commands`, as the API spells it.
struct CommandRequest {
    var action: Command.Action
    var name: String

    static let fieldsByType: [String: Set<String>] = [
        "assign": ["type", "role", "person"],
        "relieve": ["type", "role", "handover"],
        "task-done": ["type", "task", "note"],
        "task-skip": ["type", "task", "reason"],
        "event": ["type", "name"],
        "decide": ["type", "decision", "option", "rationale"],
        "note": ["type", "text"],
        "lesson": ["type", "text", "kind", "root_cause"],
        "close": ["type", "reason"],
        "acknowledge": ["type", "ack"],
        "answer": ["type", "roll_call", "person", "option"],
        "mark-accounted": ["type", "roll_call", "person", "why"],
    ]

    static let allFields = Set(fieldsByType.values.flatMap { $0 })

    static func parse(_ bytes: [UInt8]) throws(APIError) -> CommandRequest {
        let all = allFields
        let loose = try JSONBody(bytes, allowed: all)
        let type = try loose.string("type")
        guard let allowed = fieldsByType[type] else {
            let message = "field 'type': '\(type)' is not a command" + Suggestion.hint(for: type, in: Array(fieldsByType.keys))
            throw .badRequest(message + "; expected one of: \(fieldsByType.keys.sorted().joined(separator: ", "))", field: "type")
        }
        let body = try JSONBody(fields: loose.fields, allowed: allowed)  // decoded once, checked again
        let action: Command.Action
        switch type {
        case "assign": action = .assign(role: try body.string("role"), person: try body.string("person"))
        case "relieve": action = .relieve(role: try body.string("role"), handover: try body.optionalString("handover"))
        case "task-done": action = .completeTask(try body.string("task"), note: try body.optionalString("note"))
        case "task-skip": action = .skipTask(try body.string("task"), reason: try body.optionalString("reason"))
        case "event": action = .raise(try body.string("name"))
        case "decide":
            action = .decide(decision: try body.string("decision"), option: try body.string("option"), rationale: try body.string("rationale"))
        case "note": action = .note(try body.string("text"))
        case "lesson": action = .lesson(try body.lesson())
        case "acknowledge": action = .acknowledge(try body.string("ack"))
        case "answer":
            // Through the API: channel `web` (answer links and chat buttons will record their own channel).
            action = .answer(rollCall: try body.string("roll_call"), person: try body.string("person"), option: try body.string("option"),
                             channel: "web")
        case "mark-accounted":
            action = .markAccounted(rollCall: try body.string("roll_call"), person: try body.string("person"), why: try body.string("why"))
        default: action = .close(reason: try body.optionalString("reason"))
        }
        return CommandRequest(action: action, name: type)
    }
}
