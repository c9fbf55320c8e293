import MusterCore
import MusterNotify
import Testing

/// The pure checks behind the callback routes, against vectors from the platforms' documentation and from Python's
/// `hmac` (an implementation independent of this one).
@Suite("Chat and SMS request verification")
struct ChatRequestVerificationTests {
    static let slackSecret = "8f742231b10e8888abcd99yyyzzz85a5"
    static let body = Array("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fmuster&text=status".utf8)
    /// `hmac.new(secret, b"v0:1531420618:" + body, hashlib.sha256).hexdigest()`
    static let expected = "v0=0be4526f52a43bdfb63e4f013d5fb6e86efa5dff8779e9422b75e1f6ad24adee"
    static let at = Instant(millisecondsSinceEpoch: 1_531_420_618_000)

    @Test("Slack: v0 HMAC-SHA256 over v0:timestamp:body, accepted within 5 minutes either way and refused beyond")
    func slack() {
        let check = SlackSignature(signingSecret: Self.slackSecret)
        #expect(check.signature(timestamp: "1531420618", body: Self.body) == Self.expected)
        #expect(check.refusal(signature: Self.expected, timestamp: "1531420618", body: Self.body, now: Self.at + .minutes(5)) == nil)
        #expect(check.refusal(signature: Self.expected, timestamp: "1531420618", body: Self.body, now: Self.at - .minutes(5)) == nil)
        #expect(check.refusal(signature: Self.expected, timestamp: "1531420618", body: Self.body, now: Self.at + .seconds(301)) == .stale)
        #expect(check.refusal(signature: Self.expected, timestamp: "1531420618", body: Self.body, now: Self.at - .seconds(301)) == .stale)
        #expect(check.refusal(signature: Self.expected, timestamp: "+1531420618", body: Self.body, now: Self.at) == .stale)
        #expect(check.refusal(signature: nil, timestamp: "1531420618", body: Self.body, now: Self.at) == .unsigned)
        #expect(check.refusal(signature: Self.expected, timestamp: "1531420618", body: Self.body + [0x20], now: Self.at) == .badSignature)
        #expect(SlackSignature(signingSecret: "other").refusal(signature: Self.expected, timestamp: "1531420618", body: Self.body, now: Self.at) == .badSignature)
    }

    @Test("Twilio: base64 HMAC-SHA1 over the URL and the sorted parameters (Twilio's documented example)")
    func twilio() {
        let check = TwilioSignature(authToken: "12345")
        let parameters = [("To", "+18005551212"), ("Caller", "+12349013030"), ("CallSid", "CA1234567890ABCDE"), ("From", "+12349013030"), ("Digits", "1234")]
            .map { (name: $0.0, value: $0.1) }
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2"
        #expect(check.signature(url: url, parameters: parameters) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
        #expect(check.refusal(signature: "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", url: url, parameters: parameters) == nil)
        #expect(check.refusal(signature: "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", url: url + "&x=1", parameters: parameters) == .badSignature)
        #expect(check.refusal(signature: nil, url: url, parameters: parameters) == .unsigned)
    }

    @Test("Mattermost: a context verifies only with its secret and unchanged fields")
    func mattermost() throws {
        let signer = MattermostActionSigner(secret: "s3cret")
        let answer = ChatAnswer(runID: "r-1", question: .rollCall("staff-safety"), option: "safe")
        guard case .object(let members) = signer.context(answer, person: "Sam") else { Issue.record("not an object"); return }
        var context: [String: String] = [:]
        for (name, value) in members { if case .string(let text) = value { context[name] = text } }
        #expect(try signer.verify(context: context).get().answer == answer)
        for field in ["run", "roll_call", "option", "person"] {
            var changed = context
            changed[field] = (changed[field] ?? "") + "x"
            #expect(signer.verify(context: changed).isRefused, "\(field)")
        }
        var both = context
        both["ack"] = "page-it"
        #expect(signer.verify(context: both).isRefused)
        #expect(MattermostActionSigner(secret: "other").verify(context: context).isRefused)
        #expect(signer.verify(context: context.filter { $0.key != "signature" }).isRefused)
    }

    @Test("a Slack button value reads back; anything else is not an answer")
    func slackValues() {
        let answer = ChatAnswer(runID: "r-1", question: .ack("page-it"), option: "ack")
        #expect(ChatAnswer(slackValue: answer.slackValue) == answer)
        for bad in ["", "v1 r-1 ack page-it", "v2 r-1 ack page-it ack", "v1 r-1 vote page-it ack", "v1  ack page-it ack"] {
            #expect(ChatAnswer(slackValue: bad) == nil, "\(bad)")
        }
    }
}

extension Result {
    var isRefused: Bool { if case .failure = self { true } else { false } }
}
