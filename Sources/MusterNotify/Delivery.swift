import MusterCore

/// One message to hand to a receiver: an HTTP POST (webhook, chat, PagerDuty) or an SMTP send (email).
///
/// A request carries the `Redactor` that knows its secrets, so that whatever goes wrong with it can be
/// described without leaking them.
public struct DeliveryRequest: Sendable, Hashable {
    public enum Target: Sendable, Hashable {
        case httpPost(HTTPPost)
        case smtp(SMTPSend)
    }

    public var target: Target
    public var timeouts: DeliveryTimeouts
    /// Replaces this request's secrets (URL tokens, routing keys, passwords, signing secrets) in any text
    /// the transport produces about it.
    public var redactor: Redactor
    /// A name safe to print in logs (the channel id), never the URL.
    public var label: String

    public init(target: Target, timeouts: DeliveryTimeouts = .standard, redactor: Redactor = Redactor(), label: String = "") {
        self.target = target
        self.timeouts = timeouts
        self.redactor = redactor
        self.label = label
    }

    public static func httpPost(
        url: String, headers: [HTTPHeader] = [], body: [UInt8], timeouts: DeliveryTimeouts = .standard,
        redactor: Redactor = Redactor(), label: String = ""
    ) -> DeliveryRequest {
        DeliveryRequest(target: .httpPost(HTTPPost(url: url, headers: headers, body: body)), timeouts: timeouts, redactor: redactor, label: label)
    }
}

public struct HTTPHeader: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    public var description: String { "\(name): \(value)" }
}

public struct HTTPPost: Sendable, Hashable {
    /// `http://` or `https://`; other schemes are refused by the transport.
    public var url: String
    /// Sent in this order, after the transport's own (`User-Agent`); a `Content-Type` here replaces the default.
    public var headers: [HTTPHeader]
    public var body: [UInt8]
    /// `POST`, or `PUT` (Mattermost edits a post with a PUT); the body is sent either way.
    public var method: String
    /// Keep the response body (up to 16 KiB) in the result: for APIs whose answer is needed (a posted message's id).
    public var keepsResponse: Bool

    public init(url: String, headers: [HTTPHeader] = [], body: [UInt8], method: String = "POST", keepsResponse: Bool = false) {
        self.url = url
        self.headers = headers
        self.body = body
        self.method = method
        self.keepsResponse = keepsResponse
    }
}

public struct SMTPSend: Sendable, Hashable {
    /// `smtp://host[:port]` or `smtps://host[:port]` (implicit TLS).
    public var url: String
    /// With `smtp://`: upgrade with STARTTLS and fail if the server cannot.
    public var startTLS: Bool
    public var username: String?
    public var password: String?
    /// The envelope sender, a bare address (`muster@example.org`).
    public var mailFrom: String
    /// The envelope recipients, bare addresses.
    public var recipients: [String]
    /// The whole RFC 5322 message, CRLF line endings.
    public var message: [UInt8]

    public init(
        url: String, startTLS: Bool = false, username: String? = nil, password: String? = nil, mailFrom: String,
        recipients: [String], message: [UInt8]
    ) {
        self.url = url
        self.startTLS = startTLS
        self.username = username
        self.password = password
        self.mailFrom = mailFrom
        self.recipients = recipients
        self.message = message
    }
}

/// Every transfer has both: a receiver that never answers must not hold a delivery forever.
public struct DeliveryTimeouts: Sendable, Hashable {
    /// Until the TCP (and TLS) connection is up.
    public var connect: TimeSpan
    /// The whole transfer, connection included.
    public var total: TimeSpan

    public init(connect: TimeSpan, total: TimeSpan) {
        self.connect = connect
        self.total = total
    }

    public static let standard = DeliveryTimeouts(connect: .seconds(10), total: .seconds(30))
}

/// What became of one request.
public struct DeliveryResult: Sendable, Hashable {
    /// The final HTTP status, or the last SMTP reply code; nil when no answer came (refused, timed out, DNS).
    public var status: Int?
    /// From the start of the transfer to its end, as libcurl measured it.
    public var latency: TimeSpan
    /// From a `Retry-After` response header, when the receiver sent one.
    public var retryAfter: RetryAfter?
    /// nil when delivered.
    public var failure: DeliveryFailure?
    /// The libcurl result code (0 when the transfer itself succeeded, even with an HTTP error status).
    public var curlCode: Int
    /// The first bytes of the response body as text, redacted (for people reading a failure).
    public var responseSnippet: String?
    /// The whole response body (up to 16 KiB), when the request asked for it (`HTTPPost.keepsResponse`).
    public var responseBody: [UInt8]?

    public init(
        status: Int?, latency: TimeSpan, retryAfter: RetryAfter? = nil, failure: DeliveryFailure?, curlCode: Int = 0,
        responseSnippet: String? = nil
    ) {
        self.status = status
        self.latency = latency
        self.retryAfter = retryAfter
        self.failure = failure
        self.curlCode = curlCode
        self.responseSnippet = responseSnippet
    }

    public var delivered: Bool { failure == nil }

    /// The response body of a 401 or 403, which the failure's reason leaves out (it may quote the credential
    /// in an encoding the redactor misses): for the outbox row, never for the run's timeline. Nil otherwise.
    public var withheldBody: String? {
        guard let status, DeliveryClassifier.withholdsBody(status: status) else { return nil }
        return responseSnippet
    }
}

/// Why a delivery failed, and whether trying again can help. The reason never contains a secret.
public enum DeliveryFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// Trying again will not help: 4xx other than 408/429, an SMTP recipient refused (5xx), a bad URL,
    /// a certificate that does not verify, a login refused.
    case permanent(String)
    /// Worth retrying: connection refused, timeout, DNS failure, 5xx, 408, 429, a connection closed mid-response.
    case transient(String)

    public var reason: String {
        switch self {
        case .permanent(let r), .transient(let r): r
        }
    }

    public var isPermanent: Bool { if case .permanent = self { true } else { false } }

    public var description: String {
        switch self {
        case .permanent(let r): "permanent failure: \(r)"
        case .transient(let r): "transient failure: \(r)"
        }
    }
}
