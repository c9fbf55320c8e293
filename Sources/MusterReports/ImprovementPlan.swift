import MusterCore

/// The improvement plan (HSEEP columns) as Markdown, HTML or CSV.
public enum ImprovementPlan {
    /// HSEEP's improvement-plan columns, then the evidence an auditor asks for next: the due date, the lessons
    /// (and so the runs) the action answers, every effectiveness review, and when it was closed.
    public static let columns = [
        "Action", "Capability/objective", "Issue", "Corrective action", "Capability element",
        "Responsible organisation", "Point of contact", "Start date", "Completion date", "Status",
        "Due date", "Lessons (run/event)", "Effectiveness reviews", "Closed",
    ]

    /// One row's cells, in `columns` order. Start: when work started (else when the action was recorded);
    /// completion: when it was done, else its due date.
    public static func cells(_ a: ImprovementAction, today: Day) -> [String] {
        let start = Day(a.startedAt ?? a.createdAt).description
        let completion = a.doneAt.map { Day($0).description } ?? "\(a.draft.due) (due)"
        var status = a.status.rawValue
        if a.isOverdue(today: today) { status += " (OVERDUE)" }
        if a.reopened > 0 { status += ", reopened \(a.reopened)×" }
        return [a.id, a.draft.capability, a.draft.issue, a.draft.title, a.draft.element.rawValue, a.draft.organization,
                a.draft.owner, start, completion, status,
                a.draft.due.description, a.draft.lessons.joined(separator: "; "),
                a.reviews.map(reviewText).joined(separator: "; "), a.closedAt.map { Day($0).description } ?? ""]
    }

    /// Where the status badge goes in the HTML table.
    static let statusColumn = columns.firstIndex(of: "Status")!

    /// `2027-02-10 drill: effective, reviewer Alex: "no repeat in the March exercise" (recorded 2027-02-12 by Dana)`.
    public static func reviewText(_ r: EffectivenessReview) -> String {
        var text = "\(r.on) \(r.method): \(r.result.rawValue), reviewer \(r.reviewer)"
        if let note = r.note, !note.isEmpty { text += ": \"\(note)\"" }
        if Day(r.at) != r.on || r.recordedBy != r.reviewer { text += " (recorded \(Day(r.at)) by \(r.recordedBy))" }
        return text
    }

    /// RFC 4180 with a UTF-8 byte-order mark, so that spreadsheets read non-ASCII text right; formulas guarded
    /// (`CSVWriter`).
    public static func csv(_ actions: [ImprovementAction], today: Day) -> String {
        var o = CSVWriter(byteOrderMark: true)
        o.row(columns)
        for a in actions { o.row(cells(a, today: today)) }
        return o.text
    }

    public static func markdown(_ actions: [ImprovementAction], today: Day, title: String = "Improvement plan") -> String {
        var o = TextBuffer()
        o.write("# \(title)\n\nAs of \(today). Overdue: actions not done by their due date.\n\n")
        o.write("| " + columns.joined(separator: " | ") + " |\n|" + String(repeating: "---|", count: columns.count) + "\n")
        for a in actions {
            o.write("|")
            for cell in cells(a, today: today) { o.write(" "); o.markdownCell(cell); o.write(" |") }
            o.write("\n")
        }
        if actions.isEmpty { o.write("\nNo improvement action yet.\n") }
        return o.string
    }

    public static func html(_ actions: [ImprovementAction], today: Day, title: String = "Improvement plan") -> String {
        var o = TextBuffer()
        // `main.wide`: printed on landscape A4 (its fourteen columns are cramped on portrait).
        o.write("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>")
        o.html(title)
        o.write("</title>\n<style>\n\(ReportHTML.css)</style>\n</head>\n<body>\n<main class=\"wide\">\n<header class=\"cover\">\n<p class=\"kicker\">Improvement plan · as of \(today)</p>\n<h1>")
        o.html(title)
        o.write("</h1>\n</header>\n<section id=\"plan\">\n<table>\n<thead><tr>")
        for c in columns { o.write("<th>"); o.html(c); o.write("</th>") }
        o.write("</tr></thead>\n<tbody>\n")
        for a in actions {
            o.write(a.isOverdue(today: today) ? "<tr class=\"default\">" : "<tr>")
            for (i, cell) in cells(a, today: today).enumerated() {
                o.write("<td>")
                if i == statusColumn {
                    let cls = a.isOverdue(today: today) ? "missed" : a.status == .closed || a.status == .verified ? "met" : "open"
                    o.write("<span class=\"badge \(cls)\">"); o.html(cell); o.write("</span>")
                } else {
                    o.html(cell)
                }
                o.write("</td>")
            }
            o.write("</tr>\n")
        }
        o.write("</tbody>\n</table>\n</section>\n</main>\n</body>\n</html>\n")
        return o.string
    }
}

/// One playbook's place in the exercise programme.
public struct ProgrammeEntry: Sendable, Hashable {
    public struct RunSummary: Sendable, Hashable {
        public var runID: String
        public var mode: RunMode
        public var startedAt: Instant
        public var outcome: String
        /// Per service: RTO status in that run.
        public var rto: [String: Attainment]

        public init(runID: String, mode: RunMode, startedAt: Instant, outcome: String, rto: [String: Attainment]) {
            self.runID = runID
            self.mode = mode
            self.startedAt = startedAt
            self.outcome = outcome
            self.rto = rto
        }
    }

    public var playbookID: String
    public var title: String
    public var version: Int
    public var reviewEvery: TimeSpan
    public var services: [(id: String, title: String)]
    public var lastExercise: RunSummary?
    public var lastLive: RunSummary?
    public var openActions: Int
    public var overdueActions: Int

    public init(playbookID: String, title: String, version: Int, reviewEvery: TimeSpan?, services: [(id: String, title: String)],
                lastExercise: RunSummary?, lastLive: RunSummary?, openActions: Int, overdueActions: Int) {
        self.playbookID = playbookID
        self.title = title
        self.version = version
        self.reviewEvery = reviewEvery ?? .days(365)
        self.services = services
        self.lastExercise = lastExercise
        self.lastLive = lastLive
        self.openActions = openActions
        self.overdueActions = overdueActions
    }

    public static func == (a: ProgrammeEntry, b: ProgrammeEntry) -> Bool { a.playbookID == b.playbookID && a.version == b.version && a.lastExercise == b.lastExercise && a.lastLive == b.lastLive }
    public func hash(into hasher: inout Hasher) { hasher.combine(playbookID) }

    /// The latest run of either kind: an exercise or a live use both count as a test of the playbook.
    public var lastRun: RunSummary? {
        [lastExercise, lastLive].compactMap { $0 }.max { $0.startedAt < $1.startedAt }
    }

    /// When the next exercise or review is due: `review_every` after the last run (nil: never run, due now).
    public var nextDue: Instant? { lastRun.map { $0.startedAt + reviewEvery } }

    public func isOverdue(now: Instant) -> Bool { nextDue.map { $0 < now } ?? true }
}

public enum ProgrammeReport {
    public static func markdown(_ entries: [ProgrammeEntry], now: Instant) -> String {
        var o = TextBuffer()
        o.write("# Exercise and review programme\n\nAs of \(Day(now)). A playbook is due `review_every` (default 12 months) after it was last exercised or used live.\n\n")
        o.write("| Playbook | Service | Last exercised | Last used live | Outcome | RTO | Open actions | Next due | Status |\n|---|---|---|---|---|---|---|---|---|\n")
        for e in entries {
            for row in rows(e, now: now) {
                o.write("|")
                for cell in row { o.write(" "); o.markdownCell(cell); o.write(" |") }
                o.write("\n")
            }
        }
        return o.string
    }

    public static func html(_ entries: [ProgrammeEntry], now: Instant) -> String {
        var o = TextBuffer()
        o.write("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Exercise and review programme</title>\n<style>\n\(ReportHTML.css)</style>\n</head>\n<body>\n<main class=\"wide\">\n<header class=\"cover\">\n<p class=\"kicker\">Programme · as of \(Day(now))</p>\n<h1>Exercise and review programme</h1>\n</header>\n<section id=\"programme\">\n<table>\n<thead><tr>")
        for c in ["Playbook", "Service", "Last exercised", "Last used live", "Outcome", "RTO", "Open actions", "Next due", "Status"] {
            o.write("<th>\(c)</th>")
        }
        o.write("</tr></thead>\n<tbody>\n")
        for e in entries {
            for row in rows(e, now: now) {
                o.write("<tr>")
                for (i, cell) in row.enumerated() {
                    o.write("<td>")
                    if i == row.count - 1, !cell.isEmpty {
                        o.write("<span class=\"badge \(cell.hasPrefix("OVERDUE") ? "missed" : "met")\">"); o.html(cell); o.write("</span>")
                    } else {
                        o.html(cell)
                    }
                    o.write("</td>")
                }
                o.write("</tr>\n")
            }
        }
        o.write("</tbody>\n</table>\n</section>\n</main>\n</body>\n</html>\n")
        return o.string
    }

    /// A playbook row, then one row per service.
    static func rows(_ e: ProgrammeEntry, now: Instant) -> [[String]] {
        func when(_ r: ProgrammeEntry.RunSummary?) -> String { r.map { "\(Day($0.startedAt)) (\($0.runID))" } ?? "never" }
        let status = e.isOverdue(now: now) ? (e.lastRun == nil ? "OVERDUE: never exercised" : "OVERDUE") : "current"
        var actions = String(e.openActions)
        if e.overdueActions > 0 { actions += " (\(e.overdueActions) OVERDUE)" }
        var out = [["\(e.title) (\(e.playbookID) v\(e.version))", "", when(e.lastExercise), when(e.lastLive),
                    e.lastRun?.outcome ?? "", "", actions, e.nextDue.map { Day($0).description } ?? "now", status]]
        for s in e.services {
            let rto = e.lastRun?.rto[s.id].map(\.label) ?? ""
            out.append(["", "\(s.title) (\(s.id))", "", "", "", rto, "", "", ""])
        }
        return out
    }
}
