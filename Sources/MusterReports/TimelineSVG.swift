import MusterCore

/// The timeline picture: a time axis from the disruption's start, one band row per phase, lanes of marks for
/// states entered, decisions, timers, notifications and injects, and vertical lines for the key marks and for
/// each service's RTO and MTPD. Marks that fall in the same few pixels are drawn once with a count, so the
/// picture has a bounded number of elements however long the run.
public enum TimelineSVG {
    static let width = 1040.0
    static let left = 118.0
    static let right = 1010.0
    static let bucketPixels = 7.0
    static let phaseColours: [Phase: String] = [
        .prepare: "#9aa5b1", .detect: "#e0a526", .assess: "#d9822b", .respond: "#c23030",
        .recover: "#29a634", .learn: "#2b95d6",
    ]

    struct Lane {
        var name: String
        var symbol: Symbol
        var points: [(at: Instant, label: String, emphasis: Bool)] = []
    }

    enum Symbol { case tick, diamond, triangle, circle, square }

    public static func render(_ report: RunReport, into out: inout TextBuffer) {
        let m = report.metrics
        let origin = min(m.disruptionStart, m.runStart)
        var end = max(m.observedUntil, origin + .minutes(1))
        let span = end - origin
        // Objective lines extend the axis when they fall reasonably near; farther ones are flagged at the edge.
        var objectiveLines: [(at: Instant, label: String, colour: String)] = []
        for s in m.services {
            if let due = s.rtoDue { objectiveLines.append((due, "RTO \(s.service)", "#d9822b")) }
            if let due = s.mtpdDue { objectiveLines.append((due, "MTPD \(s.service)", "#a82a2a")) }
        }
        let limit = origin + span * 3
        for line in objectiveLines where line.at > end && line.at <= limit { end = line.at }
        end = end + TimeSpan(milliseconds: max(1, (end - origin).milliseconds / 40))

        let total = Double((end - origin).milliseconds)
        func x(_ at: Instant) -> Double {
            let clamped = min(max(at, origin), end)
            return left + (right - left) * Double((clamped - origin).milliseconds) / total
        }

        // Phase rows: the phases the playbook uses, in lifecycle order.
        let used = Set(report.playbook.states.flatMap(\.phases))
        let phases = Phase.allCases.filter { used.contains($0) }

        // Lanes of point events.
        var states = Lane(name: "States", symbol: .tick)
        var decisions = Lane(name: "Decisions", symbol: .diamond)
        var timers = Lane(name: "Timers", symbol: .triangle)
        var notifications = Lane(name: "Notifications", symbol: .circle)
        var injects = Lane(name: "Injects", symbol: .square)
        var activity: [Int] = Array(repeating: 0, count: Int((right - left) / 4) + 1)
        for item in report.events {
            let e = item.event
            switch e.body {
            case .stateEntered(let state, _, _): states.points.append((e.at, report.stateTitle(state), false))
            case .decisionMade(let d, let option, _, let byDefault):
                decisions.points.append((e.at, "\(d) = \(option)" + (byDefault ? " (default taken)" : ""), byDefault))
            case .timerFired(let key, _, let lateBy):
                timers.points.append((e.at, key.id + (lateBy.milliseconds > 0 ? " (late)" : ""), key.id.hasPrefix("deadline:")))
            case .notificationQueued(let n):
                notifications.points.append((e.at, "\(n.id) → \(n.channel) (\(n.trigger))", n.trigger.hasPrefix("timer:")))
            case .injectDelivered(let d):
                injects.points.append((e.at, "\(d.inject): \(d.message.prefix(60))", d.contingency))
            case .taskCompleted, .taskSkipped, .noteAdded, .playerActionRejected, .lessonRecorded, .roleAssigned, .roleRelieved, .eventRaised:
                let column = Int((x(e.at) - left) / 4)
                if activity.indices.contains(column) { activity[column] += 1 }
            default: break
            }
        }
        let lanes = [states, decisions, timers, notifications, injects].filter { !$0.points.isEmpty }

        let rowHeight = 22.0
        let top = 55.0
        let phaseTop = top
        let lanesTop = phaseTop + Double(phases.count) * rowHeight + 8
        let activityTop = lanesTop + Double(lanes.count) * rowHeight + 4
        let axisY = activityTop + 30
        let farObjectives = objectiveLines.filter { $0.at > end }.count
        let legendY = axisY + 34
        let height = legendY + 22 + Double(farObjectives) * 11

        out.write("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" role=\"img\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\">")
        out.write("<title>")
        out.html("Timeline of run \(report.run.id): \(report.run.title)")
        out.write("</title>")
        out.write("<rect x=\"0\" y=\"0\" width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"#ffffff\"/>")

        // Grid and axis ticks.
        let step = tickStep(for: end - origin)
        var tick = m.disruptionStart
        while tick > origin { tick = tick - step }
        if tick < origin { tick = tick + step }
        while tick <= end {
            let tx = fmt(x(tick))
            out.write("<line x1=\"\(tx)\" y1=\"\(fmt(top - 4))\" x2=\"\(tx)\" y2=\"\(fmt(axisY))\" stroke=\"#e4e7eb\" stroke-width=\"1\"/>")
            out.write("<text x=\"\(tx)\" y=\"\(fmt(axisY + 14))\" text-anchor=\"middle\" fill=\"#52606d\">")
            out.html(ReportFormat.offset(tick, from: m.disruptionStart))
            out.write("</text>")
            tick = tick + step
        }
        out.write("<line x1=\"\(fmt(left))\" y1=\"\(fmt(axisY))\" x2=\"\(fmt(right))\" y2=\"\(fmt(axisY))\" stroke=\"#52606d\" stroke-width=\"1\"/>")
        out.write("<text x=\"\(fmt(left))\" y=\"\(fmt(axisY + 28))\" fill=\"#52606d\">")
        out.html("T = disruption start, \(ReportFormat.time(m.disruptionStart)) (UTC)")
        out.write("</text>")

        // Phase bands, merged per pixel so that thousands of visits stay a handful of rectangles.
        for (row, phase) in phases.enumerated() {
            let y = phaseTop + Double(row) * rowHeight
            out.write("<text x=\"\(fmt(left - 8))\" y=\"\(fmt(y + 15))\" text-anchor=\"end\" fill=\"#323f4b\">\(phase.rawValue)</text>")
            out.write("<rect x=\"\(fmt(left))\" y=\"\(fmt(y + 3))\" width=\"\(fmt(right - left))\" height=\"\(fmt(rowHeight - 6))\" fill=\"#f5f7fa\"/>")
            var spans: [(Double, Double)] = []
            for visit in m.visits where visit.phases.contains(phase) {
                let a = x(visit.entered), b = max(x(visit.until), a + 1)
                if let last = spans.last, a <= last.1 + 0.5 { spans[spans.count - 1].1 = max(last.1, b) } else { spans.append((a, b)) }
            }
            let colour = phaseColours[phase] ?? "#888888"
            for (a, b) in spans {
                out.write("<rect class=\"phase\" x=\"\(fmt(a))\" y=\"\(fmt(y + 3))\" width=\"\(fmt(b - a))\" height=\"\(fmt(rowHeight - 6))\" fill=\"\(colour)\" opacity=\"0.85\"/>")
            }
        }

        // Point lanes, aggregated per bucket of pixels.
        for (row, lane) in lanes.enumerated() {
            let y = lanesTop + Double(row) * rowHeight
            let cy = y + rowHeight / 2
            out.write("<text x=\"\(fmt(left - 8))\" y=\"\(fmt(y + 15))\" text-anchor=\"end\" fill=\"#323f4b\">\(lane.name)</text>")
            out.write("<line x1=\"\(fmt(left))\" y1=\"\(fmt(cy))\" x2=\"\(fmt(right))\" y2=\"\(fmt(cy))\" stroke=\"#e4e7eb\" stroke-width=\"1\"/>")
            var buckets: [(bucket: Int, first: Int, count: Int, emphasis: Bool)] = []
            for (i, point) in lane.points.enumerated() {
                let bucket = Int((x(point.at) - left) / bucketPixels)
                if let last = buckets.last, last.bucket == bucket {
                    buckets[buckets.count - 1].count += 1
                    if point.emphasis { buckets[buckets.count - 1].emphasis = true }
                } else {
                    buckets.append((bucket, i, 1, point.emphasis))
                }
            }
            var lastLabelEnd = -1.0
            for b in buckets {
                let point = lane.points[b.first]
                let px = b.count == 1 ? x(point.at) : left + (Double(b.bucket) + 0.5) * bucketPixels
                out.write("<g class=\"mark\"><title>")
                if b.count == 1 {
                    out.html("\(ReportFormat.offset(point.at, from: m.disruptionStart)) \(point.label)")
                } else {
                    out.html("\(b.count) \(lane.name.lowercased()) from \(ReportFormat.offset(point.at, from: m.disruptionStart))")
                }
                out.write("</title>")
                symbol(lane.symbol, x: px, y: cy, emphasis: b.emphasis, into: &out)
                out.write("</g>")
                if b.count > 1 {
                    out.write("<text x=\"\(fmt(px + 5))\" y=\"\(fmt(cy - 4))\" font-size=\"8\" fill=\"#323f4b\">×\(b.count)</text>")
                } else if lane.symbol == .tick, lane.points.count <= 40, px > lastLabelEnd {
                    let label = String(point.label.prefix(22))
                    out.write("<text x=\"\(fmt(px + 3))\" y=\"\(fmt(cy + 9))\" font-size=\"8.5\" fill=\"#52606d\">")
                    out.html(label)
                    out.write("</text>")
                    lastLabelEnd = px + 3 + Double(label.count) * 4.6
                }
            }
        }

        // Activity (tasks, notes, roles, lessons): a histogram in 4 px columns.
        let peak = activity.max() ?? 0
        out.write("<text x=\"\(fmt(left - 8))\" y=\"\(fmt(activityTop + 15))\" text-anchor=\"end\" fill=\"#323f4b\">Activity</text>")
        if peak > 0 {
            for (i, count) in activity.enumerated() where count > 0 {
                let h = max(1.5, 18.0 * Double(count) / Double(peak))
                out.write("<rect x=\"\(fmt(left + Double(i) * 4))\" y=\"\(fmt(activityTop + 20 - h))\" width=\"3\" height=\"\(fmt(h))\" fill=\"#7b8794\"><title>\(count)</title></rect>")
            }
        }

        // Vertical lines: key marks, then objectives; their labels share four rows above the plot, each
        // label in the first row where it does not overlap the one before it.
        let markColours: [Mark: String] = [.detected: "#e0a526", .declared: "#d9822b", .contained: "#c23030", .recovered: "#29a634", .closed: "#2b95d6"]
        // Labels are text: a darker shade of each line's colour, at least 4.5:1 on white (WCAG AA).
        let textColours = ["#e0a526": "#8a5a00", "#d9822b": "#9a4a00", "#29a634": "#1e7a2a", "#2b95d6": "#1f6fa8"]
        var labelRowEnds = [-1.0, -1.0, -1.0, -1.0]
        func label(_ text: String, at px: Double, colour line: String) {
            let colour = textColours[line] ?? line
            let w = Double(text.count) * 5.5
            let a = max(2, min(px - w / 2, width - w - 2))
            let row = labelRowEnds.firstIndex { $0 < a - 4 } ?? labelRowEnds.indices.min { labelRowEnds[$0] < labelRowEnds[$1] }!
            labelRowEnds[row] = a + w
            out.write("<text x=\"\(fmt(a))\" y=\"\(fmt(11 + Double(row) * 11))\" font-size=\"9.5\" fill=\"\(colour)\">")
            out.html(text)
            out.write("</text>")
        }
        var lines: [(px: Double, text: String, colour: String, dashed: Bool)] = []
        for mark in Mark.allCases {
            guard let at = m.marks[mark] else { continue }
            lines.append((x(at), mark.rawValue, markColours[mark]!, false))
        }
        var edgeFlags = 0
        for line in objectiveLines {
            if line.at > end {
                out.write("<text x=\"\(fmt(right))\" y=\"\(fmt(legendY + 18 + Double(edgeFlags) * 11))\" font-size=\"9\" text-anchor=\"end\" fill=\"\(textColours[line.colour] ?? line.colour)\">")
                out.html("\(line.label) falls at \(ReportFormat.offset(line.at, from: m.disruptionStart)), beyond the axis →")
                out.write("</text>")
                edgeFlags += 1
                continue
            }
            lines.append((x(line.at), line.label, line.colour, true))
        }
        lines.sort { $0.px < $1.px }
        for line in lines {
            let lx = fmt(line.px)
            out.write("<line class=\"\(line.dashed ? "objective" : "mark-line")\" x1=\"\(lx)\" y1=\"\(fmt(top - 6))\" x2=\"\(lx)\" y2=\"\(fmt(axisY))\" stroke=\"\(line.colour)\" stroke-width=\"\(line.dashed ? "1.5" : "1.2")\"\(line.dashed ? " stroke-dasharray=\"5 3\"" : " opacity=\"0.8\"")/>")
            label(line.text, at: line.px, colour: line.colour)
        }

        // Legend.
        var lx = left
        func legend(_ text: String, _ draw: (inout TextBuffer, Double) -> Void) {
            draw(&out, lx + 5)
            out.write("<text x=\"\(fmt(lx + 14))\" y=\"\(fmt(legendY + 4))\" fill=\"#323f4b\">")
            out.html(text)
            out.write("</text>")
            lx += 24 + Double(text.count) * 5.6
        }
        legend("decision") { o, px in symbol(.diamond, x: px, y: legendY, emphasis: false, into: &o) }
        legend("taken by default") { o, px in symbol(.diamond, x: px, y: legendY, emphasis: true, into: &o) }
        legend("timer fired") { o, px in symbol(.triangle, x: px, y: legendY, emphasis: false, into: &o) }
        legend("notification") { o, px in symbol(.circle, x: px, y: legendY, emphasis: false, into: &o) }
        legend("escalation (timer)") { o, px in symbol(.circle, x: px, y: legendY, emphasis: true, into: &o) }
        if !injects.points.isEmpty {
            legend("inject") { o, px in symbol(.square, x: px, y: legendY, emphasis: false, into: &o) }
            legend("contingency inject") { o, px in symbol(.square, x: px, y: legendY, emphasis: true, into: &o) }
        }
        legend("RTO") { o, px in o.write("<line x1=\"\(fmt(px - 4))\" y1=\"\(fmt(legendY))\" x2=\"\(fmt(px + 6))\" y2=\"\(fmt(legendY))\" stroke=\"#d9822b\" stroke-width=\"2\" stroke-dasharray=\"3 2\"/>") }
        legend("MTPD") { o, px in o.write("<line x1=\"\(fmt(px - 4))\" y1=\"\(fmt(legendY))\" x2=\"\(fmt(px + 6))\" y2=\"\(fmt(legendY))\" stroke=\"#a82a2a\" stroke-width=\"2\" stroke-dasharray=\"3 2\"/>") }
        legend("×n aggregated marks") { _, _ in }
        out.write("</svg>")
    }

    static func symbol(_ symbol: Symbol, x: Double, y: Double, emphasis: Bool, into out: inout TextBuffer) {
        switch symbol {
        case .tick:
            out.write("<line x1=\"\(fmt(x))\" y1=\"\(fmt(y - 7))\" x2=\"\(fmt(x))\" y2=\"\(fmt(y + 7))\" stroke=\"#323f4b\" stroke-width=\"1.5\"/>")
        case .diamond:
            let fill = emphasis ? "#ffffff" : "#7c3aed"
            let stroke = emphasis ? "#c23030" : "#7c3aed"
            out.write("<path d=\"M\(fmt(x)) \(fmt(y - 6))L\(fmt(x + 6)) \(fmt(y))L\(fmt(x)) \(fmt(y + 6))L\(fmt(x - 6)) \(fmt(y))Z\" fill=\"\(fill)\" stroke=\"\(stroke)\" stroke-width=\"\(emphasis ? 2 : 1)\"/>")
        case .triangle:
            let fill = emphasis ? "#7c3aed" : "#d9822b"
            out.write("<path d=\"M\(fmt(x)) \(fmt(y - 6))L\(fmt(x + 5)) \(fmt(y + 4))L\(fmt(x - 5)) \(fmt(y + 4))Z\" fill=\"\(fill)\"/>")
        case .circle:
            let fill = emphasis ? "#c23030" : "#2b95d6"
            out.write("<circle cx=\"\(fmt(x))\" cy=\"\(fmt(y))\" r=\"4.5\" fill=\"\(fill)\"/>")
        case .square:
            out.write("<rect x=\"\(fmt(x - 4))\" y=\"\(fmt(y - 4))\" width=\"8\" height=\"8\" fill=\"\(emphasis ? "#ffffff" : "#0f9960")\" stroke=\"#0f9960\" stroke-width=\"1.5\"/>")
        }
    }

    /// A tick interval that gives between 4 and 12 ticks.
    static func tickStep(for span: TimeSpan) -> TimeSpan {
        let steps: [TimeSpan] = [.seconds(10), .seconds(30), .minutes(1), .minutes(2), .minutes(5), .minutes(10), .minutes(15),
                                 .minutes(30), .hours(1), .hours(2), .hours(3), .hours(6), .hours(12), .days(1), .days(2), .days(7),
                                 .days(14), .days(30), .days(90), .days(365)]
        for step in steps where span.milliseconds / step.milliseconds <= 12 { return step }
        return TimeSpan(milliseconds: max(1, span.milliseconds / 10))
    }

    /// One decimal place, no exponent.
    static func fmt(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        let sign = tenths < 0 ? "-" : ""
        let a = abs(tenths)
        return a % 10 == 0 ? "\(sign)\(a / 10)" : "\(sign)\(a / 10).\(a % 10)"
    }
}
