import MusterCore

extension Attainment {
    /// A word with a sign, the same in every format.
    public var label: String {
        switch self {
        case .met: "✔ met"
        case .missed: "✘ missed"
        case .open: "… open"
        case .notSet: "— not set"
        case .notRecorded: "? not recorded"
        }
    }
}

extension Metric {
    public var valueText: String {
        switch value {
        case .duration(let d): ReportFormat.span(d)
        case .count(let c): String(c)
        case .notReached: notReachedText
        }
    }

    public var anchorsText: String {
        guard let from, let to else { return "" }
        return "\(from.name) → \(to.name)"
    }
}

extension RunReport {
    /// `Post-incident report` for live runs, `After-action report` for exercises.
    public var kindTitle: String { isExercise ? "After-action report" : "Post-incident report" }

    /// The headline metrics shown in the summary.
    public var keyMetricIDs: [String] {
        ["time-to-detect", "time-to-declare", "time-to-notify", "time-to-contain", "time-to-recover", "total-duration"]
    }
}

/// The report as GitHub-flavoured Markdown (renders on a code forge; the timeline picture is in the HTML).
public enum ReportMarkdown {
    public static func render(_ r: RunReport) -> String { String(decoding: bytes(r), as: UTF8.self) }

    public static func bytes(_ r: RunReport) -> [UInt8] {
        var o = TextBuffer(capacity: 4096 + r.events.count * 200)
        let m = r.metrics
        let t0 = m.disruptionStart
        o.write("# \(r.kindTitle): ")
        o.markdownCell(r.run.title)
        o.write("\n\n")
        if !r.integrity.intact {
            o.write("> **WARNING: this run's timeline FAILED verification.** ")
            o.markdownCell(r.integrity.problem ?? "the hash chain is broken")
            o.write(". Treat everything below as unverified.\n\n")
        }
        o.write("| | |\n|---|---|\n")
        func row(_ k: String, _ v: String) { o.write("| \(k) | "); o.markdownCell(v); o.write(" |\n") }
        row("Run", r.run.id)
        row("Playbook", "\(r.run.playbookID) version \(r.run.playbookVersion): \(r.playbook.title)")
        row("Playbook SHA-256", r.run.playbookSHA256)
        row("Mode", r.run.mode.rawValue)
        row("Severity", r.severity.rawValue)
        row("Disruption began", ReportFormat.time(m.disruptionStart))
        row("Run started", ReportFormat.time(m.runStart))
        row("Run closed", m.runClosed.map(ReportFormat.time) ?? "open (last event \(ReportFormat.time(m.observedUntil)))")
        row("Report generated", ReportFormat.time(r.generatedAt))
        o.write("\n")

        o.write("## Summary\n\n")
        o.write("- **Outcome:** "); o.markdownCell(r.outcome); o.write("\n")
        o.write("- **Duration:** \(ReportFormat.span(m.observedUntil - m.runStart)) run")
        if let total = r.metrics.metric("total-duration")?.duration { o.write(", \(ReportFormat.span(total)) from the disruption's start to close") }
        o.write("\n")
        for id in r.keyMetricIDs {
            guard let metric = m.metric(id) else { continue }
            o.write("- **\(metric.name):** \(metric.valueText)\n")
        }
        o.write("- **Decisions:** \(m.decisionsMade) (\(m.decisionsByDefault) taken by default); **timers fired:** \(m.timersFired); **escalations:** \(m.escalations); **notifications queued:** \(m.notifications.count)\n")
        if let e = r.exercise, !e.objectives.isEmpty {
            o.write("\n**Exercise objectives**\n\n")
            for obj in e.objectives {
                o.write("- **\(obj.rating?.rawValue ?? "—")** "); o.markdownCell("\(obj.id): \(obj.text) (\(ReportExercise.ratingText(obj)))"); o.write("\n")
            }
        }
        let objectives = r.objectives
        if !objectives.isEmpty {
            o.write("\n**Continuity objectives**\n\n")
            for objective in objectives {
                o.write("- \(objective.status.label): "); o.markdownCell(objective.text); o.write("\n")
            }
        }
        o.write("\n")

        if let e = r.exercise { ReportExercise.markdown(r, e, into: &o) }

        o.write("## Roles\n\n| Role | Person | From | Until | Assigned by | Handover |\n|---|---|---|---|---|---|\n")
        for t in r.roles {
            o.write("| "); o.markdownCell(t.roleTitle); o.write(" | "); o.markdownCell(t.person)
            o.write(" | \(ReportFormat.offset(t.from, from: t0)) | \(t.until.map { ReportFormat.offset($0, from: t0) } ?? "end") | ")
            o.markdownCell(t.assignedBy); o.write(" | "); o.markdownCell(t.handover ?? ""); o.write(" |\n")
        }
        o.write("\n")

        o.write("## Phases and states\n\nThe timeline picture is in the HTML report. States in the order entered:\n\n")
        o.write("| Entered | State | Phases | Stayed |\n|---|---|---|---|\n")
        for visit in m.visits {
            o.write("| \(ReportFormat.offset(visit.entered, from: t0)) | "); o.markdownCell(r.stateLabel(visit.state))
            o.write(" | \(visit.phases.map(\.rawValue).joined(separator: ", ")) | \(ReportFormat.span(visit.duration))\(visit.left == nil ? " (at end)" : "") |\n")
        }
        o.write("\n")

        o.write("## Metrics\n\nTimes in UTC; `T` is the disruption's start (\(ReportFormat.time(t0))).\n\n")
        o.write("| Metric | Value | Anchors | Definition |\n|---|---|---|---|\n")
        for metric in m.metrics {
            o.write("| \(metric.name) | \(metric.valueText) | \(metric.anchorsText) | "); o.markdownCell(metric.definition); o.write(" |\n")
        }
        o.write("\n")
        if !m.services.isEmpty {
            o.write("### Continuity objectives per service\n\nClocks count from the disruption's start; recovery is the run's `recovered` mark.\n\n")
            o.write("| Service | RTO | Recovered after | RTO | Margin | MTPD | MTPD margin | RPO | Data loss | RPO |\n|---|---|---|---|---|---|---|---|---|---|\n")
            for s in m.services {
                o.write("| "); o.markdownCell(s.title.map { "\($0) (\(s.service))" } ?? s.service)
                o.write(" | \(s.rto?.description ?? "—") | \(s.recoveryTime.map(ReportFormat.span) ?? "not recovered") | \(s.rtoStatus.label) | \(s.rtoMargin.map(ReportFormat.margin) ?? "—")")
                o.write(" | \(s.mtpd?.description ?? "—") | \(s.mtpdMargin.map(ReportFormat.margin) ?? "—") | \(s.rpo?.description ?? "—") | \(s.dataLoss?.description ?? "—") | \(s.rpoStatus.label) |\n")
            }
            o.write("\n")
        }
        if !m.firingsByTimer.isEmpty {
            o.write("### Timers fired\n\n| Timer | Firings |\n|---|---|\n")
            for f in m.firingsByTimer { o.write("| "); o.markdownCell(f.id); o.write(" | \(f.count) |\n") }
            o.write("\n")
        }
        if !m.notifications.isEmpty {
            o.write("### Notifications\n\n| Id | Channel | Trigger | Queued | Status | Late |\n|---|---|---|---|---|---|\n")
            for n in m.notifications {
                o.write("| \(n.id) | "); o.markdownCell(n.channel); o.write(" | "); o.markdownCell(n.trigger)
                o.write(" | \(ReportFormat.offset(n.queuedAt, from: t0)) | \(n.status.rawValue) | \(n.late ? "late" : "") |\n")
            }
            o.write("\n")
        }

        ReportHearingBack.markdown(r, into: &o)

        o.write("## Decision log\n\n")
        if r.decisions.isEmpty {
            o.write("No decision was recorded.\n\n")
        } else {
            o.write("| When | Decision | Question | Option | By | Rationale |\n|---|---|---|---|---|---|\n")
            for d in r.decisions {
                o.write("| \(ReportFormat.offset(d.at, from: t0)) | "); o.markdownCell(d.decision); o.write(" | "); o.markdownCell(d.question)
                o.write(" | "); o.markdownCell(d.option + (d.byDefault ? " (default taken)" : "")); o.write(" | ")
                o.markdownCell(d.byDefault ? "deadline passed" : d.by + (d.role.map { " (\($0))" } ?? ""))
                o.write(" | "); o.markdownCell(d.rationale); o.write(" |\n")
            }
            o.write("\n")
        }

        if !r.catalogueServices.isEmpty {
            o.write("## Catalogue services affected\n\nFrom "); o.markdownCell(r.catalogueSource ?? "the service catalogue")
            o.write(": the run's services and, through their dependencies, the services that rely on them. MTPD counted from the disruption's start to the recovery (else the close).\n\n")
            o.write("| Service | MTPD | At recovery | Reached | Playbooks |\n|---|---|---|---|---|\n")
            for s in r.catalogueServices {
                o.write("| "); o.markdownCell(s.name == s.service ? s.service : "\(s.name) (\(s.service))"); o.write(" | ")
                o.markdownCell(s.mtpd.map { $0.description + (s.mtpdDerived ? " (derived)" : "") } ?? "none"); o.write(" | ")
                o.markdownCell(r.catalogueClock(s) ?? ""); o.write(" | "); o.markdownCell(r.catalogueReach(s)); o.write(" | ")
                o.markdownCell(s.coveredBy.isEmpty ? "none" : s.coveredBy.joined(separator: ", ")); o.write(" |\n")
            }
            o.write("\n")
        }

        o.write("## Lessons\n\n")
        if r.lessons.isEmpty {
            o.write("No lesson was recorded.\n\n")
        } else {
            o.write("| Id | Kind | Lesson | Root cause | By | When | Actions |\n|---|---|---|---|---|---|---|\n")
            for l in r.lessons {
                o.write("| \(r.run.id)/\(l.seq) | \(l.kind.rawValue) | "); o.markdownCell(l.text); o.write(" | "); o.markdownCell(l.rootCause ?? "")
                o.write(" | "); o.markdownCell(l.by); o.write(" | \(ReportFormat.offset(l.at, from: t0)) | ")
                o.markdownCell(r.lessonActionText(l)); o.write(" |\n")
            }
            o.write("\n")
        }

        o.write("## Timeline\n\n| Seq | Time (UTC) | T | Actor | Event | Detail |\n|---|---|---|---|---|---|\n")
        for item in r.events {
            let e = item.event
            let (kind, text) = r.describe(e)
            o.write("| \(item.seq) | \(ReportFormat.time(e.at)) | \(ReportFormat.offset(e.at, from: t0)) | ")
            o.markdownCell(e.actor + (e.role.map { " (\($0))" } ?? ""))
            o.write(" | \(kind) | "); o.markdownCell(text); o.write(" |\n")
        }
        o.write("\n")

        o.write("## Integrity\n\n")
        o.write("- **Verification at report time:** \(r.integrity.intact ? "chain intact" : "FAILED: " + (r.integrity.problem ?? "chain broken"))\n")
        o.write("- **Events verified:** \(r.integrity.eventCount)\n")
        o.write("- **Head hash:** `\(r.integrity.headHash)`\n")
        o.write("- **Playbook SHA-256:** `\(r.run.playbookSHA256)`\n")
        o.write("- **Checked at:** \(ReportFormat.time(r.integrity.checkedAt))\n")
        for w in r.integrity.warnings { o.write("- **Warning:** "); o.markdownCell(w); o.write("\n") }
        o.write("\nKeep the head hash somewhere else: a chain cannot show that its last events were removed (see docs/journal.md).\n")
        return o.bytes
    }
}
