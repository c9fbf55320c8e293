/// The one CSV writer of every export (the improvement plan, the run timeline): RFC 4180
/// with CRLF line ends, every field quoted and its quotes doubled, and a field that a spreadsheet would run as a
/// formula (first character `= + - @`, a tab or a carriage return) prefixed with an apostrophe, so that a person
/// named `=cmd|' /C calc'!A0` opens as text (OWASP "CSV injection").
public struct CSVWriter: Sendable {
    private var buffer: TextBuffer

    /// `byteOrderMark`: start with U+FEFF, so that spreadsheets read non-ASCII text as UTF-8.
    public init(byteOrderMark: Bool = false, capacity: Int = 1 << 16) {
        buffer = TextBuffer(capacity: capacity)
        if byteOrderMark { buffer.write("\u{FEFF}") }
    }

    /// One record, ended by CRLF.
    public mutating func row(_ fields: [String]) {
        for (i, field) in fields.enumerated() {
            if i > 0 { buffer.write(",") }
            buffer.write("\"")
            if Self.runsAsFormula(field) { buffer.write("'") }
            for byte in field.utf8 {
                if byte == 0x22 { buffer.bytes.append(0x22) }
                buffer.bytes.append(byte)
            }
            buffer.write("\"")
        }
        buffer.write("\r\n")
    }

    /// What was written.
    public var text: String { buffer.string }

    /// Whether a spreadsheet would take the field for a formula.
    public static func runsAsFormula(_ field: String) -> Bool {
        guard let first = field.utf8.first else { return false }
        return first == UInt8(ascii: "=") || first == UInt8(ascii: "+") || first == UInt8(ascii: "-") || first == UInt8(ascii: "@")
            || first == 0x09 || first == 0x0D
    }
}
