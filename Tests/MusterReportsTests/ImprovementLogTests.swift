import Foundation
import MusterCore
import MusterReports
import Testing

@Suite("Improvement log lifecycle")
struct ImprovementLogTests {
    static let draft = ActionDraft(
        lessons: ["r-100001/27"], title: "Name a deputy IC, \"always\"", capability: "Ransomware (assess)",
        issue: "Declared by default,\nIC was briefing the CFO", owner: "Dana", organization: "IT Operations",
        element: .organization, due: Day("2027-01-31")!)

    /// Decides and applies, as the shell does; returns the rejection if any.
    @discardableResult
    func step(_ log: inout ImprovementLog, _ command: ActionCommand, at: Instant = t0) -> Rejection? {
        switch log.decide(command) {
        case .failure(let r): return r
        case .success(let (id, change)):
            log.apply(ActionEvent(seq: 0, at: at, actor: "Dana", actionID: id, change: change))
            return nil
        }
    }

    @Test("an action moves open → in progress → done → verified → closed")
    func happyPath() {
        var log = ImprovementLog()
        #expect(step(&log, .add(Self.draft)) == nil)
        #expect(log.action("A-1")?.status == .open)
        step(&log, .start("A-1"))
        #expect(log.action("A-1")?.status == .inProgress)
        step(&log, .done("A-1", note: nil))
        #expect(log.action("A-1")?.status == .done)
        step(&log, .review("A-1", method: "tabletop", result: .effective, reviewer: "Alex", note: nil))
        #expect(log.action("A-1")?.status == .verified)
        #expect(step(&log, .close("a-1", note: nil)) == nil)
        #expect(log.action("A-1")?.status == .closed)
    }

    @Test("a review may be dated in the past, never in the future nor before the action was done; the plan carries the evidence")
    func datedReviewsAndTheirEvidence() throws {
        var log = ImprovementLog()
        let day = { (text: String) in Day(text)! }
        func step(_ command: ActionCommand, at: String, actor: String, today: String) -> Rejection? {
            switch log.decide(command, today: day(today)) {
            case .failure(let r): return r
            case .success(let (id, change)):
                log.apply(ActionEvent(seq: 0, at: Instant(iso8601: at + "T09:00:00Z")!, actor: actor, actionID: id, change: change))
                return nil
            }
        }
        #expect(step(.add(Self.draft), at: "2027-01-02", actor: "Dana", today: "2027-01-02") == nil)
        #expect(step(.start("A-1"), at: "2027-01-03", actor: "Dana", today: "2027-01-03") == nil)
        #expect(step(.done("A-1", note: nil), at: "2027-01-20", actor: "Dana", today: "2027-01-20") == nil)
        let future = step(.review("A-1", method: "drill", result: .effective, reviewer: "Alex", note: nil, on: day("2027-03-01")),
                          at: "2027-02-12", actor: "Sam", today: "2027-02-12")
        #expect(future?.reason == "a review cannot be dated 2027-03-01, after today (2027-02-12)")
        let early = step(.review("A-1", method: "drill", result: .effective, reviewer: "Alex", note: nil, on: day("2027-01-10")),
                         at: "2027-02-12", actor: "Sam", today: "2027-02-12")
        #expect(early?.reason == "a review cannot be dated 2027-01-10, before A-1 was done (2027-01-20)")
        #expect(step(.review("A-1", method: "drill", result: .effective, reviewer: "Alex", note: "no repeat in the drill", on: day("2027-02-10")),
                     at: "2027-02-12", actor: "Sam", today: "2027-02-12") == nil)
        #expect(step(.close("A-1", note: nil), at: "2027-02-13", actor: "Dana", today: "2027-02-13") == nil)

        let action = try #require(log.action("A-1"))
        let cells = ImprovementPlan.cells(action, today: day("2027-02-14"))
        let row = Dictionary(uniqueKeysWithValues: zip(ImprovementPlan.columns, cells))
        #expect(row["Due date"] == "2027-01-31")
        #expect(row["Lessons (run/event)"] == "r-100001/27")
        #expect(row["Effectiveness reviews"] == #"2027-02-10 drill: effective, reviewer Alex: "no repeat in the drill" (recorded 2027-02-12 by Sam)"#)
        #expect(row["Closed"] == "2027-02-13")
        #expect(ImprovementPlan.csv([action], today: day("2027-02-14")).contains("2027-02-10 drill: effective, reviewer Alex"))
    }

    static let refusals: [(String, [ActionCommand], ActionCommand, String)] = [
        ("close without a review", [.start("A-1"), .done("A-1", note: nil)], .close("A-1", note: nil), "no effectiveness review that found it effective"),
        ("close an open action", [], .close("A-1", note: nil), "cannot close A-1 (open)"),
        ("close after a not-effective review", [.start("A-1"), .done("A-1", note: nil), .review("A-1", method: "audit", result: .notEffective, reviewer: "Alex", note: nil)],
         .close("A-1", note: nil), "found it not effective"),
        ("review before done", [.start("A-1")], .review("A-1", method: "audit", result: .effective, reviewer: "Alex", note: nil), "comes after the action is done"),
        ("done before started", [], .done("A-1", note: nil), "start it first"),
        ("review by who marked it done", [.start("A-1"), .done("A-1", note: nil)], .review("A-1", method: "audit", result: .effective, reviewer: "Dana", note: nil),
         "Dana marked A-1 done and cannot also review"),
        ("start twice", [.start("A-1")], .start("A-1"), "only an open action can be started"),
        ("unknown action", [], .start("A-9"), "no improvement action 'A-9'"),
        ("close twice", [.start("A-1"), .done("A-1", note: nil), .review("A-1", method: "m", result: .effective, reviewer: "r", note: nil), .close("A-1", note: nil)],
         .close("A-1", note: nil), "closed already"),
    ]

    @Test("the lifecycle refuses out-of-order changes, and closing without an effective review", arguments: refusals)
    func refused(_ name: String, _ before: [ActionCommand], _ command: ActionCommand, _ reason: String) throws {
        var log = ImprovementLog()
        step(&log, .add(Self.draft))
        for c in before { #expect(step(&log, c) == nil, "\(name): setup step refused") }
        let snapshot = log
        let rejection = try #require(step(&log, command), "\(name): accepted")
        #expect(rejection.reason.contains(reason), "\(name): \(rejection.reason)")
        #expect(log == snapshot)
    }

    @Test("a not-effective review reopens the action, which must go round again")
    func reopen() {
        var log = ImprovementLog()
        step(&log, .add(Self.draft))
        step(&log, .start("A-1"))
        step(&log, .done("A-1", note: nil))
        step(&log, .review("A-1", method: "exercise", result: .notEffective, reviewer: "Alex", note: "IC still alone"))
        let a = log.action("A-1")!
        #expect(a.status == .open)
        #expect(a.reopened == 1)
        #expect(a.doneAt == nil)
        #expect(step(&log, .start("A-1")) == nil)
    }

    @Test("an action is overdue when not done by its due date, and no longer once done")
    func overdue() {
        var log = ImprovementLog()
        step(&log, .add(Self.draft))
        #expect(!log.action("A-1")!.isOverdue(today: Day("2027-01-31")!))
        #expect(log.action("A-1")!.isOverdue(today: Day("2027-02-01")!))
        step(&log, .start("A-1"))
        #expect(log.action("A-1")!.isOverdue(today: Day("2027-02-01")!))
        step(&log, .done("A-1", note: nil))
        #expect(!log.action("A-1")!.isOverdue(today: Day("2027-02-01")!))
        #expect(ImprovementPlan.cells(log.action("A-1")!, today: Day("2027-02-01")!)[ImprovementPlan.columns.firstIndex(of: "Status")!] == "done")
    }

    @Test("a root cause recurring in two runs is flagged, case-insensitively; one run twice is not")
    func recurring() {
        func entry(_ run: String, _ seq: Int, _ cause: String?) -> LessonEntry {
            LessonEntry(runID: run, runTitle: "t", playbookID: "p", playbookTitle: "P", mode: .exercise,
                        lesson: LessonRecord(seq: seq, at: t0, by: "Dana", kind: .improvement, text: "x", rootCause: cause, state: nil), phases: [])
        }
        let lessons = [entry("r-1", 3, "Documentation"), entry("r-1", 4, "documentation"), entry("r-2", 9, "documentation "),
                       entry("r-3", 5, "training"), entry("r-3", 6, "training"), entry("r-4", 1, nil)]
        let recurring = LessonEntry.recurringRootCauses(lessons)
        #expect(recurring == ["documentation": ["r-1", "r-2"]])
    }

    @Test("dates are calendar days; impossible ones are refused")
    func days() {
        #expect(Day("2027-01-31")?.description == "2027-01-31")
        #expect(Day("2027-02-31") == nil)
        #expect(Day("31/01/2027") == nil)
        #expect(Day(Instant(iso8601: "2027-01-31T23:59:59Z")!) == Day("2027-01-31"))
    }

    @Test("the CSV improvement plan round-trips through Python's csv module, with the HSEEP columns")
    func csvRoundTrip() throws {
        var log = ImprovementLog()
        step(&log, .add(Self.draft))
        var second = Self.draft
        second.title = "=HYPERLINK(\"http://x\") ; Überprüfung, naïve"
        second.issue = "plain"
        step(&log, .add(second))
        let text = ImprovementPlan.csv(log.actions, today: Day("2027-02-01")!)
        let file = try temporaryFile("plan.csv", text)
        let script = """
            import csv, json, sys
            with open(sys.argv[1], newline="", encoding="utf-8-sig") as f:
                print(json.dumps(list(csv.reader(f))))
            """
        let (status, output) = try python(script, [file])
        #expect(status == 0, "\(output)")
        let rows = try JSONDecoder().decode([[String]].self, from: Data(output.utf8))
        #expect(rows.first == ImprovementPlan.columns)
        #expect(rows.count == 3)
        #expect(rows[1] == ImprovementPlan.cells(log.actions[0], today: Day("2027-02-01")!))
        #expect(rows[1][3] == "Name a deputy IC, \"always\"")
        #expect(rows[1][2] == "Declared by default,\nIC was briefing the CFO")
        #expect(rows[1][9] == "open (OVERDUE)")
        #expect(rows[2][3] == "'=HYPERLINK(\"http://x\") ; Überprüfung, naïve")  // formula guarded
    }
}
