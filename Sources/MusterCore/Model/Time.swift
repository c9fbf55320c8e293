/// A length of time with millisecond resolution, written in playbooks as `30s`, `15m`, `4h`, `2d` or `1h30m`.
/// Not `Swift.Duration`: this one is a plain integer that encodes, compares and prints the same everywhere.
public struct TimeSpan: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public static func seconds(_ s: Int64) -> TimeSpan { TimeSpan(milliseconds: s * 1000) }
    public static func minutes(_ m: Int64) -> TimeSpan { .seconds(m * 60) }
    public static func hours(_ h: Int64) -> TimeSpan { .minutes(h * 60) }
    public static func days(_ d: Int64) -> TimeSpan { .hours(d * 24) }
    public static let zero = TimeSpan(milliseconds: 0)

    public static func < (a: TimeSpan, b: TimeSpan) -> Bool { a.milliseconds < b.milliseconds }
    public static func + (a: TimeSpan, b: TimeSpan) -> TimeSpan { TimeSpan(milliseconds: a.milliseconds + b.milliseconds) }
    public static func - (a: TimeSpan, b: TimeSpan) -> TimeSpan { TimeSpan(milliseconds: a.milliseconds - b.milliseconds) }
    public static prefix func - (a: TimeSpan) -> TimeSpan { TimeSpan(milliseconds: -a.milliseconds) }
    public static func * (a: TimeSpan, n: Int64) -> TimeSpan { TimeSpan(milliseconds: a.milliseconds * n) }

    /// Parses `30s`, `15m`, `4h`, `2d`, `1h30m`, `1d12h`; units in decreasing order, each at most once.
    /// Returns nil for anything else, including a bare number (a unit is always required).
    public init?(parsing text: String) {
        let units: [(Character, Int64)] = [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)]
        var total: Int64 = 0
        var digits = ""
        var nextUnit = 0
        var sawAny = false
        for ch in text {
            if ch.isASCII, ch.isNumber {
                digits.append(ch)
                continue
            }
            guard !digits.isEmpty, let index = units[nextUnit...].firstIndex(where: { $0.0 == ch }),
                  let value = Int64(digits), value <= 1_000_000 else { return nil }
            total += value * units[index].1
            nextUnit = index + 1
            digits = ""
            sawAny = true
            if nextUnit > units.count { return nil }
        }
        guard digits.isEmpty, sawAny else { return nil }
        self.milliseconds = total
    }

    /// The shortest way to write it back: `1h30m`, `0m` for zero, `-15m` for negatives.
    public var description: String {
        if milliseconds == 0 { return "0m" }
        var rest = Swift.abs(milliseconds)
        var out = milliseconds < 0 ? "-" : ""
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] {
            if rest >= size {
                out += "\(rest / size)\(unit)"
                rest %= size
            }
        }
        if rest > 0 { out += "\(rest)ms" }
        return out
    }

    /// For people: rounded to the nearest `unit` (a second in reports and on the console, a minute in messages
    /// sent to channels), so nobody reads "5h47m42s84ms". A nonzero span shorter than half the unit reads `<1s`
    /// (`<1m`). Machine formats (JSON, CSV, the journal) keep the milliseconds.
    public func forPeople(unit: TimeSpan = .seconds(1)) -> String {
        let size = Swift.max(unit.milliseconds, 1)
        let magnitude = Swift.abs(milliseconds)
        let rounded = (magnitude + size / 2) / size * size
        if rounded == 0 {
            return magnitude == 0 ? "0m" : "<" + TimeSpan(milliseconds: size).description
        }
        return (milliseconds < 0 ? "-" : "") + TimeSpan(milliseconds: rounded).description
    }

    /// `01:30:00` style, for elapsed times and countdowns; days roll into hours.
    public var clock: String {
        let sign = milliseconds < 0 ? "-" : ""
        let total = Swift.abs(milliseconds) / 1000
        let h = total / 3600, m = (total % 3600) / 60, s = total % 60
        return sign + (h < 10 ? "0" : "") + "\(h):" + (m < 10 ? "0" : "") + "\(m):" + (s < 10 ? "0" : "") + "\(s)"
    }
}

/// A point in time: milliseconds since 1970-01-01T00:00:00Z. The core never reads a clock;
/// shells pass the current instant in.
public struct Instant: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) { self.millisecondsSinceEpoch = millisecondsSinceEpoch }

    public static func < (a: Instant, b: Instant) -> Bool { a.millisecondsSinceEpoch < b.millisecondsSinceEpoch }
    public static func + (a: Instant, b: TimeSpan) -> Instant { Instant(millisecondsSinceEpoch: a.millisecondsSinceEpoch + b.milliseconds) }
    public static func - (a: Instant, b: TimeSpan) -> Instant { Instant(millisecondsSinceEpoch: a.millisecondsSinceEpoch - b.milliseconds) }
    public static func - (a: Instant, b: Instant) -> TimeSpan { TimeSpan(milliseconds: a.millisecondsSinceEpoch - b.millisecondsSinceEpoch) }

    /// RFC 3339 in UTC with milliseconds: `2026-11-29T18:14:27.000Z`.
    public var iso8601: String {
        let ms = millisecondsSinceEpoch
        var days = ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
        let msOfDay = ms - days * 86_400_000
        // Civil-from-days (Howard Hinnant's algorithm), so the core needs no calendar.
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let doe = days - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        let secs = msOfDay / 1000
        // Written as bytes (every notification payload carries a time). A year outside 0...9999 does not
        // fit the fixed width: it takes the general form.
        guard (0...9999).contains(y) else {
            func pad(_ v: Int64, _ width: Int) -> String {
                let s = String(v)
                return String(repeating: "0", count: max(0, width - s.count)) + s
            }
            return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secs / 3600, 2)):\(pad(secs % 3600 / 60, 2)):\(pad(secs % 60, 2)).\(pad(msOfDay % 1000, 3))Z"
        }
        var out: [UInt8] = []
        out.reserveCapacity(24)
        func digits(_ value: Int64, _ width: Int) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            var v = value
            while divisor > 0 {
                out.append(UInt8(48 + v / divisor))
                v %= divisor
                divisor /= 10
            }
        }
        digits(y, 4); out.append(45)
        digits(m, 2); out.append(45)
        digits(d, 2); out.append(84)
        digits(secs / 3600, 2); out.append(58)
        digits(secs % 3600 / 60, 2); out.append(58)
        digits(secs % 60, 2); out.append(46)
        digits(msOfDay % 1000, 3); out.append(90)
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses `2026-11-29T18:14:27Z` or with `.sss` milliseconds (UTC only), the form `iso8601` prints.
    public init?(iso8601 text: String) {
        let chars = Array(text.utf8)
        func num(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= chars.count else { return nil }
            var v: Int64 = 0
            for c in chars[from..<(from + count)] {
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
            }
            return v
        }
        guard chars.count >= 20, chars[4] == 45, chars[7] == 45, chars[10] == 84 || chars[10] == 32,
              chars[13] == 58, chars[16] == 58,
              let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2),
              let h = num(11, 2), let mi = num(14, 2), let s = num(17, 2),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61 else { return nil }
        var ms: Int64 = 0
        var i = 19
        if chars[i] == 46 {
            guard let frac = num(20, 3) else { return nil }
            ms = frac
            i = 23
        }
        guard i == chars.count - 1, chars[i] == 90 else { return nil }
        // Days-from-civil (the inverse of the algorithm above).
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        millisecondsSinceEpoch = ((days * 24 + h) * 60 + mi) * 60_000 + s * 1000 + ms
    }

    public var description: String { iso8601 }
}
