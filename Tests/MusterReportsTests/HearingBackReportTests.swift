import Foundation
import MusterCore
import MusterJournal
@testable import MusterReports
import MusterRuntime
import MusterTestSupport
import Testing

/// The report's "Hearing back" section: the roll call chart, and the whole section from a real run on a real journal.
@Suite("Hearing back in the report")
struct HearingBackReportTests {
    static let start = Instant(iso8601: "2026-03-06T17:40:00Z")!

    func minutes(_ m: Int64) -> Instant { Self.start + .minutes(m) }

    @Test("the chart's step line turns at each time someone was accounted for, and the within line falls at start + within")
    func chartGeometry() throws {
        let r = HearingBackReport.RollCall(
            id: "staff-safety", ask: "Are you safe?", startedAt: Self.start, within: .hours(1), people: 4,
            curve: [.init(at: Self.start, accounted: 0), .init(at: minutes(10), accounted: 1), .init(at: minutes(20), accounted: 2),
                    .init(at: minutes(30), accounted: 3)],
            options: [.init(id: "safe", label: "I am safe", people: 3)], markedOnly: 0, accounted: 3, completedAt: nil,
            accountedAtWithin: 3, unaccounted: ["Di"], neverReached: ["Di"])
        let g = RollCallSVG.geometry(r)
        // The axis runs to within (the latest point) plus a twentieth: 63 minutes over the 554 px of the plot.
        #expect(g.end == minutes(63))
        func x(_ m: Double) -> Double { ((56 + 554 * m / 63) * 10).rounded() / 10 }
        func y(_ n: Double) -> Double { 190 - 170 * n / 4 }
        let expected: [(Double, Double)] = [
            (56, y(0)), (x(10), y(0)), (x(10), y(1)), (x(20), y(1)), (x(20), y(2)), (x(30), y(2)), (x(30), y(3)), (610, y(3)),
        ]
        #expect(g.points.count == expected.count)
        for (point, want) in zip(g.points, expected) {
            #expect(abs(point.x - want.0) < 0.05 && abs(point.y - want.1) < 0.05, "\(point) != \(want)")
        }
        let withinX = try #require(g.withinX)
        let wantWithin: Double = 56 + 554 * 60.0 / 63
        #expect(abs(withinX - wantWithin) < 0.05)

        var out = TextBuffer()
        RollCallSVG.render(r, into: &out)
        let svg = out.string
        #expect(svg.contains("role=\"img\" aria-labelledby=\"rollcall-staff-safety-title rollcall-staff-safety-desc\""))
        #expect(svg.contains("<title id=\"rollcall-staff-safety-title\">Roll call staff-safety: people accounted for over time</title>"))
        #expect(svg.contains("<desc id=\"rollcall-staff-safety-desc\">3 of 4 accounted for (75%); 3 of 4 (75%) within 1h."))
        #expect(svg.contains("d=\"M56 190L\(TimelineSVG.fmt(x(10))) 190L\(TimelineSVG.fmt(x(10))) 147.5"))
        #expect(svg.contains("class=\"within\" x1=\"\(TimelineSVG.fmt(wantWithin))\""))
        let file = try temporaryFile("rollcall.svg", svg)
        let (status, output) = try python("import sys, xml.etree.ElementTree as ET; ET.parse(sys.argv[1]); print('ok')", [file])
        #expect(status == 0 && output.contains("ok"), "\(output)")
        // Few points: the text alternative lists each change.
        #expect(RollCallSVG.samples(r).map(\.accounted) == [0, 1, 2, 3])
    }

    @Test("a thousand answers draw at most one step per pixel column and a text table of at most one row per tick")
    func denseChart() {
        let curve = (0...1000).map { HearingBackReport.Point(at: Self.start + .seconds(Int64($0) * 3), accounted: $0) }
        let r = HearingBackReport.RollCall(
            id: "all", ask: "Safe?", startedAt: Self.start, within: .hours(1), people: 1000, curve: curve, options: [], markedOnly: 0,
            accounted: 1000, accountedAtWithin: 1000, unaccounted: [], neverReached: [])
        #expect(RollCallSVG.geometry(r).points.count <= 2 * 555 + 1)
        let samples = RollCallSVG.samples(r)
        #expect(samples.count <= 14)
        #expect(samples.last?.accounted == 1000)
    }

    /// A run of the hearing-back fixture on a real journal (SQLite, or PostgreSQL when the tests are run so), on a manual clock.
    @Test("a real run: ack escalated once then acknowledged, answers at various times, a mark, deliveries: the section has them all")
    func fromARealRun() throws {
        let home = NSTemporaryDirectory() + "muster-hb-report-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        let clock = ManualClock(Self.start)
        let runtime = IncidentRuntime(journal: try TestDatabase.open(home: home), clock: clock)
        _ = try runtime.journal.importPeople([
            Person(name: "Lee", email: "lee@example.com", groups: ["crisis-team"], deputy: "Mo"),
            Person(name: "Mo", phone: "+4915112345678", groups: ["crisis-team"]),
            Person(name: "Ana", phone: "+4915100000001", groups: ["site-hq"]),
            Person(name: "Bo", phone: "+4915100000002", groups: ["site-hq"]),
            Person(name: "Cy", email: "cy@example.com", groups: ["site-hq"]),
        ], at: Self.start)
        let playbook = hearingBackFixture
        let declared = try runtime.declare(DeclareRequest(playbookPath: playbook, title: "Fire at HQ", actor: "Dana"))
        let id = declared.runID
        func must(_ actor: String, _ action: Command.Action) throws {
            let result = try runtime.execute(Command(actor: actor, action), on: id)
            if let rejection = result.rejection { throw rejection }
        }
        try must("Dana", .assign(role: "it_ops", person: "Lee"))
        clock.set(to: minutes(1))
        try must("Dana", .raise("evacuate"))
        // Deliveries, as the outbox worker records them: Ana's and Bo's texts went out, Cy's gave up.
        let queued = try runtime.journal.events(runID: id).compactMap { e -> MusterCore.Notification? in
            if case .notificationQueued(let n) = e.body, n.rollCall != nil { n } else { nil }
        }
        let byPerson = Dictionary(queued.map { ($0.person ?? "", $0.id) }, uniquingKeysWith: { a, _ in a })
        clock.set(to: minutes(2))
        let head = try runtime.snapshot(runID: id).sequence
        try runtime.journal.append(runID: id, expectedSequence: head, events: [
            RunEvent(at: minutes(2), actor: "muster", role: nil, .notificationSent(id: byPerson["Ana"]!, channel: "sms", status: 201, latencyMs: 40, attempt: 1)),
            RunEvent(at: minutes(2), actor: "muster", role: nil, .notificationSent(id: byPerson["Bo"]!, channel: "sms", status: 201, latencyMs: 45, attempt: 1)),
            RunEvent(at: minutes(2), actor: "muster", role: nil, .notificationDeadLettered(id: byPerson["Cy"]!, channel: "sms", reason: "HTTP 400", attempts: 1)),
        ], outboxUpdates: [], at: minutes(2))
        clock.set(to: minutes(5))
        try must("Ana", .answer(rollCall: "staff-safety", person: "Ana", option: "safe", channel: "sms"))
        // Nobody acknowledges within 10 minutes: the deputy (Mo) is paged; he acknowledges two minutes later.
        clock.set(to: minutes(11))
        _ = try runtime.tick(runID: id)
        clock.set(to: minutes(13))
        try must("Mo", .acknowledge("page-it"))
        clock.set(to: minutes(20))
        try must("Bo", .answer(rollCall: "staff-safety", person: "Bo", option: "away", channel: "web"))
        clock.set(to: minutes(30))
        try must("Lee", .markAccounted(rollCall: "staff-safety", person: "Cy", why: "seen at the assembly point"))
        clock.set(to: minutes(62))
        try must("Dana", .note("within has passed"))

        let record = try runtime.journal.run(id)
        let built = try RunReportBuilder.build(runtime.journal, record, playbook: try runtime.snapshot(runID: id).run.playbook, now: minutes(63)) { _ in nil }
        let report = built.report
        let h = try #require(report.hearingBack)

        let ack = try #require(h.acks.first)
        #expect(ack.id == "page-it" && ack.role == "it_ops")
        #expect(ack.requestedAt == minutes(1))
        #expect(ack.paged == ["Lee", "Mo"])
        #expect(ack.steps == 1)
        #expect(ack.acknowledgedBy == "Mo" && ack.acknowledgedAt == minutes(13))
        #expect(ack.latency == .minutes(12))
        #expect(h.mobilised.map(\.role) == ["it_ops"] && h.mobilised.first?.latency == .minutes(12) && h.mobilised.first?.by == "Mo")

        let rc = try #require(h.rollCalls.first)
        #expect(rc.ask == "Are you safe?")
        #expect(rc.startedAt == minutes(1) && rc.within == .hours(1) && rc.people == 3)
        #expect(rc.curve.map(\.at) == [minutes(1), minutes(5), minutes(20), minutes(30)])
        #expect(rc.curve.map(\.accounted) == [0, 1, 2, 3])
        #expect(rc.completedAt == minutes(30))
        #expect(rc.accountedAtWithin == 3)
        #expect(rc.options.map(\.people) == [1, 0, 1])
        #expect(rc.markedOnly == 1 && rc.unaccounted.isEmpty)
        #expect(rc.neverReached == ["Cy"])
        let sms = try #require(h.channels.first { $0.channel == "sms" })
        #expect(sms.sent == 3 && sms.delivered == 2 && sms.failed == 1 && sms.pending == 0)
        // The page and its escalation are personal messages too (to Lee, then Mo), not delivered in this test.
        let pager = try #require(h.channels.first { $0.channel == "pager" })
        #expect(pager.sent == 2 && pager.pending == 2)

        // Every format carries the section; the HTML is strict and its chart accessible; the JSON follows the schema.
        let html = ReportHTML.render(report)
        #expect(html.contains("<section id=\"hearing-back\">"))
        #expect(html.contains("<h3>Time to mobilise</h3>"))
        #expect(html.contains("<title id=\"rollcall-staff-safety-title\">"))
        #expect(html.contains("<h4>People accounted for over time</h4>"))
        #expect(html.contains("<h4>Never reached (1)</h4>\n<p>Cy</p>"))
        let htmlFile = try temporaryFile("report.html", html)
        let (htmlStatus, htmlOutput) = try python(RenderTests.htmlCheck, [htmlFile, "summary,timeline-picture,hearing-back,decisions,integrity"])
        #expect(htmlStatus == 0, "\(htmlOutput)")
        let md = ReportMarkdown.render(report)
        #expect(md.contains("## Hearing back\n"))
        #expect(md.contains("| IT Operations lead (it\\_ops) | Mo | T+13m | 12m |"), "\(md)")
        #expect(md.contains("Never reached (1): Cy"))
        let json = ReportJSON.render(report)
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
        let section = try #require(object["hearingBack"] as? [String: Any])
        let rollCalls = try #require(section["rollCalls"] as? [[String: Any]])
        #expect(rollCalls.first?["neverReached"] as? [String] == ["Cy"])
        #expect((rollCalls.first?["curve"] as? [[String: Any]])?.count == 4)
        let schema = repositoryRootForReports + "/docs/report-schema.json"
        let (status, output) = try python(reportSchemaCheck, [schema, try temporaryFile("report.json", json)])
        #expect(status == 0, "\(output)")
        // Contact details never appear.
        for text in [html, md, json] {
            for secret in ["+49151", "example.com"] { #expect(!text.contains(secret), "\(secret)") }
        }
    }

    @Test("a run without acks or roll calls has no Hearing back section in any format")
    func noEmptySection() {
        let report = makeReport(loopTimeline)
        #expect(report.hearingBack == nil)
        #expect(!ReportHTML.render(report).contains("hearing-back"))
        #expect(!ReportMarkdown.render(report).contains("Hearing back"))
        #expect(!ReportJSON.render(report).contains("hearingBack"))
    }
}

let repositoryRootForReports: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
let hearingBackFixture = repositoryRootForReports + "/Tests/MusterCLITests/Fixtures/hearing-back/office-loss-hearing-back.yaml"
