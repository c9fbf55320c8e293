import MusterCore

/// The report as one self-contained HTML file: inline CSS and SVG, no script, no network, printable to PDF.
public enum ReportHTML {
    public static func render(_ r: RunReport) -> String { String(decoding: bytes(r), as: UTF8.self) }

    /// The UTF-8 bytes, without the copy into a `String` (large reports go straight to a file).
    public static func bytes(_ r: RunReport) -> [UInt8] {
        var o = TextBuffer(capacity: 64 * 1024 + r.events.count * 300)
        let m = r.metrics
        let t0 = m.disruptionStart
        o.write("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>")
        o.html("\(r.kindTitle): \(r.run.title) (\(r.run.id))")
        o.write("</title>\n<style>\n")
        o.write(css)
        o.write("</style>\n</head>\n<body>\n<main>\n")

        if !r.integrity.intact {
            o.write("<div class=\"alert\" role=\"alert\" id=\"tampered\"><strong>This run's timeline failed verification.</strong> ")
            o.html(r.integrity.problem ?? "The hash chain is broken.")
            o.write(". Treat everything in this report as unverified.</div>\n")
        }

        // Header
        o.write("<header class=\"cover\">\n<p class=\"kicker\">")
        o.html("\(r.kindTitle) · \(r.run.mode == .exercise ? "Exercise" : "Live incident") · \(r.severity.rawValue)")
        o.write("</p>\n<h1>")
        o.html(r.run.title)
        o.write("</h1>\n<p class=\"outcome\">")
        o.html(r.outcome)
        o.write("</p>\n<dl class=\"facts\">\n")
        func fact(_ k: String, _ v: String, code: Bool = false) {
            o.write("<div><dt>"); o.html(k); o.write("</dt><dd>")
            if code { o.write("<code>") }
            o.html(v)
            if code { o.write("</code>") }
            o.write("</dd></div>\n")
        }
        fact("Run", r.run.id, code: true)
        fact("Playbook", "\(r.run.playbookID) v\(r.run.playbookVersion) · \(r.playbook.title)")
        fact("Playbook SHA-256", r.run.playbookSHA256, code: true)
        fact("Mode", r.run.mode.rawValue)
        fact("Severity", r.severity.rawValue)
        fact("Disruption began", ReportFormat.time(m.disruptionStart))
        fact("Run started", ReportFormat.time(m.runStart))
        fact("Run closed", m.runClosed.map(ReportFormat.time) ?? "open (last event \(ReportFormat.time(m.observedUntil)))")
        fact("Integrity", r.integrity.intact ? "chain intact, \(r.integrity.eventCount) events" : "FAILED")
        fact("Report generated", ReportFormat.time(r.generatedAt))
        o.write("</dl>\n</header>\n")

        // Summary
        o.write("<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"cards\">\n")
        for id in r.keyMetricIDs {
            guard let metric = m.metric(id) else { continue }
            o.write("<div class=\"card\"><div class=\"value\">"); o.html(metric.valueText); o.write("</div><div class=\"label\">"); o.html(metric.name); o.write("</div></div>\n")
        }
        o.write("<div class=\"card\"><div class=\"value\">\(m.decisionsMade)</div><div class=\"label\">Decisions (\(m.decisionsByDefault) by default)</div></div>\n")
        o.write("<div class=\"card\"><div class=\"value\">\(m.escalations)</div><div class=\"label\">Escalations (\(m.timersFired) timers fired)</div></div>\n")
        o.write("</div>\n")
        if let e = r.exercise, !e.objectives.isEmpty {
            o.write("<h3>Exercise objectives</h3>\n<ul class=\"objectives\">\n")
            for obj in e.objectives {
                let cls = switch obj.rating { case .performed?: "met"; case .some?: "open"; case .major?, .unable?: "missed"; case nil: "not-recorded" }
                o.write("<li><span class=\"badge \(cls)\">"); o.html(obj.rating?.rawValue ?? "—"); o.write("</span> ")
                o.html("\(obj.id): \(obj.text) (\(ReportExercise.ratingText(obj))\(obj.overrule != nil ? ", overruled by the evaluator" : ""))")
                o.write("</li>\n")
            }
            o.write("</ul>\n")
        }
        let objectives = r.objectives
        if !objectives.isEmpty {
            o.write("<h3>Continuity objectives</h3>\n<ul class=\"objectives\">\n")
            for objective in objectives {
                o.write("<li><span class=\"badge \(objective.status.rawValue)\">"); o.html(objective.status.label); o.write("</span> ")
                o.html(objective.text.replacingOccurrencesOfBackticks())
                o.write("</li>\n")
            }
            o.write("</ul>\n")
        }
        o.write("</section>\n")

        // Picture
        o.write("<section id=\"timeline-picture\">\n<h2>Timeline</h2>\n<figure>\n")
        TimelineSVG.render(r, into: &o)
        o.write("\n<figcaption>Phase bands show the time spent in states carrying each phase; dashed lines are each service's RTO and MTPD counted from the disruption's start; coloured lines are the run's marks. Marks close together are drawn once with a count.</figcaption>\n</figure>\n</section>\n")

        if let e = r.exercise { ReportExercise.html(r, e, into: &o) }

        // Roles
        o.write("<section id=\"roles\">\n<h2>Roles</h2>\n<table>\n<thead><tr><th>Role</th><th>Person</th><th>From</th><th>Until</th><th>Assigned by</th><th>Handover</th></tr></thead>\n<tbody>\n")
        for t in r.roles {
            o.write("<tr><td>"); o.html(t.roleTitle); o.write("</td><td>"); o.html(t.person); o.write("</td><td>")
            o.html(ReportFormat.offset(t.from, from: t0)); o.write("</td><td>"); o.html(t.until.map { ReportFormat.offset($0, from: t0) } ?? "end")
            o.write("</td><td>"); o.html(t.assignedBy); o.write("</td><td>"); o.html(t.handover ?? ""); o.write("</td></tr>\n")
        }
        o.write("</tbody>\n</table>\n</section>\n")

        // Catalogue services (when a service catalogue was found)
        if !r.catalogueServices.isEmpty {
            o.write("<section id=\"catalogue-services\">\n<h2>Catalogue services affected</h2>\n<p class=\"note\">From ")
            o.html(r.catalogueSource ?? "the service catalogue")
            o.write(": the run's services and, through their dependencies, the services that rely on them. MTPD counted from the disruption's start to the recovery (else the close).</p>\n")
            o.write("<table>\n<thead><tr><th>Service</th><th>MTPD</th><th>At recovery</th><th>Reached</th><th>Playbooks</th></tr></thead>\n<tbody>\n")
            for s in r.catalogueServices {
                o.write("<tr><td>"); o.html(s.name == s.service ? s.service : "\(s.name) (\(s.service))"); o.write("</td><td>")
                o.html(s.mtpd.map { $0.description + (s.mtpdDerived ? " (derived)" : "") } ?? "none"); o.write("</td><td>")
                o.html(r.catalogueClock(s) ?? ""); o.write("</td><td>"); o.html(r.catalogueReach(s)); o.write("</td><td>")
                o.html(s.coveredBy.isEmpty ? "none" : s.coveredBy.joined(separator: ", ")); o.write("</td></tr>\n")
            }
            o.write("</tbody>\n</table>\n</section>\n")
        }

        // Metrics
        o.write("<section id=\"metrics\">\n<h2>Metrics</h2>\n<p class=\"note\">Computed from the timeline alone. Times in UTC; T is the disruption's start (")
        o.html(ReportFormat.time(t0))
        o.write(").</p>\n<table>\n<thead><tr><th>Metric</th><th class=\"num\">Value</th><th>Anchors</th><th>Definition</th></tr></thead>\n<tbody>\n")
        for metric in m.metrics {
            o.write("<tr><td>"); o.html(metric.name); o.write("</td><td class=\"num\">"); o.html(metric.valueText)
            o.write("</td><td class=\"anchors\">"); o.html(metric.anchorsText); o.write("</td><td>"); o.html(metric.definition.replacingOccurrencesOfBackticks()); o.write("</td></tr>\n")
        }
        o.write("</tbody>\n</table>\n")
        if !m.services.isEmpty {
            o.write("<h3>Continuity objectives per service</h3>\n<table>\n<thead><tr><th>Service</th><th class=\"num\">RTO</th><th class=\"num\">Recovered after</th><th>RTO</th><th class=\"num\">Margin</th><th class=\"num\">MTPD</th><th class=\"num\">MTPD margin</th><th class=\"num\">RPO</th><th class=\"num\">Data loss</th><th>RPO</th></tr></thead>\n<tbody>\n")
            for s in m.services {
                o.write("<tr><td>"); o.html(s.title ?? s.service); o.write(" <code>"); o.html(s.service); o.write("</code></td>")
                o.write("<td class=\"num\">\(s.rto?.description ?? "—")</td><td class=\"num\">\(s.recoveryTime.map(ReportFormat.span) ?? "not recovered")</td>")
                o.write("<td><span class=\"badge \(s.rtoStatus.rawValue)\">\(s.rtoStatus.label)</span></td><td class=\"num\">\(s.rtoMargin.map(ReportFormat.margin) ?? "—")</td>")
                o.write("<td class=\"num\">\(s.mtpd?.description ?? "—")</td><td class=\"num\">\(s.mtpdMargin.map(ReportFormat.margin) ?? "—")</td>")
                o.write("<td class=\"num\">\(s.rpo?.description ?? "—")</td><td class=\"num\">\(s.dataLoss?.description ?? "—")</td>")
                o.write("<td><span class=\"badge \(s.rpoStatus.rawValue)\">\(s.rpoStatus.label)</span></td></tr>\n")
            }
            o.write("</tbody>\n</table>\n")
        }
        o.write("<div class=\"two\">\n")
        o.write("<div>\n<h3>Time in each phase</h3>\n<table>\n<thead><tr><th>Phase</th><th class=\"num\">Time</th></tr></thead>\n<tbody>\n")
        for p in m.phaseTimes { o.write("<tr><td>\(p.phase.rawValue)</td><td class=\"num\">\(ReportFormat.span(p.time))</td></tr>\n") }
        o.write("</tbody>\n</table>\n</div>\n<div>\n<h3>Timers fired</h3>\n")
        if m.firingsByTimer.isEmpty {
            o.write("<p class=\"note\">No timer fired.</p>\n")
        } else {
            o.write("<table>\n<thead><tr><th>Timer</th><th class=\"num\">Firings</th></tr></thead>\n<tbody>\n")
            for f in m.firingsByTimer { o.write("<tr><td><code>"); o.html(f.id); o.write("</code></td><td class=\"num\">\(f.count)</td></tr>\n") }
            o.write("</tbody>\n</table>\n")
        }
        o.write("</div>\n</div>\n")
        if !m.notifications.isEmpty {
            o.write("<h3>Notifications</h3>\n<table>\n<thead><tr><th>Id</th><th>Channel</th><th>Trigger</th><th>Queued</th><th>Status</th><th>Message</th></tr></thead>\n<tbody>\n")
            for n in m.notifications.prefix(500) {
                o.write("<tr><td>\(n.id)</td><td>"); o.html(n.channel); o.write("</td><td><code>"); o.html(n.trigger); o.write("</code></td><td>")
                o.html(ReportFormat.offset(n.queuedAt, from: t0))
                o.write("</td><td><span class=\"badge \(n.status == .delivered ? "met" : n.status == .pending ? "open" : "missed")\">\(n.status.rawValue)</span>\(n.late ? " <span class=\"badge missed\">late</span>" : "")</td><td>")
                o.html(n.message); o.write("</td></tr>\n")
            }
            if m.notifications.count > 500 {
                o.write("<tr><td colspan=\"6\" class=\"note\">\(m.notifications.count - 500) more notifications are in the full timeline below.</td></tr>\n")
            }
            o.write("</tbody>\n</table>\n")
        }
        o.write("</section>\n")

        ReportHearingBack.html(r, into: &o)

        // Decisions
        o.write("<section id=\"decisions\">\n<h2>Decision log</h2>\n")
        if r.decisions.isEmpty {
            o.write("<p class=\"note\">No decision was recorded.</p>\n")
        } else {
            o.write("<table>\n<thead><tr><th>When</th><th>Question</th><th>Option</th><th>By</th><th>Rationale</th></tr></thead>\n<tbody>\n")
            for d in r.decisions {
                o.write(d.byDefault ? "<tr class=\"default\">" : "<tr>")
                o.write("<td>"); o.html(ReportFormat.offset(d.at, from: t0)); o.write("<br><small>"); o.html(ReportFormat.time(d.at)); o.write("</small></td><td>")
                o.html(d.question); o.write(" <code>"); o.html(d.decision); o.write("</code></td><td><strong>"); o.html(d.option); o.write("</strong>")
                if d.byDefault { o.write(" <span class=\"badge missed\">default taken</span>") }
                if let to = d.leadsTo { o.write("<br><small>→ "); o.html(r.stateTitle(to)); o.write("</small>") }
                o.write("</td><td>"); o.html(d.byDefault ? "deadline passed" : d.by + (d.role.map { " (\($0))" } ?? ""))
                o.write("</td><td>"); o.html(d.rationale); o.write("</td></tr>\n")
            }
            o.write("</tbody>\n</table>\n")
        }
        o.write("</section>\n")

        // Lessons
        o.write("<section id=\"lessons\">\n<h2>Lessons</h2>\n")
        if r.lessons.isEmpty {
            o.write("<p class=\"note\">No lesson was recorded.</p>\n")
        } else {
            o.write("<table>\n<thead><tr><th>Id</th><th>Kind</th><th>Lesson</th><th>Root cause</th><th>By</th><th>When</th><th>Actions</th></tr></thead>\n<tbody>\n")
            for l in r.lessons {
                o.write("<tr><td><code>"); o.html("\(r.run.id)/\(l.seq)"); o.write("</code></td><td><span class=\"badge \(l.kind == .strength ? "met" : "open")\">\(l.kind.rawValue)</span></td><td>")
                o.html(l.text); o.write("</td><td>"); o.html(l.rootCause ?? ""); o.write("</td><td>"); o.html(l.by); o.write("</td><td>")
                o.html(ReportFormat.offset(l.at, from: t0)); o.write("</td><td>"); o.html(r.lessonActionText(l)); o.write("</td></tr>\n")
            }
            o.write("</tbody>\n</table>\n")
        }
        o.write("</section>\n")

        // Full timeline
        o.write("<section id=\"timeline\">\n<h2>Full timeline</h2>\n<table class=\"events\">\n<thead><tr><th class=\"num\">Seq</th><th>Time (UTC)</th><th>T</th><th>Actor</th><th>Event</th><th>Detail</th></tr></thead>\n<tbody>\n")
        for item in r.events {
            let e = item.event
            let (kind, text) = r.describe(e)
            o.write("<tr><td class=\"num\">\(item.seq)</td><td>")
            o.write(ReportFormat.time(e.at))
            o.write("</td><td>")
            o.write(ReportFormat.offset(e.at, from: t0))
            o.write("</td><td>"); o.html(e.actor)
            if let role = e.role { o.write(" <small>"); o.html(role); o.write("</small>") }
            o.write("</td><td>\(kind)</td><td>"); o.html(text); o.write("</td></tr>\n")
        }
        o.write("</tbody>\n</table>\n</section>\n")

        // Integrity
        o.write("<section id=\"integrity\">\n<h2>Integrity</h2>\n<dl class=\"facts\">\n")
        fact("Verification at report time", r.integrity.intact ? "chain intact" : "FAILED: " + (r.integrity.problem ?? "chain broken"))
        fact("Events verified", String(r.integrity.eventCount))
        fact("Head hash", r.integrity.headHash, code: true)
        fact("Playbook SHA-256", r.run.playbookSHA256, code: true)
        fact("Checked at", ReportFormat.time(r.integrity.checkedAt))
        for w in r.integrity.warnings { fact("Warning", w) }
        o.write("</dl>\n<p class=\"note\">Each event's hash covers its content and the previous event's hash (docs/journal.md). Keep the head hash elsewhere: a chain cannot show that its last events were removed.</p>\n</section>\n")
        o.write("<footer>Generated by Muster from run <code>")
        o.html(r.run.id)
        o.write("</code> at ")
        o.html(ReportFormat.time(r.generatedAt))
        o.write(".</footer>\n</main>\n</body>\n</html>\n")
        return o.bytes
    }

    public static let css = """
        :root { --ink: #1f2933; --muted: #52606d; --line: #d9e2ec; --bg: #f5f7fa; --accent: #243b53; }
        * { box-sizing: border-box; }
        body { margin: 0; background: #e9edf2; color: var(--ink); font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
        main { max-width: 1100px; margin: 24px auto; background: #fff; padding: 32px 40px; box-shadow: 0 1px 4px rgba(0,0,0,.12); }
        h1 { font-size: 26px; margin: 4px 0 6px; color: var(--accent); }
        h2 { font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--accent); color: var(--accent); }
        h3 { font-size: 15px; margin: 18px 0 8px; }
        .kicker { text-transform: uppercase; letter-spacing: .08em; font-size: 12px; color: var(--muted); margin: 0; }
        .outcome { font-size: 15px; margin: 0 0 14px; }
        .alert { background: #a82a2a; color: #fff; padding: 12px 16px; margin: 0 0 18px; font-size: 15px; border-radius: 3px; }
        dl.facts { display: grid; grid-template-columns: repeat(2, 1fr); gap: 4px 24px; margin: 0; }
        dl.facts div { display: flex; gap: 8px; border-bottom: 1px solid var(--line); padding: 3px 0; min-width: 0; }
        dt { color: var(--muted); min-width: 130px; }
        dd { margin: 0; overflow-wrap: anywhere; }
        code { font: 12px/1.3 ui-monospace, Menlo, Consolas, monospace; }
        .cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 10px; }
        .card { background: var(--bg); border-left: 4px solid var(--accent); padding: 8px 12px; }
        .card .value { font-size: 20px; font-weight: 600; }
        .card .label { color: var(--muted); font-size: 12px; }
        ul.objectives { list-style: none; padding: 0; margin: 0; }
        ul.objectives li { padding: 3px 0; }
        .badge { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 11.5px; font-weight: 600; white-space: nowrap; }
        .badge.met { background: #d3f2dc; color: #0e5a24; }
        .badge.missed { background: #fbd9d9; color: #8a1c1c; }
        .badge.open { background: #fdefc8; color: #6b4d00; }
        .badge.not-set, .badge.not-recorded { background: #e4e7eb; color: #3e4c59; }
        table { border-collapse: collapse; width: 100%; margin: 0 0 8px; font-size: 13px; }
        th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid var(--line); }
        th { background: var(--bg); font-weight: 600; }
        td.num, th.num { text-align: right; white-space: nowrap; }
        td.anchors { color: var(--muted); white-space: nowrap; font-size: 12px; }
        tr.default td { background: #fff6e5; }
        table.events td { font-size: 12px; padding: 2px 8px; }
        .two { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; }
        .note { color: var(--muted); font-size: 12.5px; }
        figure { margin: 0; }
        svg.timeline { max-width: 100%; height: auto; display: block; }
        figcaption { color: var(--muted); font-size: 12px; margin-top: 4px; }
        footer { margin-top: 30px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 8px; }
        @media (max-width: 640px) {
          main { margin: 0; padding: 16px 12px; }
          dl.facts { grid-template-columns: minmax(0, 1fr); }
          dl.facts div { flex-direction: column; gap: 0; }
          dt { min-width: 0; }
          .cards { grid-template-columns: repeat(2, minmax(0, 1fr)); }
          .two { grid-template-columns: minmax(0, 1fr); }
          table { font-size: 12px; }
          th, td { padding: 3px 4px; overflow-wrap: anywhere; }
          td.num, th.num, td.anchors, .badge { white-space: normal; }
        }
        @page { size: A4; margin: 14mm; }
        @page wide { size: A4 landscape; margin: 12mm; }
        main.wide { page: wide; }
        @media print {
          body { background: #fff; font-size: 11px; }
          main { box-shadow: none; margin: 0; padding: 0; max-width: none; }
          h2, h3 { break-after: avoid; page-break-after: avoid; }
          h2 + *, h3 + * { break-before: avoid; }
          tr, figure, .card { break-inside: avoid; }
          thead { display: table-header-group; }
          .alert { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
          .badge, .card, th, svg { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
        }

        """
}

extension String {
    /// Drops Markdown backticks from text shared with the Markdown renderer.
    func replacingOccurrencesOfBackticks() -> String {
        guard contains("`") else { return self }
        return String(filter { $0 != "`" })
    }
}
