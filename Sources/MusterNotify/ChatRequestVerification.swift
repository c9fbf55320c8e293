import Crypto
import MusterCore

// Checks of requests that chat and SMS platforms send to `muster serve` (button callbacks, SMS replies; later slash
// commands): pure functions of the request's bytes, the secret and the time, with no I/O, so that every route and
// every platform checks alike and tests compute the same signatures from the documented algorithms.

/// Why a request from a platform is refused (the server answers 401 and logs the reason, never the body).
public enum ChatRequestRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    /// No signature header (or no signed context).
    case unsigned
    /// A signature that is not the one the secret gives.
    case badSignature
    /// A timestamp that is not a number, or too far from the server's clock (a replay, or a clock far off).
    case stale
    /// This server has no secret for the platform: every request is refused.
    case notConfigured

    public var description: String {
        switch self {
        case .unsigned: "unsigned request"
        case .badSignature: "signature does not match"
        case .stale: "timestamp missing or more than 5 minutes from the server's clock"
        case .notConfigured: "no secret configured for this platform on this server"
        }
    }
}

/// Equal byte strings in time that depends on their length only (a signature must not leak how much of it matched).
public func constantTimeEqual<A: Collection, B: Collection>(_ a: A, _ b: B) -> Bool where A.Element == UInt8, B.Element == UInt8 {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for (x, y) in zip(a, b) { difference |= x ^ y }
    return difference == 0
}

/// Lower-case hex of bytes.
func hexText<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0xF)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// Slack's request signing (https://api.slack.com/authentication/verifying-requests-from-slack):
/// `X-Slack-Signature: v0=` + hex HMAC-SHA256(signing secret, `v0:` + `X-Slack-Request-Timestamp` + `:` + raw body),
/// and a timestamp (Unix seconds) within 5 minutes of the server's clock.
public struct SlackSignature: Sendable {
    public static let signatureHeader = "X-Slack-Signature"
    public static let timestampHeader = "X-Slack-Request-Timestamp"
    /// Requests whose timestamp is further than this from the server's clock are refused (Slack's advice).
    public static let window: TimeSpan = .minutes(5)

    private let secret: [UInt8]

    public init(signingSecret: String) { secret = Array(signingSecret.utf8) }

    /// `v0=` and the hex HMAC of the base string.
    public func signature(timestamp: String, body: [UInt8]) -> String {
        var mac = HMAC<SHA256>(key: SymmetricKey(data: secret))
        mac.update(data: Array("v0:\(timestamp):".utf8))
        mac.update(data: body)
        return "v0=" + hexText(mac.finalize())
    }

    /// Checks a request's headers and raw body against the secret at `now`: nil when it is Slack's, else why not.
    public func refusal(signature: String?, timestamp: String?, body: [UInt8], now: Instant) -> ChatRequestRefusal? {
        guard let signature, !signature.isEmpty else { return .unsigned }
        guard let timestamp, let seconds = Int64(timestamp), timestamp.utf8.allSatisfy({ (48...57).contains($0) }) else { return .stale }
        let skew = now.millisecondsSinceEpoch / 1000 - seconds
        guard abs(skew) <= Self.window.milliseconds / 1000 else { return .stale }
        let expected = self.signature(timestamp: timestamp, body: body)
        return constantTimeEqual(Array(expected.utf8), Array(signature.utf8)) ? nil : .badSignature
    }
}

/// Twilio's webhook signature (https://www.twilio.com/docs/usage/security#validating-requests):
/// `X-Twilio-Signature` = base64(HMAC-SHA1(auth token, the full URL the platform posted to + each POST parameter's
/// name and value, sorted by name, concatenated)).
public struct TwilioSignature: Sendable {
    public static let header = "X-Twilio-Signature"

    private let token: [UInt8]

    public init(authToken: String) { token = Array(authToken.utf8) }

    public func signature(url: String, parameters: [(name: String, value: String)]) -> String {
        var mac = HMAC<Insecure.SHA1>(key: SymmetricKey(data: token))
        mac.update(data: Array(url.utf8))
        // Sorted by name as bytes; parameters of one name keep their order (Twilio sends each name once).
        for parameter in parameters.enumerated().sorted(by: { ($0.element.name.utf8.lexicographicallyPrecedes($1.element.name.utf8))
            || ($0.element.name == $1.element.name && $0.offset < $1.offset) }) {
            mac.update(data: Array(parameter.element.name.utf8))
            mac.update(data: Array(parameter.element.value.utf8))
        }
        return MailMessage.base64(Array(mac.finalize()))
    }

    /// nil when the request is signed with the token, else why not.
    public func refusal(signature: String?, url: String, parameters: [(name: String, value: String)]) -> ChatRequestRefusal? {
        guard let signature, !signature.isEmpty else { return .unsigned }
        let expected = self.signature(url: url, parameters: parameters)
        return constantTimeEqual(Array(expected.utf8), Array(signature.utf8)) ? nil : .badSignature
    }
}

/// What a button of a personal message answers: which run, which question (a roll call or a page's
/// acknowledgement) and which option. No personal data: Slack shows these to the workspace's apps.
public struct ChatAnswer: Sendable, Hashable {
    public enum Question: Sendable, Hashable {
        case rollCall(String)
        case ack(String)
    }

    public var runID: String
    public var question: Question
    /// The roll call's option key; for an acknowledgement, `ack`.
    public var option: String

    public init(runID: String, question: Question, option: String) {
        self.runID = runID
        self.question = question
        self.option = option
    }

    /// The `value` of a Slack button: `v1 RUN roll_call|ack QUESTION OPTION`, space-separated (ids have no spaces).
    public var slackValue: String {
        switch question {
        case .rollCall(let id): "v1 \(runID) roll_call \(id) \(option)"
        case .ack(let id): "v1 \(runID) ack \(id) \(option)"
        }
    }

    /// Reads a Slack button's value; nil for anything else.
    public init?(slackValue value: String) {
        let parts = value.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, parts[0] == "v1", !parts[1].isEmpty, !parts[3].isEmpty, !parts[4].isEmpty else { return nil }
        switch parts[2] {
        case "roll_call": self.init(runID: parts[1], question: .rollCall(parts[3]), option: parts[4])
        case "ack": self.init(runID: parts[1], question: .ack(parts[3]), option: parts[4])
        default: return nil
        }
    }

    var kind: String { if case .ack = question { "ack" } else { "roll_call" } }
    var questionID: String {
        switch question {
        case .rollCall(let id), .ack(let id): id
        }
    }
}

/// The signed `context` of a Mattermost interactive button. Mattermost does not sign the requests it sends, so
/// the context carries run, question, option and person with an HMAC-SHA256 of them under a secret only Muster
/// holds: a context that verifies was written by Muster, for that person.
public struct MattermostActionSigner: Sendable, Hashable {
    let secret: String

    public init(secret: String) { self.secret = secret }

    /// The signed text: one field per line, so no field can run into another.
    static func signedText(_ answer: ChatAnswer, person: String) -> [UInt8] {
        Array("muster-mattermost-v1\n\(answer.runID)\n\(answer.kind)\n\(answer.questionID)\n\(answer.option)\n\(person)".utf8)
    }

    public func signature(_ answer: ChatAnswer, person: String) -> String {
        hexText(HMAC<SHA256>.authenticationCode(for: Self.signedText(answer, person: person), using: SymmetricKey(data: Array(secret.utf8))))
    }

    /// The context object for the button: `run`, `roll_call` or `ack`, `option`, `person`, `signature`.
    public func context(_ answer: ChatAnswer, person: String) -> JSONValue {
        var members: [(String, JSONValue)] = [("run", .string(answer.runID)), (answer.kind, .string(answer.questionID)),
                                              ("option", .string(answer.option)), ("person", .string(person))]
        members.append(("signature", .string(signature(answer, person: person))))
        return .object(members)
    }

    /// Checks a context's fields (as strings from the request's JSON); the answer and person it signs.
    public func verify(context: [String: String]) -> Result<(answer: ChatAnswer, person: String), ChatRequestRefusal> {
        guard let signature = context["signature"], !signature.isEmpty else { return .failure(.unsigned) }
        guard let run = context["run"], let option = context["option"], let person = context["person"] else { return .failure(.badSignature) }
        let question: ChatAnswer.Question
        if let id = context["roll_call"], context["ack"] == nil { question = .rollCall(id) }
        else if let id = context["ack"], context["roll_call"] == nil { question = .ack(id) }
        else { return .failure(.badSignature) }
        let answer = ChatAnswer(runID: run, question: question, option: option)
        let expected = self.signature(answer, person: person)
        guard constantTimeEqual(Array(expected.utf8), Array(signature.utf8)) else { return .failure(.badSignature) }
        return .success((answer, person))
    }
}

/// Mattermost slash commands: each request carries the command's token (`token`, form-encoded), compared here in
/// constant time with the one Mattermost showed when the command was made (`MUSTER_MATTERMOST_COMMAND_TOKEN`).
/// Mattermost signs nothing else: a token does not expire, so a replay cannot be told from a retry by the token.
public struct MattermostCommandToken: Sendable, Hashable {
    public let token: String

    public init(token: String) { self.token = token }

    /// Nil when `sent` is the token; otherwise why not.
    public func refusal(sent: String?) -> ChatRequestRefusal? {
        guard let sent, !sent.isEmpty else { return .unsigned }
        return constantTimeEqual(Array(sent.utf8), Array(token.utf8)) ? nil : .badSignature
    }
}
