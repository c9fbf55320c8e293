/// Replaces secret values (webhook URLs with tokens, routing keys, passwords, signing secrets, values that
/// came from `${VAR}`) with `[redacted]` in any text: error reasons, logs, timeline entries.
///
/// Matching is on exact substrings, longest secret first, so a secret that contains another is replaced whole.
/// For a URL, its path-and-query and its userinfo are secrets too: libcurl and servers often quote only a part.
public struct Redactor: Sendable, Hashable {
    public static let placeholder = "[redacted]"

    /// Longest first.
    public private(set) var secrets: [String]

    public init<S: Sequence>(secrets: S) where S.Element == String {
        self.secrets = []
        add(secrets)
    }

    public init() { self.secrets = [] }

    public mutating func add<S: Sequence>(_ values: S) where S.Element == String {
        var all = Set(secrets)
        for value in values where !value.isEmpty {
            all.insert(value)
            let encoded = Self.percentEncoded(value)
            if encoded != value { all.insert(encoded) }
        }
        secrets = all.sorted { $0.utf8.count != $1.utf8.count ? $0.utf8.count > $1.utf8.count : $0 < $1 }
    }

    public mutating func add(_ value: String) { add([value]) }

    static func looksLikeToken(_ piece: Substring) -> Bool {
        piece.count >= 20 || (piece.count >= 8 && piece.contains(where: \.isNumber))
    }

    /// Adds a URL: the whole of it, and the parts that carry tokens (userinfo, path with query) when they
    /// are more than a bare `/`.
    public mutating func addURL(_ url: String) {
        var values = [url]
        if let schemeEnd = url.firstRange(of: "://") {
            let afterScheme = url[schemeEnd.upperBound...]
            let authorityEnd = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? afterScheme.endIndex
            let authority = afterScheme[..<authorityEnd]
            if let at = authority.lastIndex(of: "@") {
                let userinfo = authority[..<at]
                values.append(String(userinfo))
                if let colon = userinfo.firstIndex(of: ":") { values.append(String(userinfo[userinfo.index(after: colon)...])) }
            }
            let pathAndQuery = afterScheme[authorityEnd...]
            if pathAndQuery.count > 1 { values.append(String(pathAndQuery)) }
            // Token-like pieces on their own (receivers quote them): path segments and query values of at
            // least 8 characters that contain a digit, or of at least 20; not words like `services`.
            for piece in pathAndQuery.split(whereSeparator: { "/?&=#".contains($0) }) where Self.looksLikeToken(piece) {
                values.append(String(piece))
            }
        }
        add(values)
    }

    public func merging(_ other: Redactor) -> Redactor {
        var copy = self
        copy.add(other.secrets)
        return copy
    }

    public func redact(_ text: String) -> String {
        guard !secrets.isEmpty, !text.isEmpty else { return text }
        var result = text
        // Longest first: a secret longer than the text (in bytes) cannot occur in it, and after a
        // replacement the text only gets the placeholder, so this check is made against the current text.
        for secret in secrets where secret.utf8.count <= result.utf8.count && Self.occurs(secret, in: result) {
            result = result.replacingAll(secret, with: Self.placeholder)
        }
        return result
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

    /// True when none of the secrets appears in `text`.
    public func isClean(_ text: String) -> Bool { !secrets.contains { text.contains($0) } }

    static func percentEncoded(_ value: String) -> String {
        // Bytes, not Characters: this runs for every secret of every request.
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
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

    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
