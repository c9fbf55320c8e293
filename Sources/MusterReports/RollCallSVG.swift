import MusterCore

/// A roll call's curve: people accounted for over time from its start, as a step line, with a dashed vertical line
/// at its `within`. Accessible as `TimelineSVG` is: `role="img"` with a title and a description, and the HTML
/// report puts a text table of the same numbers beside it (`samples`). A roll call of thousands draws at most one
/// step per pixel column.
public enum RollCallSVG {
    static let width = 640.0
    static let height = 240.0
    static let left = 56.0
    static let right = 610.0
    static let top = 20.0
    static let bottom = 190.0

    /// The chart's geometry: the axis span, where the step line goes, and where `within` falls.
    public struct Geometry: Sendable {
        public var start: Instant
        public var end: Instant
        /// The step line's corners, in SVG coordinates (x right, y down).
        public var points: [(x: Double, y: Double)]
        public var withinX: Double?
    }

    /// The axis runs from the start to the later of the last change and `within`, with a little room after.
    public static func geometry(_ r: HearingBackReport.RollCall) -> Geometry {
        let start = r.startedAt
        var end = max(r.curve.last?.at ?? start, r.within.map { start + $0 } ?? start)
        end = max(end, start + .minutes(1))
        end = end + TimeSpan(milliseconds: max(1, (end - start).milliseconds / 20))
        let total = Double((end - start).milliseconds)
        func x(_ at: Instant) -> Double { left + (right - left) * Double((min(max(at, start), end) - start).milliseconds) / total }
        func y(_ n: Int) -> Double { bottom - (bottom - top) * (r.people == 0 ? 0 : Double(n) / Double(r.people)) }
        // One step per pixel column: at the column's first point, to the column's last count.
        var columns: [(x: Double, pixel: Int, count: Int)] = []
        for point in r.curve {
            let exact = x(point.at)
            let pixel = Int(exact.rounded(.down))
            if let last = columns.last, last.pixel == pixel {
                columns[columns.count - 1].count = point.accounted
            } else {
                columns.append(((exact * 10).rounded() / 10, pixel, point.accounted))
            }
        }
        var points: [(x: Double, y: Double)] = []
        for (i, column) in columns.enumerated() {
            if i > 0 { points.append((column.x, y(columns[i - 1].count))) }
            points.append((column.x, y(column.count)))
        }
        if let last = columns.last { points.append((right, y(last.count))) }
        return Geometry(start: start, end: end, points: points, withinX: r.within.map { x(start + $0) })
    }

    /// The numbers behind the chart for its text alternative: every change when there are few, else the count at
    /// each tick of the axis and at the end.
    public static func samples(_ r: HearingBackReport.RollCall) -> [HearingBackReport.Point] {
        if r.curve.count <= 25 { return r.curve }
        let g = geometry(r)
        let step = TimelineSVG.tickStep(for: g.end - g.start)
        var out: [HearingBackReport.Point] = []
        var at = g.start
        var i = 0
        var count = 0
        while at <= g.end {
            while i < r.curve.count, r.curve[i].at <= at { count = r.curve[i].accounted; i += 1 }
            out.append(HearingBackReport.Point(at: at, accounted: count))
            at = at + step
        }
        if let last = r.curve.last, out.last?.accounted != last.accounted || out.last.map({ $0.at < last.at }) == true { out.append(last) }
        return out
    }

    /// "3 of 3 accounted for, all by 12m; 2 of 3 (66%) within 1h".
    public static func summary(_ r: HearingBackReport.RollCall) -> String {
        var text = "\(r.accounted) of \(r.people) accounted for (\(r.accountedPercent)%)"
        if let done = r.completedAt { text += ", all by \(ReportFormat.span(done - r.startedAt))" }
        if let within = r.within {
            if let n = r.accountedAtWithin {
                text += "; \(n) of \(r.people) (\(r.people == 0 ? 100 : n * 100 / r.people)%) within \(within)"
            } else {
                text += "; within \(within) had not run out at the last event"
            }
        }
        return text
    }

    public static func render(_ r: HearingBackReport.RollCall, into out: inout TextBuffer) {
        let g = geometry(r)
        let fmt = TimelineSVG.fmt
        let id = "rollcall-" + String(r.id.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        out.write("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline rollcall\" role=\"img\" aria-labelledby=\"\(id)-title \(id)-desc\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\">")
        out.write("<title id=\"\(id)-title\">")
        out.html("Roll call \(r.id): people accounted for over time")
        out.write("</title><desc id=\"\(id)-desc\">")
        out.html(summary(r) + ". The table after the chart gives the same numbers.")
        out.write("</desc>")
        out.write("<rect x=\"0\" y=\"0\" width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"#ffffff\"/>")
        // Horizontal grid at 0, 25, 50, 75 and 100 % of the people asked.
        for quarter in 0...4 {
            let y = bottom - (bottom - top) * Double(quarter) / 4
            out.write("<line x1=\"\(fmt(left))\" y1=\"\(fmt(y))\" x2=\"\(fmt(right))\" y2=\"\(fmt(y))\" stroke=\"#e4e7eb\" stroke-width=\"1\"/>")
            out.write("<text x=\"\(fmt(left - 6))\" y=\"\(fmt(y + 4))\" text-anchor=\"end\" fill=\"#52606d\">\(r.people * quarter / 4)</text>")
        }
        // Time ticks from the start.
        let step = TimelineSVG.tickStep(for: g.end - g.start)
        var tick = g.start
        let total = Double((g.end - g.start).milliseconds)
        while tick <= g.end {
            let x = left + (right - left) * Double((tick - g.start).milliseconds) / total
            out.write("<text x=\"\(fmt(x))\" y=\"\(fmt(bottom + 16))\" text-anchor=\"middle\" fill=\"#52606d\">")
            out.html("+" + ReportFormat.span(tick - g.start))
            out.write("</text>")
            tick = tick + step
        }
        out.write("<line x1=\"\(fmt(left))\" y1=\"\(fmt(bottom))\" x2=\"\(fmt(right))\" y2=\"\(fmt(bottom))\" stroke=\"#52606d\" stroke-width=\"1\"/>")
        out.write("<text x=\"\(fmt(left))\" y=\"\(fmt(bottom + 34))\" fill=\"#52606d\">")
        out.html("Time from the roll call's start, \(ReportFormat.time(r.startedAt)) (UTC); people accounted for of \(r.people)")
        out.write("</text>")
        if let wx = g.withinX, let within = r.within {
            out.write("<line class=\"within\" x1=\"\(fmt(wx))\" y1=\"\(fmt(top - 6))\" x2=\"\(fmt(wx))\" y2=\"\(fmt(bottom))\" stroke=\"#a82a2a\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>")
            out.write("<text x=\"\(fmt(min(wx + 4, width - 70)))\" y=\"\(fmt(top + 4))\" font-size=\"10\" fill=\"#a82a2a\">")
            out.html("within \(within)")
            out.write("</text>")
        }
        out.write("<path class=\"accounted\" d=\"")
        for (i, p) in g.points.enumerated() { out.write("\(i == 0 ? "M" : "L")\(fmt(p.x)) \(fmt(p.y))") }
        out.write("\" fill=\"none\" stroke=\"#1f6fa8\" stroke-width=\"2\"/>")
        out.write("</svg>")
    }
}
