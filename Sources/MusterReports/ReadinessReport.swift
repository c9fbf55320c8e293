import MusterCore

/// The readiness scorecard as Markdown, one self-contained HTML page (with the matrix picture, inline SVG) or
/// JSON (`muster-readiness/1`).
public enum ReadinessReport {
    static func tierText(_ t: Int?) -> String { t.map { "tier \($0)" } ?? "" }

    static func objectives(_ s: ServiceReadiness) -> String {
        var parts: [String] = []
        if let m = s.mtpd { parts.append("MTPD \(m)" + (s.mtpdDerived ? " (from impact)" : "")) }
        if let r = s.rto { parts.append("RTO \(r)") }
        if let r = s.rpo { parts.append("RPO \(r)") }
        return parts.joined(separator: ", ")
    }

    public static func summary(_ card: ReadinessScorecard) -> String {
        "\(card.services.count) services: \(card.count(.failing)) failing, \(card.count(.attention)) need attention, \(card.count(.good)) good."
    }

    public static func markdown(_ card: ReadinessScorecard) -> String {
        var o = TextBuffer()
        o.write("# ICT readiness scorecard\n\n")
        if let org = card.organisation { o.write("\(org). ") }
        o.write("As of \(Day(card.now)). \(summary(card)) Worst first.\n\n")
        o.write("| Service | Tier | Objectives | Overall |")
        for c in ReadinessCriterion.allCases { o.write(" \(c.title) |") }
        o.write("\n|---|---|---|---|" + String(repeating: "---|", count: ReadinessCriterion.allCases.count) + "\n")
        for s in card.services {
            o.write("| "); o.markdownCell("\(s.name) (\(s.service))")
            o.write(" | "); o.markdownCell(tierText(s.tier))
            o.write(" | "); o.markdownCell(objectives(s))
            o.write(" | \(s.overall.glyph) \(s.overall.rawValue) |")
            for cell in s.cells {
                o.write(" \(cell.level.glyph) "); o.markdownCell(cell.text); o.write(" |")
            }
            o.write("\n")
        }
        o.write("\n## Criteria\n\n")
        for c in ReadinessCriterion.allCases { o.write("- **\(c.title)**: \(c.rule).\n") }
        return o.string
    }

    static let colours: [ReadinessLevel: String] = [
        .good: "#2e7d32", .attention: "#f9a825", .failing: "#c62828", .notApplicable: "#bdbdbd",
    ]

    /// Services by criteria: one coloured square with a glyph per cell, the overall verdict first. Bounded: one
    /// row per service.
    public static func matrixSVG(_ card: ReadinessScorecard) -> String {
        let criteria = ReadinessCriterion.allCases
        // Names longer than 48 characters are cut with an ellipsis (the table below has them whole); the label
        // column is as wide as the longest, at about 7 pixels a character of 12-pixel sans-serif.
        func label(_ name: String) -> String { name.count > 48 ? String(name.prefix(47)) + "…" : name }
        let longest = card.services.map { label($0.name).count }.max() ?? 10
        let labelWidth = min(max(longest * 7 + 16, 120), 360), cell = 26, gap = 4, top = 86
        let columns = criteria.count + 1
        // Room on the right for the last header, written at 45 degrees.
        let width = labelWidth + columns * (cell + gap) + 80
        let height = top + card.services.count * (cell + gap) + 10
        var o = TextBuffer()
        o.write("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"matrix\" role=\"img\" aria-labelledby=\"matrix-title\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" font-family=\"system-ui, sans-serif\" font-size=\"12\">\n")
        o.write("<title id=\"matrix-title\">Readiness by service and criterion</title>\n")
        let headers = ["Overall"] + criteria.map(\.title)
        for (i, h) in headers.enumerated() {
            let x = labelWidth + i * (cell + gap) + cell / 2
            o.write("<text x=\"\(x)\" y=\"\(top - 8)\" transform=\"rotate(-45 \(x) \(top - 8))\">"); o.html(h); o.write("</text>\n")
        }
        for (row, s) in card.services.enumerated() {
            let y = top + row * (cell + gap)
            o.write("<text x=\"\(labelWidth - 8)\" y=\"\(y + cell / 2 + 4)\" text-anchor=\"end\">"); o.html(label(s.name)); o.write("</text>\n")
            let levels = [(s.overall, "overall: \(s.overall.rawValue)")] + s.cells.map { ($0.level, "\($0.criterion.title): \($0.text)") }
            for (col, (level, tip)) in levels.enumerated() {
                let x = labelWidth + col * (cell + gap)
                o.write("<g><title>"); o.html("\(s.service) — \(tip)"); o.write("</title>")
                o.write("<rect x=\"\(x)\" y=\"\(y)\" width=\"\(cell)\" height=\"\(cell)\" rx=\"3\" fill=\"\(colours[level]!)\"/>")
                o.write("<text x=\"\(x + cell / 2)\" y=\"\(y + cell / 2 + 5)\" text-anchor=\"middle\" font-weight=\"bold\" fill=\"\(level == .attention || level == .notApplicable ? "#000" : "#fff")\">\(level.glyph)</text></g>\n")
            }
        }
        o.write("</svg>\n")
        return o.string
    }

    public static func html(_ card: ReadinessScorecard) -> String {
        var o = TextBuffer()
        o.write("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>ICT readiness scorecard</title>\n<style>\n\(ReportHTML.css)</style>\n</head>\n<body>\n<main>\n<header class=\"cover\">\n<p class=\"kicker\">ICT readiness · as of \(Day(card.now))</p>\n<h1>ICT readiness scorecard</h1>\n<p>")
        if let org = card.organisation { o.html(org); o.write(". ") }
        o.html(summary(card) + " Services are sorted worst first.")
        o.write("</p>\n</header>\n<section id=\"picture\">\n<h2>At a glance</h2>\n")
        o.write(matrixSVG(card))
        o.write("<p>✓ good · ! needs attention · ✗ failing · – not applicable</p>\n</section>\n<section id=\"services\">\n<h2>Services</h2>\n<table>\n<thead><tr><th>Service</th><th>Tier</th><th>Objectives</th><th>Overall</th>")
        for c in ReadinessCriterion.allCases { o.write("<th>"); o.html(c.title); o.write("</th>") }
        o.write("</tr></thead>\n<tbody>\n")
        for s in card.services {
            o.write("<tr id=\"service-"); o.html(s.service); o.write("\"><td>"); o.html(s.name); o.write(" <code>"); o.html(s.service); o.write("</code></td><td>")
            o.html(tierText(s.tier)); o.write("</td><td>"); o.html(objectives(s)); o.write("</td><td>")
            badge(s.overall, s.overall.rawValue, into: &o)
            o.write("</td>")
            for cell in s.cells {
                o.write("<td>"); badge(cell.level, cell.level.glyph, into: &o); o.write(" "); o.html(cell.text); o.write("</td>")
            }
            o.write("</tr>\n")
        }
        o.write("</tbody>\n</table>\n</section>\n<section id=\"criteria\">\n<h2>Criteria</h2>\n<ul>\n")
        for c in ReadinessCriterion.allCases { o.write("<li><strong>"); o.html(c.title); o.write("</strong>: "); o.html(c.rule); o.write(".</li>\n") }
        o.write("</ul>\n</section>\n</main>\n</body>\n</html>\n")
        return o.string
    }

    static func badge(_ level: ReadinessLevel, _ text: String, into o: inout TextBuffer) {
        let cls = switch level {
        case .good: "met"
        case .attention: "open"
        case .failing: "missed"
        case .notApplicable: "not-set"
        }
        o.write("<span class=\"badge \(cls)\">"); o.html(text); o.write("</span>")
    }

    public static func json(_ card: ReadinessScorecard) -> String {
        var w = ReportJSON.Writer(o: TextBuffer())
        w.open("{")
        w.key("format"); w.string("muster-readiness/1")
        w.key("organisation"); w.string(card.organisation)
        w.key("asOf"); w.time(card.now)
        w.key("counts"); w.open("{")
        for level in [ReadinessLevel.failing, .attention, .good] { w.key(level.rawValue); w.int(card.count(level)) }
        w.close("}")
        w.key("criteria"); w.open("[")
        for c in ReadinessCriterion.allCases {
            w.item(); w.open("{"); w.key("id"); w.string(c.rawValue); w.key("title"); w.string(c.title); w.key("rule"); w.string(c.rule); w.close("}")
        }
        w.close("]")
        w.key("services"); w.open("[")
        for s in card.services {
            w.item(); w.open("{")
            w.key("id"); w.string(s.service)
            w.key("name"); w.string(s.name)
            w.key("owner"); w.string(s.owner)
            w.key("tier"); if let t = s.tier { w.int(t) } else { w.null() }
            w.key("rtoMs"); w.int64(s.rto?.milliseconds)
            w.key("rpoMs"); w.int64(s.rpo?.milliseconds)
            w.key("mtpdMs"); w.int64(s.mtpd?.milliseconds)
            w.key("mtpdDerived"); w.bool(s.mtpdDerived)
            w.key("overall"); w.string(s.overall.rawValue)
            w.key("playbooks"); w.open("["); for p in s.playbooks { w.item(); w.string(p) }; w.close("]")
            for (key, run) in [("lastExercise", s.lastExercise), ("lastLive", s.lastLive), ("lastTest", s.lastTest)] {
                w.key(key)
                if let run {
                    w.open("{"); w.key("run"); w.string(run.id); w.key("playbook"); w.string(run.playbookID)
                    w.key("at"); w.time(run.at); w.close("}")
                } else { w.null() }
            }
            w.key("ratings")
            if let ratings = s.ratings {
                w.open("[")
                for r in ratings { w.item(); w.open("{"); w.key("objective"); w.string(r.objective); w.key("rating"); w.string(r.rating?.rawValue); w.close("}") }
                w.close("]")
            } else { w.null() }
            w.key("rto"); w.string(s.attainment?.rtoStatus.rawValue)
            w.key("recoveryMs"); w.int64(s.attainment?.recoveryTime?.milliseconds)
            w.key("rpo"); w.string(s.attainment?.rpoStatus.rawValue)
            w.key("dataLossMs"); w.int64(s.attainment?.dataLoss?.milliseconds)
            w.key("openActions"); w.open("["); for a in s.openActions { w.item(); w.string(a) }; w.close("]")
            w.key("overdueActions"); w.open("["); for a in s.overdueActions { w.item(); w.string(a) }; w.close("]")
            w.key("reviewEveryMs"); w.int64(s.reviewEvery.milliseconds)
            w.key("nextReview"); w.time(s.nextReview)
            w.key("weakestDependency"); w.string(s.weakestDependency)
            w.key("cells"); w.open("{")
            for cell in s.cells {
                w.key(cell.criterion.rawValue); w.open("{"); w.key("level"); w.string(cell.level.rawValue); w.key("text"); w.string(cell.text); w.close("}")
            }
            w.close("}")
            w.close("}")
        }
        w.close("]")
        w.close("}")
        w.o.write("\n")
        return w.o.string
    }
}

/// `muster impact` as text (Markdown) or JSON (`muster-impact/1`).
public enum ImpactReport {
    static func span(_ s: TimeSpan?) -> String {
        guard let s else { return "—" }
        // To the minute: people read "2d20h59m", not the milliseconds.
        return s < .zero ? "\((-s).forPeople(unit: .minutes(1))) past" : s.forPeople(unit: .minutes(1))
    }

    public static func markdown(_ a: ImpactAnalysis, catalogue: ServiceCatalogue) -> String {
        var o = TextBuffer()
        o.write("# Impact of losing \(a.lost.map(\.description).joined(separator: ", "))\n\n")
        o.write(a.elapsed == .zero ? "From the start of the disruption. " : "\(a.elapsed.forPeople(unit: .minutes(1))) into the disruption. ")
        o.write("\(a.affected.count) service\(a.affected.count == 1 ? "" : "s") affected, \(a.uncovered.count) with no playbook. Ordered by the time left before MTPD.\n\n")
        if a.affected.isEmpty {
            o.write("No catalogue service depends on \(a.lost.map(\.description).joined(separator: ", ")).\n")
            return o.string
        }
        o.write("| Service | Tier | Time left to MTPD | MTPD | RTO | Impact now | Through | Playbooks |\n|---|---|---|---|---|---|---|---|\n")
        for s in a.affected {
            let through = s.path.dropLast().map(\.description).joined(separator: " → ")
            o.write("| "); o.markdownCell("\(s.name) (\(s.service))")
            o.write(" | "); o.markdownCell(s.tier.map { "\($0)" } ?? "")
            o.write(" | "); o.markdownCell(span(s.timeLeft))
            o.write(" | "); o.markdownCell((s.mtpd?.description ?? "—") + (s.mtpdDerived ? " (from impact)" : ""))
            o.write(" | "); o.markdownCell(s.rto?.description ?? "—")
            o.write(" | "); o.markdownCell(s.impactNow ?? "—")
            o.write(" | "); o.markdownCell(s.path.count == 1 ? "lost itself" : through)
            o.write(" | "); o.markdownCell(s.coveredBy.isEmpty ? "NONE" : s.coveredBy.joined(separator: ", "))
            o.write(" |\n")
        }
        if !a.uncovered.isEmpty {
            o.write("\n## Not covered by any playbook\n\n")
            for s in a.uncovered { o.write("- "); o.markdownCell("\(s.name) (\(s.service))"); o.write("\n") }
        }
        if !a.resources.isEmpty {
            o.write("\n## Resources lost with them\n\n")
            o.write(a.resources.map { "`\($0)`" }.joined(separator: ", ") + "\n")
        }
        return o.string
    }

    public static func json(_ a: ImpactAnalysis) -> String {
        var w = ReportJSON.Writer(o: TextBuffer())
        w.open("{")
        w.key("format"); w.string("muster-impact/1")
        w.key("lost"); w.open("["); for l in a.lost { w.item(); w.string(l.description) }; w.close("]")
        w.key("elapsedMs"); w.int64(a.elapsed.milliseconds)
        w.key("affected"); w.open("[")
        for s in a.affected {
            w.item(); w.open("{")
            w.key("service"); w.string(s.service)
            w.key("name"); w.string(s.name)
            w.key("tier"); if let t = s.tier { w.int(t) } else { w.null() }
            w.key("mtpdMs"); w.int64(s.mtpd?.milliseconds)
            w.key("mtpdDerived"); w.bool(s.mtpdDerived)
            w.key("rtoMs"); w.int64(s.rto?.milliseconds)
            w.key("timeLeftMs"); w.int64(s.timeLeft?.milliseconds)
            w.key("rtoLeftMs"); w.int64(s.rtoLeft?.milliseconds)
            w.key("impactNow"); w.string(s.impactNow)
            w.key("direct"); w.bool(s.direct)
            w.key("path"); w.open("["); for p in s.path { w.item(); w.string(p.description) }; w.close("]")
            w.key("playbooks"); w.open("["); for p in s.coveredBy { w.item(); w.string(p) }; w.close("]")
            w.close("}")
        }
        w.close("]")
        w.key("uncovered"); w.open("["); for s in a.uncovered { w.item(); w.string(s.service) }; w.close("]")
        w.key("resources"); w.open("["); for r in a.resources { w.item(); w.string(r.description) }; w.close("]")
        w.close("}")
        w.o.write("\n")
        return w.o.string
    }
}
