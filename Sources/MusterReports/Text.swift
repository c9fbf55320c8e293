import MusterCore

/// An append-only UTF-8 byte buffer for writing large reports quickly (a report of 100,000 events is
/// tens of megabytes of text).
public struct TextBuffer: Sendable {
    public var bytes: [UInt8] = []

    public init(capacity: Int = 1 << 16) { bytes.reserveCapacity(capacity) }

    @inline(__always) public mutating func write(_ text: String) { bytes.append(contentsOf: text.utf8) }
    @inline(__always) public mutating func write(_ text: Substring) { bytes.append(contentsOf: text.utf8) }
    @inline(__always) public mutating func write(_ value: Int) { write(String(value)) }
    @inline(__always) public mutating func write(_ value: Int64) { write(String(value)) }

    /// Escapes `& < > " '` for HTML text and attribute values.
    public mutating func html(_ text: String) {
        for byte in text.utf8 {
            switch byte {
            case 0x26: bytes.append(contentsOf: [0x26, 0x61, 0x6D, 0x70, 0x3B])  // &amp;
            case 0x3C: bytes.append(contentsOf: [0x26, 0x6C, 0x74, 0x3B])  // &lt;
            case 0x3E: bytes.append(contentsOf: [0x26, 0x67, 0x74, 0x3B])  // &gt;
            case 0x22: bytes.append(contentsOf: [0x26, 0x71, 0x75, 0x6F, 0x74, 0x3B])  // &quot;
            case 0x27: bytes.append(contentsOf: [0x26, 0x23, 0x33, 0x39, 0x3B])  // &#39;
            case 0x00..<0x09, 0x0B, 0x0C, 0x0E..<0x20, 0x7F: bytes.append(0x20)  // not allowed in HTML/XML text
            default: bytes.append(byte)
            }
        }
    }

    /// `text` escaped for HTML text and attribute values, as `html(_:)` writes it.
    public static func html(_ text: String) -> String {
        var buffer = TextBuffer(capacity: text.utf8.count + 16)
        buffer.html(text)
        return String(decoding: buffer.bytes, as: UTF8.self)
    }

    /// A JSON string literal (quotes included).
    public mutating func json(_ text: String) {
        bytes.append(0x22)
        for byte in text.utf8 {
            switch byte {
            case 0x22: bytes.append(contentsOf: [0x5C, 0x22])
            case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: bytes.append(contentsOf: [0x5C, 0x72])
            case 0x09: bytes.append(contentsOf: [0x5C, 0x74])
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: bytes.append(byte)
            }
        }
        bytes.append(0x22)
    }

    /// Text for a Markdown table cell: pipes and backslashes escaped, line breaks as `<br>`, HTML-significant
    /// characters escaped so that a cell cannot open a tag.
    public mutating func markdownCell(_ text: String) {
        for byte in text.utf8 {
            switch byte {
            case 0x7C: bytes.append(contentsOf: [0x5C, 0x7C])  // \|
            case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x3C: bytes.append(contentsOf: [0x26, 0x6C, 0x74, 0x3B])
            case 0x3E: bytes.append(contentsOf: [0x26, 0x67, 0x74, 0x3B])
            case 0x0A: bytes.append(contentsOf: [0x3C, 0x62, 0x72, 0x3E])
            case 0x0D: break
            case 0x2A, 0x5F, 0x5B, 0x5D: bytes.append(0x5C); bytes.append(byte)  // * _ [ ]
            default: bytes.append(byte)
            }
        }
    }

    public var string: String { String(decoding: bytes, as: UTF8.self) }
}

/// How reports print times and spans.
public enum ReportFormat {
    /// `2026-03-06 17:40:00Z` (milliseconds only when not zero).
    public static func time(_ instant: Instant) -> String {
        var text = instant.iso8601
        if text.hasSuffix(".000Z") { text.removeLast(5); text += "Z" }
        if let t = text.firstIndex(of: "T") { text.replaceSubrange(t...t, with: " ") }
        return text
    }

    /// `T+1h20m` from an anchor (`T-5m` before it).
    public static func offset(_ instant: Instant, from anchor: Instant) -> String {
        let span = instant - anchor
        if span.milliseconds < 0 { return "T" + span.description.replacingPrefix("-", with: "−") }
        return "T+" + span.description
    }

    /// `1h30m`, `0m`, `−15m`.
    public static func span(_ span: TimeSpan) -> String {
        span.milliseconds < 0 ? "−" + (-span).forPeople() : span.forPeople()
    }

    /// A margin with its sign spelled out: `+1h20m` (to spare) or `−35m` (over).
    public static func margin(_ span: TimeSpan) -> String {
        span.milliseconds < 0 ? "−" + (-span).forPeople() : "+" + span.forPeople()
    }
}

extension String {
    func replacingPrefix(_ prefix: String, with replacement: String) -> String {
        hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
    }
}
