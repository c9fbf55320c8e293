/// What an email channel's `to` and `from` may hold: a bare address (`ops@example.org`) or a display name with
/// one address in angle brackets (`Ops <ops@example.org>`). A control character (a line break would add an
/// SMTP command such as a second `RCPT TO`), or an angle bracket or a space inside the address, is refused: by
/// the validator for what the playbook says, and when the channel is resolved, after `${VAR}` expansion.
public enum MailboxRule {
    /// Why `mailbox` is not acceptable, or nil when it is. The reason never quotes the text (it may hold a
    /// control character, or a value from the environment).
    public static func problem(_ mailbox: String) -> String? {
        if mailbox.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || (0x80...0x9F).contains($0.value) || $0.value == 0x2028 || $0.value == 0x2029 }) {
            return "contains a control character or line break (it would add commands to the SMTP envelope)"
        }
        let opens = mailbox.unicodeScalars.filter { $0 == "<" }.count
        let closes = mailbox.unicodeScalars.filter { $0 == ">" }.count
        var address = Substring(mailbox)
        if opens > 0 || closes > 0 {
            let text = trimmedSpaces(Substring(mailbox))
            guard opens == 1, closes == 1, text.last == ">", let open = text.firstIndex(of: "<") else {
                return "has angle brackets other than one pair around the address (write 'Name <address>' or the bare address)"
            }
            address = text[text.index(after: open)..<text.index(before: text.endIndex)]
        }
        let bare = trimmedSpaces(address)
        if bare.isEmpty { return "has no address" }
        if bare.contains(where: { $0 == " " || $0 == "<" || $0 == ">" }) {
            return "has a space or an angle bracket inside the address"
        }
        return nil
    }

    static func trimmedSpaces(_ text: Substring) -> Substring {
        var text = text
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return text
    }
}

/// Which environment variables a channel's `${NAME}` may read. A playbook is text that people edit and share,
/// and the process that resolves it (`muster serve`, `watch`, `outbox deliver`) holds far more in its environment
/// than notification settings (cloud keys, database passwords): a channel could send any of them to its URL.
/// So a name must start with one of the allowed prefixes: `MUSTER_` unless `MUSTER_SECRET_PREFIXES` (in the
/// resolving process's environment) lists others, comma-separated (`MUSTER_,OPS_NOTIFY_`).
public struct VariablePolicy: Sendable, Hashable {
    /// The environment variable that sets the prefixes.
    public static let setting = "MUSTER_SECRET_PREFIXES"
    public static let standardPrefixes = ["MUSTER_"]
    public static let standard = VariablePolicy(prefixes: standardPrefixes)

    public var prefixes: [String]

    public init(prefixes: [String]) { self.prefixes = prefixes }

    /// The policy `environment` asks for: its `MUSTER_SECRET_PREFIXES`, or the standard one when that is unset
    /// or lists no prefix.
    public init(environment: [String: String]) {
        let listed = (environment[Self.setting] ?? "").split(separator: ",").map { String($0.filter { $0 != " " }) }.filter { !$0.isEmpty }
        prefixes = listed.isEmpty ? Self.standardPrefixes : listed
    }

    public func allows(_ name: String) -> Bool { prefixes.contains { name.hasPrefix($0) } }

    /// `MUSTER_` or `MUSTER_, OPS_`, for messages.
    public var prefixList: String { prefixes.joined(separator: ", ") }

    /// One piece of a setting's text, as `${NAME}` references are read: the one scanner behind `references`,
    /// `replacingReferences` and `EnvironmentResolver.resolve`.
    public enum Piece: Sendable, Hashable {
        /// Text as written.
        case text(Substring)
        /// `$$`: a literal `$`.
        case escapedDollar
        /// `${NAME}` (the name as written, valid or not).
        case reference(String)
        /// A `${` with no closing `}`: the rest of the text, from the `$`.
        case unterminated(Substring)
    }

    public static func pieces(of text: String) -> [Piece] {
        var pieces: [Piece] = []
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            if dollar > rest.startIndex { pieces.append(.text(rest[..<dollar])) }
            let after = rest[rest.index(after: dollar)...]
            if after.first == "$" {
                pieces.append(.escapedDollar)
                rest = after.dropFirst()
            } else if after.first == "{" {
                guard let close = after.firstIndex(of: "}") else {
                    pieces.append(.unterminated(rest[dollar...]))
                    return pieces
                }
                pieces.append(.reference(String(after[after.index(after: after.startIndex)..<close])))
                rest = after[after.index(after: close)...]
            } else {
                pieces.append(.text(rest[dollar..<after.startIndex]))
                rest = after
            }
        }
        if !rest.isEmpty { pieces.append(.text(rest)) }
        return pieces
    }

    /// The names referenced by `text` (`${NAME}`; `$$` is a literal `$`), in order, without resolving them.
    public static func references(in text: String) -> [String] {
        pieces(of: text).compactMap { if case .reference(let name) = $0 { name } else { nil } }
    }

    /// `text` with each `${NAME}` replaced by `replacement` (`$$` kept as it is).
    public static func replacingReferences(in text: String, with replacement: String) -> String {
        pieces(of: text).map { piece in
            switch piece {
            case .text(let t), .unterminated(let t): String(t)
            case .escapedDollar: "$$"
            case .reference: replacement
            }
        }.joined()
    }

    /// Letters, digits and `_`, not starting with a digit (ASCII).
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }
}
