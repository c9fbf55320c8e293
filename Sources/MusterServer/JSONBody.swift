import Foundation
import MusterCore

/// A refusal at the HTTP edge: status and one message a person can act on (and, for bad input, the field).
public struct APIError: Error, Sendable, Hashable {
    public var status: Int
    public var message: String
    public var field: String?

    public init(_ status: Int, _ message: String, field: String? = nil) {
        self.status = status
        self.message = message
        self.field = field
    }

    static func badRequest(_ message: String, field: String? = nil) -> APIError { APIError(400, message, field: field) }
    static func notFound(_ message: String) -> APIError { APIError(404, message) }
}

/// Any JSON value, decoded so that booleans, numbers and strings stay apart.
enum JSONAny: Decodable {
    case null, bool(Bool), int(Int), number(Double), string(String), array([JSONAny]), object([String: JSONAny])

    /// Each failed `try?` costs a thrown error: the likeliest kinds (strings, then the body's object) come first.
    /// The kinds do not overlap (the decoder never reads a number as a string or a bool), so order only costs time.
    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let v = try? c.decode(String.self) { self = .string(v) }
        else if let v = try? c.decode([String: JSONAny].self) { self = .object(v) }
        else if let v = try? c.decode(Bool.self) { self = .bool(v) }
        else if let v = try? c.decode(Int.self) { self = .int(v) }
        else if let v = try? c.decode(Double.self) { self = .number(v) }
        else { self = .array(try c.decode([JSONAny].self)) }
    }
}

extension JSONAny {
    /// A strict RFC 8259 reader for request bodies (small, and far cheaper per request than `JSONDecoder` into
    /// this enum, which tries each kind in turn and throws for every miss). Nil for anything that is not exactly
    /// one JSON value with optional whitespace around it. Nesting is limited to 64 levels.
    struct Parser {
        let bytes: [UInt8]
        var i = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func document() -> JSONAny? {
            guard let v = value(depth: 0) else { return nil }
            space()
            return i == bytes.count ? v : nil
        }

        private mutating func space() {
            while i < bytes.count, [32, 9, 10, 13].contains(bytes[i]) { i += 1 }
        }

        private mutating func literal(_ word: String, _ v: JSONAny) -> JSONAny? {
            let w = Array(word.utf8)
            guard bytes.count - i >= w.count, Array(bytes[i..<(i + w.count)]) == w else { return nil }
            i += w.count
            return v
        }

        private mutating func value(depth: Int) -> JSONAny? {
            space()
            guard i < bytes.count, depth < 64 else { return nil }
            switch bytes[i] {
            case 123: return object(depth: depth)                      // {
            case 91: return array(depth: depth)                        // [
            case 34: return string().map(JSONAny.string)               // "
            case 116: return literal("true", .bool(true))
            case 102: return literal("false", .bool(false))
            case 110: return literal("null", .null)
            default: return number()
            }
        }

        private mutating func object(depth: Int) -> JSONAny? {
            i += 1
            var fields: [String: JSONAny] = [:]
            space()
            if i < bytes.count, bytes[i] == 125 { i += 1; return .object(fields) }
            while true {
                space()
                guard i < bytes.count, bytes[i] == 34, let key = string() else { return nil }
                space()
                guard i < bytes.count, bytes[i] == 58 else { return nil }  // :
                i += 1
                guard let v = value(depth: depth + 1) else { return nil }
                fields[key] = v
                space()
                guard i < bytes.count else { return nil }
                if bytes[i] == 44 { i += 1; continue }                    // ,
                if bytes[i] == 125 { i += 1; return .object(fields) }     // }
                return nil
            }
        }

        private mutating func array(depth: Int) -> JSONAny? {
            i += 1
            var items: [JSONAny] = []
            space()
            if i < bytes.count, bytes[i] == 93 { i += 1; return .array(items) }
            while true {
                guard let v = value(depth: depth + 1) else { return nil }
                items.append(v)
                space()
                guard i < bytes.count else { return nil }
                if bytes[i] == 44 { i += 1; continue }
                if bytes[i] == 93 { i += 1; return .array(items) }
                return nil
            }
        }

        private mutating func hex4() -> UInt32? {
            guard bytes.count - i >= 4 else { return nil }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let b = bytes[i]
                let d: UInt32
                switch b {
                case 48...57: d = UInt32(b - 48)
                case 97...102: d = UInt32(b - 87)
                case 65...70: d = UInt32(b - 55)
                default: return nil
                }
                v = v * 16 + d
                i += 1
            }
            return v
        }

        /// At the opening quote; the string's text (escapes resolved), or nil when malformed.
        private mutating func string() -> String? {
            i += 1
            var out: [UInt8] = []
            while i < bytes.count {
                let b = bytes[i]
                i += 1
                switch b {
                case 34: return String(validating: out, as: UTF8.self)
                case 0..<32: return nil
                case 92:
                    guard i < bytes.count else { return nil }
                    let e = bytes[i]
                    i += 1
                    switch e {
                    case 34, 92, 47: out.append(e)
                    case 98: out.append(8)
                    case 102: out.append(12)
                    case 110: out.append(10)
                    case 114: out.append(13)
                    case 116: out.append(9)
                    case 117:
                        guard var code = hex4() else { return nil }
                        if (0xD800...0xDBFF).contains(code) {  // a surrogate pair
                            guard bytes.count - i >= 6, bytes[i] == 92, bytes[i + 1] == 117 else { return nil }
                            i += 2
                            guard let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(code) else { return nil }
                        out.append(contentsOf: Array(String(Character(scalar)).utf8))
                    default: return nil
                    }
                default: out.append(b)
                }
            }
            return nil
        }

        private mutating func number() -> JSONAny? {
            let start = i
            if i < bytes.count, bytes[i] == 45 { i += 1 }                                   // -
            guard i < bytes.count, (48...57).contains(bytes[i]) else { return nil }
            if bytes[i] == 48 { i += 1 } else { while i < bytes.count, (48...57).contains(bytes[i]) { i += 1 } }
            var integral = true
            if i < bytes.count, bytes[i] == 46 {                                             // .
                integral = false
                i += 1
                guard i < bytes.count, (48...57).contains(bytes[i]) else { return nil }
                while i < bytes.count, (48...57).contains(bytes[i]) { i += 1 }
            }
            if i < bytes.count, bytes[i] == 101 || bytes[i] == 69 {                          // e E
                integral = false
                i += 1
                if i < bytes.count, bytes[i] == 43 || bytes[i] == 45 { i += 1 }
                guard i < bytes.count, (48...57).contains(bytes[i]) else { return nil }
                while i < bytes.count, (48...57).contains(bytes[i]) { i += 1 }
            }
            let text = String(decoding: bytes[start..<i], as: UTF8.self)
            if integral, let v = Int(text) { return .int(v) }
            guard let d = Double(text), d.isFinite else { return nil }
            // As JSONDecoder did: a number with an exact integer value is an integer (1.0, 1e2).
            if d == d.rounded(), abs(d) < 9.0e15 { return .int(Int(d)) }
            return .number(d)
        }
    }
}

/// A strictly read JSON object: every key must be one the route knows (an unknown key is a 400 naming it, with a
/// "did you mean"), every value of the expected type.
struct JSONBody {
    let fields: [String: JSONAny]

    init(_ bytes: [UInt8], allowed: Set<String>) throws(APIError) {
        var parser = JSONAny.Parser(bytes: bytes)
        guard let value = parser.document() else { throw .badRequest("the request body is not JSON") }
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

    func optionalString(_ key: String) throws(APIError) -> String? {
        switch fields[key] {
        case nil, .null?: return nil
        case .string(let value)?:
            // Not `trimmingCharacters`: it goes through NSString, a measurable cost on every command.
            guard !value.unicodeScalars.allSatisfy({ CharacterSet.whitespacesAndNewlines.contains($0) }) else {
                throw .badRequest("field '\(key)' must not be empty", field: key)
            }
            return value
        default: throw .badRequest("field '\(key)' must be a string", field: key)
        }
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
        case "lesson":
            let kindText = try body.optionalString("kind") ?? "improvement"
            guard let kind = LessonKind(rawValue: kindText) else {
                throw .badRequest("field 'kind': '\(kindText)' is not one of strength, improvement", field: "kind")
            }
            action = .lesson(Lesson(text: try body.string("text"), kind: kind, rootCause: try body.optionalString("root_cause")))
        default: action = .close(reason: try body.optionalString("reason"))
        }
        return CommandRequest(action: action, name: type)
    }

    /// The permission question this command asks, given the run's playbook.
    static func permissionAction(_ action: Command.Action, playbook: Playbook) -> RunAction {
        switch action {
        case .assign: return .assign
        case .relieve: return .relieve
        case .close: return .close
        case .note: return .note
        case .lesson: return .lesson
        case .raise: return .raiseEvent
        case .completeTask(let task, _), .skipTask(let task, _):
            for state in playbook.states {
                if let found = state.tasks.first(where: { $0.id.value == task }) { return .task(role: found.role.value) }
            }
            return .task(role: nil)
        case .decide(let decision, _, _):
            for state in playbook.states {
                if let found = state.decision, found.id.value == decision { return .decide(role: found.by.value) }
            }
            return .decide(role: nil)
        case .start, .fireTimer:
            return .close
        }
    }
}
