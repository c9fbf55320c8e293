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
        #"{"ack":"page-ic","channel":"ops","id":"n10","message":"m","person":"Dana","role":"incident_commander","rollCall":"safe","trigger":"t"}"#,
    ]

    @Test("every payload reads as the JSON decoder reads it, except that a duplicated key is refused as ambiguous", arguments: payloads)
    func sameAsDecoder(payload: String) {
        let expected = try? JSONDecoder().decode(MusterCore.Notification.self, from: Data(payload.utf8))
        let read = OutboxWorker.decodeNotifications([Self.item(payload)])
        if payload.contains(#""id":"n7","id""#) {
            #expect(expected != nil && read == [nil])  // Foundation's decoder takes one of the two; the journal's parser refuses
        } else {
            #expect(read == [expected])
        }
    }

    @Test("a batch reads each payload on its own: escapes, whitespace and unknown keys are read, a missing key is not")
    func batch() {
        let read = OutboxWorker.decodeNotifications(Self.payloads.map(Self.item))
        #expect(read.map { $0?.id } == ["n1", "n2", "n3", "n4", nil, "n6", nil, nil, nil, "n10"])
        #expect(read[9]?.person == "Dana" && read[9]?.role == "incident_commander" && read[9]?.ack == "page-ic" && read[9]?.rollCall == "safe")
        #expect(read[2]?.message == "say \"hi\"\nnow")
    }
}
