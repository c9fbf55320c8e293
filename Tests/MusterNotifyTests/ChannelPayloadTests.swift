import Crypto
import Foundation
import MusterCore
@testable import MusterNotify
import Testing

/// Builds the request for a channel, sends it to a real receiver and returns what the receiver got.
func deliver(_ channel: Channel, environment: [String: String] = [:], context ctx: NotificationContext = context(), to receiver: HTTPReceiver) async throws -> (DeliveryResult, RecordedRequest) {
    let request = try ChannelPayloads.request(for: channel, notification: sampleNotification, context: ctx, environment: environment)
    let result = await sharedTransport.send(request)
    #expect(result.delivered, "\(String(describing: result.failure))")
    let requests = try receiver.requests()
    guard let last = requests.last else { throw TestServerError(description: "the receiver got nothing") }
    return (result, last)
}

extension RealServers {
    @Suite("Channel payloads as the receiver gets them")
    struct ChannelPayloadTests {
        @Test("webhook: JSON with run, playbook, state, event, message, time, mode and notification id; Idempotency-Key; extra headers")
        func webhook() async throws {
            let receiver = try await HTTPReceiver()
            defer { receiver.stop() }
            let hook = channel("ops", .webhook, ["url": .text(receiver.url("/hook")), "headers": .map(["X-Team": "ops", "Authorization": "Bearer ${MUSTER_HOOK_TOKEN}"])])
            let (_, request) = try await deliver(hook, environment: ["MUSTER_HOOK_TOKEN": "tok-123"], to: receiver)
            #expect(request.path == "/hook")
            #expect(request.headers["content-type"] == "application/json")
            #expect(request.headers["idempotency-key"] == "run-7.n3")
            #expect(request.headers["x-team"] == "ops")
            #expect(request.headers["authorization"] == "Bearer tok-123")
            #expect(request.headers["x-muster-signature"] == nil)
            let json = try request.json()
            #expect(json["notification_id"] as? String == "n3")
            #expect(json["message"] as? String == "Containment started: isolate the file servers")
            #expect(json["event"] as? String == "confirmed")
            #expect(json["trigger"] as? String == "enter:contain")
            #expect(json["time"] as? String == "2026-03-06T17:40:00.000Z")
            #expect(json["mode"] as? String == "live")
            #expect((json["run"] as? [String: Any])?["id"] as? String == "run-7")
            #expect((json["run"] as? [String: Any])?["title"] as? String == "Ransomware on the finance shares")
            #expect((json["run"] as? [String: Any])?["severity"] as? String == "P1")
            #expect((json["playbook"] as? [String: Any])?["id"] as? String == "ransomware-file-servers")
            #expect((json["state"] as? [String: Any])?["id"] as? String == "contain")
            #expect((json["state"] as? [String: Any])?["title"] as? String == "Contain the spread")
            #expect(json["link"] as? String == "https://muster.example/runs/run-7")
        }

        @Test("webhook with secret: X-Muster-Signature is sha256=HMAC-SHA256(secret, body) and verifies")
        func webhookSignature() async throws {
            let receiver = try await HTTPReceiver()
            defer { receiver.stop() }
            let hook = channel("ops", .webhook, ["url": .text(receiver.url("/signed")), "secret": .text("${MUSTER_HOOK_SECRET}")])
            let (_, request) = try await deliver(hook, environment: ["MUSTER_HOOK_SECRET": "s3cr3t-signing-key"], to: receiver)
            let header = try #require(request.headers["x-muster-signature"])
            #expect(header.hasPrefix("sha256="))
            let mac = HMAC<SHA256>.authenticationCode(for: request.bodyBytes, using: SymmetricKey(data: Array("s3cr3t-signing-key".utf8)))
            let expected = mac.map { String(format: "%02x", $0) }.joined()
            #expect(header == "sha256=" + expected)
            let wrong = HMAC<SHA256>.authenticationCode(for: request.bodyBytes, using: SymmetricKey(data: Array("other".utf8)))
            #expect(header != "sha256=" + wrong.map { String(format: "%02x", $0) }.joined())
            #expect(!request.body.contains("s3cr3t-signing-key"))
        }

        @Test("every attempt of one notification carries the same Idempotency-Key")
        func idempotencyKeyStable() async throws {
            let receiver = try await HTTPReceiver(routes: ["/flaky": ["statuses": [503, 200]]])
            defer { receiver.stop() }
            let hook = channel("ops", .webhook, ["url": .text(receiver.url("/flaky"))])
            let request = try ChannelPayloads.request(for: hook, notification: sampleNotification, context: context(), environment: [:])
            let first = await sharedTransport.send(request)
            let second = await sharedTransport.send(request)
            #expect(first.failure?.isPermanent == false)
            #expect(second.delivered)
            let keys = try receiver.requests().map { $0.headers["idempotency-key"] }
            #expect(keys == ["run-7.n3", "run-7.n3"])
        }

        @Test("slack: text plus a section block and a context block with run (linked), state, severity and mode")
        func slack() async throws {
            let receiver = try await HTTPReceiver()
            defer { receiver.stop() }
            let (_, request) = try await deliver(channel("chat", .slack, ["url": .text(receiver.url("/services/T0/B0/XYZ"))]), to: receiver)
            let json = try request.json()
            #expect(json["text"] as? String == "Containment started: isolate the file servers")
            let blocks = try #require(json["blocks"] as? [[String: Any]])
            #expect(blocks.count == 2)
            #expect(blocks[0]["type"] as? String == "section")
            #expect((blocks[0]["text"] as? [String: Any])?["type"] as? String == "mrkdwn")
            #expect(blocks[1]["type"] as? String == "context")
            let facts = try #require(((blocks[1]["elements"] as? [[String: Any]])?.first)?["text"] as? String)
            #expect(facts.contains("<https://muster.example/runs/run-7|Ransomware on the finance shares>"))
            #expect(facts.contains("Contain the spread"))
            #expect(facts.contains("P1"))
            #expect(facts.contains("live"))
        }

        @Test("slack escapes &, < and > in the message")
        func slackEscaping() throws {
            let payload = ChannelPayloads.slackPayload(message: "a < b && c > d", context: context())
            #expect(payload.serialized.contains("\"text\":\"a &lt; b &amp;&amp; c &gt; d\""))
        }

        @Test("mattermost: text plus an attachment with title link and state, severity, mode, run fields")
        func mattermost() async throws {
            let receiver = try await HTTPReceiver()
            defer { receiver.stop() }
            let (_, request) = try await deliver(channel("mm", .mattermost, ["url": .text(receiver.url("/hooks/abc"))]), to: receiver)
            let json = try request.json()
            #expect(json["text"] as? String == "Containment started: isolate the file servers")
            let attachment = try #require((json["attachments"] as? [[String: Any]])?.first)
            #expect(attachment["title"] as? String == "Ransomware on the finance shares")
            #expect(attachment["title_link"] as? String == "https://muster.example/runs/run-7")
            let fields = try #require(attachment["fields"] as? [[String: Any]])
            let byTitle = Dictionary(uniqueKeysWithValues: fields.map { ($0["title"] as! String, $0["value"] as! String) })
            #expect(byTitle == ["State": "Contain the spread", "Severity": "P1", "Mode": "live", "Run": "run-7"])
        }

        @Test("teams: a message whose first attachment is an Adaptive Card with the message, facts and a link")
        func teams() async throws {
            let receiver = try await HTTPReceiver()
            defer { receiver.stop() }
            let (_, request) = try await deliver(channel("teams", .teams, ["url": .text(receiver.url("/workflows/xyz"))]), to: receiver)
            let json = try request.json()
            #expect(json["type"] as? String == "message")
            let attachment = try #require((json["attachments"] as? [[String: Any]])?.first)
            #expect(attachment["contentType"] as? String == "application/vnd.microsoft.card.adaptive")
            #expect(attachment["contentUrl"] is NSNull)
            let card = try #require(attachment["content"] as? [String: Any])
            #expect(card["type"] as? String == "AdaptiveCard")
            #expect(card["version"] as? String == "1.4")
            #expect(card["$schema"] as? String == "http://adaptivecards.io/schemas/adaptive-card.json")
            let body = try #require(card["body"] as? [[String: Any]])
            #expect(body.contains { $0["type"] as? String == "TextBlock" && $0["text"] as? String == "Containment started: isolate the file servers" })
            let facts = try #require(body.first { $0["type"] as? String == "FactSet" }?["facts"] as? [[String: Any]])
            #expect(facts.contains { $0["title"] as? String == "State" && $0["value"] as? String == "Contain the spread" })
            let action = try #require((card["actions"] as? [[String: Any]])?.first)
            #expect(action["type"] as? String == "Action.OpenUrl")
            #expect(action["url"] as? String == "https://muster.example/runs/run-7")
        }

        @Test("pagerduty: Events API v2 trigger with routing_key, dedup_key from the run, severity from P1..P4")
        func pagerDuty() async throws {
            let receiver = try await HTTPReceiver()
            defer { receiver.stop() }
            let pager = channel("pager", .pagerduty, ["routing_key": .text("${MUSTER_PD_KEY}"), "url": .text(receiver.url("/v2/enqueue"))])
            let (_, request) = try await deliver(pager, environment: ["MUSTER_PD_KEY": "R0UT1NGKEY0123456789"], context: context(severity: .p2), to: receiver)
            #expect(request.path == "/v2/enqueue")
            let json = try request.json()
            #expect(json["routing_key"] as? String == "R0UT1NGKEY0123456789")
            #expect(json["event_action"] as? String == "trigger")
            #expect(json["dedup_key"] as? String == "muster-run-7")
            let payload = try #require(json["payload"] as? [String: Any])
            #expect(payload["summary"] as? String == "Containment started: isolate the file servers")
            #expect(payload["source"] as? String == "muster/ransomware-file-servers")
            #expect(payload["severity"] as? String == "error")
            #expect(payload["timestamp"] as? String == "2026-03-06T17:40:00.000Z")
            #expect((payload["custom_details"] as? [String: Any])?["run_id"] as? String == "run-7")
            #expect(json["client_url"] as? String == "https://muster.example/runs/run-7")
        }

        @Test("pagerduty: acknowledge and resolve send only the key, the action and the same dedup_key", arguments: [AlertAction.acknowledge, .resolve])
        func pagerDutyFollowUps(action: AlertAction) throws {
            let pager = channel("pager", .pagerduty, ["routing_key": .text("KEY")])
            let request = try ChannelPayloads.request(for: pager, notification: sampleNotification, context: context(action: action), environment: [:])
            guard case .httpPost(let post) = request.target else { throw TestServerError(description: "not an HTTP post") }
            #expect(post.url == "https://events.pagerduty.com/v2/enqueue")
            #expect(String(decoding: post.body, as: UTF8.self) == "{\"routing_key\":\"KEY\",\"event_action\":\"\(action.rawValue)\",\"dedup_key\":\"muster-run-7\"}")
        }

        @Test("pagerduty severities map P1..P4 to critical, error, warning, info")
        func pagerDutySeverities() {
            #expect(Severity.allCases.map(ChannelPayloads.pagerDutySeverity) == ["critical", "error", "warning", "info"])
        }

        @Test("a terminal or closed state suggests resolving the alert; others trigger")
        func suggestedAction() {
            let open = State(id: Located("contain", at: here), phases: [.respond], location: here)
            let closed = State(id: Located("closed", at: here), phases: [.learn], marks: [.closed], terminal: true, location: here)
            #expect(AlertAction.suggested(entering: open) == .trigger)
            #expect(AlertAction.suggested(entering: closed) == .resolve)
            #expect(AlertAction.suggested(entering: nil) == .trigger)
        }

        @Test("in exercise mode every channel's message is prefixed [EXERCISE]", arguments: [ChannelType.webhook, .slack, .mattermost, .teams, .pagerduty])
        func exercisePrefix(type: ChannelType) throws {
            let ch = channel("c", type, type == .pagerduty ? ["routing_key": .text("K")] : ["url": .text("https://example.invalid/x")])
            let request = try ChannelPayloads.request(for: ch, notification: sampleNotification, context: context(mode: .exercise), environment: [:])
            guard case .httpPost(let post) = request.target else { throw TestServerError(description: "not an HTTP post") }
            let text = String(decoding: post.body, as: UTF8.self)
            #expect(text.contains("[EXERCISE] Containment started"))
            #expect(!text.contains("\"Containment started"))
        }

        @Test("channel timeout: sets the total, the connect timeout is at most 10 s")
        func channelTimeout() throws {
            let ch = channel("c", .webhook, ["url": .text("https://example.invalid/x"), "timeout": .text("5s")])
            let request = try ChannelPayloads.request(for: ch, notification: sampleNotification, context: context(), environment: [:])
            #expect(request.timeouts == DeliveryTimeouts(connect: .seconds(5), total: .seconds(5)))
            let standard = try ChannelPayloads.request(for: channel("d", .slack, ["url": .text("https://x.invalid/")]), notification: sampleNotification, context: context(), environment: [:])
            #expect(standard.timeouts == .standard)
        }

        @Test("missing or malformed settings are errors naming the channel and the setting")
        func settingErrors() {
            func error(_ ch: Channel) -> ChannelConfigurationError? {
                do {
                    _ = try ChannelPayloads.request(for: ch, notification: sampleNotification, context: context(), environment: [:])
                    return nil
                } catch { return error }
            }
            #expect(error(channel("a", .webhook))?.code == .missingSetting)
            #expect(error(channel("a", .webhook))?.message == "channel 'a' (webhook) needs 'url'")
            #expect(error(channel("p", .pagerduty))?.setting == "routing_key")
            #expect(error(channel("e", .email))?.setting == "to")
            #expect(error(channel("f", .webhook, ["url": .text("ftp://x/y")]))?.code == .invalidSetting)
            #expect(error(channel("t", .webhook, ["url": .text("https://x/"), "timeout": .text("soon")]))?.setting == "timeout")
            #expect(error(channel("h", .webhook, ["url": .text("https://x/"), "headers": .map(["Idempotency-Key": "x"])]))?.message == "channel 'h': headers sets 'Idempotency-Key', which Muster sets itself")
            #expect(error(channel("h", .webhook, ["url": .text("https://x/"), "headers": .map(["Bad Name": "x"])]))?.code == .invalidSetting)
            #expect(error(channel("m", .email, ["to": .text("a@b"), "smtp": .text("http://mail")]))?.setting == "smtp")
        }
    }
}

@Suite("Exercise routing")
struct ChannelRoutingTests {
    let playbook = Playbook(
        id: Located("pb", at: here), version: 1, title: "PB", severity: .p2,
        channels: [
            channel("pager", .pagerduty, ["routing_key": .text("K")], exercise: "drill"),
            channel("drill", .webhook, ["url": .text("https://x/")]),
            channel("board", .email, ["to": .text("board@example.org")], liveOnly: true),
            channel("ops", .slack, ["url": .text("https://x/")]),
        ],
        start: Located("a", at: here), states: [], location: here)

    @Test("live runs use the channel as written, live_only included")
    func live() {
        #expect(ChannelRouting.route(channel: "pager", in: playbook, mode: .live) == .send(playbook.channel("pager")!))
        #expect(ChannelRouting.route(channel: "board", in: playbook, mode: .live) == .send(playbook.channel("board")!))
    }

    @Test("exercise runs go to the exercise override, skip live_only channels, keep the others")
    func exercise() {
        #expect(ChannelRouting.route(channel: "pager", in: playbook, mode: .exercise) == .send(playbook.channel("drill")!))
        #expect(ChannelRouting.route(channel: "board", in: playbook, mode: .exercise) == .skipped(reason: "channel 'board' is live_only: not sent in an exercise run"))
        #expect(ChannelRouting.route(channel: "ops", in: playbook, mode: .exercise) == .send(playbook.channel("ops")!))
    }

    @Test("an unknown channel is reported, not sent")
    func unknown() {
        #expect(ChannelRouting.route(channel: "nope", in: playbook, mode: .live) == .unknown(reason: "playbook 'pb' has no channel 'nope'"))
    }
}

@Suite("Channels resolved once for many requests")
struct PreparedChannelTests {
    static let environment = [
        "MUSTER_HOOK_URL": "https://hooks.example/services/T0KEN-abc123", "MUSTER_HOOK_SECRET": "s3cret-value", "MUSTER_HOOK_TOKEN": "tok-123",
        "MUSTER_PD_KEY": "R0UTING-key-42", "MUSTER_SMTP_PASS": "p4ss-word",
    ]
    static let channels: [Channel] = [
        channel("hook", .webhook, ["url": .text("${MUSTER_HOOK_URL}"), "secret": .text("${MUSTER_HOOK_SECRET}"), "timeout": .text("5s"),
                                   "headers": .map(["X-Team": "ops", "Authorization": "Bearer ${MUSTER_HOOK_TOKEN}"])]),
        channel("chat", .slack, ["url": .text("${MUSTER_HOOK_URL}")]),
        channel("mm", .mattermost, ["url": .text("https://mm.example/hooks/abc")]),
        channel("teams", .teams, ["url": .text("${MUSTER_HOOK_URL}")]),
        channel("pager", .pagerduty, ["routing_key": .text("${MUSTER_PD_KEY}")]),
        channel("mail", .email, ["to": .list(["a@example.org", "b@example.org"]), "smtp": .text("smtp://mail.example:2525"),
                                 "username": .text("muster"), "password": .text("${MUSTER_SMTP_PASS}"), "subject": .text("Incident")]),
    ]

    @Test("a prepared channel builds exactly the requests (bodies, headers, signature, redactor) that request(for:) builds", arguments: channels)
    func sameRequests(channel: Channel) throws {
        let prepared = try ChannelPayloads.prepare(channel, environment: Self.environment)
        for (index, mode) in [RunMode.live, .exercise, .live].enumerated() {
            let notification = Notification(id: "n\(index)", channel: channel.id.value, message: "Update \(index) \"é\" \u{2028}", trigger: "enter:contain")
            let expected = try ChannelPayloads.request(for: channel, notification: notification, context: context(mode: mode), environment: Self.environment)
            #expect(try prepared.request(notification: notification, context: context(mode: mode)) == expected)
        }
    }

    @Test("preparing a channel with an unset variable fails as request(for:) does")
    func unsetVariable() {
        let hook = channel("hook", .webhook, ["url": .text("${MUSTER_MISSING_URL}")])
        #expect(throws: ChannelConfigurationError.self) { try ChannelPayloads.prepare(hook, environment: [:]) }
    }

    @Test("JSON strings escape quotes, backslashes, controls and U+2028/U+2029 and keep other characters as UTF-8")
    func jsonEscapes() {
        let value: JSONValue = ["a": .string("q\"b\\ \n\r\t\u{8}\u{C}\u{1}\u{1F} é🚨 \u{2028}\u{2029}\u{2027}"), "n": 42, "t": true, "z": .null, "l": [1, "x"]]
        #expect(value.serialized == #"{"a":"q\"b\\ \n\r\t\b\f\u0001\u001f é🚨 \u2028\u2029"# + "\u{2027}" + #"","n":42,"t":true,"z":null,"l":[1,"x"]}"#)
        #expect(value.bytes == Array(value.serialized.utf8))
    }

    @Test("redaction still finds secrets in non-ASCII text and non-ASCII secrets")
    func redactNonASCII() {
        let redactor = Redactor(secrets: ["tök-123", "abc-SECRET"])
        #expect(redactor.redact("é: tök-123 and abc-SECRET.") == "é: [redacted] and [redacted].")
        #expect(redactor.redact("plain abc-SECRET") == "plain [redacted]")
        #expect(redactor.redact("nothing here") == "nothing here")
    }
}

@Suite("Webhook requests from a prepared channel")
struct PreparedWebhookTests {
    static let contexts: [NotificationContext] = [
        context(),
        context(mode: .exercise, link: nil),
        NotificationContext(runID: "r-1", runTitle: "Tab\there \"quoted\" \\ back", playbookID: "pb", playbookTitle: nil, state: "s",
                            stateTitle: nil, mode: .live, event: nil, time: Instant(millisecondsSinceEpoch: -1), link: nil),
        NotificationContext(runID: "r-2", runTitle: "Ünïcode 🚨 \u{2028}\u{2029}\u{1}", playbookID: "pb", playbookTitle: "P\u{7F}",
                            state: "s", stateTitle: "S\r\n", mode: .exercise, event: "e\u{E2}", time: Instant(millisecondsSinceEpoch: 1_772_818_800_123),
                            link: "https://x.example/a/b?c=d"),
    ]

    @Test("the body written directly is byte for byte the webhook payload's serialization", arguments: contexts)
    func sameBody(context: NotificationContext) {
        let notification = Notification(id: "n\u{8}1", channel: "hook", message: "Line 1\nLine 2 \u{2027} \u{C}", trigger: "timer:t\"1")
        let message = ChannelPayloads.text(of: notification, mode: context.mode)
        var direct: [UInt8] = []
        ChannelPayloads.writeWebhookPayload(
            notification: notification, message: message, context: context,
            idempotencyKey: ChannelPayloads.idempotencyKey(runID: context.runID, notificationID: notification.id), into: &direct)
        #expect(direct == Self.payload(notification: notification, message: message, context: context).bytes)
    }

    /// The webhook body as a tree of values, serialized by `JSONValue` (the specification the direct writer meets).
    static func payload(notification: MusterCore.Notification, message: String, context: NotificationContext) -> JSONValue {
        [
            "notification_id": .string(notification.id),
            "idempotency_key": .string(ChannelPayloads.idempotencyKey(runID: context.runID, notificationID: notification.id)),
            "run": ["id": .string(context.runID), "title": .string(context.runTitle), "severity": .string(context.severity.rawValue)],
            "playbook": ["id": .string(context.playbookID), "title": .optional(context.playbookTitle)],
            "state": ["id": .string(context.state), "title": .optional(context.stateTitle)],
            "event": .string(context.event ?? notification.trigger),
            "trigger": .string(notification.trigger),
            "message": .string(message),
            "time": .string(context.time.iso8601),
            "mode": .string(context.mode.rawValue),
            "link": .optional(context.link),
        ]
    }

    @Test("a webhook without a secret or extra headers is prepared the same as built each time")
    func unsigned() throws {
        let hook = channel("plain", .webhook, ["url": .text("http://127.0.0.1:9/hook")])
        let prepared = try ChannelPayloads.prepare(hook, environment: [:])
        let notification = Notification(id: "n1", channel: "plain", message: "m", trigger: "enter:x")
        let expected = try ChannelPayloads.request(for: hook, notification: notification, context: context(), environment: [:])
        #expect(try prepared.request(notification: notification, context: context()) == expected)
    }

    @Test("the byte search behind redaction finds secrets anywhere and nothing that is not there")
    func byteSearch() {
        #expect(Redactor.containsBytes("abc", in: "xxabc"))
        #expect(Redactor.containsBytes("abc", in: "abcxx"))
        #expect(Redactor.containsBytes("aab", in: "aaab"))
        #expect(!Redactor.containsBytes("abd", in: "abcabc"))
        #expect(!Redactor.containsBytes("longer", in: "long"))
        #expect(Redactor(secrets: ["/hook", "s3cret"]).redact("ok") == "ok")
        #expect(Redactor(secrets: ["/hook", "s3cret"]).redact("POST /hook s3cret") == "POST [redacted] [redacted]")
    }
}
