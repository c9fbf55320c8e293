import Foundation

/// One message as `Receivers/smtp_sink.py` records it.
public struct RecordedMail: Decodable, Sendable {
    public var mail_from: String
    public var rcpt_tos: [String]
    /// Decoded header values by name.
    public var headers: [String: String]
    public var raw_headers: String
    public var content_type: String
    public var charset: String?
    /// The decoded text body.
    public var body: String
    /// What Python's email parser found wrong with the message.
    public var defects: [String]
    /// The user name of the AUTH, if any.
    public var login: String?
    public var tls: Bool
}

/// A real SMTP server on 127.0.0.1 (`Receivers/smtp_sink.py`, aiosmtpd) that records every message it accepts.
public final class SMTPTestSink: @unchecked Sendable {
    public let receiver: ReceiverProcess
    public var port: Int { receiver.port }

    /// `config` as the script documents (refuse, users, tls, require_starttls, implicit_tls, lifetime); the
    /// lifetime is 180 s unless given.
    public init(config: [String: Any]) async throws {
        receiver = try await ReceiverProcess(script: "smtp_sink.py", config: config.merging(["lifetime": 180]) { given, _ in given },
                                             needsAiosmtpd: true)
    }

    /// `refuse`: recipients answered 550. `users`: AUTH offered and checked. `tls`: STARTTLS offered and required.
    public convenience init(refuse: [String] = [], users: [String: String]? = nil, tls: (cert: String, key: String)? = nil) async throws {
        var config: [String: Any] = ["refuse": refuse]
        if let users { config["users"] = users }
        if let tls { config["tls"] = ["cert": tls.cert, "key": tls.key] }
        try await self.init(config: config)
    }

    public var url: String { "smtp://127.0.0.1:\(port)" }

    /// Every accepted message, in the order they were accepted.
    public func messages() throws -> [RecordedMail] { try receiver.records(as: RecordedMail.self) }

    public func stop() { receiver.stop() }
}
