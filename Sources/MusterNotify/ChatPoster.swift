import Foundation
import MusterCore

/// Posts and edits incident messages through the platforms' own APIs (docs/chat.md): Slack `chat.postMessage` and
/// `chat.update` with the bot token, Mattermost `POST /api/v4/posts` and `PUT /api/v4/posts/ID` with the bot's
/// access token. The tokens are redacted from every reason it gives.
public struct ChatPoster: Sendable {
    public enum Outcome: Sendable, Hashable {
        /// Posted: the platform's id of the new message (Slack `ts`, Mattermost post id).
        case posted(String)
        case edited
        /// The message to edit no longer exists (someone deleted it): post a new one.
        case gone
        /// Not done; why (secrets redacted), the HTTP status if one came, and the platform's `Retry-After`.
        case failed(String, status: Int? = nil, retryAfter: RetryAfter? = nil)
    }

    let transport: CurlTransport
    let settings: ChatPostingSettings
    let actions: MattermostActions?
    let redactor: Redactor
    let timeouts: DeliveryTimeouts

    public init(transport: CurlTransport, settings: ChatPostingSettings, actions: MattermostActions?,
                timeouts: DeliveryTimeouts = DeliveryTimeouts(connect: .seconds(5), total: .seconds(15))) {
        self.transport = transport
        self.settings = settings
        self.actions = actions
        self.timeouts = timeouts
        var redactor = Redactor(secrets: settings.secrets)
        for url in [settings.slackAPI, settings.mattermostURL].compactMap({ $0 }) { redactor.addURL(url) }
        self.redactor = redactor
    }

    /// Posts the message in the binding's channel, or edits `messageID` there.
    public func publish(_ message: IncidentMessage, in binding: ChatChannelBinding, editing messageID: String?) async -> Outcome {
        switch binding.platform {
        case "slack":
            guard let token = settings.slackToken else { return .failed("no Slack bot token (\(ChatPostingSettings.slackTokenVariable))") }
            let method = messageID == nil ? "chat.postMessage" : "chat.update"
            let body = IncidentMessagePayloads.slack(message, channel: binding.channel, ts: messageID)
            let result = await send(settings.slackAPI + "/" + method, method: "POST", token: token, body: body)
            return Self.slackOutcome(result, editing: messageID != nil)
        case "mattermost":
            guard let token = settings.mattermostToken, let base = settings.mattermostURL else {
                return .failed("no Mattermost bot token and server (\(ChatPostingSettings.mattermostTokenVariable), \(ChatPostingSettings.mattermostURLVariable))")
            }
            let body = IncidentMessagePayloads.mattermost(message, channel: binding.channel, postID: messageID, actions: actions)
            let url = base + "/api/v4/posts" + (messageID.map { "/" + Self.pathSegment($0) } ?? "")
            let result = await send(url, method: messageID == nil ? "POST" : "PUT", token: token, body: body)
            return Self.mattermostOutcome(result, editing: messageID != nil)
        default:
            return .failed("Muster posts incident messages to Slack and Mattermost only, not '\(binding.platform)'")
        }
    }

    func send(_ url: String, method: String, token: String, body: JSONValue) async -> DeliveryResult {
        let headers = [HTTPHeader("Authorization", "Bearer " + token), HTTPHeader("Content-Type", "application/json; charset=utf-8")]
        let request = DeliveryRequest(target: .httpPost(HTTPPost(url: url, headers: headers, body: body.bytes, method: method, keepsResponse: true)),
                                      timeouts: timeouts, redactor: redactor, label: "incident-message")
        return await transport.send(request)
    }

    static func json(_ result: DeliveryResult) -> [String: Any]? {
        guard let body = result.responseBody, !body.isEmpty else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }

    /// Slack answers 200 with `ok` false and an `error` code for most refusals.
    static func slackOutcome(_ result: DeliveryResult, editing: Bool) -> Outcome {
        if let failure = result.failure {
            return .failed(failure.reason, status: result.status, retryAfter: result.retryAfter)
        }
        guard let answer = json(result) else { return .failed("Slack's answer was not JSON") }
        guard answer["ok"] as? Bool == true else {
            let error = answer["error"] as? String ?? "unknown error"
            if editing && (error == "message_not_found" || error == "cant_update_message") { return .gone }
            return .failed("Slack refused: \(error)")
        }
        if editing { return .edited }
        guard let ts = answer["ts"] as? String, !ts.isEmpty else { return .failed("Slack's answer had no ts") }
        return .posted(ts)
    }

    static func mattermostOutcome(_ result: DeliveryResult, editing: Bool) -> Outcome {
        if editing && result.status == 404 { return .gone }
        if let failure = result.failure {
            return .failed(failure.reason, status: result.status, retryAfter: result.retryAfter)
        }
        if editing { return .edited }
        guard let id = json(result)?["id"] as? String, !id.isEmpty else { return .failed("Mattermost's answer had no post id") }
        return .posted(id)
    }

    /// A message id as one URL path segment (Mattermost ids are letters and digits; anything else is escaped).
    static func pathSegment(_ id: String) -> String {
        id.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? id
    }
}
