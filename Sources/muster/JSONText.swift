import ArgumentParser
import MusterRuntime

/// `--format text|json` of the list commands: text for people, JSON (an array of objects) for scripts.
enum ListFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

struct ListFormatOption: ParsableArguments {
    @Option(help: "text or json.") var format: ListFormat = .text
}

/// A small JSON writer whose output is byte-for-byte stable: keys stay in the order given.
enum JSONValue {
    case string(String)
    case int(Int)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])

    static func optional(_ text: String?) -> JSONValue { text.map { .string($0) } ?? .null }

    /// Objects and arrays on several lines, indented by two spaces; objects of scalars on one line.
    func rendered(indent: Int = 0) -> String {
        let pad = String(repeating: " ", count: indent)
        let inner = String(repeating: " ", count: indent + 2)
        switch self {
        case .string(let text): return JSONValue.quote(text)
        case .int(let value): return String(value)
        case .bool(let value): return value ? "true" : "false"
        case .null: return "null"
        case .array(let items):
            if items.isEmpty { return "[]" }
            return "[\n" + items.map { inner + $0.rendered(indent: indent + 2) }.joined(separator: ",\n") + "\n\(pad)]"
        case .object(let members):
            if members.isEmpty { return "{}" }
            if members.allSatisfy({ $0.1.isScalar }) {
                return "{" + members.map { "\(JSONValue.quote($0.0)): \($0.1.rendered())" }.joined(separator: ", ") + "}"
            }
            return "{\n" + members.map { "\(inner)\(JSONValue.quote($0.0)): \($0.1.rendered(indent: indent + 2))" }
                .joined(separator: ",\n") + "\n\(pad)}"
        }
    }

    private var isScalar: Bool {
        switch self {
        case .array, .object: false
        default: true
        }
    }

    static func quote(_ text: String) -> String { TimelineFormats.quote(text) }
}
