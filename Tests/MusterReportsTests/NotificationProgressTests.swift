import MusterCore
import MusterReports
import Testing

@Suite("Notification progress")
struct NotificationProgressTests {
    let t0 = Instant(millisecondsSinceEpoch: 1_800_000_000_000)

    func at(_ seconds: Int64, _ body: RunEvent.Body) -> RunEvent {
        RunEvent(at: t0 + .seconds(seconds), actor: "muster", role: nil, body)
    }

    func queued(_ id: String, _ seconds: Int64 = 0) -> RunEvent {
        at(seconds, .notificationQueued(Notification(id: id, channel: "execs", message: "Major incident \(id)", trigger: "enter:contain")))
    }

    @Test("a queued notification with no attempt on the timeline is queued, with its message and trigger")
    func queuedOnly() {
        let list = NotificationProgress.list(events: [queued("n1")])
        #expect(list.count == 1)
        #expect(list[0].status == .queued)
        #expect(list[0].message == "Major incident n1" && list[0].trigger == "enter:contain" && list[0].queuedAt == t0)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var after: [RunEvent.Body]
        var status: NotificationProgress.Status
        var testDescription: String { name }
    }

    static let next = Instant(millisecondsSinceEpoch: 1_800_000_060_000)
    static let cases: [Case] = [
        Case(name: "sent", after: [.notificationSent(id: "n1", channel: "execs", status: 200, latencyMs: 42, attempt: 1)],
             status: .sent(httpStatus: 200, latencyMs: 42, attempt: 1)),
        Case(name: "failed once: retrying with the next attempt and the error",
             after: [.notificationFailed(id: "n1", channel: "execs", reason: "HTTP 503", attempt: 1, nextAttempt: next)],
             status: .retrying(attempt: 1, nextAttempt: next, lastError: "HTTP 503")),
        Case(name: "failed then sent", after: [.notificationFailed(id: "n1", channel: "execs", reason: "HTTP 503", attempt: 1, nextAttempt: next),
                                               .notificationSent(id: "n1", channel: "execs", status: 204, latencyMs: 9, attempt: 2)],
             status: .sent(httpStatus: 204, latencyMs: 9, attempt: 2)),
        Case(name: "dead-lettered", after: [.notificationFailed(id: "n1", channel: "execs", reason: "refused", attempt: 1, nextAttempt: nil),
                                            .notificationDeadLettered(id: "n1", channel: "execs", reason: "refused", attempts: 1)],
             status: .deadLettered(attempts: 1, reason: "refused")),
        Case(name: "requeued by a person after dead-lettering: queued again",
             after: [.notificationDeadLettered(id: "n1", channel: "execs", reason: "refused", attempts: 3),
                     .notificationRequeued(id: "n1", channel: "execs", previousStatus: "dead", attempts: 3)],
             status: .queued),
        Case(name: "skipped", after: [.notificationSkipped(id: "n1", channel: "execs", reason: "live_only channel in an exercise")],
             status: .skipped(reason: "live_only channel in an exercise")),
    ]

    @Test("the last delivery event decides the status", arguments: cases)
    func lastEventDecides(_ c: Case) {
        let events = [queued("n1")] + c.after.enumerated().map { at(Int64($0.offset + 1), $0.element) }
        let list = NotificationProgress.list(events: events)
        #expect(list.map(\.status) == [c.status])
        #expect(list[0].updatedAt == t0 + .seconds(Int64(c.after.count)))
    }

    @Test("status names as the API spells them")
    func names() {
        #expect(NotificationProgress.Status.queued.name == "queued")
        #expect(NotificationProgress.Status.retrying(attempt: 1, nextAttempt: nil, lastError: "x").name == "retrying")
        #expect(NotificationProgress.Status.deadLettered(attempts: 3, reason: "x").name == "dead-lettered")
    }

    @Test("the outbox row speaks only where the timeline is silent: in flight, skipped at queueing, inject notifications")
    func outboxRows() {
        let events = [queued("n1"), queued("n2"), queued("n3"),
                      at(5, .notificationSent(id: "n3", channel: "execs", status: 200, latencyMs: 10, attempt: 1))]
        let rows = [
            NotificationProgress.OutboxRow(notificationID: "n1", channel: "execs", status: "sending", attempts: 2),
            NotificationProgress.OutboxRow(notificationID: "n2", channel: "execs", status: "skipped", attempts: 0, lastError: "channel execs is live_only"),
            NotificationProgress.OutboxRow(notificationID: "n3", channel: "execs", status: "pending", attempts: 0),
            NotificationProgress.OutboxRow(notificationID: "inject-I3", channel: "exercise-mail", status: "pending", attempts: 0),
        ]
        let list = NotificationProgress.list(events: events, outbox: rows)
        #expect(list.map(\.id) == ["n1", "n2", "n3", "inject-I3"])
        #expect(list[0].status == .sending(attempt: 2))
        #expect(list[1].status == .skipped(reason: "channel execs is live_only"))
        #expect(list[2].status == .sent(httpStatus: 200, latencyMs: 10, attempt: 1))
        #expect(list[3].status == .queued && list[3].trigger == "inject:I3" && list[3].queuedAt == nil)
    }

    @Test("a delivery event of a notification never queued on the timeline (an inject's) still lists it")
    func injectNotification() {
        let list = NotificationProgress.list(events: [at(3, .notificationSent(id: "inject-I1", channel: "sms", status: nil, latencyMs: 5, attempt: 1))])
        #expect(list.map(\.id) == ["inject-I1"])
        #expect(list[0].channel == "sms" && list[0].trigger == "inject:I1")
        #expect(list[0].status == .sent(httpStatus: nil, latencyMs: 5, attempt: 1))
    }
}
