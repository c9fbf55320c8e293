/// A JSON value whose objects keep their keys in the order written, serialized the same way every time
/// (the bytes are what a signature covers and what tests compare).
public indirect enum JSONValue: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    case string(String)
    case integer(Int64)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(elements) }

    /// `.string` or `.null` for nil.
    public static func optional(_ text: String?) -> JSONValue { text.map { .string($0) } ?? .null }

    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.serialized == b.serialized }
    public func hash(into hasher: inout Hasher) { hasher.combine(serialized) }

    /// Compact UTF-8 JSON: no spaces, `/` not escaped, non-ASCII kept as UTF-8.
    public var serialized: String { String(decoding: bytes, as: UTF8.self) }

    /// `serialized` as UTF-8 bytes, written directly as bytes (this runs for every notification sent).
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out)
        return out
    }

    func write(into out: inout [UInt8]) {
        switch self {
        case .string(let s): Self.writeString(s, into: &out)
        case .integer(let i): out.append(contentsOf: String(i).utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .null: out.append(contentsOf: "null".utf8)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                value.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A JSON string literal: `"` and `\` escaped, control characters and U+2028/U+2029 as escapes, every
    /// other character as its UTF-8 bytes. Runs of bytes that need no escape are copied at once (this runs
    /// for every string of every payload sent).
    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            let n = bytes.count
            var i = 0
            var run = 0
            func flush(to end: Int) {
                if end > run { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<end])) }
            }
            while i < n {
                let byte = bytes[i]
                if byte >= 0x20 && byte != 0x22 && byte != 0x5C && byte != 0xE2 {
                    i += 1
                    continue
                }
                flush(to: i)
                i += 1
                switch byte {
                case 0x22: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "\""))
                case 0x5C: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "\\"))
                case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
                case 0x08: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "b"))
                case 0x0C: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "f"))
                case 0xE2:
                    // U+2028 and U+2029 (E2 80 A8 / E2 80 A9) are escaped: some JavaScript parsers reject them raw.
                    if i + 1 < n, bytes[i] == 0x80, bytes[i + 1] == 0xA8 || bytes[i + 1] == 0xA9 {
                        out.append(contentsOf: "\\u202".utf8)
                        out.append(bytes[i + 1] == 0xA8 ? UInt8(ascii: "8") : UInt8(ascii: "9"))
                        i += 2
                    } else {
                        out.append(byte)
                    }
                default:
                    // Other control characters: \u00XX, lower-case hex.
                    out.append(contentsOf: "\\u00".utf8)
                    out.append(hexDigit(byte >> 4))
                    out.append(hexDigit(byte & 0xF))
                }
                run = i
            }
            flush(to: n)
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
