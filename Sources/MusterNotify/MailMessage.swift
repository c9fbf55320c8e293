import MusterCore

/// An RFC 5322 plain-text message with a UTF-8 body (RFC 2045 quoted-printable) and an RFC 2047 subject.
public struct MailMessage: Sendable, Hashable {
    public var from: String
    public var to: [String]
    public var subject: String
    public var date: Instant
    /// Without angle brackets: `run-7.n3@muster`.
    public var messageID: String
    public var body: String
    public var extraHeaders: [HTTPHeader]

    public init(from: String, to: [String], subject: String, date: Instant, messageID: String, body: String, extraHeaders: [HTTPHeader] = []) {
        self.from = from
        self.to = to
        self.subject = subject
        self.date = date
        self.messageID = messageID
        self.body = body
        self.extraHeaders = extraHeaders
    }

    /// The message as sent: CRLF line endings, header lines folded under 78 characters where they can be.
    public var rendered: String {
        var lines: [String] = []
        lines.append("From: " + Self.headerSafe(from))
        lines.append(Self.fold("To: " + to.map(Self.headerSafe).joined(separator: ", ")))
        lines.append(Self.fold("Subject: " + Self.encodeHeaderText(Self.headerSafe(subject))))
        lines.append("Date: " + HTTPDate.rfc5322(date))
        lines.append("Message-ID: <" + Self.headerSafe(messageID) + ">")
        for header in extraHeaders {
            lines.append(Self.fold(header.name + ": " + Self.encodeHeaderText(Self.headerSafe(header.value))))
        }
        lines.append("MIME-Version: 1.0")
        lines.append("Content-Type: text/plain; charset=UTF-8")
        lines.append("Content-Transfer-Encoding: quoted-printable")
        return lines.joined(separator: "\r\n") + "\r\n\r\n" + Self.quotedPrintable(body)
    }

    public var bytes: [UInt8] { Array(rendered.utf8) }

    /// The bare address of `Name <addr@host>` or `addr@host`.
    public static func address(_ mailbox: String) -> String {
        let trimmed = mailbox.trimmingASCIIWhitespace()
        if let open = trimmed.lastIndex(of: "<"), let close = trimmed.lastIndex(of: ">"), open < close {
            return String(trimmed[trimmed.index(after: open)..<close]).trimmingASCIIWhitespace()
        }
        return trimmed
    }

    /// Header values never carry line breaks (no header injection from a run title or a setting).
    static func headerSafe(_ text: String) -> String {
        String(text.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : $0 })
    }

    /// RFC 2047 `=?UTF-8?B?...?=` encoded words when the text is not plain ASCII, each word at most 75
    /// characters and never splitting a character; plain ASCII is kept as it is.
    static func encodeHeaderText(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { !$0.isASCII || $0.value < 0x20 }) else { return text }
        var words: [String] = []
        var chunk: [UInt8] = []
        // 75 - len("=?UTF-8?B?") - len("?=") = 63 base64 characters: 45 bytes (base64 of 45 bytes is 60 chars).
        for character in text {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 45 {
                words.append("=?UTF-8?B?" + base64(chunk) + "?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?" + base64(chunk) + "?=") }
        return words.joined(separator: "\r\n ")
    }

    /// Folds a header line at spaces so that lines stay under 78 characters where possible.
    static func fold(_ line: String) -> String {
        guard line.count > 78, !line.contains("\r\n") else { return line }
        var out = ""
        var lineLength = 0
        for (i, word) in line.split(separator: " ", omittingEmptySubsequences: false).enumerated() {
            if i == 0 {
                out = String(word)
                lineLength = word.count
            } else if lineLength + 1 + word.count > 76 {
                out += "\r\n " + word
                lineLength = 1 + word.count
            } else {
                out += " " + word
                lineLength += 1 + word.count
            }
        }
        return out
    }

    /// RFC 2045 §6.7: lines of at most 76 characters, CRLF line breaks, `=` and non-ASCII as `=XX`,
    /// trailing spaces and a leading `.` encoded too.
    static func quotedPrintable(_ text: String) -> String {
        // Work on bytes: CRLF, CR and LF all end a line.
        var lines: [[UInt8]] = [[]]
        var previousWasCR = false
        for byte in text.utf8 {
            if byte == 10, previousWasCR {
                previousWasCR = false
                continue
            }
            previousWasCR = byte == 13
            if byte == 10 || byte == 13 { lines.append([]) } else { lines[lines.count - 1].append(byte) }
        }
        var out: [String] = []
        for bytes in lines {
            var current = ""
            for (i, byte) in bytes.enumerated() {
                let isLast = i == bytes.count - 1
                let literal = (byte >= 33 && byte <= 126 && byte != 61) || ((byte == 32 || byte == 9) && !isLast)
                let token = literal && !(i == 0 && byte == 46)
                    ? String(UnicodeScalar(byte))
                    : "=" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
                // Soft line break: at most 75 characters, then `=`.
                if current.utf8.count + token.utf8.count > 75 {
                    out.append(current + "=")
                    current = ""
                }
                current += token
            }
            out.append(current)
        }
        return out.joined(separator: "\r\n") + "\r\n"
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var out = ""
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(table[Int(b0 >> 2)])
            out.append(table[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(i + 1 < bytes.count ? table[Int((b1 & 0x0F) << 2 | b2 >> 6)] : "=")
            out.append(i + 2 < bytes.count ? table[Int(b2 & 0x3F)] : "=")
            i += 3
        }
        return out
    }
}
