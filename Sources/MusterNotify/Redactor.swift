/// Replaces secret values (webhook URLs with tokens, routing keys, passwords, signing secrets, values that
/// came from `${VAR}`) with `[redacted]` in any text: error reasons, logs, timeline entries.
///
/// Receivers quote what they were sent in their own ways, so a secret is looked for in several forms:
/// - as it is, percent-encoded (upper- and lower-case hex), JSON-escaped (`\/`, `\"`, `\u00e9`) and in base64
///   (standard and URL-safe, padding dropped), longest first, so a secret that contains another goes whole;
/// - in part: any run of `fragmentLength` (12) or more bytes of a secret, or of one of its forms, wherever it
///   appears (a receiver that truncates, or quotes a token in the middle of other text);
/// - a value shorter than `minimumLength` (6) characters only where it stands as a word of its own (its neighbours
///   are not letters or digits): a one-letter user name must not turn "permanent failure" into
///   "[redacted]ermanent fail[redacted]re". Short values are not secrets worth the name; their forms and parts
///   are not looked for.
/// For a URL, its path-and-query and its userinfo are secrets too; only the parts that carry tokens (userinfo,
/// path segments and query values that look like tokens, and a path holding one) are looked for in part, so
/// that a host name quoted in a DNS error stays readable.
public struct Redactor: Sendable, Hashable {
    public static let placeholder = "[redacted]"
    /// Values shorter than this (in characters) are replaced only as whole words.
    public static let minimumLength = 6
    /// Runs of a secret at least this long (in bytes) are replaced wherever they appear.
    public static let fragmentLength = 12

    /// The forms replaced wherever they appear, longest first.
    public private(set) var secrets: [String]
    /// Values shorter than `minimumLength`: replaced as whole words only.
    public private(set) var shortSecrets: [String]
    /// FNV-1a hashes of every `fragmentLength`-byte window of the values whose parts are secret too.
    private var fragments: Set<UInt64>

    public init<S: Sequence>(secrets: S) where S.Element == String {
        self.init()
        add(secrets)
    }

    public init() {
        secrets = []
        shortSecrets = []
        fragments = []
    }

    public mutating func add<S: Sequence>(_ values: S) where S.Element == String {
        var exact: [String] = []
        var short: [String] = []
        var partial: [String] = []
        for value in values where !value.isEmpty {
            if value.count < Self.minimumLength {
                short.append(value)
            } else if value.contains("://") {
                Self.urlParts(value, exact: &exact, partial: &partial)
            } else {
                partial.append(value)
            }
        }
        insert(exact: exact, short: short, partial: partial)
    }

    public mutating func add(_ value: String) { add([value]) }

    static func looksLikeToken(_ piece: Substring) -> Bool {
        piece.count >= 20 || (piece.count >= 8 && piece.contains(where: \.isNumber))
    }

    /// Adds a URL: the whole of it, and the parts that carry tokens (userinfo, path with query) when they
    /// are more than a bare `/`.
    public mutating func addURL(_ url: String) {
        var exact: [String] = []
        var partial: [String] = []
        Self.urlParts(url, exact: &exact, partial: &partial)
        insert(exact: exact, short: [], partial: partial)
    }

    /// A URL's secrets: the URL and its path-and-query as they are (with their forms); userinfo, the password
    /// and token-like pieces also in part.
    static func urlParts(_ url: String, exact: inout [String], partial: inout [String]) {
        exact.append(url)
        guard let schemeEnd = url.firstRange(of: "://") else { return }
        let afterScheme = url[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") {
            let userinfo = authority[..<at]
            partial.append(String(userinfo))
            if let colon = userinfo.firstIndex(of: ":") { partial.append(String(userinfo[userinfo.index(after: colon)...])) }
        }
        let pathAndQuery = afterScheme[authorityEnd...]
        // Token-like pieces on their own (receivers quote them): path segments and query values of at
        // least 8 characters that contain a digit, or of at least 20; not words like `services`.
        let tokens = pathAndQuery.split(whereSeparator: { "/?&=#".contains($0) }).filter(looksLikeToken)
        for piece in tokens { partial.append(String(piece)) }
        // A path that holds a token is secret in part too (a receiver quotes `T0KEN/B2/xyz` cut short); one
        // without (`/api/v1/notify`) only whole, so that its words stay readable elsewhere.
        if pathAndQuery.count > 1 {
            if tokens.isEmpty { exact.append(String(pathAndQuery)) } else { partial.append(String(pathAndQuery)) }
        }
    }

    private mutating func insert(exact: [String], short: [String], partial: [String]) {
        var all = Set(secrets)
        var shortOnes = Set(shortSecrets)
        for value in exact + partial where !value.isEmpty {
            if value.count < Self.minimumLength { shortOnes.insert(value); continue }
            for form in Self.forms(of: value) { all.insert(form) }
        }
        for value in short { shortOnes.insert(value) }
        for value in partial where value.count >= Self.minimumLength {
            for form in Self.fragmentForms(of: value) { Self.addWindows(of: form, to: &fragments) }
        }
        secrets = all.sorted { $0.utf8.count != $1.utf8.count ? $0.utf8.count > $1.utf8.count : $0 < $1 }
        shortSecrets = shortOnes.sorted { $0.utf8.count != $1.utf8.count ? $0.utf8.count > $1.utf8.count : $0 < $1 }
    }

    public func merging(_ other: Redactor) -> Redactor {
        var copy = self
        copy.secrets = Set(secrets).union(other.secrets).sorted { $0.utf8.count != $1.utf8.count ? $0.utf8.count > $1.utf8.count : $0 < $1 }
        copy.shortSecrets = Set(shortSecrets).union(other.shortSecrets).sorted { $0.utf8.count != $1.utf8.count ? $0.utf8.count > $1.utf8.count : $0 < $1 }
        copy.fragments.formUnion(other.fragments)
        return copy
    }

    public func redact(_ text: String) -> String {
        guard !text.isEmpty, !(secrets.isEmpty && shortSecrets.isEmpty && fragments.isEmpty) else { return text }
        var result = text
        // Longest first: a secret longer than the text (in bytes) cannot occur in it, and after a
        // replacement the text only gets the placeholder, so this check is made against the current text.
        for secret in secrets where secret.utf8.count <= result.utf8.count && Self.occurs(secret, in: result) {
            result = result.replacingAll(secret, with: Self.placeholder)
        }
        if !fragments.isEmpty { result = redactFragments(result) }
        for secret in shortSecrets where secret.utf8.count <= result.utf8.count && Self.occurs(secret, in: result) {
            result = result.replacingWholeWords(secret, with: Self.placeholder)
        }
        return result
    }

    /// Replaces every stretch of the text covered by `fragmentLength`-byte windows of a secret with one
    /// placeholder, widened to whole characters.
    private func redactFragments(_ text: String) -> String {
        let k = Self.fragmentLength
        let bytes = Array(text.utf8)
        guard bytes.count >= k else { return text }
        var marked = [Bool](repeating: false, count: bytes.count)
        var found = false
        for start in 0...(bytes.count - k) where fragments.contains(Self.fnv1a(bytes[start..<(start + k)])) {
            for i in start..<(start + k) { marked[i] = true }
            found = true
        }
        guard found else { return text }
        // Whole characters: a continuation byte (10xxxxxx) belongs with the byte before it.
        for i in 1..<bytes.count where bytes[i] & 0xC0 == 0x80 && marked[i] != marked[i - 1] {
            var j = i
            if marked[i] {
                while j > 0, bytes[j] & 0xC0 == 0x80 { j -= 1; marked[j] = true }
            } else {
                while j < bytes.count, bytes[j] & 0xC0 == 0x80 { marked[j] = true; j += 1 }
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if marked[i] {
                out.append(contentsOf: Self.placeholder.utf8)
                while i < bytes.count, marked[i] { i += 1 }
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `secret` occurs in `text`. A plain byte search decides when both are ASCII (there, equal
    /// characters are equal bytes); otherwise the Unicode-aware search that `replacingAll` uses does.
    /// (This runs for every secret on every text recorded or returned by the transport.)
    static func occurs(_ secret: String, in text: String) -> Bool {
        if containsBytes(secret, in: text) { return true }
        if text.utf8.allSatisfy({ $0 < 0x80 }) && secret.utf8.allSatisfy({ $0 < 0x80 }) { return false }
        return text.contains(secret)
    }

    /// A byte substring search over the strings' contiguous UTF-8 (first byte scan, then compare): the
    /// generic `firstRange(of:)` on UTF-8 views cost more than the transfer it described.
    static func containsBytes(_ needle: String, in haystack: String) -> Bool {
        var needle = needle
        var haystack = haystack
        return needle.withUTF8 { n in
            haystack.withUTF8 { h in
                guard let first = n.first else { return true }
                guard n.count <= h.count else { return false }
                var i = 0
                let last = h.count - n.count
                while i <= last {
                    if h[i] == first {
                        var j = 1
                        while j < n.count, h[i + j] == n[j] { j += 1 }
                        if j == n.count { return true }
                    }
                    i += 1
                }
                return false
            }
        }
    }

    /// True when none of the secrets appears in `text`, in any of the forms `redact` replaces.
    public func isClean(_ text: String) -> Bool { redact(text) == text }

    // MARK: - Forms

    /// The value and the forms receivers quote it in (distinct, the value first).
    static func forms(of value: String) -> [String] {
        var out = [value]
        let bytes = Array(value.utf8)
        for form in [percentEncoded(value), percentEncoded(value, lowercase: true), jsonEscaped(value),
                     base64(bytes, urlSafe: false), base64(bytes, urlSafe: true)]
        where form.utf8.count >= minimumLength && !out.contains(form) {
            out.append(form)
        }
        return out
    }

    /// The forms whose runs are looked for: `forms(of:)`, and the base64 of the value from its second and third
    /// byte, so that the base64 of any part of it (which starts at one of three alignments) is found as a run.
    static func fragmentForms(of value: String) -> [String] {
        var out = forms(of: value)
        let bytes = Array(value.utf8)
        for shift in 1...2 where bytes.count > shift {
            let tail = Array(bytes.dropFirst(shift))
            out.append(base64(tail, urlSafe: false))
            out.append(base64(tail, urlSafe: true))
        }
        return out
    }

    static func addWindows(of form: String, to set: inout Set<UInt64>) {
        let bytes = Array(form.utf8)
        let k = fragmentLength
        guard bytes.count >= k else { return }
        for start in 0...(bytes.count - k) { set.insert(fnv1a(bytes[start..<(start + k)])) }
    }

    static func fnv1a(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }

    static func percentEncoded(_ value: String, lowercase: Bool = false) -> String {
        // Bytes, not Characters: this runs for every secret of every request.
        let hex: [UInt8] = Array((lowercase ? "0123456789abcdef" : "0123456789ABCDEF").utf8)
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// As a JSON encoder that escapes `/` and non-ASCII writes it (without the quotes).
    static func jsonEscaped(_ value: String) -> String {
        var out = ""
        for unit in value.utf16 {
            switch unit {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x2F: out += "\\/"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(UInt8(unit)))
            default: out += "\\u" + String(unit, radix: 16).leftPadded(to: 4)
            }
        }
        return out
    }

    /// Base64 without padding (a value quoted inside a longer encoded text has none).
    static func base64(_ bytes: [UInt8], urlSafe: Bool) -> String {
        let table = Array((urlSafe ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                                   : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/").utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(table[Int(b0 >> 2)])
            out.append(table[Int((b0 & 0x03) << 4 | b1 >> 4)])
            if i + 1 < bytes.count { out.append(table[Int((b1 & 0x0F) << 2 | b2 >> 6)]) }
            if i + 2 < bytes.count { out.append(table[Int(b2 & 0x3F)]) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension String {
    /// Replaces every occurrence of `target` (non-empty), scanning left to right without overlaps.
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        out += rest
        return out
    }

    /// Replaces `target` where it stands as a word: the characters on either side (if any) are neither letters
    /// nor digits.
    func replacingWholeWords(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        func isWordCharacter(_ c: Character?) -> Bool { c.map { $0.isLetter || $0.isNumber } ?? false }
        var out = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            let before = range.lowerBound == startIndex ? nil : self[index(before: range.lowerBound)]
            let after = range.upperBound == endIndex ? nil : self[range.upperBound]
            out += rest[..<range.lowerBound]
            out += isWordCharacter(before) || isWordCharacter(after) ? String(self[range]) : replacement
            rest = rest[range.upperBound...]
        }
        out += rest
        return out
    }

    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
