import Crypto
import MusterCore

/// A personal answer link (format 8, `docs/people.md`): `BASE_URL/a/TOKEN` in one message to one person, which
/// lets them answer one question of one run without signing in. The journal keeps the token's SHA-256 only.
public struct AnswerLink: Sendable, Hashable {
    /// What the link answers.
    public enum Question: Sendable, Hashable {
        /// A roll call, by id: the answer is one of its options.
        case rollCall(String)
        /// A page's acknowledgement, by ack id.
        case ack(String)

        var kind: String {
            switch self {
            case .rollCall: "rollcall"
            case .ack: "ack"
            }
        }

        public var id: String {
            switch self {
            case .rollCall(let id), .ack(let id): id
            }
        }
    }

    public var tokenSHA256: String
    public var runID: String
    /// The person it was sent to, as the notification names them: the one the answer is recorded for.
    public var person: String
    public var question: Question
    /// The notification that carried it.
    public var notificationID: String
    /// The message as sent (without the link): what the answer page shows. The same text is on the run's timeline.
    public var message: String
    public var createdAt: Instant
    public var expiresAt: Instant

    public init(tokenSHA256: String, runID: String, person: String, question: Question, notificationID: String, message: String,
                createdAt: Instant, expiresAt: Instant) {
        self.tokenSHA256 = tokenSHA256
        self.runID = runID
        self.person = person
        self.question = question
        self.notificationID = notificationID
        self.message = message
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    public func isExpired(at now: Instant) -> Bool { now >= expiresAt }
}

/// Answer link tokens: 32 bytes from the system's random source (256 bits), written base64url without padding (43
/// characters of `A-Z a-z 0-9 - _`), so they fit a URL path as they are.
public enum AnswerToken {
    public static let length = 43

    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 32)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &generator) }
        return base64URL(bytes)
    }

    /// Whether `text` has a token's shape (what a link cut short or mistyped does not).
    public static func isWellFormed(_ text: some StringProtocol) -> Bool {
        text.utf8.count == length && text.utf8.allSatisfy { byte in
            (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D || byte == 0x5F
        }
    }

    /// Lowercase hex of the token's SHA-256: what the journal stores and looks up.
    public static func sha256(_ token: some StringProtocol) -> String { Digest256.hex(of: Array(token.utf8)) }

    static func base64URL(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out = [UInt8]()
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index < bytes.count {
            let b0 = UInt32(bytes[index])
            let b1 = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
            let b2 = index + 2 < bytes.count ? UInt32(bytes[index + 2]) : 0
            let triple = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(triple >> 18 & 63)])
            out.append(alphabet[Int(triple >> 12 & 63)])
            if index + 1 < bytes.count { out.append(alphabet[Int(triple >> 6 & 63)]) }
            if index + 2 < bytes.count { out.append(alphabet[Int(triple & 63)]) }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Journal {
    /// Records links about to be sent, all in one transaction (a delivery batch's).
    public func addAnswerLinks(_ links: [AnswerLink]) throws(JournalError) {
        guard !links.isEmpty else { return }
        try write { db in
            for link in links {
                try db.execute("""
                    INSERT INTO answer_links (token_sha256, run_id, person, kind, question, notification_id, message, created_ms, expires_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, [link.tokenSHA256, link.runID, link.person, link.question.kind, link.question.id, link.notificationID, link.message,
                          link.createdAt.millisecondsSinceEpoch, link.expiresAt.millisecondsSinceEpoch])
            }
        }
    }

    /// The link whose token has this SHA-256; nil when there is none.
    public func answerLink(tokenSHA256: String) throws(JournalError) -> AnswerLink? {
        try read { db in
            try db.one("""
                SELECT token_sha256, run_id, person, kind, question, notification_id, message, created_ms, expires_ms
                FROM answer_links WHERE token_sha256 = ?
                """, [tokenSHA256]).map(Journal.answerLink)
        }
    }

    /// Every link sent for a run, oldest first (tests and audits; never the tokens).
    public func answerLinks(runID: String) throws(JournalError) -> [AnswerLink] {
        try read { db in
            try db.all("""
                SELECT token_sha256, run_id, person, kind, question, notification_id, message, created_ms, expires_ms
                FROM answer_links WHERE run_id = ? ORDER BY created_ms, notification_id
                """, [runID]).map(Journal.answerLink)
        }
    }

    static func answerLink(_ row: SQLRow) -> AnswerLink {
        let kind: String = row[3]
        let question: String = row[4]
        return AnswerLink(tokenSHA256: row[0], runID: row[1], person: row[2], question: kind == "ack" ? .ack(question) : .rollCall(question),
                          notificationID: row[5], message: row[6], createdAt: Instant(millisecondsSinceEpoch: row[7]),
                          expiresAt: Instant(millisecondsSinceEpoch: row[8]))
    }
}
