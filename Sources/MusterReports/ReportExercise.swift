import MusterCore

extension ExerciseEvaluation.Outcome {
    /// `on time`, `late by 5m`, `unmet`, `pending`, `not delivered`.
    public var text: String {
        switch self {
        case .onTime: "on time"
        case .late(let by): "late by \(by)"
        case .unmet: "unmet"
        case .pending: "pending"
        case .notDelivered: "not delivered"
        }
    }

    var attainment: Attainment {
        switch self {
        case .onTime: .met
        case .late: .open
        case .unmet: .missed
        case .pending, .notDelivered: .notRecorded
        }
    }
}

/// The exercise sections: per inject, expectations met and latency; per objective, the rating with the
/// evaluator's notes; contingency injects used.
enum ReportExercise {
    static func ratingText(_ o: ExerciseEvaluation.ObjectiveResult) -> String {
        guard let rating = o.rating else {
            return o.partiallyExercised ? "partially exercised (\(o.coverageText)): not rated" : "not rated"
        }
        return "\(rating.rawValue): \(rating.meaning)" + (o.partiallyExercised ? " (partially exercised: \(o.coverageText))" : "")
    }

    static func markdown(_ r: RunReport, _ e: ExerciseEvaluation, into o: inout TextBuffer) {
        o.write("## Exercise evaluation\n\n")
        if let s = r.exerciseStarted {
            o.write("Exercise `\(s.exercise)`: "); o.markdownCell("\(s.title) (\(s.type))"); o.write("; ")
        }
        o.write("scenario \(ReportFormat.time(e.origin)) to \(ReportFormat.time(e.end))\(e.ended ? "" : " (still running)").\n\n")
        o.write("### Objectives\n\n| Objective | Capability | On time | Late | Unmet | Score | Rating | Evaluator's note |\n|---|---|---|---|---|---|---|---|\n")
        for obj in e.objectives {
            o.write("| "); o.markdownCell("\(obj.id): \(obj.text)"); o.write(" | "); o.markdownCell(obj.capability ?? "")
            o.write(" | \(obj.onTime) | \(obj.late) | \(obj.unmet) | \(obj.scorePercent.map { "\($0)%" } ?? "—") | ")
            o.markdownCell(ratingText(obj) + (obj.overrule != nil ? " (overruled; computed \(obj.computed?.rawValue ?? "—"))" : ""))
            o.write(" | "); o.markdownCell(obj.overrule.map { "\($0.note) (\($0.by))" } ?? ""); o.write(" |\n")
        }
        o.write("\n### Injects\n\n| Inject | Planned | Delivered | Expectation | Outcome | Latency |\n|---|---|---|---|---|---|\n")
        for inject in e.injects {
            let delivered = inject.delivered.map { ReportFormat.offset($0, from: e.origin) } ?? (inject.withheld.map { "withheld: \($0)" } ?? "not delivered")
            let name = inject.id + (inject.contingency ? " (contingency)" : "")
            if inject.expectations.isEmpty {
                o.write("| "); o.markdownCell(name); o.write(" | T+\(inject.at) | "); o.markdownCell(delivered); o.write(" | — | | |\n")
            }
            for (i, x) in inject.expectations.enumerated() {
                o.write("| "); o.markdownCell(i == 0 ? name : ""); o.write(" | \(i == 0 ? "T+\(inject.at)" : "") | ")
                o.markdownCell(i == 0 ? delivered : ""); o.write(" | "); o.markdownCell(x.text + (x.within.map { " (within \($0))" } ?? "") + (x.detail.map { "; \($0)" } ?? ""))
                o.write(" | \(x.outcome.text) | \(x.latency.map(ReportFormat.span) ?? "—") |\n")
            }
        }
        o.write("\n**Contingency injects used:** \(e.contingencyUsed.isEmpty ? "none" : e.contingencyUsed.joined(separator: ", "))")
        if !e.contingencyWithheld.isEmpty { o.write("; withheld: \(e.contingencyWithheld.joined(separator: ", "))") }
        o.write("\n")
        if !e.adHoc.isEmpty { o.write("\n**Ad-hoc injects:** \(e.adHoc.count)\n") }
        o.write("\n")
    }

    static func html(_ r: RunReport, _ e: ExerciseEvaluation, into o: inout TextBuffer) {
        o.write("<section id=\"exercise\">\n<h2>Exercise evaluation</h2>\n<p class=\"note\">")
        if let s = r.exerciseStarted { o.html("Exercise \(s.exercise): \(s.title) (\(s.type)); ") }
        o.html("scenario \(ReportFormat.time(e.origin)) to \(ReportFormat.time(e.end))\(e.ended ? "" : " (still running)"). Ratings: P performed without challenges, S with some challenges, M with major challenges, U unable to be performed.")
        o.write("</p>\n<h3>Objectives</h3>\n<table>\n<thead><tr><th>Objective</th><th>Capability</th><th class=\"num\">On time</th><th class=\"num\">Late</th><th class=\"num\">Unmet</th><th class=\"num\">Score</th><th>Rating</th><th>Evaluator's note</th></tr></thead>\n<tbody>\n")
        for obj in e.objectives {
            o.write("<tr><td><strong>"); o.html(obj.id); o.write("</strong> "); o.html(obj.text); o.write("</td><td>"); o.html(obj.capability ?? "")
            o.write("</td><td class=\"num\">\(obj.onTime)</td><td class=\"num\">\(obj.late)</td><td class=\"num\">\(obj.unmet)</td><td class=\"num\">\(obj.scorePercent.map { "\($0)%" } ?? "—")</td><td>")
            let cls = switch obj.rating { case .performed?: "met"; case .some?: "open"; case .major?, .unable?: "missed"; case nil: "not-recorded" }
            o.write("<span class=\"badge \(cls)\">"); o.html(ratingText(obj)); o.write("</span>")
            if obj.overrule != nil { o.write("<br><small>overruled; computed "); o.html(obj.computed?.rawValue ?? "—"); o.write("</small>") }
            o.write("</td><td>"); o.html(obj.overrule.map { "\($0.note) (\($0.by))" } ?? ""); o.write("</td></tr>\n")
        }
        o.write("</tbody>\n</table>\n<h3>Injects</h3>\n<table>\n<thead><tr><th>Inject</th><th>Planned</th><th>Delivered</th><th>Expectation</th><th>Outcome</th><th class=\"num\">Latency</th></tr></thead>\n<tbody>\n")
        for inject in e.injects {
            let delivered = inject.delivered.map { ReportFormat.offset($0, from: e.origin) } ?? (inject.withheld.map { "withheld: \($0)" } ?? "not delivered")
            let rows = max(1, inject.expectations.count)
            o.write("<tr><td rowspan=\"\(rows)\"><code>"); o.html(inject.id); o.write("</code>")
            if inject.contingency { o.write(" <span class=\"badge not-set\">contingency</span>") }
            o.write("</td><td rowspan=\"\(rows)\">T+\(inject.at)</td><td rowspan=\"\(rows)\">"); o.html(delivered); o.write("</td>")
            if inject.expectations.isEmpty { o.write("<td>—</td><td></td><td></td></tr>\n") }
            for (i, x) in inject.expectations.enumerated() {
                if i > 0 { o.write("<tr>") }
                o.write("<td>"); o.html(x.text + (x.within.map { " (within \($0))" } ?? "") + (x.detail.map { "; \($0)" } ?? "")); o.write("</td><td><span class=\"badge \(x.outcome.attainment.rawValue)\">")
                o.html(x.outcome.text); o.write("</span></td><td class=\"num\">\(x.latency.map(ReportFormat.span) ?? "—")</td></tr>\n")
            }
        }
        o.write("</tbody>\n</table>\n<p>")
        o.html("Contingency injects used: \(e.contingencyUsed.isEmpty ? "none" : e.contingencyUsed.joined(separator: ", "))")
        if !e.contingencyWithheld.isEmpty { o.html("; withheld: \(e.contingencyWithheld.joined(separator: ", "))") }
        if !e.adHoc.isEmpty { o.html(". Ad-hoc injects: \(e.adHoc.count)") }
        o.write(".</p>\n</section>\n")
    }

    static func json(_ e: ExerciseEvaluation, _ r: RunReport, into w: inout ReportJSON.Writer) {
        w.open("{")
        w.key("id"); w.string(e.exerciseID)
        w.key("title"); w.string(e.title)
        w.key("type"); w.string(r.exerciseStarted?.type)
        w.key("origin"); w.time(e.origin)
        w.key("end"); w.time(e.end)
        w.key("ended"); w.bool(e.ended)
        w.key("objectives"); w.open("[")
        for obj in e.objectives {
            w.item(); w.open("{")
            w.key("id"); w.string(obj.id)
            w.key("text"); w.string(obj.text)
            w.key("capability"); w.string(obj.capability)
            w.key("onTime"); w.int(obj.onTime)
            w.key("late"); w.int(obj.late)
            w.key("unmet"); w.int(obj.unmet)
            w.key("pending"); w.int(obj.pending)
            w.key("planned"); w.int(obj.planned)
            w.key("inPlay"); w.int(obj.inPlay)
            w.key("partiallyExercised"); w.bool(obj.partiallyExercised)
            w.key("scorePercent"); w.int64(obj.scorePercent.map(Int64.init))
            w.key("computed"); w.string(obj.computed?.rawValue)
            w.key("rating"); w.string(obj.rating?.rawValue)
            w.key("overruleNote"); w.string(obj.overrule?.note)
            w.key("overruledBy"); w.string(obj.overrule?.by)
            w.close("}")
        }
        w.close("]")
        w.key("injects"); w.open("[")
        for inject in e.injects {
            w.item(); w.open("{")
            w.key("id"); w.string(inject.id)
            w.key("plannedMs"); w.int64(inject.at.milliseconds)
            w.key("contingency"); w.bool(inject.contingency)
            w.key("delivered"); w.time(inject.delivered)
            w.key("withheld"); w.string(inject.withheld)
            w.key("expectations"); w.open("[")
            for x in inject.expectations {
                w.item(); w.open("{")
                w.key("text"); w.string(x.text)
                w.key("objective"); w.string(x.objective)
                w.key("withinMs"); w.int64(x.within?.milliseconds)
                w.key("metAt"); w.time(x.metAt)
                w.key("latencyMs"); w.int64(x.latency?.milliseconds)
                w.key("outcome"); w.string(x.outcome.text)
                // Roll-call expectations only: the share reached ("30 of 32 accounted for (93%)").
                if let detail = x.detail { w.key("reached"); w.string(detail) }
                w.close("}")
            }
            w.close("]")
            w.close("}")
        }
        w.close("]")
        w.key("contingencyUsed"); w.open("["); for id in e.contingencyUsed { w.item(); w.string(id) }; w.close("]")
        w.key("contingencyWithheld"); w.open("["); for id in e.contingencyWithheld { w.item(); w.string(id) }; w.close("]")
        w.key("adHocInjects"); w.int(e.adHoc.count)
        w.close("}")
    }
}

extension RunReport {
    /// The actions answering a lesson, or what is missing.
    func lessonActionText(_ l: LessonRecord) -> String {
        let actions = lessonActions["\(run.id)/\(l.seq)"] ?? []
        if !actions.isEmpty { return actions.joined(separator: "; ") }
        return l.kind == .improvement ? "none yet" : ""
    }
}
