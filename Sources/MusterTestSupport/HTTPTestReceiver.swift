import Foundation

/// One request as `Receivers/http_receiver.py` records it.
public struct RecordedRequest: Decodable, Sendable {
    public var seq: Int
    public var method: String
    /// With the query string.
    public var path: String
    /// Lowercased names.
    public var headers: [String: String]
    /// The body as UTF-8 text (invalid bytes replaced); `bodyBytes` has it exactly.
    public var body: String
    public var body_base64: String
    /// The client's port: one per connection, so reuse can be seen.
    public var client_port: Int
    /// How many requests this path had received, this one included.
    public var attempt: Int

    public var bodyBytes: [UInt8] { Array(Data(base64Encoded: body_base64) ?? Data()) }

    /// The body parsed as a JSON object.
    public func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(bodyBytes)) as? [String: Any] else {
            throw TestSupportError("body is not a JSON object: \(body)")
        }
        return object
    }
}

/// A real HTTP(S) server on 127.0.0.1 (`Receivers/http_receiver.py`) that records every request and answers
/// each path as its route says.
public final class HTTPTestReceiver: @unchecked Sendable {
    public let receiver: ReceiverProcess
    public var port: Int { receiver.port }

    /// `routes` as the script documents: path -> {statuses, status, delay, delays, drop, headers, body}; other
    /// paths answer 200. `tls`: serve HTTPS with this certificate. `port`: a fixed port instead of an ephemeral
    /// one. `lifetime`: seconds after which the script exits on its own, should a test never stop it.
    public init(routes: [String: [String: Any]] = [:], tls: (cert: String, key: String)? = nil, port: Int = 0, lifetime: Int = 180) async throws {
        var config: [String: Any] = ["routes": routes, "lifetime": lifetime, "port": port]
        if let tls { config["tls"] = ["cert": tls.cert, "key": tls.key] }
        receiver = try await ReceiverProcess(script: "http_receiver.py", config: config)
    }

    public func url(_ path: String, scheme: String = "http") -> String { "\(scheme)://127.0.0.1:\(port)\(path)" }

    /// Every request so far, in the order the receiver got them.
    public func requests() throws -> [RecordedRequest] { try receiver.records(as: RecordedRequest.self).sorted { $0.seq < $1.seq } }

    /// The requests to `path` (with its query string, as recorded).
    public func requests(to path: String) throws -> [RecordedRequest] { try requests().filter { $0.path == path } }

    /// Waits (bounded) until the receiver has recorded `count` requests; all of them.
    public func waitForRequests(_ count: Int, within seconds: Double = 15) async throws -> [RecordedRequest] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let all = try requests()
            if all.count >= count { return all }
            try await _Concurrency.Task.sleep(for: .milliseconds(25))
        }
        throw TestSupportError("the receiver got \(try requests().count) requests in \(seconds) s, expected \(count)")
    }

    public func stop() { receiver.stop() }
}
