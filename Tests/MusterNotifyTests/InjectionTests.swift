import Foundation
import MusterCore
@testable import MusterNotify
import Testing

extension RealServers {
    @Suite("Secrets in encodings, chat markup, SMTP envelopes, ${VAR} prefixes")
    struct InjectionTests {
        static let token = "T0KEN-abc123/SECRET-xyz789"

        @Test("a receiver quoting the URL token JSON-escaped, lower-case percent-encoded, base64 or cut short: none of it reaches the reason")
        func encodedEchoes() async throws {
            let path = "/hooks/\(Self.token)"
            let lowerPercent = Self.token.replacingOccurrences(of: "/", with: "%2f")
            let json = Self.token.replacingOccurrences(of: "/", with: "\\/")
            let base64 = Data(Self.token.utf8).base64EncodedString()
            let truncated = String(Self.token.prefix(14)) + "…"
            let middle = String(Self.token.dropFirst(4).prefix(13))
            let echoes = [json, lowerPercent, base64, truncated, middle]
            let body = "{\"error\":\"no hook \(json)\",\"seen\":\"\(lowerPercent)\",\"auth\":\"\(base64)\",\"cut\":\"\(truncated)\",\"part\":\"[\(middle)]\"}"
            let receiver = try await HTTPReceiver(routes: [path: ["status": 404, "body": body]])
            defer { receiver.stop() }
            let hook = channel("hook", .webhook, ["url": .text("${MUSTER_HOOK_URL}")])
            let request = try ChannelPayloads.request(for: hook, notification: sampleNotification, context: context(), environment: ["MUSTER_HOOK_URL": receiver.url(path)])
            let result = await sharedTransport.send(request)
            #expect(try receiver.requests().first?.path == path)
            let reason = try #require(result.failure?.reason)
            #expect(reason.hasPrefix("HTTP 404"), "\(reason)")
            #expect(reason.contains(Redactor.placeholder))
            for text in [reason, result.responseSnippet ?? ""] {
                for echo in echoes { #expect(!text.contains(echo), "\(echo) leaked: \(text)") }
                // No 12-character run of the token is left in any form.
                for form in [Self.token, json, lowerPercent, base64] {
                    let bytes = Array(form.utf8)
                    for start in 0...(bytes.count - 12) {
                        let run = String(decoding: bytes[start..<(start + 12)], as: UTF8.self)
                        #expect(!text.contains(run), "'\(run)' leaked: \(text)")
                    }
                }
            }
        }

        @Test("a secret shorter than 6 characters is replaced only as a word of its own; longer ones anywhere")
        func shortSecrets() {
            let redactor = Redactor(secrets: ["p", "u", "ab1", "s3cr3t"])
            #expect(redactor.redact("permanent failure: HTTP 500") == "permanent failure: HTTP 500")
            #expect(redactor.redact("user u, password p (ab1)") == "user [redacted], password [redacted] ([redacted])")
            #expect(redactor.redact("tab1 and xs3cr3tx") == "tab1 and x[redacted]x")
            #expect(redactor.isClean("permanent failure"))
            #expect(!redactor.isClean("secret=s3cr3t"))
        }

        @Test("a 401 or 403 answer's body stays out of the failure reason; the result keeps it (redacted)", arguments: [401, 403])
        func refusedCredentialBody(status: Int) async throws {
            let key = "R0UTING-key-0123456789abcdef"
            // Quoted in a form the redactor cannot know: reversed.
            let body = "invalid routing key \(String(key.reversed()))"
            let receiver = try await HTTPReceiver(routes: ["/pd": ["status": status, "body": body]])
            defer { receiver.stop() }
            let pager = channel("pd", .pagerduty, ["url": .text(receiver.url("/pd")), "routing_key": .text("${MUSTER_PD_KEY}")])
            let request = try ChannelPayloads.request(for: pager, notification: sampleNotification, context: context(), environment: ["MUSTER_PD_KEY": key])
            let result = await sharedTransport.send(request)
            let failure = try #require(result.failure)
            #expect(failure.isPermanent)
            #expect(!failure.reason.contains("invalid routing key"), "\(failure.reason)")
            #expect(failure.reason.contains("response body withheld"), "\(failure.reason)")
            #expect(result.withheldBody == body)
        }

        @Test("Mattermost and Teams receive no mention and no disguised link from a run title or a message", arguments: [ChannelType.mattermost, .teams])
        func chatMarkup(type: ChannelType) async throws {
            let receiver = try await HTTPReceiver()
            defer { receiver.stop() }
            let title = "@channel urgent: [reset your password](https://evil.example/login) <at>Dana</at> <!here> @all"
            let note = Notification(id: "n4", channel: "chat", message: "Declared: \(title) @everyone, mail ops@example.org, see https://status.example/", trigger: "enter:contain")
            var ctx = context()
            ctx.runTitle = title
            let request = try ChannelPayloads.request(for: channel("chat", type, ["url": .text(receiver.url("/chat"))]), notification: note, context: ctx, environment: [:])
            let result = await sharedTransport.send(request)
            #expect(result.delivered)
            let got = try #require(try receiver.requests().first)
            // Every string the chat renders, as the receiver decoded it.
            func strings(_ value: Any) -> [String] {
                switch value {
                case let s as String: [s]
                case let a as [Any]: a.flatMap(strings)
                case let o as [String: Any]: o.values.flatMap(strings)
                default: []
                }
            }
            let texts = strings(try JSONSerialization.jsonObject(with: Data(got.body.utf8)))
            #expect(texts.contains { $0.contains("reset your password") })
            for text in texts {
                for markup in ["@channel", "@all", "@everyone", "@here", "](", "<at>", "<!here>"] {
                    #expect(!text.contains(markup), "\(markup) in \(text)")
                }
            }
            // What people read is unchanged: the zero-width spaces are invisible, the address and the URL are kept.
            let shown = texts.map { $0.replacingOccurrences(of: "\u{200B}", with: "") }
            #expect(shown.contains { $0.contains("Declared: \(title) @everyone, mail ops@example.org, see https://status.example/") })
            #expect(texts.contains { $0.contains("ops@example.org") })
        }

        @Test("an address with a line break or angle brackets, from ${VAR} or written, is refused before anything is sent")
        func envelopeInjection() async throws {
            let sink = try await SMTPSink()
            defer { sink.stop() }
            let injected = "ops@example.org>\r\nRCPT TO:<attacker@evil.example"
            for (settings, env) in [
                (["to": ChannelValue.text("${MUSTER_MAIL_TO}")], ["MUSTER_MAIL_TO": injected]),
                (["to": .list([injected])], [:]),
                (["to": .text("ops@example.org"), "from": .text("Muster <muster@example.org>\nBcc: attacker@evil.example")], [:]),
                (["to": .text("Ops <ops@example.org> <attacker@evil.example>")], [:]),
            ] {
                var all = settings
                all["smtp"] = .text(sink.url)
                #expect {
                    try ChannelPayloads.request(for: channel("mail", .email, all), notification: sampleNotification, context: context(), environment: env)
                } throws: { error in
                    guard let error = error as? ChannelConfigurationError else { return false }
                    return error.code == .invalidSetting && error.message.contains("address") && !error.message.contains("attacker")
                }
            }
            // The transport refuses such an envelope too, when a request is built by hand.
            let send = SMTPSend(url: sink.url, mailFrom: "muster@example.org", recipients: [injected], message: Array("Subject: x\r\n\r\nbody\r\n".utf8))
            let result = await sharedTransport.send(DeliveryRequest(target: .smtp(send)))
            #expect(result.failure?.isPermanent == true, "\(String(describing: result.failure))")
            #expect(try sink.messages().isEmpty)
        }

        @Test("${VAR} reads only variables with an allowed prefix: MUSTER_ by default, MUSTER_SECRET_PREFIXES to change it")
        func variablePrefixes() throws {
            let hook = channel("hook", .webhook, ["url": .text("https://hooks.example/${AWS_SECRET_ACCESS_KEY}")])
            let env = ["AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG"]
            #expect {
                try ChannelPayloads.request(for: hook, notification: sampleNotification, context: context(), environment: env)
            } throws: { error in
                guard let error = error as? ChannelConfigurationError else { return false }
                return error.code == .disallowedVariable && error.variable == "AWS_SECRET_ACCESS_KEY"
                    && error.message == "channel 'hook': url refers to ${AWS_SECRET_ACCESS_KEY}, which channels may not read: only variables starting with MUSTER_ are (MUSTER_SECRET_PREFIXES lists the allowed prefixes)"
                    && !error.message.contains("wJalr")
            }
            #expect(ChannelPayloads.check(hook, environment: env).map(\.code) == [.disallowedVariable])
            var widened = env
            widened["MUSTER_SECRET_PREFIXES"] = "MUSTER_,AWS_"
            let request = try ChannelPayloads.request(for: hook, notification: sampleNotification, context: context(), environment: widened)
            guard case .httpPost(let post) = request.target else { Issue.record("not a POST"); return }
            #expect(post.url == "https://hooks.example/wJalrXUtnFEMI/K7MDENG")
        }
    }
}
