import Logging

/// Wraps the server's log handler so that no text from a request can start a log line of its own: control
/// characters in the message and in every metadata value (the handler's own and each entry's) are written as
/// escapes (`\n`, `\r`, `\t`, `\u{1B}`), as are the Unicode line and paragraph separators. `ServerState`
/// installs it around whatever handler it is given, so every line the server and Hummingbird log goes through it.
struct EscapingLogHandler: LogHandler {
    var inner: any LogHandler

    init(_ inner: any LogHandler) {
        if let wrapped = inner as? EscapingLogHandler { self.inner = wrapped.inner } else { self.inner = inner }
    }

    func log(event: LogEvent) {
        var event = event
        event.message = Logger.Message(stringLiteral: Self.escape(event.message.description))
        if let metadata = event.metadata { event.metadata = Self.escape(metadata) }
        inner.log(event: event)
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: Self.escape(key)] = newValue.map(Self.escape) }
    }

    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = Self.escape(newValue) }
    }

    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }

    static func escape(_ metadata: Logger.Metadata) -> Logger.Metadata {
        var out: Logger.Metadata = [:]
        for (key, value) in metadata { out[escape(key)] = escape(value) }
        return out
    }

    static func escape(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let s): .string(escape(s))
        case .stringConvertible(let c): .string(escape(c.description))
        case .dictionary(let d): .dictionary(escape(d))
        case .array(let a): .array(a.map(escape))
        }
    }

    /// The text with C0 controls, DEL, C1 controls and U+2028/U+2029 escaped; unchanged (no copy) when it has none.
    static func escape(_ text: String) -> String {
        func needsEscape(_ s: Unicode.Scalar) -> Bool {
            s.value < 0x20 || (0x7F...0x9F).contains(s.value) || s.value == 0x2028 || s.value == 0x2029
        }
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar) else { out.append(scalar); continue }
            let escaped: String = switch scalar {
            case "\n": "\\n"
            case "\r": "\\r"
            case "\t": "\\t"
            default: "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            }
            out.append(contentsOf: escaped.unicodeScalars)
        }
        return String(out)
    }
}
