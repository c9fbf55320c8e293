import MusterCore

/// A receiver's `Retry-After` (RFC 9110 §10.2.3): a number of seconds, or an HTTP date.
public enum RetryAfter: Sendable, Hashable, CustomStringConvertible {
    case seconds(Int64)
    case date(Instant)

    /// Parses `120`, `Wed, 21 Oct 2015 07:28:00 GMT` (IMF-fixdate), and the obsolete RFC 850
    /// (`Wednesday, 21-Oct-15 07:28:00 GMT`) and asctime (`Wed Oct 21 07:28:00 2015`) forms.
    /// Returns nil for anything else (a negative number, a date without a zone).
    public init?(headerValue: String) {
        let text = headerValue.trimmingASCIIWhitespace()
        if !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            guard let value = Int64(text) else { return nil }
            self = .seconds(value)
            return
        }
        guard let instant = HTTPDate.parse(text) else { return nil }
        self = .date(instant)
    }

    /// How long to wait counted from `now` (never negative: a date in the past means "now").
    public func delay(from now: Instant) -> TimeSpan {
        switch self {
        case .seconds(let s): .seconds(s)
        case .date(let d): d > now ? d - now : .zero
        }
    }

    public var description: String {
        switch self {
        case .seconds(let s): "\(s)s"
        case .date(let d): d.iso8601
        }
    }
}

enum HTTPDate {
    static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    static let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday
    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func parse(_ text: String) -> Instant? {
        // Split on spaces, commas and dashes (the RFC 850 date is `06-Nov-94`); the first token is the weekday.
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "-" }).map(String.init)
        guard let weekday = tokens.first, weekday.allSatisfy({ $0.isASCII && $0.isLetter }) else { return nil }
        let rest = Array(tokens.dropFirst())
        let dayText: String, monthText: String, yearText: String, timeText: String
        if rest.count == 5, rest[4] == "GMT" {
            // IMF-fixdate `06 Nov 1994 08:49:37 GMT`, RFC 850 `06 Nov 94 08:49:37 GMT`
            (dayText, monthText, yearText, timeText) = (rest[0], rest[1], rest[2], rest[3])
        } else if rest.count == 4 {
            // asctime `Nov 6 08:49:37 1994`
            (monthText, dayText, timeText, yearText) = (rest[0], rest[1], rest[2], rest[3])
        } else {
            return nil
        }
        let clock = timeText.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard let month = monthIndex(monthText), let day = Int(dayText), var year = Int(yearText),
              yearText.count == 2 || yearText.count == 4, clock.count == 3,
              let h = clock[0], let mi = clock[1], let s = clock[2],
              (1...31).contains(day), (0..<24).contains(h), (0..<60).contains(mi), (0..<61).contains(s) else { return nil }
        if yearText.count == 2 { year += year < 70 ? 2000 : 1900 }
        func pad(_ v: Int, _ w: Int) -> String { String(repeating: "0", count: max(0, w - String(v).count)) + String(v) }
        return Instant(iso8601: "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(h, 2)):\(pad(mi, 2)):\(pad(s, 2))Z")
    }

    static func monthIndex(_ token: String) -> Int? {
        guard token.count == 3 else { return nil }
        return months.firstIndex(of: token.lowercased()).map { $0 + 1 }
    }

    /// `Fri, 06 Mar 2026 17:40:00 +0000` (RFC 5322 §3.3), for the email `Date:` header.
    static func rfc5322(_ instant: Instant) -> String {
        let iso = instant.iso8601  // 2026-03-06T17:40:00.000Z
        let chars = Array(iso)
        let year = String(chars[0..<4]), month = Int(String(chars[5..<7]))!, day = String(chars[8..<10])
        let time = String(chars[11..<19])
        let ms = instant.millisecondsSinceEpoch
        let days = ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
        let weekday = weekdays[Int(((days % 7) + 7) % 7)]
        return "\(weekday), \(day) \(monthNames[month - 1]) \(year) \(time) +0000"
    }
}

extension String {
    /// Without leading and trailing spaces, tabs, CR and LF (scalars: a CRLF is one Character).
    func trimmingASCIIWhitespace() -> String {
        let scalars = unicodeScalars
        func isSpace(_ s: Unicode.Scalar) -> Bool { s == " " || s == "\t" || s == "\r" || s == "\n" }
        guard let first = scalars.firstIndex(where: { !isSpace($0) }), let last = scalars.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(scalars[first...last])
    }
}
