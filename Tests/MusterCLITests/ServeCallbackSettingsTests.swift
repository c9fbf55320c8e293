import Foundation
import MusterTestSupport
import Testing

/// `muster serve` reads the answer callbacks' secrets from its environment: with them, an unsigned request is refused
/// for being unsigned; without them, for want of a secret. Neither secret nor body reaches its output.
@Suite("muster serve: the answer callbacks' settings come from the environment", .serialized, .ownThreads)
struct ServeCallbackSettingsTests {
    static let secrets = ["MUSTER_SLACK_SIGNING_SECRET": "slack-secret-7f3a9", "MUSTER_MATTERMOST_ACTION_SECRET": "mm-secret-52c1e",
                          "MUSTER_SMS_AUTH_TOKEN": "sms-token-d41b8", "MUSTER_PUBLIC_URL": "https://muster.example.org"]

    /// POSTs `body` to `path`: status and body.
    func post(_ serve: ServeProcess, _ path: String, _ type: String, _ body: String) throws -> (status: Int, body: String) {
        let connection = try RawHTTP(port: serve.port)
        try connection.send("POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: \(type)\r\nContent-Length: \(body.utf8.count)\r\n"
            + "Connection: close\r\n\r\n\(body)")
        let response = try connection.readResponse()
        return (response.status, response.body)
    }

    func refusals(env: [String: String]) throws -> [String] {
        let cli = try IncidentCLIHarness()
        defer { cli.remove() }
        let serve = try ServeProcess.start(cli, name: "serve", env: env)
        defer { serve.kill() }
        var reasons: [String] = []
        for (path, type, body) in [("/hooks/slack/interactive", "application/x-www-form-urlencoded", "payload=%7B%22secret-body-marker%22%3A1%7D"),
                                   ("/hooks/mattermost/actions", "application/json", #"{"user_id":"u1","context":{"run":"secret-body-marker"}}"#),
                                   ("/hooks/sms", "application/x-www-form-urlencoded", "From=%2B4915100000009&Body=secret-body-marker")] {
            let answer = try post(serve, path, type, body)
            #expect(answer.status == 401, "\(path): \(answer.body)")
            let json = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]
            reasons.append(json?["error"] as? String ?? answer.body)
        }
        serve.server.kill(SIGTERM)
        try serve.expectExit()
        let output = serve.server.stdout + serve.server.stderr
        for needle in Self.secrets.values.filter({ !$0.hasPrefix("https") }) + ["secret-body-marker", "+4915100000009", "4915100000009"] {
            #expect(!output.contains(needle), "the server's output holds '\(needle)'")
        }
        return reasons
    }

    @Test("with the secrets set, unsigned requests are refused as unsigned; without them, as unconfigured")
    func environment() throws {
        #expect(try refusals(env: Self.secrets) == Array(repeating: "refused: unsigned request", count: 3))
        #expect(try refusals(env: [:]) == Array(repeating: "refused: no secret configured for this platform on this server", count: 3))
    }

    @Test("a Mattermost bot token without the server's address, or a Slack API that is not a URL, stops muster serve with the variable named")
    func incidentMessageSettings() throws {
        let cli = try IncidentCLIHarness()
        defer { cli.remove() }
        let noURL = try cli.run(["serve", "--port", "0"], env: ["MUSTER_MATTERMOST_BOT_TOKEN": "mm-bot-token-a81c"], timeout: 30)
        #expect(noURL.status != 0)
        #expect(noURL.stderr.contains("MUSTER_MATTERMOST_BOT_TOKEN is set but MUSTER_MATTERMOST_URL is not"), "\(noURL.stderr)")
        #expect(!(noURL.stdout + noURL.stderr).contains("mm-bot-token-a81c"))
        let badURL = try cli.run(["serve", "--port", "0"], env: ["MUSTER_SLACK_BOT_TOKEN": "xoxb-1", "MUSTER_SLACK_API_URL": "slack.com/api"], timeout: 30)
        #expect(badURL.status != 0)
        #expect(badURL.stderr.contains("MUSTER_SLACK_API_URL 'slack.com/api' is not an http:// or https:// URL"), "\(badURL.stderr)")
    }
}
