import Foundation
@testable import MusterCore
import Testing

/// The new events as the journal stores them (sorted-key JSON through `Codable`, as `CanonicalJSON` does).
@Suite("Acknowledgement and roll call events in JSON")
struct HearingBackCodingTests {
    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    @Test("every new event survives a round trip", arguments: [
        RunEvent.Body.acknowledgementRequested(AckRequested(ack: "page-it", notification: "n1", channel: "pager", role: "it_ops",
                                                            person: nil, within: .minutes(10), escalate: ["deputy"], message: "Join")),
        .acknowledged(ack: "page-it", person: "Lee", latency: .minutes(3)),
        .escalated(ack: "page-it", step: 1, to: "deputy", person: nil, notification: nil),
        .escalationExhausted(ack: "page-it", steps: 2),
        .deputyNamed(person: "Lee", deputy: "Kim"),
        .rollCallRequested(RollCallRequest(rollCall: "staff-safety", groups: ["site-hq"], people: ["Mo"])),
        .rollCallStarted(rollCall: "staff-safety", people: HB.five),
        .rollCallStarted(rollCall: "staff-safety", people: HB.five, routes: ["Ana": ["email"], "Cleo": []]),
        .answerReceived(rollCall: "staff-safety", person: "Ana", option: "safe", channel: "sms", latency: .minutes(2)),
        .personAccounted(rollCall: "staff-safety", person: "Cleo", why: "seen"),
        .rollCallProgress(HB.tally(1, safe: 1)),
        .rollCallOverdue(HB.tally(3, safe: 2, marked: 1)),
        .notificationQueued(HB.rollNote("n1", "sms", "Ana")),
    ])
    func roundTrip(body: RunEvent.Body) throws {
        let text = try Self.json(body)
        #expect(try JSONDecoder().decode(RunEvent.Body.self, from: Data(text.utf8)) == body)
    }

    @Test("a roll call started without routes keeps the bytes it had before routes existed")
    func oldRollCallBytes() throws {
        #expect(try Self.json(RunEvent.Body.rollCallStarted(rollCall: "r", people: ["Ana"]))
            == #"{"rollCallStarted":{"people":["Ana"],"rollCall":"r"}}"#)
    }

    @Test("a notification that pages nobody keeps the bytes it had before pages existed")
    func oldNotificationBytes() throws {
        let plain = Notification(id: "n1", channel: "bridge", message: "Hi", trigger: "enter:triage")
        #expect(try Self.json(RunEvent.Body.notificationQueued(plain))
            == #"{"notificationQueued":{"_0":{"channel":"bridge","id":"n1","message":"Hi","trigger":"enter:triage"}}}"#)
    }
}
