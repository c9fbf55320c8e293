import Testing
@testable import MusterCore

/// The one presentation of hearing back (console, board `text`): tallies, countdowns and what reached whom.
@Suite("Hearing back in words")
struct HearingBackWordingTests {
    static let t0 = Instant(iso8601: "2026-03-06T17:40:00Z")!

    static func rollCall(people: Int = 4, accounted: Int, marked: Int = 0, safe: Int, help: Int = 0, unreached: Int?,
                         unaccounted: [String], overdue: Bool = false) -> HearingBack.RollCall {
        HearingBack.RollCall(
            id: "staff-safety", requestedAt: t0, startedAt: t0, within: .hours(1), deadline: t0 + .hours(1), people: people,
            accounted: accounted, markedOnly: marked,
            options: [.init(id: "safe", label: "I am safe", people: safe), .init(id: "help", label: "I need help", people: help)],
            notYetAnswered: unaccounted.count - (unreached ?? 0), unreached: unreached, unaccounted: unaccounted, overdue: overdue)
    }

    @Test("a tally names each option, the marked, the not yet answered and the unreached, and the time left of within")
    func tallyWithCountdown() {
        let r = Self.rollCall(accounted: 2, marked: 1, safe: 1, unreached: 1, unaccounted: ["Cy", "Di"])
        #expect(HearingBackText.tally(r, now: Self.t0 + .minutes(12))
            == "2/4 accounted (50%); answered safe 1, help 0; marked by hand 1; not yet answered 1; unreached 1; within 1h: 00:48:00 left")
    }

    @Test("percentages round down: 2 of 3 is 66%, 999 of 1000 is 99%, nobody asked is 100%")
    func percentRoundsDown() {
        #expect(Self.rollCall(people: 3, accounted: 2, safe: 2, unreached: 0, unaccounted: ["Cy"]).accountedPercent == 66)
        #expect(Self.rollCall(people: 1000, accounted: 999, safe: 999, unreached: 0, unaccounted: ["Cy"]).accountedPercent == 99)
        #expect(Self.rollCall(people: 0, accounted: 0, safe: 0, unreached: 0, unaccounted: []).accountedPercent == 100)
    }

    @Test("past within the tally says OVERDUE and by how much; complete, all accounted; unknown reach leaves unreached out")
    func overdueAndComplete() {
        let late = Self.rollCall(accounted: 3, safe: 3, unreached: nil, unaccounted: ["Di"], overdue: true)
        #expect(HearingBackText.tally(late, now: Self.t0 + .minutes(65))
            == "3/4 accounted (75%); answered safe 3, help 0; not yet answered 1; within 1h: OVERDUE by 00:05:00")
        let done = Self.rollCall(accounted: 4, safe: 3, help: 1, unreached: 0, unaccounted: [])
        #expect(HearingBackText.tally(done, now: Self.t0 + .minutes(70)).hasSuffix("; within 1h: all accounted"))
    }

    @Test("an ack shows the countdown to the next escalation and its target; once acknowledged, by whom and after how long")
    func ackCountdown() {
        var ack = HearingBack.Ack(id: "page-it", role: "it_ops", firstPaged: "Lee", channel: "pager", requestedAt: Self.t0, within: .minutes(10),
                                  paged: ["Lee"], steps: 0, escalate: ["deputy", "incident_commander"], acknowledgedBy: nil, acknowledgedAt: nil,
                                  exhausted: false, nextEscalation: Self.t0 + .minutes(10), nextStep: "deputy")
        #expect(HearingBackText.ack(ack, now: Self.t0 + .minutes(7))
            == "page-it: PENDING, paged Lee (it_ops), next escalation 2026-03-06T17:50:00.000Z (in 00:03:00) to deputy")
        #expect(HearingBackText.ack(ack, now: Self.t0 + .minutes(11)).contains("(due) to deputy"))
        ack.steps = 1
        ack.paged = ["Lee", "Mo"]
        ack.acknowledgedBy = "Mo"
        ack.acknowledgedAt = Self.t0 + .minutes(13)
        #expect(HearingBackText.ack(ack, now: Self.t0 + .minutes(20))
            == "page-it: acknowledged by Mo at 2026-03-06T17:53:00.000Z (after 00:13:00), after 1 escalation step")
    }

    @Test("too many unaccounted names for a line: the first ones and how many more")
    func namesFlagged() {
        #expect(HearingBackText.names(["Ana", "Bo", "Cy"], max: 3) == "Ana, Bo, Cy")
        #expect(HearingBackText.names(["Ana", "Bo", "Cy", "Di", "Ed"], max: 2) == "Ana, Bo and 3 more")
    }

    @Test("reach: a delivered message of the roll call reaches its person; failed, skipped and pending ones do not; per channel counts")
    func reachFromEvents() {
        func e(_ body: RunEvent.Body) -> RunEvent { RunEvent(at: Self.t0, actor: "muster", role: nil, body) }
        func queued(_ id: String, _ channel: String, _ person: String) -> RunEvent {
            e(.notificationQueued(Notification(id: id, channel: channel, message: "Are you safe?", trigger: "rollcall:staff-safety",
                                               person: person, rollCall: "staff-safety")))
        }
        let reach = HearingBackReach(events: [
            e(.rollCallStarted(rollCall: "staff-safety", people: ["Ana", "Bo", "Cy", "Di"])),
            queued("n1", "sms", "Ana"), queued("n2", "sms", "Bo"), queued("n3", "sms", "Cy"), queued("n4", "email", "Di"),
            e(.notificationSent(id: "n1", channel: "sms", status: 201, latencyMs: 5, attempt: 1)),
            e(.notificationDeadLettered(id: "n2", channel: "sms", reason: "HTTP 400", attempts: 1)),
            e(.notificationSkipped(id: "n3", channel: "sms", reason: "not sent: Cy has no phone number in the people directory")),
            // A late dead letter does not undo a delivery.
            e(.notificationDeadLettered(id: "n1", channel: "sms", reason: "late", attempts: 2)),
        ])
        #expect(reach.reached("Ana", in: "staff-safety"))
        #expect(!reach.reached("Bo", in: "staff-safety") && !reach.reached("Cy", in: "staff-safety") && !reach.reached("Di", in: "staff-safety"))
        #expect(reach.channels == [
            HearingBackReach.Channel(channel: "sms", sent: 3, delivered: 1, failed: 1, notSent: 1, pending: 0),
            HearingBackReach.Channel(channel: "email", sent: 1, delivered: 0, failed: 0, notSent: 0, pending: 1),
        ])
    }

    @Test("the status reads only the event types reach needs: each one it records is in eventTypes")
    func eventTypesCoverRecord() {
        let bodies: [RunEvent.Body] = [
            .notificationQueued(Notification(id: "n1", channel: "sms", message: "m", trigger: "rollcall:r", person: "Ana", rollCall: "r")),
            .rollCallStarted(rollCall: "r", people: ["Ana"]),
            .notificationSent(id: "n1", channel: "sms", status: 201, latencyMs: 1, attempt: 1),
            .notificationDeadLettered(id: "n1", channel: "sms", reason: "x", attempts: 1),
            .notificationSkipped(id: "n1", channel: "sms", reason: "x"),
            .notificationRequeued(id: "n1", channel: "sms", previousStatus: "dead", attempts: 1),
        ]
        for body in bodies { #expect(HearingBackReach.eventTypes.contains(body.typeName), "\(body.typeName)") }
        #expect(HearingBackReach.eventTypes.count == bodies.count)
    }
}
