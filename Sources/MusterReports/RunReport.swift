import MusterCore

/// One journaled event as the report sees it.
public struct ReportEvent: Sendable, Hashable {
    public var seq: Int
    public var event: RunEvent
    /// Scenario time in exercises.
    public var scenarioTime: Instant?
    /// The wall-clock time when `event.at` was replaced by the scenario time (exercise reports run on the
    /// scenario clock, as the exercise evaluation does).
    public var wallTime: Instant?

    public init(seq: Int, event: RunEvent, scenarioTime: Instant? = nil, wallTime: Instant? = nil) {
        self.seq = seq
        self.event = event
        self.scenarioTime = scenarioTime
        self.wallTime = wallTime
    }
}

/// The run as stored: what the journal's run row pins.
public struct ReportRun: Sendable, Hashable {
    public var id: String
    public var title: String
    public var playbookID: String
    public var playbookVersion: Int
    public var playbookSHA256: String
    public var mode: RunMode
    public var createdAt: Instant

    public init(id: String, title: String, playbookID: String, playbookVersion: Int, playbookSHA256: String, mode: RunMode, createdAt: Instant) {
        self.id = id
        self.title = title
        self.playbookID = playbookID
        self.playbookVersion = playbookVersion
        self.playbookSHA256 = playbookSHA256
        self.mode = mode
        self.createdAt = createdAt
    }
}

/// The result of verifying the run's hash chain when the report was made.
public struct ReportIntegrity: Sendable, Hashable {
    public var headHash: String
    public var eventCount: Int
    public var intact: Bool
    /// The first broken link in words (`chain broken at event 12: hash mismatch ...`), when not intact.
    public var problem: String?
    public var warnings: [String]
    public var checkedAt: Instant

    public init(headHash: String, eventCount: Int, intact: Bool, problem: String? = nil, warnings: [String] = [], checkedAt: Instant) {
        self.headHash = headHash
        self.eventCount = eventCount
        self.intact = intact
        self.problem = problem
        self.warnings = warnings
        self.checkedAt = checkedAt
    }
}

/// Who held a role, from when to when.
public struct RoleTenure: Sendable, Hashable {
    public var role: String
    public var roleTitle: String
    public var person: String
    public var from: Instant
    public var until: Instant?
    public var assignedBy: String
    /// The handover note given when relieved.
    public var handover: String?
}

public struct DecisionRecord: Sendable, Hashable {
    public var seq: Int
    public var decision: String
    public var question: String
    public var option: String
    /// The state the option leads to.
    public var leadsTo: String?
    public var by: String
    public var role: String?
    public var at: Instant
    public var rationale: String
    public var byDefault: Bool
}

public struct LessonRecord: Sendable, Hashable {
    public var seq: Int
    public var at: Instant
    public var by: String
    public var kind: LessonKind
    public var text: String
    public var rootCause: String?
    /// The state the run was in (its phases say where in the lifecycle the lesson belongs).
    public var state: String?

    public init(seq: Int, at: Instant, by: String, kind: LessonKind, text: String, rootCause: String?, state: String?) {
        self.seq = seq
        self.at = at
        self.by = by
        self.kind = kind
        self.text = text
        self.rootCause = rootCause
        self.state = state
    }
}

/// Everything an after-action report shows, computed from the pinned playbook and the timeline.
/// Renderers (`ReportHTML`, `ReportMarkdown`, `ReportJSON`) only lay it out.
public struct RunReport: Sendable {
    public var run: ReportRun
    public var playbook: Playbook
    public var events: [ReportEvent]
    public var integrity: ReportIntegrity
    public var generatedAt: Instant
    public var metrics: RunMetrics

    public var started: RunStarted?
    public var severity: Severity
    public var finalState: String?
    public var closeReason: String?
    public var roles: [RoleTenure]
    public var decisions: [DecisionRecord]
    public var lessons: [LessonRecord]
    public var notes: Int
    /// The exercise's evaluation (injects, expectations, objective ratings), set by the shell for exercise runs.
    public var exercise: ExerciseEvaluation?
    /// Acknowledgements, roll calls and the reach of personal messages; nil for a run with neither (no section).
    public var hearingBack: HearingBackReport?
    /// The exercise record (`exerciseStarted`), if the run has one.
    public var exerciseStarted: ExerciseStarted?
    /// Per lesson id (`RUN/SEQ`), the improvement actions that answer it, in words (`A-1 open, OVERDUE`); set
    /// by the shell from the improvement log.
    public var lessonActions: [String: [String]] = [:]
    /// The service catalogue's services the run affected: its own and, through dependencies, those relying on them,
    /// with their MTPD counted from the disruption's start to the run's recovery (else its close, else the report's
    /// time); set by the shell when a catalogue is found (`CatalogueImpact`). Empty without a catalogue.
    public var catalogueServices: [ImpactAnalysis.Affected] = []
    /// The catalogue file they come from.
    public var catalogueSource: String?

    /// "2h left" or "EXCEEDED by 4h" for a service's MTPD; nil without one.
    public func catalogueClock(_ service: ImpactAnalysis.Affected) -> String? {
        guard let left = service.timeLeft else { return nil }
        return left.milliseconds >= 0 ? "\(left.forPeople(unit: .minutes(1))) left" : "EXCEEDED by \(TimeSpan(milliseconds: -left.milliseconds).forPeople(unit: .minutes(1)))"
    }

    /// How a catalogue service was reached: the run's own, or the dependency it falls through.
    public func catalogueReach(_ service: ImpactAnalysis.Affected) -> String {
        playbook.services.contains { $0.id.value == service.service } ? "this run's" : "through " + (service.path.dropLast().last.map(\.description) ?? "?")
    }

    /// `extraDeliveries`: outcomes recorded on outbox rows only (a closed run's notifications delivered after its
    /// close; see `RunReportBuilder`).
    public init(run: ReportRun, playbook: Playbook, events: [ReportEvent], integrity: ReportIntegrity, generatedAt: Instant,
                lateAfter: TimeSpan = .minutes(5), exercise: ExerciseEvaluation? = nil, extraDeliveries: [DeliveryFact] = []) {
        self.run = run
        self.exercise = exercise
        self.playbook = playbook
        self.events = events
        self.integrity = integrity
        self.generatedAt = generatedAt
        self.metrics = RunMetrics(playbook: playbook, events: events.map(\.event), lateAfter: lateAfter, extraDeliveries: extraDeliveries)

        var started: RunStarted?
        var finalState: String?
        var closeReason: String?
        var closed = false
        var tenures: [RoleTenure] = []
        var openTenure: [String: Int] = [:]
        var decisions: [DecisionRecord] = []
        var lessons: [LessonRecord] = []
        var notes = 0
        var exerciseStarted: ExerciseStarted?
        var roleTitles: [String: String] = [:]
        for role in playbook.roles { roleTitles[role.id.value] = role.title }
        var questions: [String: (question: String, options: [String: String])] = [:]
        for (_, decision) in playbook.allDecisions {
            var options: [String: String] = [:]
            for option in decision.options { options[option.name.value] = option.target.value }
            questions[decision.id.value] = (decision.question, options)
        }
        for item in events {
            let e = item.event
            switch e.body {
            case .runStarted(let s): started = s
            case .stateEntered(let state, _, _): if !closed { finalState = state }
            case .roleAssigned(let role, let person):
                if let open = openTenure[role] { tenures[open].until = e.at }
                openTenure[role] = tenures.count
                tenures.append(RoleTenure(role: role, roleTitle: roleTitles[role] ?? role, person: person, from: e.at,
                                          until: nil, assignedBy: e.actor, handover: nil))
            case .roleRelieved(let role, _, let handover):
                if let open = openTenure.removeValue(forKey: role) {
                    tenures[open].until = e.at
                    tenures[open].handover = handover
                }
            case .decisionMade(let decision, let option, let rationale, let byDefault):
                let known = questions[decision]
                decisions.append(DecisionRecord(
                    seq: item.seq, decision: decision, question: known?.question ?? decision, option: option,
                    leadsTo: known?.options[option], by: e.actor, role: e.role, at: e.at, rationale: rationale,
                    byDefault: byDefault))
            case .lessonRecorded(let lesson):
                lessons.append(LessonRecord(seq: item.seq, at: e.at, by: e.actor, kind: lesson.kind, text: lesson.text,
                                            rootCause: lesson.rootCause, state: finalState))
            case .noteAdded: notes += 1
            case .exerciseStarted(let s): if exerciseStarted == nil { exerciseStarted = s }
            case .runClosed(let reason):
                closed = true
                closeReason = reason
            default: break
            }
        }
        self.started = started
        self.severity = started?.severity ?? playbook.severity
        self.finalState = finalState
        self.closeReason = closeReason
        self.roles = tenures
        self.decisions = decisions
        self.lessons = lessons
        self.notes = notes
        self.exerciseStarted = exerciseStarted
        // A live run still open is reported as of the report's time (a `within` may have run out since the last
        // event); a closed run as of its close, an exercise on its scenario clock as of its last event.
        let hearingUntil = run.mode == .live && closeReason == nil && !closed ? max(metrics.observedUntil, generatedAt) : metrics.observedUntil
        self.hearingBack = HearingBackReport.build(events: events, playbook: playbook, observedUntil: hearingUntil)
    }

    public var isClosed: Bool { metrics.runClosed != nil }
    public var isExercise: Bool { run.mode == .exercise }

    public func stateTitle(_ id: String) -> String { playbook.state(id)?.title ?? id }

    /// `Title (id)`, or the id alone when the state has no title.
    public func stateLabel(_ id: String) -> String {
        if let title = playbook.state(id)?.title, title != id { return "\(title) (\(id))" }
        return id
    }

    /// One sentence: how the run ended (or where it stands).
    public var outcome: String {
        let state = finalState.map { stateLabel($0) } ?? "no state"
        if isClosed {
            var text = "Closed in \(state)"
            if let closeReason, !closeReason.isEmpty { text += ": \(closeReason)" }
            return text
        }
        return "Open, in \(state) at the last event"
    }

    /// Objectives in words, one per service and objective, for the summary.
    public var objectives: [(text: String, status: Attainment)] {
        var out: [(String, Attainment)] = []
        for s in metrics.services {
            let name = s.title ?? s.service
            if let rto = s.rto {
                switch s.rtoStatus {
                case .met: out.append(("\(name): recovered in \(ReportFormat.span(s.recoveryTime!)) against an RTO of \(rto) (\(ReportFormat.margin(s.rtoMargin!)) to spare)", .met))
                case .missed where s.recoveryTime != nil: out.append(("\(name): recovered in \(ReportFormat.span(s.recoveryTime!)), over the RTO of \(rto) by \(ReportFormat.span(-s.rtoMargin!))", .missed))
                case .missed: out.append(("\(name): not recovered within the RTO of \(rto)", .missed))
                default: out.append(("\(name): not recovered yet; RTO of \(rto) not run out at the last event", .open))
                }
            }
            if let mtpd = s.mtpd, let margin = s.mtpdMargin {
                switch s.mtpdStatus {
                case .met: out.append(("\(name): recovered \(ReportFormat.span(margin)) inside the MTPD of \(mtpd)", .met))
                case .missed: out.append(("\(name): disruption exceeded the MTPD of \(mtpd)", .missed))
                default: out.append(("\(name): \(ReportFormat.span(margin)) left to the MTPD of \(mtpd) at the last event", .open))
                }
            }
            if let rpo = s.rpo {
                switch s.rpoStatus {
                case .met: out.append(("\(name): data loss \(s.dataLoss!) within the RPO of \(rpo)", .met))
                case .missed: out.append(("\(name): data loss \(s.dataLoss!) exceeds the RPO of \(rpo)", .missed))
                default: out.append(("\(name): RPO of \(rpo) not measured (no `data-loss:` record in the timeline)", .notRecorded))
                }
            }
        }
        return out
    }

    /// A short description of an event for the timeline table.
    public func describe(_ event: RunEvent) -> (kind: String, text: String) {
        switch event.body {
        case .runStarted(let s):
            return ("run started", "\(s.mode.rawValue) run \"\(s.title)\", \(s.severity.rawValue), playbook \(s.playbookID) v\(s.playbookVersion); disruption began \(ReportFormat.time(s.disruptionStart))")
        case .stateEntered(let state, let from, let cause):
            let why: String
            switch cause {
            case .start: why = "start"
            case .guardHeld: why = "guard held"
            case .event(let name): why = "on \(name)"
            case .decision(let id, let option): why = "decision \(id) = \(option)"
            }
            return ("state entered", stateLabel(state) + (from.map { " from \($0)" } ?? "") + ", \(why)")
        case .markSet(let mark): return ("mark", mark.rawValue)
        case .roleAssigned(let role, let person): return ("role assigned", "\(person) is \(role)")
        case .roleRelieved(let role, let person, let handover):
            return ("role relieved", "\(person) relieved as \(role)" + (handover.map { ": \($0)" } ?? ""))
        case .taskCompleted(let task, let note): return ("task done", task + (note.map { ": \($0)" } ?? ""))
        case .taskSkipped(let task, let reason): return ("task skipped", task + (reason.map { ": \($0)" } ?? ""))
        case .eventRaised(let name): return ("event raised", name)
        case .decisionMade(let decision, let option, let rationale, let byDefault):
            return (byDefault ? "decision (default)" : "decision", "\(decision) = \(option): \(rationale)")
        case .noteAdded(let text): return ("note", text)
        case .lessonRecorded(let lesson):
            return ("lesson", "\(lesson.kind.rawValue): \(lesson.text)" + (lesson.rootCause.map { " [root cause: \($0)]" } ?? ""))
        case .timerArmed(let key, let due, let repeatEvery):
            return ("timer armed", "\(key.id) due \(ReportFormat.time(due))" + (repeatEvery.map { ", every \($0)" } ?? ""))
        case .timerFired(let key, _, let lateBy):
            return ("timer fired", key.id + (lateBy.milliseconds > 0 ? " (late by \(lateBy))" : ""))
        case .timerCancelled(let key): return ("timer cancelled", key.id)
        case .notificationQueued(let n): return ("notification", "\(n.id) to \(n.channel) (\(n.trigger)): \(n.message)")
        case .acknowledgementRequested, .acknowledged, .escalated, .escalationExhausted, .deputyNamed, .rollCallRequested,
             .rollCallStarted, .answerReceived, .personAccounted, .rollCallProgress, .rollCallOverdue:
            return (String(event.body.typeName.map { $0 == "-" ? " " : $0 }), TimelineText.hearingBack(event.body) ?? "")
        case .runClosed(let reason): return ("run closed", reason ?? "")
        case .exerciseStarted(let s): return ("exercise started", "\(s.exercise): \(s.title) (\(s.type), speed \(s.speed))")
        case .injectDelivered(let d):
            return (d.contingency ? "inject (contingency)" : d.adHoc ? "inject (ad hoc)" : "inject",
                    "\(d.inject)" + (d.from.map { " from \($0)" } ?? "") + " to \(d.to.joined(separator: ", ")) by \(d.method): \(d.message)")
        case .injectWithheld(let inject, let reason): return ("inject withheld", "\(inject): \(reason)")
        case .exerciseClock(let change):
            let text: String
            switch change {
            case .started(let speed): text = "started at speed \(speed)"
            case .paused: text = "paused"
            case .resumed: text = "resumed"
            case .speedChanged(let speed): text = "speed \(speed)"
            case .skipped(let by): text = "skipped ahead \(by)"
            case .ended(let reason): text = "ended: \(reason)"
            case .suspended(let reason): text = "suspended: \(reason)"
            }
            return ("scenario clock", text)
        case .playerActionRejected(let action, let reason): return ("player action rejected", "\(action): \(reason)")
        case .ratingOverruled(let objective, let rating, let note): return ("rating overruled", "\(objective) = \(rating): \(note)")
        case .chatChannelBound(let binding): return ("chat channel bound", "\(binding.platform) channel \(binding.channel)")
        case .chatMessagePosted(let posted): return ("incident message posted", "\(posted.binding.platform) channel \(posted.binding.channel)")
        case .notificationSent(let id, let channel, let status, let latencyMs, let attempt):
            return ("notification sent", "\(id) to \(channel)" + (status.map { ", status \($0)" } ?? "") + ", \(latencyMs) ms, attempt \(attempt)")
        case .notificationFailed(let id, let channel, let reason, let attempt, let nextAttempt):
            return ("notification failed", "\(id) to \(channel), attempt \(attempt): \(reason)"
                + (nextAttempt.map { "; next attempt \(ReportFormat.time($0))" } ?? ""))
        case .notificationDeadLettered(let id, let channel, let reason, let attempts):
            return ("notification dead-lettered", "\(id) to \(channel) after \(attempts) attempt\(attempts == 1 ? "" : "s"): \(reason)")
        case .notificationSkipped(let id, let channel, let reason): return ("notification skipped", "\(id) to \(channel): \(reason)")
        case .notificationRequeued(let id, let channel, let previousStatus, _):
            return ("notification requeued", "\(id) to \(channel) (was \(previousStatus))")
        }
    }
}
