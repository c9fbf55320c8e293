import Foundation
import MusterCore
import MusterNotify
import Testing

extension RealServers {
    @Suite("Secrets: ${VAR} resolution and redaction")
    struct RedactionTests {
        static let token = "T0KEN-abc123-SECRET"

        @Test("a token in a webhook URL appears in no error text, even when the receiver echoes it")
        func urlTokenRedactedFromReceiverAnswer() async throws {
            let path = "/services/\(Self.token)"
            let receiver = try await HTTPReceiver(routes: [path: ["status": 400, "body": "no such hook \(path) (token \(Self.token))"]])
            defer { receiver.stop() }
            let hook = channel("chat", .slack, ["url": .text("${MUSTER_SLACK_URL}")])
            let request = try ChannelPayloads.request(for: hook, notification: sampleNotification, context: context(), environment: ["MUSTER_SLACK_URL": receiver.url(path)])
            let result = await sharedTransport.send(request)
            #expect(result.failure?.isPermanent == true)
            let texts = [result.failure?.reason ?? "", result.failure?.description ?? "", result.responseSnippet ?? "", String(describing: result)]
            for text in texts {
                #expect(!text.contains(Self.token), "secret leaked: \(text)")
            }
            #expect(result.failure?.reason.contains("[redacted]") == true)
            // The request did reach the receiver with the real URL.
            #expect(try receiver.requests().first?.path == path)
        }

        @Test("a secret in a URL that fails DNS, refuses or times out appears in no error text")
        func urlTokenRedactedFromTransportErrors() async throws {
            let port = try closedPort()
            for url in ["http://nonexistent.invalid/hook/\(Self.token)", "http://127.0.0.1:\(port)/hook/\(Self.token)", "http://user:\(Self.token)@127.0.0.1:\(port)/"] {
                let hook = channel("ops", .webhook, ["url": .text(url), "secret": .text("sign-\(Self.token)")])
                let request = try ChannelPayloads.request(for: hook, notification: sampleNotification, context: context(), environment: [:])
                let result = await sharedTransport.send(request)
                #expect(!result.delivered)
                #expect(!String(describing: result).contains(Self.token), "secret leaked: \(result)")
            }
        }

        @Test("the request's redactor knows every secret: URL, routing key, signing secret, password, sensitive headers, ${VAR} values")
        func redactorCollectsSecrets() throws {
            let env = ["MUSTER_PD": "pd-routing-key-1", "MUSTER_PW": "smtp-pass-2", "MUSTER_TEAM": "team-from-env-3"]
            let pager = try ChannelPayloads.request(for: channel("p", .pagerduty, ["routing_key": .text("${MUSTER_PD}")]), notification: sampleNotification, context: context(), environment: env)
            #expect(pager.redactor.redact("key pd-routing-key-1 used") == "key [redacted] used")
            let mail = try ChannelPayloads.request(for: channel("m", .email, ["to": .text("a@b.c"), "password": .text("${MUSTER_PW}"), "username": .text("u")]), notification: sampleNotification, context: context(), environment: env)
            #expect(mail.redactor.redact("login smtp-pass-2") == "login [redacted]")
            let hook = try ChannelPayloads.request(
                for: channel("h", .webhook, ["url": .text("https://hooks.example/abc/XYZ"), "secret": .text("sig-secret-4"),
                                             "headers": .map(["X-Api-Key": "api-key-5", "X-Team": "${MUSTER_TEAM}", "X-Plain": "plain-6"])]),
                notification: sampleNotification, context: context(), environment: env)
            let text = "https://hooks.example/abc/XYZ /abc/XYZ sig-secret-4 api-key-5 team-from-env-3 plain-6"
            #expect(hook.redactor.redact(text) == "[redacted] [redacted] [redacted] [redacted] [redacted] plain-6")
        }

        @Test("an unset ${VAR} is an error naming the variable and the channel, and nothing is built")
        func unsetVariable() {
            let hook = channel("ops-hook", .webhook, ["url": .text("https://hooks.example/${MUSTER_HOOK_PATH}")])
            #expect {
                try ChannelPayloads.request(for: hook, notification: sampleNotification, context: context(), environment: ["OTHER": "x"])
            } throws: { error in
                guard let error = error as? ChannelConfigurationError else { return false }
                return error.code == .unsetVariable && error.variable == "MUSTER_HOOK_PATH" && error.channel == "ops-hook" && error.setting == "url"
                    && error.message == "channel 'ops-hook': url refers to ${MUSTER_HOOK_PATH}, which is not set in the environment"
                    && error.description == "playbooks/test.yaml:1:1: error: channel 'ops-hook': url refers to ${MUSTER_HOOK_PATH}, which is not set in the environment"
            }
        }

        @Test("an empty ${VAR} is an error too: never an empty URL")
        func emptyVariable() {
            let hook = channel("ops", .slack, ["url": .text("${MUSTER_SLACK_URL}")])
            #expect(throws: ChannelConfigurationError.self) {
                try ChannelPayloads.request(for: hook, notification: sampleNotification, context: context(), environment: ["MUSTER_SLACK_URL": ""])
            }
        }

        @Test("check reports every unset variable of a channel at once")
        func checkAll() {
            let mail = channel("mail", .email, ["to": .text("${MUSTER_TO}"), "smtp": .text("${MUSTER_SMTP_URL}"), "password": .text("${MUSTER_PW}")])
            let errors = ChannelPayloads.check(mail, environment: ["MUSTER_TO": "a@b.c"])
            #expect(errors.map(\.variable) == ["MUSTER_PW", "MUSTER_SMTP_URL"])
            #expect(ChannelPayloads.check(mail, environment: ["MUSTER_TO": "a@b.c", "MUSTER_SMTP_URL": "smtp://x", "MUSTER_PW": "p"]).isEmpty)
        }

        @Test("resolution: several references, $$ for a literal $, a lone $ kept, malformed references refused")
        func resolution() throws {
            // Names outside MUSTER_ only where MUSTER_SECRET_PREFIXES allows them.
            let resolver = EnvironmentResolver(["HOST": "hooks.example", "TOKEN": "abc", "MUSTER_SECRET_PREFIXES": "HOST, TOKEN"])
            let resolved = try resolver.resolve("https://${HOST}/x/${TOKEN}?p=$$1&q=$", setting: "url", channel: "c")
            #expect(resolved.value == "https://hooks.example/x/abc?p=$1&q=$")
            #expect(resolved.substitutions == ["hooks.example", "abc"])
            #expect(EnvironmentResolver.references(in: "${A}-${B_2}-$${C}") == ["A", "B_2"])
            #expect(throws: ChannelConfigurationError.self) { try resolver.resolve("${HOST", setting: "url", channel: "c") }
            #expect(throws: ChannelConfigurationError.self) { try resolver.resolve("${1X}", setting: "url", channel: "c") }
        }

        @Test("the redactor replaces longest secrets first, percent-encoded forms too, and leaves other text alone")
        func redactor() {
            var redactor = Redactor(secrets: ["abc", "abcdef"])
            #expect(redactor.redact("xx abcdef yy abc") == "xx [redacted] yy [redacted]")
            redactor.add("p@ss w/rd")
            #expect(redactor.redact("url has p%40ss%20w%2Frd") == "url has [redacted]")
            #expect(redactor.redact("nothing here") == "nothing here")
            #expect(Redactor().redact("as is") == "as is")
            var urls = Redactor()
            urls.addURL("https://user:pw-123@hooks.example/services/T1/B2/C3?x=1")
            #expect(urls.redact("auth pw-123, path /services/T1/B2/C3?x=1") == "auth [redacted], path [redacted]")
            #expect(urls.redact("host hooks.example") == "host hooks.example")
        }
    }
}
