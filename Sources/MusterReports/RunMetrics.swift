import MusterCore

/// A named point on the timeline that a metric counts from or to.
public struct Anchor: Sendable, Hashable {
    /// `disruption-start`, `run-start`, `detected`, `declared`, `first-notification`, `contained`, `recovered`,
    /// `closed`, `run-closed`, `observed-until`.
    public var name: String
    public var at: Instant?

    public init(_ name: String, at: Instant?) {
        self.name = name
        self.at = at
    }
}

/// One metric with its definition and the anchors it is measured between.
public struct Metric: Sendable, Hashable {
    public enum Value: Sendable, Hashable {
        case duration(TimeSpan)
        case count(Int)
        /// The end anchor was never reached in the timeline.
        case notReached
    }

    /// Stable id (`time-to-detect`), used as the JSON key.
    public var id: String
    public var name: String
    public var definition: String
    public var value: Value
    public var from: Anchor?
    public var to: Anchor?
    /// What a person reads when the end anchor was never reached ("not reached", "not notified").
    public var notReachedText: String

    public init(
        id: String, name: String, definition: String, value: Value, from: Anchor? = nil, to: Anchor? = nil,
        notReachedText: String = "not reached"
    ) {
        self.id = id
        self.name = name
        self.definition = definition
        self.value = value
        self.from = from
        self.to = to
        self.notReachedText = notReachedText
    }

    public var duration: TimeSpan? { if case .duration(let d) = value { d } else { nil } }
    public var count: Int? { if case .count(let c) = value { c } else { nil } }
}

/// One stay in a state: from its `stateEntered` to the next one (or to the end of observation).
public struct StateVisit: Sendable, Hashable {
    public var state: String
    public var phases: [Phase]
    public var entered: Instant
    /// When the run left it; nil for the state the run was in at the end of observation.
    public var left: Instant?
    /// `left`, or the end of observation.
    public var until: Instant
    public var duration: TimeSpan { until - entered }
}

/// Whether an objective was met.
public enum Attainment: String, Sendable, Hashable {
    case met
    case missed
    /// Not reached yet, and the objective has not run out at the end of observation.
    case open
    /// The playbook sets no such objective for the service.
    case notSet = "not-set"
    /// The objective is set but the timeline holds no measurement (RPO without a recorded data-loss window).
    case notRecorded = "not-recorded"
}

/// Per service: recovery against RTO and MTPD, data loss against RPO. All clocks count from the disruption start.
public struct ServiceAttainment: Sendable, Hashable {
    public var service: String
    public var title: String?
    public var rto: TimeSpan?
    public var rpo: TimeSpan?
    public var mtpd: TimeSpan?
    /// Recovered mark − disruption start (the run-wide `recovered` mark: the playbook has no per-service one).
    public var recoveryTime: TimeSpan?
    public var rtoStatus: Attainment
    /// RTO − recovery time (negative: missed by that much); without recovery, RTO − elapsed at observation end.
    public var rtoMargin: TimeSpan?
    public var mtpdStatus: Attainment
    /// MTPD − recovery time; without recovery, MTPD − elapsed at observation end.
    public var mtpdMargin: TimeSpan?
    /// The data-loss window recorded in the timeline (`data-loss: SERVICE 35m` in a note or task evidence).
    public var dataLoss: TimeSpan?
    public var rpoStatus: Attainment
    /// RPO − data loss.
    public var rpoMargin: TimeSpan?
    /// When RTO and MTPD run out (disruption start + objective).
    public var rtoDue: Instant?
    public var mtpdDue: Instant?
}

public struct PhaseTime: Sendable, Hashable {
    public var phase: Phase
    public var time: TimeSpan
}

public struct TimerFirings: Sendable, Hashable {
    public var id: String
    public var count: Int
}

/// A queued notification and what became of it.
public struct NotificationRecord: Sendable, Hashable {
    public var id: String
    public var channel: String
    public var trigger: String
    public var message: String
    public var queuedAt: Instant
    /// When it was due: the firing timer's due time for `timer:` triggers, else the queue time.
    public var dueAt: Instant
    public var status: DeliveryStatus
    public var attempts: Int
    public var deliveredAt: Instant?
    /// Delivered (or, undelivered, queued) more than the lateness threshold after it was due.
    public var late: Bool
}

/// Metrics computed from a run's timeline alone: the playbook copy pinned to the run and its events.
/// Deterministic: the end of observation is the run's close, or its last event, never the clock.
public struct RunMetrics: Sendable, Hashable {
    public var disruptionStart: Instant
    public var runStart: Instant
    /// `runClosed`'s time, if the run is closed.
    public var runClosed: Instant?
    /// The run's close, else its last event.
    public var observedUntil: Instant
    /// First time each mark was set.
    public var marks: [Mark: Instant]
    public var firstNotification: Instant?
    public var visits: [StateVisit]
    /// Total time in states carrying each phase, in `Phase.allCases` order (phases never entered are left out).
    public var phaseTimes: [PhaseTime]
    public var services: [ServiceAttainment]
    public var notifications: [NotificationRecord]
    public var timersFired: Int
    public var timersFiredLate: Int
    /// Firings per timer id (decision deadlines as `deadline:ID`), in first-firing order.
    public var firingsByTimer: [TimerFirings]
    public var escalations: Int
    public var decisionsMade: Int
    public var decisionsByDefault: Int
    public var lessons: Int
    /// The headline metrics with definitions and anchors, in report order.
    public var metrics: [Metric]


    public func metric(_ id: String) -> Metric? { metrics.first { $0.id == id } }
    public func phaseTime(_ phase: Phase) -> TimeSpan? { phaseTimes.first { $0.phase == phase }?.time }
    public func service(_ id: String) -> ServiceAttainment? { services.first { $0.service == id } }

    public func count(_ status: DeliveryStatus) -> Int { notifications.reduce(0) { $0 + ($1.status == status ? 1 : 0) } }
    public var lateNotifications: Int { notifications.reduce(0) { $0 + ($1.late ? 1 : 0) } }

    /// - Parameters:
    ///   - lateAfter: a notification delivered (or, without delivery, queued) more than this after it was due
    ///     is late. Default 5 minutes.
    ///   - extraDeliveries: delivery facts from outside the events (none by default).
    public init(playbook: Playbook, events: [RunEvent], lateAfter: TimeSpan = .minutes(5), extraDeliveries: [DeliveryFact] = []) {
        var phasesOf: [String: [Phase]] = [:]
        for state in playbook.states { phasesOf[state.id.value] = state.phases }

        var start: RunStarted?
        var runStartAt: Instant?
        var runClosedAt: Instant?
        var marks: [Mark: Instant] = [:]
        var visits: [StateVisit] = []
        var notifications: [NotificationRecord] = []
        var notificationIndex: [String: Int] = [:]
        var deliveries = extraDeliveries
        var timersFired = 0, timersLate = 0, escalations = 0, decisions = 0, byDefault = 0, lessons = 0
        var firings: [String: Int] = [:]
        var firingOrder: [String] = []
        var lastTimerDue: (id: String, due: Instant)?
        var dataLoss: [String: TimeSpan] = [:]
        var lastAt: Instant?

        for event in events {
            if runClosedAt == nil { lastAt = event.at }
            deliveries += DeliveryFact.facts(in: event)
            switch event.body {
            case .runStarted(let s):
                start = s
                runStartAt = event.at
            case .stateEntered(let state, _, _):
                if runClosedAt != nil { break }
                if let last = visits.indices.last, visits[last].left == nil {
                    visits[last].left = event.at
                    visits[last].until = event.at
                }
                visits.append(StateVisit(state: state, phases: phasesOf[state] ?? [], entered: event.at, left: nil, until: event.at))
            case .markSet(let mark):
                if marks[mark] == nil { marks[mark] = event.at }
            case .timerFired(let key, let due, let lateBy):
                timersFired += 1
                if lateBy.milliseconds > 0 { timersLate += 1 }
                if firings[key.id] == nil { firingOrder.append(key.id) }
                firings[key.id, default: 0] += 1
                lastTimerDue = (key.id, due)
            case .notificationQueued(let n):
                var due = event.at
                if n.trigger.hasPrefix("timer:") {
                    escalations += 1
                    if let last = lastTimerDue, "timer:" + last.id == n.trigger { due = last.due }
                }
                notificationIndex[n.id] = notifications.count
                notifications.append(NotificationRecord(
                    id: n.id, channel: n.channel, trigger: n.trigger, message: n.message, queuedAt: event.at,
                    dueAt: due, status: .pending, attempts: 0, deliveredAt: nil, late: false))
            case .decisionMade(_, _, _, let isDefault):
                decisions += 1
                if isDefault { byDefault += 1 }
            case .lessonRecorded:
                lessons += 1
            case .noteAdded(let text):
                RunMetrics.scanDataLoss(text, into: &dataLoss)
            case .taskCompleted(_, let note):
                if let note { RunMetrics.scanDataLoss(note, into: &dataLoss) }
            case .runClosed:
                if runClosedAt == nil { runClosedAt = event.at }
            default:
                break
            }
        }

        let disruption = start?.disruptionStart ?? runStartAt ?? events.first?.at ?? Instant(millisecondsSinceEpoch: 0)
        let runStart = runStartAt ?? disruption
        let end = runClosedAt ?? lastAt ?? runStart
        if let last = visits.indices.last, visits[last].left == nil { visits[last].until = end }

        for fact in deliveries {
            guard let i = notificationIndex[fact.notificationID] else { continue }
            switch fact.outcome {
            case .attemptFailed:
                notifications[i].attempts += 1
                if notifications[i].status == .pending { notifications[i].status = .failed }
            case .delivered:
                notifications[i].attempts += 1
                notifications[i].status = .delivered
                if notifications[i].deliveredAt == nil { notifications[i].deliveredAt = fact.at }
            case .deadLettered:
                if notifications[i].status != .delivered { notifications[i].status = .deadLettered }
            case .skipped:
                if notifications[i].status == .pending { notifications[i].status = .skipped }
            }
        }
        for i in notifications.indices {
            let reference = notifications[i].deliveredAt ?? notifications[i].queuedAt
            notifications[i].late = notifications[i].status != .skipped && reference - notifications[i].dueAt > lateAfter
        }

        var phaseTotals: [Phase: TimeSpan] = [:]
        for visit in visits {
            for phase in Set(visit.phases) { phaseTotals[phase, default: .zero] = phaseTotals[phase, default: .zero] + visit.duration }
        }

        let recovered = marks[.recovered]
        var services: [ServiceAttainment] = []
        for service in playbook.services {
            let rto = service.rto?.value, rpo = service.rpo?.value, mtpd = service.mtpd?.value
            let recovery = recovered.map { $0 - disruption }
            let elapsed = end - disruption
            func judge(_ objective: TimeSpan?) -> (Attainment, TimeSpan?) {
                guard let objective else { return (.notSet, nil) }
                if let recovery { return (recovery <= objective ? .met : .missed, objective - recovery) }
                return (elapsed > objective ? .missed : .open, objective - elapsed)
            }
            let (rtoStatus, rtoMargin) = judge(rto)
            let (mtpdStatus, mtpdMargin) = judge(mtpd)
            let loss = dataLoss[service.id.value]
            var rpoStatus = Attainment.notSet
            var rpoMargin: TimeSpan?
            if let rpo {
                if let loss {
                    rpoStatus = loss <= rpo ? .met : .missed
                    rpoMargin = rpo - loss
                } else {
                    rpoStatus = .notRecorded
                }
            }
            services.append(ServiceAttainment(
                service: service.id.value, title: service.title, rto: rto, rpo: rpo, mtpd: mtpd,
                recoveryTime: recovery, rtoStatus: rtoStatus, rtoMargin: rtoMargin, mtpdStatus: mtpdStatus,
                mtpdMargin: mtpdMargin, dataLoss: loss, rpoStatus: rpoStatus, rpoMargin: rpoMargin,
                rtoDue: rto.map { disruption + $0 }, mtpdDue: mtpd.map { disruption + $0 }))
        }

        self.disruptionStart = disruption
        self.runStart = runStart
        self.runClosed = runClosedAt
        self.observedUntil = end
        self.marks = marks
        // Notified means somebody could read it: the first delivery, not the first message queued (a run whose
        // every notification was dead-lettered notified nobody).
        self.firstNotification = notifications.compactMap(\.deliveredAt).min()
        self.visits = visits
        self.phaseTimes = Phase.allCases.compactMap { p in phaseTotals[p].map { PhaseTime(phase: p, time: $0) } }
        self.services = services
        self.notifications = notifications
        self.timersFired = timersFired
        self.timersFiredLate = timersLate
        self.firingsByTimer = firingOrder.map { TimerFirings(id: $0, count: firings[$0]!) }
        self.escalations = escalations
        self.decisionsMade = decisions
        self.decisionsByDefault = byDefault
        self.lessons = lessons

        // The headline metrics.
        let disruptionAnchor = Anchor("disruption-start", at: disruption)
        func since(_ id: String, _ name: String, _ mark: Mark, _ definition: String) -> Metric {
            let at = marks[mark]
            return Metric(id: id, name: name, definition: definition,
                          value: at.map { .duration($0 - disruption) } ?? .notReached,
                          from: disruptionAnchor, to: Anchor(mark.rawValue, at: at))
        }
        var list: [Metric] = [
            since("time-to-detect", "Time to detect", .detected,
                  "From the disruption's start to the first entry into a state marked `detected`."),
            since("time-to-declare", "Time to declare", .declared,
                  "From the disruption's start to the first entry into a state marked `declared` (the incident was declared)."),
            Metric(id: "time-to-notify", name: "Time to notify",
                   definition: "From the disruption's start to the first notification delivered (any channel); queued, failed and dead-lettered ones do not count.",
                   value: firstNotification.map { .duration($0 - disruption) } ?? .notReached,
                   from: disruptionAnchor, to: Anchor("first-notification", at: firstNotification),
                   notReachedText: notifications.isEmpty ? "not notified (nothing queued)" : "not notified (none of \(notifications.count) delivered)"),
            since("time-to-contain", "Time to contain", .contained,
                  "From the disruption's start to the first entry into a state marked `contained`."),
            since("time-to-recover", "Time to recover", .recovered,
                  "From the disruption's start to the first entry into a state marked `recovered` (compared with each service's RTO)."),
            since("total-duration", "Total duration", .closed,
                  "From the disruption's start to the `closed` mark (set on entering a closed state or on closing the run)."),
            Metric(id: "run-duration", name: "Run duration",
                   definition: "From the run's start to its close, or to its last event while it is open (hot-wash notes and lessons after the close do not count).",
                   value: .duration(end - runStart), from: Anchor("run-start", at: runStart),
                   to: Anchor(runClosedAt == nil ? "observed-until" : "run-closed", at: end)),
        ]
        for (phase, time) in phaseTimes.map({ ($0.phase, $0.time) }) {
            list.append(Metric(
                id: "phase-\(phase.rawValue)", name: "Time in \(phase.rawValue)",
                definition: "Sum of the stays in states tagged `\(phase.rawValue)`, each from entering the state to leaving it (or to the end of observation); a state with several phases counts for each, and a state visited again counts again.",
                value: .duration(time), from: Anchor("state-entered", at: nil), to: Anchor("state-left", at: nil)))
        }
        list += [
            Metric(id: "timers-fired", name: "Timers fired",
                   definition: "Timer firings (`timer-fired` events), decision deadlines included.", value: .count(timersFired)),
            Metric(id: "timers-fired-late", name: "Timers fired late",
                   definition: "Timer firings recorded after their due time (the runtime caught up after a pause).", value: .count(timersLate)),
            Metric(id: "escalations", name: "Escalations",
                   definition: "Notifications sent because a timer fired (trigger `timer:ID`): someone was told because time ran on.", value: .count(escalations)),
            Metric(id: "decisions", name: "Decisions", definition: "Decisions recorded (`decision-made`).", value: .count(decisions)),
            Metric(id: "decisions-by-default", name: "Decisions taken by default",
                   definition: "Decisions whose deadline passed, so the playbook's default option was taken.", value: .count(byDefault)),
            Metric(id: "notifications-queued", name: "Notifications queued",
                   definition: "Notifications the run queued (`notification-queued`).", value: .count(notifications.count)),
        ]
        let countOf: (DeliveryStatus) -> Int = { s in notifications.reduce(0) { $0 + ($1.status == s ? 1 : 0) } }
        list += [
            Metric(id: "notifications-delivered", name: "Notifications delivered",
                   definition: "Queued notifications with a recorded successful delivery.", value: .count(countOf(.delivered))),
            Metric(id: "notifications-late", name: "Notifications late",
                   definition: "Delivered (or, without a delivery record, queued) more than \(lateAfter) after due: the firing timer's due time for timer notifications, else the time queued.",
                   value: .count(notifications.reduce(0) { $0 + ($1.late ? 1 : 0) })),
            Metric(id: "notifications-failed", name: "Notifications failed",
                   definition: "Notifications whose last recorded attempt failed, not yet delivered or dead-lettered.", value: .count(countOf(.failed))),
            Metric(id: "notifications-dead-lettered", name: "Notifications dead-lettered",
                   definition: "Notifications the delivery side gave up on after its maximum attempts.", value: .count(countOf(.deadLettered))),
            Metric(id: "notifications-pending", name: "Notifications without outcome",
                   definition: "Queued notifications with no delivery outcome in the timeline (the timeline does not record delivery attempts yet, or they are still under way).",
                   value: .count(countOf(.pending))),
        ]
        self.metrics = list
    }

    /// Recognises `data-loss: SERVICE DURATION` on any line of a note or task evidence (the restore point's
    /// distance from the disruption start, recorded by a responder). The last record per service wins.
    static func scanDataLoss(_ text: String, into table: inout [String: TimeSpan]) {
        guard text.contains("data-loss:") else { return }
        for line in text.split(whereSeparator: { $0 == "\n" }) {
            guard let range = line.firstRange(of: "data-loss:") else { continue }
            let words = line[range.upperBound...].split(separator: " ", omittingEmptySubsequences: true)
            guard words.count >= 2 else { continue }
            var duration = String(words[1])
            while let last = duration.last, ",.;)".contains(last) { duration.removeLast() }
            if let span = TimeSpan(parsing: duration) { table[String(words[0])] = span }
        }
    }

    /// The state the run was in at each point: the visit containing `at`.
    public func visit(at: Instant) -> StateVisit? {
        var lo = 0, hi = visits.count - 1, found: StateVisit?
        while lo <= hi {
            let mid = (lo + hi) / 2
            if visits[mid].entered <= at { found = visits[mid]; lo = mid + 1 } else { hi = mid - 1 }
        }
        return found
    }
}
