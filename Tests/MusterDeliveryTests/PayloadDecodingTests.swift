import Foundation
import MusterCore
@testable import MusterDelivery
@testable import MusterJournal
import Testing

@Suite("Reading claimed outbox payloads")
struct PayloadDecodingTests {
    static func item(_ payload: String) -> OutboxItem {
        OutboxItem(id: 1, runID: "r-1", seq: 1, notificationID: "n1", channel: "ops", payload: payload, status: .sending,
                   attempts: 1, nextAttempt: Instant(millisecondsSinceEpoch: 0), lastError: nil, idempotencyKey: "r-1/n1",
                   updatedAt: Instant(millisecondsSinceEpoch: 0))
    }

    static let payloads = [
        #"{"channel":"ops","id":"n1","message":"Work started é 🚨","trigger":"enter:work"}"#,
        #"{"trigger":"t","message":"","id":"n2","channel":"c"}"#,
        #"{"channel":"ops","id":"n3","message":"say \"hi\"\nnow","trigger":"enter:work"}"#,
        #"{"channel":"ops","id":"n4","message":"m","trigger":"t","extra":1}"#,
        #"{"channel":"ops","id":"n5","message":"m"}"#,
        #"{ "channel": "ops", "id": "n6", "message": "m", "trigger": "t" }"#,
        #"{"channel":"ops","id":"n7","id":"n7","message":"m","trigger":"t"}"#,
        #"["not","an","object"]"#,
        #"{"channel":"ops","id":"n9","message":"m","trigger":"t"}x"#,
    ]

    @Test("every payload reads as the JSON decoder reads it, directly or through the decoder", arguments: payloads)
    func sameAsDecoder(payload: String) {
        let expected = try? JSONDecoder().decode(MusterCore.Notification.self, from: Data(payload.utf8))
        let direct = OutboxWorker.flatNotification(payload)
        if let direct { #expect(direct == expected) }
        let decoded = OutboxWorker.decodeNotifications([Self.item(payload)])
        // Duplicate keys: Foundation's decoder may take either; the direct reader refuses, the decoder decides.
        #expect(decoded == [expected])
    }

    @Test("plain canonical payloads are read directly; escapes and unknown keys are left to the decoder")
    func directOrNot() {
        #expect(OutboxWorker.flatNotification(Self.payloads[0]) == MusterCore.Notification(id: "n1", channel: "ops", message: "Work started é 🚨", trigger: "enter:work"))
        #expect(OutboxWorker.flatNotification(Self.payloads[1]) != nil)
        for payload in Self.payloads.dropFirst(2) { #expect(OutboxWorker.flatNotification(payload) == nil) }
        let mixed = OutboxWorker.decodeNotifications(Self.payloads.prefix(5).map(Self.item))
        #expect(mixed.map { $0?.id } == ["n1", "n2", "n3", "n4", nil])
    }
}
