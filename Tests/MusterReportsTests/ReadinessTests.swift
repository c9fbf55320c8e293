import Foundation
import MusterCore
@testable import MusterReports
import MusterYAML
import Testing

/// Issue 19: the readiness scorecard's rules on known inputs, and the Markdown of the scorecard and of an impact
/// analysis against golden files (`MUSTER_UPDATE_GOLDEN=1` rewrites them).
@Suite("Readiness scorecard and impact: rules and golden Markdown")
struct ReadinessTests {
    static let catalogue = """
        muster_services: 1
        organisation: Test Ltd
        intolerable: severe
        review_every: 365d
        services:
          web: { name: Web shop, tier: 1, rto: 1h, rpo: 5m, mtpd: 4h, depends_on: { services: [db], sites: [hq] } }
          db: { name: Database, tier: 1, rto: 30m, rpo: 5m, mtpd: 4h, depends_on: { technology: [san] } }
          mail: { name: Mail, tier: 2, rto: 4h, impact: { financial: { 1d: severe } }, review_every: 30d }
          lonely: { name: Uncovered, tier: 3, rto: 1d, mtpd: 3d, depends_on: { services: [mail] } }
        sites:
          hq: { name: HQ }
        technology:
          san: { name: SAN, rto: 30m, depends_on: { sites: [hq] } }

        """

    static func playbook(_ id: String, services: String, review: String = "180d") -> Playbook {
        let text = """
            muster: 1
            id: \(id)
            version: 1
            title: \(id)
            review_every: \(review)
            services:
            \(services)
            roles:
              incident_commander: Incident Commander
            start: open
            states:
              open: { phase: respond, transitions: [ { on: done, to: closed } ] }
              closed: { phase: learn, terminal: true }

            """
        return PlaybookLoader.load(text: text, file: "\(id).yaml").playbook!
    }

    static let day = TimeSpan.days(1)
    static let now = Instant(iso8601: "2027-03-01T12:00:00Z")!

    static func attainment(_ service: String, rto: Attainment, rpo: Attainment, recovery: TimeSpan? = .minutes(50)) -> ServiceAttainment {
        ServiceAttainment(service: service, title: nil, rto: .hours(1), rpo: .minutes(5), mtpd: .hours(4), recoveryTime: recovery, rtoStatus: rto,
                          rtoMargin: nil, mtpdStatus: .met, mtpdMargin: nil, dataLoss: rpo == .notRecorded ? nil : .minutes(3), rpoStatus: rpo,
                          rpoMargin: nil, rtoDue: nil, mtpdDue: nil)
    }

    static func action(_ id: String, lessons: [String], status: ActionStatus, due: String) -> ImprovementAction {
        ImprovementAction(id: id, draft: ActionDraft(lessons: lessons, title: "fix", capability: "c", issue: "i", owner: "o", organization: "org",
                                                     element: .planning, due: Day(due)!),
                          status: status, createdAt: now - day * 40, createdBy: "Dana", startedAt: nil, doneAt: nil, doneBy: nil, closedAt: nil,
                          reviews: [], reopened: 0)
    }

    static func scorecard() throws -> ReadinessScorecard {
        let catalogue = try #require(CatalogueLoader.load(text: Self.catalogue, file: "s.yaml").catalogue)
        let shop = playbook("shop-outage", services: "  web: { rto: 1h }\n  db: { rto: 30m }")
        let mailPB = playbook("mail-outage", services: "  mail: { rto: 4h }", review: "365d")
        let runs = [
            ReadinessRun(id: "r-old", title: "old drill", playbookID: "shop-outage", playbookVersion: 1, mode: .exercise, at: now - day * 300),
            ReadinessRun(id: "r-ex", title: "drill", playbookID: "shop-outage", playbookVersion: 1, mode: .exercise, at: now - day * 20),
            ReadinessRun(id: "r-live", title: "outage", playbookID: "shop-outage", playbookVersion: 1, mode: .live, at: now - day * 10),
            ReadinessRun(id: "r-mail", title: "mail tabletop", playbookID: "mail-outage", playbookVersion: 1, mode: .exercise, at: now - day * 60),
        ]
        #expect(ReadinessScorecard.runsToMeasure(runs) == ["r-ex", "r-live", "r-mail"])
        let facts: [String: ReadinessRunFacts] = [
            "r-ex": .init(services: [attainment("web", rto: .met, rpo: .met), attainment("db", rto: .met, rpo: .met)],
                          ratings: [.init(objective: "O1", rating: .performed), .init(objective: "O2", rating: .major)]),
            "r-live": .init(services: [attainment("web", rto: .missed, rpo: .notRecorded, recovery: .minutes(95))], ratings: nil),
            "r-mail": .init(services: [attainment("mail", rto: .met, rpo: .notSet)], ratings: [.init(objective: "O1", rating: .unable)]),
        ]
        let actions = [
            action("A-1", lessons: ["r-live/12"], status: .open, due: "2027-02-01"),  // overdue
            action("A-2", lessons: ["r-mail/3"], status: .inProgress, due: "2027-06-01"),
            action("A-3", lessons: ["r-ex/4"], status: .closed, due: "2027-01-01"),  // closed: not counted
        ]
        return ReadinessScorecard.compute(catalogue: catalogue, playbooks: [shop, mailPB], runs: runs, facts: facts, actions: actions, now: now)
    }

    struct Cell: Sendable, CustomStringConvertible {
        var service: String
        var criterion: ReadinessCriterion
        var level: ReadinessLevel
        var text: String
        var description: String { "\(service) \(criterion.rawValue)" }
    }

    static let cells: [Cell] = [
        Cell(service: "web", criterion: .plan, level: .good, text: "shop-outage"),
        Cell(service: "web", criterion: .exercised, level: .good, text: "2027-02-09 (r-ex)"),
        Cell(service: "web", criterion: .ratings, level: .attention, text: "O1 P, O2 M"),
        Cell(service: "web", criterion: .rto, level: .failing, text: "missed in \(TimeSpan.minutes(95).forPeople()) (r-live)"),
        Cell(service: "web", criterion: .rpo, level: .attention, text: "not recorded (r-live)"),
        Cell(service: "web", criterion: .actions, level: .failing, text: "1 open, 1 overdue: A-1"),
        Cell(service: "web", criterion: .review, level: .good, text: "due 2027-08-18"),
        Cell(service: "web", criterion: .dependencies, level: .failing, text: "db: failing"),
        Cell(service: "db", criterion: .rto, level: .attention, text: "not in r-live's playbook"),
        Cell(service: "db", criterion: .dependencies, level: .notApplicable, text: "no service dependency"),
        Cell(service: "mail", criterion: .exercised, level: .attention, text: "2026-12-31 (r-mail), over 30d ago"),
        Cell(service: "mail", criterion: .ratings, level: .failing, text: "O1 U"),
        Cell(service: "mail", criterion: .rpo, level: .attention, text: "not set (r-mail)"),
        Cell(service: "mail", criterion: .actions, level: .attention, text: "1 open: A-2"),
        Cell(service: "mail", criterion: .review, level: .failing, text: "overdue since 2027-01-30"),
        Cell(service: "lonely", criterion: .plan, level: .failing, text: "no playbook"),
        Cell(service: "lonely", criterion: .exercised, level: .failing, text: "never"),
        Cell(service: "lonely", criterion: .ratings, level: .notApplicable, text: "not exercised"),
        Cell(service: "lonely", criterion: .rto, level: .notApplicable, text: "never run"),
        Cell(service: "lonely", criterion: .review, level: .failing, text: "never run: due now"),
        Cell(service: "lonely", criterion: .dependencies, level: .failing, text: "mail: failing"),
    ]

    @Test("each cell of the scorecard", arguments: cells)
    func cell(_ c: Cell) throws {
        let card = try Self.scorecard()
        let row = try #require(card.services.first { $0.service == c.service })
        #expect(row.cell(c.criterion).level == c.level)
        #expect(row.cell(c.criterion).text == c.text)
    }

    @Test("worst first; a service's review cadence is its own, else the shortest of its catalogue's and its playbooks'")
    func orderAndCadence() throws {
        let card = try Self.scorecard()
        #expect(card.services.map(\.service) == ["lonely", "web", "mail", "db"])
        #expect(card.services.first { $0.service == "web" }?.reviewEvery == .days(180))
        #expect(card.services.first { $0.service == "mail" }?.reviewEvery == .days(30))
        #expect(card.services.first { $0.service == "lonely" }?.reviewEvery == .days(365))
        #expect(card.count(.failing) == 4)
    }

    @Test("the scorecard's Markdown matches the golden file")
    func markdownGolden() throws {
        try RenderTests().golden("readiness.md", ReadinessReport.markdown(try Self.scorecard()))
    }

    @Test("the HTML scorecard parses strictly and its matrix has a cell per service and criterion")
    func html() throws {
        let card = try Self.scorecard()
        let html = ReadinessReport.html(card)
        #expect(html.components(separatedBy: "<rect ").count - 1 == card.services.count * (ReadinessCriterion.allCases.count + 1))
        #expect(!html.contains("http://") || html.contains("http://www.w3.org/2000/svg"))
        #expect(html.contains("<svg"))
    }

    @Test("the impact Markdown of losing dc1 with the bundled catalogue matches the golden file")
    func impactGolden() throws {
        let root = RenderTests.goldenFolder.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let catalogue = try #require(CatalogueLoader.load(file: root.appendingPathComponent("services.yaml").path).catalogue)
        let playbooks = PlaybookLoader.loadAll(paths: [root.appendingPathComponent("playbooks").path]).compactMap(\.playbook)
        let analysis = ImpactAnalysis.compute(catalogue, lost: [NodeRef(.site, "dc1")], elapsed: .hours(2), coverage: ImpactAnalysis.coverage(playbooks))
        try RenderTests().golden("impact-dc1.md", ImpactReport.markdown(analysis, catalogue: catalogue))
    }
}
