import Foundation
import MusterCore
import MusterJournal
import MusterReports
import MusterRuntime
import MusterYAML

/// `muster-bench readiness`: a catalogue of 2,000 services with 10,000 dependencies, 100 playbooks covering them,
/// and a journal of 1,000 runs (half exercises, half live, each with a lesson) with 200 improvement actions.
/// Times what `muster impact` and `muster readiness` do (in process, the commands' own library calls) against a
/// baseline measured in the same run: loading the catalogue (parse, decode, validate) and reading the journal
/// (every run and its events, and the improvement log). Targets: each under 1 s, and at most 3x the baseline.
enum ReadinessBench {
    static let services = 2_000, playbookCount = 100, runs = 1_000, actions = 200
    static let sites = 50, suppliers = 100, technology = 500

    /// Service i depends on two earlier services (RTO never shorter than theirs: RTO grows with i), a
    /// technology, a supplier and a site: five dependencies each, 10,000 in all.
    static func catalogueText() -> String {
        var o = "muster_services: 1\norganisation: Bench Ltd\nintolerable: severe\nreview_every: 365d\nservices:\n"
        for i in 0..<services {
            let rto = 1 + i / 100
            var deps: [String] = []
            if i >= 2 {
                let a = i - 1 - (i * 7) % min(i, 500)
                let b = i - 1 - (i * 13 + 1) % min(i, 500)
                deps.append("services: [s\(a), s\(a == b ? (a == 0 ? 1 : a - 1) : b)]")
            } else if i == 1 {
                deps.append("services: [s0]")
            }
            deps.append("technology: [t\(i % technology)]")
            deps.append("suppliers: [v\(i % suppliers)]")
            deps.append("sites: [x\(i % sites)]")
            if i == 0 { deps.append("people: [p0, p1]") }
            if i == 1 { deps.append("people: [p0]") }
            o += "  s\(i): { name: Service \(i), owner: Owner \(i % 40), tier: \(1 + i % 3), rto: \(rto)h, rpo: 15m, "
            o += "impact: { financial: { \(rto)h: moderate, \(rto * 3)h: major, \(rto * 4)h: severe } }, "
            o += "depends_on: { \(deps.joined(separator: ", ")) } }\n"
        }
        o += "sites:\n" + (0..<sites).map { "  x\($0): { name: Site \($0) }\n" }.joined()
        o += "suppliers:\n" + (0..<suppliers).map { "  v\($0): { name: Supplier \($0) }\n" }.joined()
        o += "technology:\n" + (0..<technology).map { "  t\($0): { name: Platform \($0) }\n" }.joined()
        o += "people:\n  p0: { name: Team 0 }\n  p1: { name: Team 1 }\n"
        return o
    }

    /// Playbook k covers services k, k+100, k+200, ... (20 each), with the catalogue's RTO.
    static func playbookText(_ k: Int) -> String {
        var o = "muster: 1\nid: pb-\(k)\nversion: 1\ntitle: Playbook \(k)\nreview_every: 180d\nservices:\n"
        for i in stride(from: k, to: services, by: playbookCount) { o += "  s\(i): { rto: \(1 + i / 100)h }\n" }
        o += """
            roles:
              incident_commander: Incident Commander
            start: open
            states:
              open: { phase: respond, marks: [detected, declared], transitions: [ { on: fixed, to: recovered } ] }
              recovered: { phase: recover, marks: [recovered], transitions: [ { on: done, to: closed } ] }
              closed: { phase: learn, marks: [closed], terminal: true }

            """
        return o
    }

    static func run() throws {
        let folder = NSTemporaryDirectory() + "muster-bench-readiness-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder + "/playbooks", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let cataloguePath = folder + "/services.yaml"
        try catalogueText().write(toFile: cataloguePath, atomically: true, encoding: .utf8)
        let texts = (0..<playbookCount).map(playbookText)
        for (k, text) in texts.enumerated() { try text.write(toFile: folder + "/playbooks/pb-\(k).yaml", atomically: true, encoding: .utf8) }

        // Sanity: the catalogue and playbooks are clean, or we would be timing error paths.
        let loaded = CatalogueLoader.load(file: cataloguePath)
        guard let catalogue = loaded.catalogue, !loaded.hasErrors else {
            fatalError(loaded.diagnostics.prefix(5).map(\.description).joined(separator: "\n"))
        }
        let dependencyCount = catalogue.nodes.reduce(0) { $0 + $1.dependsOn.count }
        let playbooks = PlaybookLoader.loadAll(paths: [folder + "/playbooks"])
        guard playbooks.allSatisfy({ !$0.hasErrors }), CatalogueValidator.check(playbooks.compactMap(\.playbook), against: catalogue).isEmpty else {
            fatalError("generated playbooks do not validate against the catalogue")
        }

        // The journal: 1,000 runs over two years, each started, worked to recovery (or not) and closed.
        let now = Instant(iso8601: "2027-06-01T00:00:00Z")!
        let journal = try Journal.open(home: folder, durability: .normal)
        var lessonIDs: [String] = []
        for r in 0..<runs {
            let k = r % playbookCount
            let at = now - .days(730) + .hours(Int64(r) * 17)
            let id = String(format: "r-%06x", r)
            let mode: RunMode = r % 2 == 0 ? .exercise : .live
            var events = [
                RunEvent(at: at, actor: "Dana", role: nil, .runStarted(RunStarted(runID: id, playbookID: "pb-\(k)", playbookVersion: 1, mode: mode,
                                                                                  title: "Run \(r)", severity: .p2, disruptionStart: at - .minutes(10)))),
                RunEvent(at: at, actor: "Dana", role: nil, .roleAssigned(role: "incident_commander", person: "Dana")),
                RunEvent(at: at, actor: "Dana", role: "incident_commander", .stateEntered(state: "open", from: nil, cause: .start)),
                RunEvent(at: at, actor: "Dana", role: "incident_commander", .markSet(.detected)),
                RunEvent(at: at, actor: "Dana", role: "incident_commander", .markSet(.declared)),
                RunEvent(at: at + .minutes(5), actor: "Lee", role: nil, .noteAdded(text: "data-loss: s\(k) \(r % 30)m")),
            ]
            if r % 3 != 0 {
                let recovered = at + .minutes(Int64(30 + (r * 37) % 400))
                events.append(RunEvent(at: recovered, actor: "Dana", role: "incident_commander", .stateEntered(state: "recovered", from: "open", cause: .event("fixed"))))
                events.append(RunEvent(at: recovered, actor: "Dana", role: "incident_commander", .markSet(.recovered)))
            }
            events.append(RunEvent(at: at + .hours(12), actor: "Dana", role: "incident_commander", .lessonRecorded(Lesson(text: "Lesson \(r)", kind: .improvement, rootCause: "cause-\(r % 9)"))))
            lessonIDs.append("\(id)/\(events.count)")
            events.append(RunEvent(at: at + .hours(13), actor: "Dana", role: "incident_commander", .runClosed(reason: "done")))
            try journal.createRun(RunHeader(id: id, playbookID: "pb-\(k)", playbookVersion: 1, playbookText: texts[k], mode: mode,
                                            title: "Run \(r)", createdAt: at), events: events)
        }
        var (log, head) = try ImprovementRecords.actionLog(journal)
        for a in 0..<actions {
            let draft = ActionDraft(lessons: [lessonIDs[(a * 5) % runs]], title: "Action \(a)", capability: "c", issue: "i", owner: "Pat",
                                    organization: "Ops", element: .planning, due: Day(now + .days(Int64(a % 60) - 30)))
            let applied = try ImprovementRecords.apply(.add(draft), actor: "Dana", at: now - .days(40), in: journal, log: log, head: head)
            (log, head) = (applied.log, applied.head)
        }
        try journal.close()
        let journalPath = folder + "/muster.db"
        print("readiness: \(catalogue.services.count) services, \(catalogue.resources.count) resources, \(dependencyCount) dependencies; \(playbookCount) playbooks; a journal of \(runs) runs and \(actions) actions")

        var sink = 0
        // Baseline: load the catalogue and read the journal, nothing computed.
        let baseline = try MusterBench.best(rounds: 5) {
            let c = CatalogueLoader.load(file: cataloguePath)
            sink &+= c.catalogue?.services.count ?? 0
            let j = try Journal.openForReading(path: journalPath)
            defer { try? j.close() }
            for record in try j.runs() { sink &+= try j.events(runID: record.id).count }
            sink &+= try ImprovementRecords.actionLog(j).0.actions.count
        }
        // muster impact --lost site:x0: catalogue, playbooks (coverage), the analysis, the Markdown.
        var affected = 0
        let impact = MusterBench.best(rounds: 5) {
            let c = CatalogueLoader.load(file: cataloguePath).catalogue!
            let coverage = ImpactAnalysis.coverage(PlaybookLoader.loadAll(paths: [folder + "/playbooks"]).compactMap(\.playbook))
            let analysis = ImpactAnalysis.compute(c, lost: [NodeRef(.site, "x0")], elapsed: .hours(1), coverage: coverage)
            affected = analysis.affected.count
            sink &+= ImpactReport.markdown(analysis, catalogue: c).utf8.count
        }
        // muster readiness -o readiness.html: catalogue, playbooks, journal, the scorecard, the HTML.
        var card: ReadinessScorecard?
        let readiness = try MusterBench.best(rounds: 5) {
            let c = CatalogueLoader.load(file: cataloguePath).catalogue!
            let j = try Journal.openForReading(path: journalPath)
            defer { try? j.close() }
            let records = try ReadinessRecords.load(catalogue: c, playbooksFolder: folder + "/playbooks", journal: j, now: now) { _ in nil }
            card = records.scorecard
            sink &+= ReadinessReport.html(card!).utf8.count
        }
        let counts = "\(card!.count(.failing)) failing, \(card!.count(.attention)) attention, \(card!.count(.good)) good"
        print("  load catalogue + read journal (baseline): \(MusterBench.format(baseline * 1000, 1)) ms")
        for (name, seconds, what) in [("impact --lost site:x0", impact, "\(affected) services affected"),
                                      ("readiness (HTML)", readiness, counts)] {
            let ratio = seconds / baseline
            let verdict = seconds < 1 && ratio <= 3 ? "ok" : "OVER TARGET"
            print("  \(name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(MusterBench.format(seconds * 1000, 1)) ms = \(MusterBench.format(ratio, 2))x baseline (\(what)) (targets: < 1 s, at most 3x) [\(verdict)]")
        }
        if sink == 42 { print("") }
    }
}
