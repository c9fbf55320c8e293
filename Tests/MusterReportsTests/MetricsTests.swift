import MusterCore
import MusterReports
import Testing

@Suite("Run metrics from the timeline alone")
struct MetricsTests {
    static let loop = RunMetrics(playbook: loadPlaybook(), events: loopTimeline)
    static let open = RunMetrics(playbook: loadPlaybook(), events: openTimeline)

    static let durationCases: [(String, String, String, String?)] = [
        // (timeline, metric, description of the case, expected span or nil for "not reached")
        ("loop", "time-to-detect", "detected at start, disruption 20m earlier", "20m"),
        ("loop", "time-to-declare", "declared on first entry into contain", "30m"),
        ("loop", "time-to-notify", "three queued, none delivered: nobody was notified", nil),
        ("loop", "time-to-contain", "contained mark is set on the first entry only", "30m"),
        ("loop", "time-to-recover", "recovered mark", "3h20m"),
        ("loop", "total-duration", "closed mark, not the hot-wash lesson after close", "5h20m"),
        ("loop", "run-duration", "run start to run close", "5h10m"),
        ("loop", "phase-detect", "two visits to triage: 10m + 20m", "30m"),
        ("loop", "phase-assess", "triage carries detect and assess: counts for each", "30m"),
        ("loop", "phase-respond", "two visits to contain: 30m + 1h", "1h30m"),
        ("loop", "phase-recover", "recover from 2h to 5h", "3h"),
        ("loop", "phase-learn", "closed state until the run closed", "10m"),
        ("open", "time-to-detect", "disruption 1h before start", "1h"),
        ("open", "time-to-contain", "contained at 30m", "1h30m"),
        ("open", "time-to-recover", "never recovered", nil),
        ("open", "total-duration", "never closed", nil),
        ("open", "time-to-notify", "no notification", nil),
        ("open", "run-duration", "open run: to the last event", "2h30m"),
        ("open", "phase-respond", "the current state counts to the last event", "2h"),
    ]

    @Test("duration metrics have the known answers", arguments: durationCases)
    func durations(_ timeline: String, _ id: String, _ why: String, _ expected: String?) throws {
        let metrics = timeline == "loop" ? Self.loop : Self.open
        let metric = try #require(metrics.metric(id), "\(id) missing (\(why))")
        if let expected {
            #expect(metric.value == .duration(TimeSpan(parsing: expected)!), "\(id): \(why)")
        } else {
            #expect(metric.value == .notReached, "\(id): \(why)")
        }
        #expect(!metric.definition.isEmpty)
    }

    static let countCases: [(String, String, Int)] = [
        ("loop", "timers-fired", 2),
        ("loop", "timers-fired-late", 1),
        ("loop", "escalations", 1),
        ("loop", "decisions", 1),
        ("loop", "decisions-by-default", 1),
        ("loop", "notifications-queued", 3),
        ("loop", "notifications-delivered", 0),
        ("loop", "notifications-late", 1),
        ("loop", "notifications-failed", 0),
        ("loop", "notifications-dead-lettered", 0),
        ("loop", "notifications-pending", 3),
        ("open", "timers-fired", 0),
        ("open", "notifications-queued", 0),
    ]

    @Test("count metrics have the known answers", arguments: countCases)
    func counts(_ timeline: String, _ id: String, _ expected: Int) throws {
        let metrics = timeline == "loop" ? Self.loop : Self.open
        #expect(try #require(metrics.metric(id)).value == .count(expected))
    }

    @Test("every duration metric names its anchors and the disruption start is the clock's origin")
    func anchors() throws {
        let detect = try #require(Self.loop.metric("time-to-detect"))
        #expect(detect.from == Anchor("disruption-start", at: at("-20m")))
        #expect(detect.to == Anchor("detected", at: at("0")))
        let recover = try #require(Self.open.metric("time-to-recover"))
        #expect(recover.to == Anchor("recovered", at: nil))
        #expect(Self.open.metric("run-duration")?.to?.name == "observed-until")
        #expect(Self.loop.metric("run-duration")?.to?.name == "run-closed")
    }

    @Test("a loop back re-enters states without moving the first-entry marks")
    func loopVisits() {
        #expect(Self.loop.visits.map(\.state) == ["triage", "contain", "triage", "contain", "recover", "closed"])
        #expect(Self.loop.visits.map(\.duration) == [.minutes(10), .minutes(30), .minutes(20), .hours(1), .hours(3), .minutes(10)])
        #expect(Self.loop.marks[.contained] == at("10m"))
        #expect(Self.loop.visits.last?.left == nil)
    }

    @Test("RTO, MTPD and RPO attainment per service, from the disruption's start")
    func servicesRecovered() throws {
        let shares = try #require(Self.loop.service("shares"))
        #expect(shares.recoveryTime == .minutes(200))
        #expect(shares.rtoStatus == .met)
        #expect(shares.rtoMargin == .minutes(40))
        #expect(shares.mtpdStatus == .met)
        #expect(shares.mtpdMargin == TimeSpan(parsing: "20h40m"))
        #expect(shares.dataLoss == .minutes(45))
        #expect(shares.rpoStatus == .met)
        #expect(shares.rpoMargin == .minutes(15))
        #expect(shares.rtoDue == at("3h40m"))
        let identity = try #require(Self.loop.service("identity"))
        #expect(identity.rtoStatus == .missed)
        #expect(identity.rtoMargin == -TimeSpan(parsing: "1h20m")!)
        #expect(identity.mtpdMargin == TimeSpan(parsing: "4h40m"))
        #expect(identity.rpoStatus == .notSet)
    }

    @Test("without recovery an objective is open until it runs out, then missed")
    func servicesNotRecovered() throws {
        let shares = try #require(Self.open.service("shares"))
        #expect(shares.recoveryTime == nil)
        #expect(shares.rtoStatus == .open)
        #expect(shares.rtoMargin == .minutes(30))
        #expect(shares.rpoStatus == .notRecorded)
        let identity = try #require(Self.open.service("identity"))
        #expect(identity.rtoStatus == .missed)
        #expect(identity.rtoMargin == -TimeSpan(parsing: "1h30m")!)
        #expect(identity.mtpdStatus == .open)
    }

    @Test("a timer notification is due at the timer's due time and late when queued long after")
    func lateNotification() throws {
        let n3 = try #require(Self.loop.notifications.first { $0.id == "n3" })
        #expect(n3.dueAt == at("1h20m"))
        #expect(n3.late)
        #expect(n3.status == .pending)
        let n1 = try #require(Self.loop.notifications.first { $0.id == "n1" })
        #expect(!n1.late)
        // A 15-minute threshold forgives it.
        let lenient = RunMetrics(playbook: loadPlaybook(), events: loopTimeline, lateAfter: .minutes(15))
        #expect(lenient.lateNotifications == 0)
    }

    @Test("delivery facts move notifications to delivered, failed or dead-lettered")
    func deliveries() {
        let facts = [
            DeliveryFact(notificationID: "n1", at: at("11m"), outcome: .delivered),
            DeliveryFact(notificationID: "n2", at: at("1h1m"), outcome: .attemptFailed, detail: "HTTP 500"),
            DeliveryFact(notificationID: "n3", at: at("1h31m"), outcome: .attemptFailed),
            DeliveryFact(notificationID: "n3", at: at("1h40m"), outcome: .deadLettered),
            DeliveryFact(notificationID: "n9", at: at("2h"), outcome: .delivered),  // unknown: ignored
        ]
        let m = RunMetrics(playbook: loadPlaybook(), events: loopTimeline, extraDeliveries: facts)
        #expect(m.count(.delivered) == 1)
        #expect(m.count(.failed) == 1)
        #expect(m.count(.deadLettered) == 1)
        #expect(m.count(.pending) == 0)
        #expect(m.notifications.first { $0.id == "n1" }?.deliveredAt == at("11m"))
    }

    @Test("time to notify runs to the first delivery, not the first message queued; none delivered says so")
    func timeToNotifyIsTheFirstDelivery() throws {
        let facts = [
            DeliveryFact(notificationID: "n1", at: at("11m"), outcome: .deadLettered),
            DeliveryFact(notificationID: "n2", at: at("1h5m"), outcome: .delivered),
        ]
        let delivered = RunMetrics(playbook: loadPlaybook(), events: loopTimeline, extraDeliveries: facts)
        let metric = try #require(delivered.metric("time-to-notify"))
        // The disruption began 20m before the run; n2 was delivered 1h5m into it.
        #expect(metric.value == .duration(TimeSpan(parsing: "1h25m")!))
        #expect(metric.to?.at == at("1h5m"))

        let deadOnly = RunMetrics(playbook: loadPlaybook(), events: loopTimeline, extraDeliveries: [facts[0]])
        let none = try #require(deadOnly.metric("time-to-notify"))
        #expect(none.value == .notReached)
        #expect(none.valueText == "not notified (none of 3 delivered)")
        #expect(try #require(Self.open.metric("time-to-notify")).valueText == "not notified (nothing queued)")
    }

    @Test("the outbox worker's attempt events on the timeline are the delivery facts")
    func deliveryEvents() {
        var events = loopTimeline
        events.append(ev("12m", .notificationFailed(id: "n1", channel: "bridge", reason: "HTTP 503", attempt: 1, nextAttempt: at("13m"))))
        events.append(ev("13m", .notificationSent(id: "n1", channel: "bridge", status: 200, latencyMs: 40, attempt: 2)))
        events.append(ev("1h1m", .notificationFailed(id: "n2", channel: "execs", reason: "timeout", attempt: 1, nextAttempt: nil)))
        events.append(ev("1h31m", .notificationDeadLettered(id: "n3", channel: "execs", reason: "HTTP 400", attempts: 1)))
        let m = RunMetrics(playbook: loadPlaybook(), events: events)
        #expect(m.count(.delivered) == 1)
        #expect(m.count(.failed) == 1)
        #expect(m.count(.deadLettered) == 1)
        #expect(m.notifications.first { $0.id == "n1" }?.deliveredAt == at("13m"))
    }

    @Test("an empty timeline gives metrics without crashing")
    func empty() {
        let m = RunMetrics(playbook: loadPlaybook(), events: [])
        #expect(m.metric("time-to-detect")?.value == .notReached)
        #expect(m.visits.isEmpty)
    }

    @Test("data-loss records are read from notes and task evidence, the last one winning")
    func dataLossConvention() {
        var events = openTimeline
        events.append(ev("2h40m", .taskCompleted(task: "restore", note: "data-loss: shares 2h")))
        events.append(ev("2h50m", .noteAdded(text: "correction: data-loss: shares 50m, from the 16:10 copy")))
        let m = RunMetrics(playbook: loadPlaybook(), events: events)
        #expect(m.service("shares")?.dataLoss == .minutes(50))
        #expect(m.service("shares")?.rpoStatus == .met)
    }
}
