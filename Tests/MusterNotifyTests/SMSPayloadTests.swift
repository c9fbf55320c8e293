import Foundation
import MusterCore
@testable import MusterNotify
import Testing

extension RealServers {
    @Suite("sms channel requests")
    struct SMSPayloadTests {
        static let settings: [String: ChannelValue] = [
            "account": .text("${MUSTER_SMS_ACCOUNT}"), "token": .text("${MUSTER_SMS_TOKEN}"), "from": .text("+4412345"),
        ]
        static let environment = ["MUSTER_SMS_ACCOUNT": "AC99887766", "MUSTER_SMS_TOKEN": "tok-sms-5566778899"]

        @Test("to no one in particular: the channel's one `to` number, form-encoded, basic auth, the run's link after the message")
        func channelNumber() async throws {
            let receiver = try await HTTPReceiver(routes: ["/2010-04-01/Accounts/AC99887766/Messages.json": ["status": 201]])
            defer { receiver.stop() }
            var settings = Self.settings
            settings["url"] = .text(receiver.url("/"))
            settings["to"] = .list(["+447700900999"])
            let (result, request) = try await deliver(channel("text", .sms, settings), environment: Self.environment, to: receiver)
            #expect(result.status == 201)
            #expect(request.path == "/2010-04-01/Accounts/AC99887766/Messages.json")
            #expect(request.headers["authorization"] == "Basic " + Data("AC99887766:tok-sms-5566778899".utf8).base64EncodedString())
            #expect(request.body == "To=%2B447700900999&From=%2B4412345&Body=Containment%20started%3A%20isolate%20the%20file%20servers%0Ahttps%3A%2F%2Fmuster.example%2Fruns%2Frun-7")
        }

        @Test("without `to`, only personal messages: a recipient is used, and its absence is a clear configuration error")
        func personalOnly() throws {
            var settings = Self.settings
            settings["url"] = .text("https://sms.example/api")
            let text = channel("text", .sms, settings)
            #expect(ChannelPayloads.check(text, environment: Self.environment).isEmpty)
            let prepared = try ChannelPayloads.prepare(text, environment: Self.environment)
            let request = try prepared.request(notification: sampleNotification, context: context(link: nil), recipient: "+447700900123")
            guard case .httpPost(let post) = request.target else {
                Issue.record("not an HTTP POST")
                return
            }
            #expect(post.url == "https://sms.example/api/2010-04-01/Accounts/AC99887766/Messages.json")
            #expect(String(decoding: post.body, as: UTF8.self).hasPrefix("To=%2B447700900123&"))
            // The recipient and the credentials are secrets of this request.
            #expect(request.redactor.redact("to +447700900123, %2B447700900123") == "to [redacted], [redacted]")
            #expect(!request.redactor.redact(post.headers.map(\.description).joined()).contains("tok-sms"))
            #expect(throws: ChannelConfigurationError.self) {
                try prepared.request(notification: sampleNotification, context: context())
            }
        }
    }
}
