import MusterCore

/// The "Hearing back" section of the HTML and Markdown reports: the same tables in both (`tables`), and in HTML a
/// chart per roll call with its text alternative. Names only; written only for runs with acks or roll calls.
enum ReportHearingBack {
    struct Table {
        var title: String
        var header: [String]
        /// Columns aligned right (numbers).
        var numeric: Set<Int> = []
        var rows: [[String]]
        /// Said instead of an empty table.
        var empty: String
    }

    static func span(_ s: TimeSpan?) -> String { s.map(ReportFormat.span) ?? "—" }

    /// Time to mobilise: the first acknowledgement per role, then every page.
    static func ackTables(_ h: HearingBackReport, t0: Instant) -> [Table] {
        guard !h.acks.isEmpty else { return [] }
        let mobilised = Table(
            title: "Time to mobilise", header: ["Role", "First acknowledged by", "At (T)", "After the page"], numeric: [2, 3],
            rows: h.mobilised.map { ["\($0.roleTitle) (\($0.role))", $0.by, ReportFormat.offset($0.at, from: t0), ReportFormat.span($0.latency)] },
            empty: "No page was acknowledged.")
        let pages = Table(
            title: "Acknowledgements", header: ["Page", "Role", "Requested (T)", "Acknowledged (T)", "By", "Latency", "Escalation steps", "Paged"],
            numeric: [2, 3, 5, 6],
            rows: h.acks.map { a in
                [a.id, a.roleTitle, ReportFormat.offset(a.requestedAt, from: t0),
                 a.acknowledgedAt.map { ReportFormat.offset($0, from: t0) } ?? (a.exhausted ? "never (escalation exhausted)" : "not acknowledged"),
                 a.acknowledgedBy ?? "—", span(a.latency), "\(a.steps)", a.paged.joined(separator: ", ")]
            },
            empty: "")
        return [mobilised, pages]
    }

    static func tallyTable(_ r: HearingBackReport.RollCall) -> Table {
        var rows = r.options.map { ["\($0.label) (\($0.id))", "\($0.people)"] }
        if r.markedOnly > 0 { rows.append(["Marked accounted for by hand", "\(r.markedOnly)"]) }
        rows.append(["Not accounted for", "\(r.unaccounted.count)"])
        return Table(title: "Final tally", header: ["Answer", "People"], numeric: [1], rows: rows, empty: "")
    }

    static func curveTable(_ r: HearingBackReport.RollCall) -> Table {
        Table(title: "People accounted for over time", header: ["Time from the start", "Accounted for", "Percent"], numeric: [0, 1, 2],
              rows: RollCallSVG.samples(r).map { p in
                  ["+" + ReportFormat.span(p.at - r.startedAt), "\(p.accounted) of \(r.people)", "\(r.people == 0 ? 100 : p.accounted * 100 / r.people)%"]
              },
              empty: "")
    }

    static func channelTable(_ h: HearingBackReport) -> Table {
        Table(title: "Reach per channel (personal messages)", header: ["Channel", "Sent", "Delivered", "Failed", "Not sent", "Pending"],
              numeric: [1, 2, 3, 4, 5],
              rows: h.channels.map { [$0.channel, "\($0.sent)", "\($0.delivered)", "\($0.failed)", "\($0.notSent)", "\($0.pending)"] },
              empty: "No personal message was sent.")
    }

    static let intro = "From the timeline: pages that asked for an acknowledgement, roll calls and what became of the personal messages. Names only; contact details never appear in a report."

    // MARK: HTML

    static func html(_ r: RunReport, into o: inout TextBuffer) {
        guard let h = r.hearingBack else { return }
        let t0 = r.metrics.disruptionStart
        o.write("<section id=\"hearing-back\">\n<h2>Hearing back</h2>\n<p class=\"note\">")
        o.html(intro)
        o.write("</p>\n")
        for table in ackTables(h, t0: t0) { html(table, level: 3, into: &o) }
        for rc in h.rollCalls {
            o.write("<h3>Roll call <code>"); o.html(rc.id); o.write("</code>: "); o.html(rc.ask); o.write("</h3>\n<p>")
            o.html(RollCallSVG.summary(rc) + ".")
            o.write("</p>\n<figure>\n")
            RollCallSVG.render(rc, into: &o)
            o.write("\n<figcaption>")
            o.html("People accounted for (answered, or marked by hand) over time from the roll call's start; the dashed line is its `within`.".replacingOccurrencesOfBackticks())
            o.write("</figcaption>\n</figure>\n")
            html(curveTable(rc), level: 4, into: &o)
            html(tallyTable(rc), level: 4, into: &o)
            if !rc.neverReached.isEmpty {
                o.write("<h4>Never reached (\(rc.neverReached.count))</h4>\n<p>")
                o.html(rc.neverReached.joined(separator: ", "))
                o.write("</p>\n")
            }
        }
        html(channelTable(h), level: 3, into: &o)
        o.write("</section>\n")
    }

    static func html(_ t: Table, level: Int, into o: inout TextBuffer) {
        o.write("<h\(level)>"); o.html(t.title); o.write("</h\(level)>\n")
        if t.rows.isEmpty {
            o.write("<p class=\"note\">"); o.html(t.empty); o.write("</p>\n")
            return
        }
        o.write("<table>\n<thead><tr>")
        for (i, head) in t.header.enumerated() {
            o.write(t.numeric.contains(i) ? "<th class=\"num\">" : "<th>"); o.html(head); o.write("</th>")
        }
        o.write("</tr></thead>\n<tbody>\n")
        for row in t.rows {
            o.write("<tr>")
            for (i, cell) in row.enumerated() {
                o.write(t.numeric.contains(i) ? "<td class=\"num\">" : "<td>"); o.html(cell); o.write("</td>")
            }
            o.write("</tr>\n")
        }
        o.write("</tbody>\n</table>\n")
    }

    // MARK: Markdown

    static func markdown(_ r: RunReport, into o: inout TextBuffer) {
        guard let h = r.hearingBack else { return }
        let t0 = r.metrics.disruptionStart
        o.write("## Hearing back\n\n")
        o.write(intro)
        o.write("\n\n")
        for table in ackTables(h, t0: t0) { markdown(table, into: &o) }
        for rc in h.rollCalls {
            o.write("### Roll call `\(rc.id.filter { $0 != "`" })`: "); o.markdownCell(rc.ask); o.write("\n\n")
            o.markdownCell(RollCallSVG.summary(rc) + ".")
            o.write(" The chart is in the HTML report.\n\n")
            markdown(curveTable(rc), into: &o)
            markdown(tallyTable(rc), into: &o)
            if !rc.neverReached.isEmpty {
                o.write("Never reached (\(rc.neverReached.count)): "); o.markdownCell(rc.neverReached.joined(separator: ", ")); o.write("\n\n")
            }
        }
        markdown(channelTable(h), into: &o)
    }

    static func markdown(_ t: Table, into o: inout TextBuffer) {
        o.write("#### "); o.markdownCell(t.title); o.write("\n\n")
        if t.rows.isEmpty {
            o.markdownCell(t.empty); o.write("\n\n")
            return
        }
        o.write("|")
        for head in t.header { o.write(" "); o.markdownCell(head); o.write(" |") }
        o.write("\n|")
        for i in t.header.indices { o.write(t.numeric.contains(i) ? "---:|" : "---|") }
        o.write("\n")
        for row in t.rows {
            o.write("|")
            for cell in row { o.write(" "); o.markdownCell(cell); o.write(" |") }
            o.write("\n")
        }
        o.write("\n")
    }
}
