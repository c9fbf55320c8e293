import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A fake Slack Web API and Mattermost REST API on 127.0.0.1 (`Receivers/chat_platform.py`): takes the incident
/// messages Muster posts and edits, with the bot tokens checked, and records each call.
public final class FakeChatPlatform: @unchecked Sendable {
    public let receiver: ReceiverProcess
    public let slackToken: String
    public let mattermostToken: String

    /// One call Muster made, as recorded.
    public struct Call: @unchecked Sendable {
        public var seq: Int
        public var platform: String
        /// `post` or `update`.
        public var op: String
        public var status: Int
        public var error: String?
        public var channel: String?
        /// The platform's id of the message (Slack `ts`, Mattermost post id).
        public var message: String?
        public var authorization: String?
        public var body: [String: Any]

        /// Everything the message says (Slack's block texts and button labels, or Mattermost's markdown and
        /// attachment buttons), as one text.
        public var text: String {
            var parts: [String] = []
            func walk(_ value: Any) {
                if let text = value as? String { parts.append(text) }
                if let list = value as? [Any] { list.forEach(walk) }
                if let object = value as? [String: Any] {
                    for key in object.keys.sorted() where ["text", "message", "name", "title", "blocks", "elements", "props", "attachments", "actions"].contains(key) {
                        walk(object[key]!)
                    }
                }
            }
            walk(body)
            return parts.joined(separator: "\n")
        }
    }

    public init(slackToken: String = "xoxb-fake-slack-bot-token-0001", mattermostToken: String = "mm-fake-bot-access-token-0001") async throws {
        self.slackToken = slackToken
        self.mattermostToken = mattermostToken
        receiver = try await ReceiverProcess(script: "chat_platform.py", config: ["slack_token": slackToken, "mattermost_token": mattermostToken, "lifetime": 600])
    }

    public var baseURL: String { "http://127.0.0.1:\(receiver.port)" }
    /// What `MUSTER_SLACK_API_URL` names for this fake.
    public var slackAPI: String { baseURL + "/api" }

    public func calls(_ platform: String? = nil) -> [Call] {
        let text = (try? String(contentsOf: receiver.recordFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line -> Call? in
            guard let o = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else { return nil }
            let call = Call(seq: o["seq"] as? Int ?? 0, platform: o["platform"] as? String ?? "", op: o["op"] as? String ?? "",
                            status: o["status"] as? Int ?? 0, error: o["error"] as? String, channel: o["channel"] as? String,
                            message: o["message"] as? String, authorization: o["authorization"] as? String, body: o["body"] as? [String: Any] ?? [:])
            return platform == nil || call.platform == platform ? call : nil
        }
    }

    /// Accepted calls of a platform (the message exists and was posted or edited).
    public func accepted(_ platform: String) -> [Call] { calls(platform).filter { $0.error == nil && ($0.status == 200 || $0.status == 201) } }

    /// The latest accepted post or edit of a platform's message in `channel`.
    public func latest(_ platform: String, channel: String? = nil) -> Call? {
        accepted(platform).last { channel == nil || $0.channel == channel }
    }

    /// Deletes a message, as a person in the channel would.
    public func delete(_ platform: String, message: String) throws {
        var request = URLRequest(url: URL(string: baseURL + "/_control/delete")!)
        request.httpMethod = "POST"
        request.httpBody = try JSONSerialization.data(withJSONObject: ["platform": platform, "message": message])
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { _, _, _ in done.signal() }.resume()
        _ = done.wait(timeout: .now() + 10)
    }
}
