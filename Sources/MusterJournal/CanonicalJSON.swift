import Crypto
import Foundation

/// The canonical JSON form the journal stores and hashes (see `docs/journal.md`):
/// no insignificant whitespace, object keys sorted by their UTF-8 bytes, strings with only `"`, `\` and the
/// control characters U+0000–U+001F escaped (`\b \f \n \r \t`, others `\u00xx` in lower-case hex), every
/// other character (including `/` and non-ASCII) written as its UTF-8 bytes, numbers as the encoder wrote them
/// (payloads hold integers only: plain decimal). This is exactly what Python's
/// `json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` prints, so anyone can
/// recompute a hash without Muster.
public enum CanonicalJSON {
    public struct Malformed: Error, CustomStringConvertible {
        public var offset: Int
        public var reason: String
        public var description: String { "malformed JSON at byte \(offset): \(reason)" }
    }

    /// Arrays and objects inside each other. The parser, `Value`'s writer and the server's conversion of request
    /// bodies all recurse; journal payloads nest a few levels, request bodies one or two.
    public static let maxDepth = 100

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// Encodes a value with its synthesized `Codable` conformance, then rewrites the bytes canonically, so the
    /// result does not depend on the quirks of one Foundation's `JSONEncoder` (key order, escaping).
    static func encode<T: Encodable>(_ value: T) throws -> String {
        let data = try encoder.encode(value)
        return try canonicalize(Array(data))
    }

    /// Encodes each value exactly as `encode` does, with ONE encoder call for all of them (an array, whose
    /// elements are then written canonically one by one): far cheaper than one encoder call per value.
    static func encodeEach<T: Encodable>(_ values: [T]) throws -> [String] {
        guard values.count > 1 else { return try values.map(encode) }
        let bytes = Array(try encoder.encode(values))
        var parser = Parser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        guard case .array(let items) = value, items.count == values.count else { return try values.map(encode) }
        return items.map { item in
            var out: [UInt8] = []
            item.write(to: &out)
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// Reads exactly one JSON value with optional whitespace around it, strictly (RFC 8259; no duplicate keys,
    /// no leading zeros, strings valid UTF-8). Also the server's reader of request bodies.
    public static func parse(_ bytes: [UInt8]) throws(Malformed) -> Value {
        var parser = Parser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw Malformed(offset: parser.index, reason: "trailing characters") }
        return value
    }

    /// Rewrites JSON text in canonical form. Throws `Malformed` for anything that is not one JSON value.
    static func canonicalize(_ bytes: [UInt8]) throws -> String {
        let value = try parse(bytes)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        value.write(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `text` as a canonical JSON string literal.
    public static func writeString(_ text: String, to out: inout [UInt8]) {
        // Runs of bytes that need no escape are copied whole, from the string's own UTF-8 storage (no copy of
        // the text first): this writes every string of every event the server sends, a measurable cost per command.
        var text = text
        text.withUTF8 { bytes in
            out.append(0x22)
            var start = 0
            for (index, byte) in bytes.enumerated() where byte < 0x20 || byte == 0x22 || byte == 0x5C {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
                writeString(bytes: CollectionOfOne(byte), quoted: false, to: &out)
                start = index + 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
            out.append(0x22)
        }
    }

    static func writeString<C: Collection>(bytes: C, to out: inout [UInt8]) where C.Element == UInt8 {
        writeString(bytes: bytes, quoted: true, to: &out)
    }

    private static func writeString<C: Collection>(bytes: C, quoted: Bool, to out: inout [UInt8]) where C.Element == UInt8 {
        if quoted { out.append(0x22) }
        for byte in bytes {
            switch byte {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x08: out.append(contentsOf: [0x5C, 0x62])
            case 0x0C: out.append(contentsOf: [0x5C, 0x66])
            case 0x0A: out.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: out.append(contentsOf: [0x5C, 0x72])
            case 0x09: out.append(contentsOf: [0x5C, 0x74])
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        if quoted { out.append(0x22) }
    }

    // MARK: - A small strict parser

    /// A parsed value: numbers as their text, strings and keys as UTF-8 (escapes resolved), members in order.
    public indirect enum Value {
        case null, bool(Bool), number([UInt8]), string([UInt8]), array([Value]), object([([UInt8], Value)])

        /// The canonical text of the value (keys sorted, no spaces).
        public var text: String {
            var out: [UInt8] = []
            write(to: &out)
            return String(decoding: out, as: UTF8.self)
        }

        func write(to out: inout [UInt8]) {
            switch self {
            case .null: out.append(contentsOf: Array("null".utf8))
            case .bool(let b): out.append(contentsOf: Array((b ? "true" : "false").utf8))
            case .number(let digits): out.append(contentsOf: digits)
            case .string(let bytes): CanonicalJSON.writeString(bytes: bytes, to: &out)
            case .array(let items):
                out.append(0x5B)
                for (i, item) in items.enumerated() {
                    if i > 0 { out.append(0x2C) }
                    item.write(to: &out)
                }
                out.append(0x5D)
            case .object(let members):
                out.append(0x7B)
                let sorted = members.sorted { $0.0.lexicographicallyPrecedes($1.0) }
                for (i, member) in sorted.enumerated() {
                    if i > 0 { out.append(0x2C) }
                    CanonicalJSON.writeString(bytes: member.0, to: &out)
                    out.append(0x3A)
                    member.1.write(to: &out)
                }
                out.append(0x7D)
            }
        }
    }

    struct Parser {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func skipWhitespace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        func fail(_ reason: String) -> Malformed { Malformed(offset: index, reason: reason) }

        mutating func expect(_ literal: StaticString) throws(Malformed) {
            // Byte by byte from the literal's static storage: no array per call (every key has a ':').
            let count = literal.utf8CodeUnitCount
            let matches = index + count <= bytes.count && literal.withUTF8Buffer { lit in
                (0..<count).allSatisfy { bytes[index + $0] == lit[$0] }
            }
            guard matches else { throw fail("expected '\(literal)'") }
            index += count
        }

        mutating func parseValue(depth: Int) throws(Malformed) -> Value {
            guard depth < CanonicalJSON.maxDepth else { throw fail("nesting deeper than \(CanonicalJSON.maxDepth) levels") }
            guard index < bytes.count else { throw fail("unexpected end") }
            switch bytes[index] {
            case 0x6E: try expect("null"); return .null
            case 0x74: try expect("true"); return .bool(true)
            case 0x66: try expect("false"); return .bool(false)
            case 0x22: return .string(try parseString())
            case 0x5B:
                index += 1
                var items: [Value] = []
                skipWhitespace()
                if index < bytes.count, bytes[index] == 0x5D { index += 1; return .array(items) }
                while true {
                    skipWhitespace()
                    items.append(try parseValue(depth: depth + 1))
                    skipWhitespace()
                    guard index < bytes.count else { throw fail("unterminated array") }
                    if bytes[index] == 0x2C { index += 1; continue }
                    if bytes[index] == 0x5D { index += 1; return .array(items) }
                    throw fail("expected ',' or ']'")
                }
            case 0x7B:
                index += 1
                var members: [([UInt8], Value)] = []
                var seen = Set<[UInt8]>()
                skipWhitespace()
                if index < bytes.count, bytes[index] == 0x7D { index += 1; return .object(members) }
                while true {
                    skipWhitespace()
                    guard index < bytes.count, bytes[index] == 0x22 else { throw fail("expected a key") }
                    let key = try parseString()
                    // Most objects are small (a request body, an event payload): a scan beats hashing each key;
                    // past 16 members a set keeps a large object linear.
                    if members.count < 16 {
                        guard !members.contains(where: { $0.0 == key }) else { throw fail("duplicate key") }
                    } else {
                        if seen.isEmpty { seen = Set(members.map(\.0)) }
                        guard seen.insert(key).inserted else { throw fail("duplicate key") }
                    }
                    skipWhitespace()
                    try expect(":")
                    skipWhitespace()
                    members.append((key, try parseValue(depth: depth + 1)))
                    skipWhitespace()
                    guard index < bytes.count else { throw fail("unterminated object") }
                    if bytes[index] == 0x2C { index += 1; continue }
                    if bytes[index] == 0x7D { index += 1; return .object(members) }
                    throw fail("expected ',' or '}'")
                }
            case 0x2D, 0x30...0x39: return .number(try parseNumber())
            default: throw fail("unexpected character")
            }
        }

        mutating func parseNumber() throws(Malformed) -> [UInt8] {
            let start = index
            if bytes[index] == 0x2D { index += 1 }
            func digits(_ p: inout Parser) -> Int {
                let s = p.index
                while p.index < p.bytes.count, (0x30...0x39).contains(p.bytes[p.index]) { p.index += 1 }
                return p.index - s
            }
            let intStart = index
            guard digits(&self) > 0 else { throw fail("expected digits") }
            if bytes[intStart] == 0x30, index - intStart > 1 { throw fail("leading zero") }
            if index < bytes.count, bytes[index] == 0x2E {
                index += 1
                guard digits(&self) > 0 else { throw fail("expected digits after '.'") }
            }
            if index < bytes.count, bytes[index] == 0x65 || bytes[index] == 0x45 {
                index += 1
                if index < bytes.count, bytes[index] == 0x2B || bytes[index] == 0x2D { index += 1 }
                guard digits(&self) > 0 else { throw fail("expected exponent digits") }
            }
            return Array(bytes[start..<index])
        }

        /// Returns the string's content as UTF-8 bytes, escapes resolved.
        mutating func parseString() throws(Malformed) -> [UInt8] {
            index += 1  // opening quote
            var out: [UInt8] = []
            while true {
                guard index < bytes.count else { throw fail("unterminated string") }
                let byte = bytes[index]
                index += 1
                switch byte {
                case 0x22:
                    guard String(validating: out, as: UTF8.self) != nil else { throw fail("string is not UTF-8") }
                    return out
                case 0x00..<0x20: throw fail("control character in string")
                case 0x5C:
                    guard index < bytes.count else { throw fail("unterminated escape") }
                    let esc = bytes[index]
                    index += 1
                    switch esc {
                    case 0x22, 0x5C, 0x2F: out.append(esc)
                    case 0x62: out.append(0x08)
                    case 0x66: out.append(0x0C)
                    case 0x6E: out.append(0x0A)
                    case 0x72: out.append(0x0D)
                    case 0x74: out.append(0x09)
                    case 0x75:
                        var scalar = try parseHex4()
                        if (0xD800..<0xDC00).contains(scalar) {
                            try expect("\\u")
                            let low = try parseHex4()
                            guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00..<0xE000).contains(scalar) {
                            throw fail("unpaired surrogate")
                        }
                        guard let s = Unicode.Scalar(scalar) else { throw fail("invalid code point") }
                        out.append(contentsOf: Array(String(Character(s)).utf8))
                    default: throw fail("unknown escape")
                    }
                default: out.append(byte)
                }
            }
        }

        mutating func parseHex4() throws(Malformed) -> UInt32 {
            guard index + 4 <= bytes.count else { throw fail("short \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[index]
                index += 1
                switch c {
                case 0x30...0x39: v = v * 16 + UInt32(c - 0x30)
                case 0x41...0x46: v = v * 16 + UInt32(c - 0x41 + 10)
                case 0x61...0x66: v = v * 16 + UInt32(c - 0x61 + 10)
                default: throw fail("bad hex digit")
                }
            }
            return v
        }
    }
}

/// SHA-256 helpers: lower-case hex, as stored in the journal.
enum Digest256 {
    static func hex<D: DataProtocol>(of bytes: D) -> String {
        let digest = SHA256.hash(data: bytes)
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in digest {
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
